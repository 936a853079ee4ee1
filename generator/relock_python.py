"""Resolve the Python lock beside ``pins.yaml`` (``python -m generator.relock --only python``).

The generated workflows install their Python packages with ``pip install --require-hashes
--only-binary :all:``, so every package, dependencies included, needs an exact version and the sha256
of the wheel pip will download. This asks pip itself (``pip install --dry-run --report``, resolving from
PyPI with the machine's pip configuration ignored) what it would install on GitHub's ``ubuntu-24.04``
runners with the Python ``pins.yaml`` sets: CPython of that minor version, linux x86_64, glibc 2.39, wheels
only. Nothing else is locked: the generated repos' workflows run nowhere else (laptops install
``requirements-dev.txt``, which carries plain pins). Generation never resolves: it prints the lock.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from generator.errors import EXIT_INVALID, BbwsGenError
from generator.pins import LOCKED_GROUPS, PYTHON_LOCK_FILE, LockedPackage, normalized, pyproject_pins

# glibc 2.39 on ubuntu-24.04: pip there accepts manylinux_2_39 down to manylinux_2_5, newest first.
GLIBC_MINOR = 39
PLATFORMS = (*(f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 16, -1)), "manylinux2014_x86_64")

HEADER = """\
# Written by `nox -s relock -- --only python` (python -m generator.relock --only python): do not edit.
# Every Python package the generated repos' workflows install, dependencies included, each pinned to
# the one wheel pip picks on GitHub's ubuntu-24.04 runners (CPython {python}, linux x86_64, glibc 2.39)
# by its sha256, as PyPI lists it. `roots` are the pins of pyproject.toml for the names of pins.yaml's
# python groups; bbws-gen refuses the lock when they differ (a bump without relock).
"""


class PythonLockError(BbwsGenError):
    """pip could not resolve a lock set (exit code 2)."""

    exit_code = EXIT_INVALID


def resolve(roots: Sequence[str], python: str) -> list[LockedPackage]:
    """What pip would install for ``roots`` on the runners: every package, its wheel and sha256."""
    major, minor = python.split(".")
    with tempfile.TemporaryDirectory(prefix="bbws-relock-python-") as tmp:
        report = Path(tmp) / "report.json"
        (Path(tmp) / "roots.txt").write_text("".join(f"{root}\n" for root in roots), encoding="utf-8")
        command = [
            sys.executable,
            "-m",
            "pip",
            "--isolated",  # PyPI, whatever this machine's pip.conf or PIP_* variables say
            "--disable-pip-version-check",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--target",
            str(Path(tmp) / "target"),  # pip takes --platform only with --target; --dry-run writes nothing
            "--only-binary=:all:",
            "--implementation",
            "cp",
            "--python-version",
            f"{major}.{minor}",
            "--abi",
            f"cp{major}{minor}",
            *(arg for platform in PLATFORMS for arg in ("--platform", platform)),
            "--report",
            str(report),
            "-r",
            str(Path(tmp) / "roots.txt"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PythonLockError(f"pip could not resolve {', '.join(roots)}:\n{done.stdout}{done.stderr}")
        installs: list[dict[str, Any]] = json.loads(report.read_text(encoding="utf-8"))["install"]
    return sorted((_package(item) for item in installs), key=lambda p: normalized(p.name))


def _package(item: Mapping[str, Any]) -> LockedPackage:
    info = item["download_info"]
    sha256 = info.get("archive_info", {}).get("hashes", {}).get("sha256")
    wheel = info["url"].rsplit("/", 1)[-1].split("#")[0]
    if not sha256 or not wheel.endswith(".whl"):
        raise PythonLockError(f"the index gave no wheel with a sha256 for {item['metadata']['name']}: {info['url']}")
    return LockedPackage(item["metadata"]["name"], item["metadata"]["version"], wheel, sha256)


def lock_text(python: str, sets: Mapping[str, tuple[Sequence[str], Sequence[LockedPackage]]]) -> str:
    """The lock file: its header, then the Python version, the platforms and each set (roots, packages)."""
    data = {
        "python": python,
        "platforms": list(PLATFORMS),
        "sets": {
            group: {
                "roots": sorted(roots),
                "packages": [
                    {"name": p.name, "version": p.version, "wheel": p.wheel, "sha256": p.sha256} for p in packages
                ],
            }
            for group, (roots, packages) in sets.items()
        },
    }
    body = yaml.safe_dump(data, sort_keys=False, width=200, default_flow_style=False)
    return HEADER.format(python=python) + body


def relock_python(pins_path: Path) -> list[str]:
    """Rewrite ``python-lock.yaml`` beside ``pins_path``; one line per set (roots and package count)."""
    pins = yaml.safe_load(pins_path.read_text(encoding="utf-8"))
    pinned = pyproject_pins()
    python = str(pins["python"]["version"])
    sets: dict[str, tuple[list[str], list[LockedPackage]]] = {}
    for group in LOCKED_GROUPS:
        missing = [name for name in pins["python"][group] if normalized(name) not in pinned]
        if missing:
            raise PythonLockError(f"pyproject.toml does not pin {', '.join(missing)} with ==")
        roots = sorted(pinned[normalized(name)] for name in pins["python"][group])
        sets[group] = (roots, resolve(roots, python))
    (pins_path.parent / PYTHON_LOCK_FILE).write_text(lock_text(python, sets), encoding="utf-8")
    return [f"{group}: {', '.join(roots)} -> {len(packages)} packages" for group, (roots, packages) in sets.items()]
