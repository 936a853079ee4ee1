"""Tool pins of the generated repos: ``pins.yaml`` of the definition, checked, typed and frozen.

Every version the generated repos use (actions by commit SHA, Terraform, providers with their
lock-file hashes, Python, npm packages) comes from here; blueprints only print it. Python package
versions stay in ``pyproject.toml`` (the project's one list of Python pins, which pip and nox install
from): ``pins.yaml`` names the packages and the versions are resolved from there.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.locations import Document, Finding

PINS_FILE = "pins.yaml"
# Beside pins.yaml: every package the workflows install with pip, dependencies included, by wheel sha256.
PYTHON_LOCK_FILE = "python-lock.yaml"
# The pins.yaml groups the workflows install with hash checking (``dev`` is for laptops: not locked).
LOCKED_GROUPS = ("requirements", "tools")
RELOCK_HINT = "run `nox -s relock -- --only python` (python -m generator.relock --only python) and commit the lock"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PYTHON_GROUPS = ("requirements", "tools", "dev")
_EXACT = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==(?P<version>[^\s;,]+)$")


@dataclass(frozen=True)
class Action:
    """A GitHub Action pinned to the commit a release tag points at."""

    key: str
    action: str
    sha: str
    tag: str

    @property
    def uses(self) -> str:
        """The ``uses:`` value: owner/repo@<sha> # <tag>."""
        return f"{self.action}@{self.sha} # {self.tag}"


@dataclass(frozen=True)
class Provider:
    """A Terraform provider version and the hashes its lock files record."""

    name: str
    source: str
    version: str
    hashes: tuple[str, ...]


@dataclass(frozen=True)
class LockedPackage:
    """One package of a lock set: the exact wheel pip installs on the runners, by its sha256."""

    name: str
    version: str
    wheel: str
    sha256: str


@dataclass(frozen=True)
class Pins:
    """Every pinned version of the generated repos."""

    terraform_version: str
    providers: tuple[Provider, ...]
    actions: tuple[Action, ...]
    python_version: str
    python: Mapping[str, tuple[str, ...]]
    npm: Mapping[str, str]
    node_version: str
    python_lock: Mapping[str, tuple[LockedPackage, ...]]

    def provider(self, name: str) -> Provider:
        """The provider called ``name`` (``aws``)."""
        return next(p for p in self.providers if p.name == name)

    def as_answers(self) -> dict[str, Any]:
        """Plain data for the Copier answers (recorded in ``.copier-answers.yml``)."""
        return {
            "terraform": self.terraform_version,
            "providers": {
                p.name: {"source": p.source, "version": p.version, "hashes": list(p.hashes)} for p in self.providers
            },
            "actions": {a.key: {"action": a.action, "sha": a.sha, "tag": a.tag, "uses": a.uses} for a in self.actions},
            "python": {
                "version": self.python_version,
                **{group: list(self.python[group]) for group in PYTHON_GROUPS},
                "lock": {
                    group: [{"name": p.name, "version": p.version, "sha256": p.sha256} for p in packages]
                    for group, packages in self.python_lock.items()
                },
            },
            "npm": dict(self.npm),
            "node": {"version": self.node_version},
        }


def pyproject_pins(path: Path | None = None) -> dict[str, str]:
    """Exact pins (``name==version``) of pyproject.toml (this checkout's by default), by normalized name.

    A non-editable install has no pyproject.toml beside it: its metadata carries the same requirements.
    """
    source = path or PYPROJECT
    requirements: list[str]
    if path is None and not source.is_file():
        from importlib import metadata

        try:
            requirements = [r.split(";")[0] for r in metadata.requires("bbws-gen") or []]
        except metadata.PackageNotFoundError as exc:
            raise FileNotFoundError(2, "no pyproject.toml and no installed bbws-gen metadata", str(source)) from exc
    else:
        with source.open("rb") as handle:
            project = tomllib.load(handle)["project"]
        groups = [project.get("dependencies", []), *project.get("optional-dependencies", {}).values()]
        requirements = [r for group in groups for r in group]
    found: dict[str, str] = {}
    for requirement in requirements:
        match = _EXACT.match(requirement.replace(" ", ""))
        if match:
            found[normalized(match["name"])] = f"{match['name']}=={match['version']}"
    return found


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_findings(doc: Document, pinned: Mapping[str, str]) -> list[Finding]:
    """Each package ``pins.yaml`` names that pyproject.toml does not pin exactly."""
    pyproject = PYPROJECT
    return [
        doc.finding(
            ["python", group, position],
            f"{name!r} is not pinned with == in {pyproject.name}",
            f"add an exact pin such as {name}==X.Y.Z to a dependency list of {pyproject}, or remove it here",
        )
        for group in PYTHON_GROUPS
        for position, name in enumerate(doc.data["python"][group])
        if normalized(name) not in pinned
    ]


def lock_findings(lock: Document, pins: Mapping[str, Any], pinned: Mapping[str, str]) -> list[Finding]:
    """Where a schema-valid ``python-lock.yaml`` was not resolved from today's pins (a bump without relock)."""
    found: list[Finding] = []
    if lock.data["python"] != str(pins["python"]["version"]):
        found.append(
            lock.finding(
                ["python"],
                f"the lock is for Python {lock.data['python']}, {PINS_FILE} sets {pins['python']['version']}",
                RELOCK_HINT,
            )
        )
    for group in LOCKED_GROUPS:
        expected = sorted(pinned[normalized(name)] for name in pins["python"][group])
        entry = lock.data["sets"][group]
        if sorted(entry["roots"]) != expected:
            found.append(
                lock.finding(
                    ["sets", group, "roots"],
                    f"resolved from {', '.join(sorted(entry['roots']))}, but {PINS_FILE} and pyproject.toml now pin "
                    f"{', '.join(expected)}",
                    RELOCK_HINT,
                )
            )
            continue
        versions: dict[str, str] = {}
        for position, package in enumerate(entry["packages"]):
            name = normalized(package["name"])
            if name in versions:
                found.append(
                    lock.finding(["sets", group, "packages", position], f"{name} is listed twice", RELOCK_HINT)
                )
            versions[name] = package["version"]
        for root in expected:
            name, version = root.split("==")
            if versions.get(normalized(name)) != version:
                found.append(
                    lock.finding(["sets", group, "packages"], f"{root} is a root but not locked at it", RELOCK_HINT)
                )
    return found


def build_pins(data: Mapping[str, Any], pinned: Mapping[str, str], lock: Mapping[str, Any]) -> Pins:
    """The typed pins of a schema-valid ``pins.yaml`` whose Python names are all in ``pinned``, and of
    its consistent ``python-lock.yaml`` (``lock``)."""
    python = data["python"]
    return Pins(
        terraform_version=str(data["terraform"]["version"]),
        providers=tuple(
            Provider(name, p["source"], str(p["version"]), tuple(p["hashes"]))
            for name, p in sorted(data["providers"].items())
        ),
        actions=tuple(Action(key, a["action"], a["sha"], a["tag"]) for key, a in sorted(data["actions"].items())),
        python_version=str(python["version"]),
        python={group: tuple(sorted(pinned[normalized(name)] for name in python[group])) for group in PYTHON_GROUPS},
        npm={name: str(version) for name, version in sorted(data.get("npm", {}).items())},
        node_version=str(data["node"]["version"]),
        python_lock={
            group: tuple(
                LockedPackage(p["name"], p["version"], p["wheel"], p["sha256"])
                for p in sorted(lock["sets"][group]["packages"], key=lambda p: normalized(p["name"]))
            )
            for group in LOCKED_GROUPS
        },
    )
