"""The generated repos' Python packages: hash-pinned wheels from the committed lock, caches only where safe.

- Every requirements file a workflow installs pins every package (dependencies included) to a version
  and a wheel sha256, exactly as ``definition/python-lock.yaml`` says, and every ``pip install`` of the
  workflows checks them (``--require-hashes --only-binary :all:``); pip itself refuses a file with one
  hash missing.
- The lock follows the pins: a bump in ``pyproject.toml`` without a relock is refused by ``validate``,
  naming the lock file and ``nox -s relock``.
- No job that can assume an AWS role, or that waits in a GitHub environment, restores a cache (a cache
  is written by other runs, pull requests' included); validate's credential-free jobs do, keyed on the
  file they install. checkov is installed by one job per run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import run
from generator.pins import LockedPackage
from generator.relock_python import PLATFORMS, lock_text
from tests.conftest import DEFINITION, EDGE, REPOS

LOCK = yaml.safe_load((DEFINITION / "python-lock.yaml").read_text(encoding="utf-8"))
REPO_DIRS = sorted(
    p.parent for p in [*REPOS.glob("*/.copier-answers.yml"), *(EDGE / "repos").glob("*/.copier-answers.yml")]
)
# The hash-checked files and the lock set each one prints.
LOCKED_FILES = {"requirements.txt": "requirements", "requirements-checkov.txt": "tools"}
REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<hashes>(?: --hash=sha256:[0-9a-f]{64})+)$"
)
PIP_INSTALL = re.compile(r"\bpip install\b[^\n]*")


def _requirements(path: Path) -> list[str]:
    """The requirement lines of a pip requirements file, continuation lines joined, comments dropped."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    return [" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _workflows(repo: Path) -> dict[str, dict[str, Any]]:
    return {
        p.name: yaml.safe_load(p.read_text(encoding="utf-8")) for p in (repo / ".github" / "workflows").glob("*.yml")
    }


def _holds_credentials(job: dict[str, Any]) -> bool:
    """A job that can assume an AWS role (OIDC) or runs inside a (protected) GitHub environment."""
    permissions = job.get("permissions") or {}
    oidc = isinstance(permissions, dict) and permissions.get("id-token") == "write"
    assumes = any(str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@") for s in job["steps"])
    return oidc or assumes or "environment" in job


def _restores_a_cache(step: dict[str, Any]) -> bool:
    uses = str(step.get("uses", ""))
    return uses.startswith(("actions/cache@", "actions/cache/")) or bool((step.get("with") or {}).get("cache"))


@pytest.mark.parametrize("repo", REPO_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
@pytest.mark.parametrize("name", sorted(LOCKED_FILES))
def test_every_package_is_pinned_to_the_locked_wheel_hash(repo: Path, name: str) -> None:
    lines = _requirements(repo / name)
    parsed = [REQUIREMENT.match(line) for line in lines]
    assert all(parsed), [line for line, match in zip(lines, parsed, strict=True) if not match]
    found = [(m["name"], m["version"], m["hashes"].split("sha256:")[1:]) for m in parsed if m]
    locked = LOCK["sets"][LOCKED_FILES[name]]["packages"]
    assert found == [(p["name"], p["version"], [p["sha256"]]) for p in locked]
    roots = {r.split("==")[0].lower() for r in LOCK["sets"][LOCKED_FILES[name]]["roots"]}
    assert roots <= {n.lower() for n, _, _ in found}
    assert len(found) > len(roots), "dependencies are locked too, not only the roots"


@pytest.mark.parametrize("repo", REPO_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_pip_install_of_the_workflows_checks_hashes(repo: Path) -> None:
    installs = [
        (f"{workflow}:{job_id}", command)
        for workflow, doc in _workflows(repo).items()
        for job_id, job in doc["jobs"].items()
        for step in job.get("steps", [])
        for command in PIP_INSTALL.findall(" ".join(str(step.get("run", "")).split()))
    ]
    assert installs
    for where, command in installs:
        assert "--require-hashes" in command and "--only-binary :all:" in command, (where, command)
        files = re.findall(r"-r (\S+)", command)
        assert files and set(files) <= set(LOCKED_FILES), (where, command)


@pytest.mark.parametrize("repo", REPO_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_job_with_credentials_restores_a_cache(repo: Path) -> None:
    cached: dict[str, str] = {}
    for workflow, doc in _workflows(repo).items():
        for job_id, job in doc["jobs"].items():
            for step in job.get("steps", []):
                if not _restores_a_cache(step):
                    continue
                assert not _holds_credentials(job), f"{workflow}:{job_id} can deploy and restores a cache: {step}"
                cached[f"{workflow}:{job_id}"] = step["with"]["cache-dependency-path"]
    # The credential-free validation jobs do use setup-python's pip cache, keyed on what they install.
    assert cached == {
        "validate.yml:repository-checks": "requirements.txt",
        "validate.yml:checkov": "requirements-checkov.txt",
    }


@pytest.mark.parametrize("repo", REPO_DIRS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_checkov_is_installed_by_one_job_that_only_the_component_workflow_calls(repo: Path) -> None:
    workflows = _workflows(repo)
    installing = [
        f"{workflow}:{job_id}"
        for workflow, doc in workflows.items()
        for job_id, job in doc["jobs"].items()
        if any("requirements-checkov.txt" in str(s.get("run", "")) for s in job.get("steps", []))
    ]
    assert installing == ["validate.yml:checkov"]
    callers = [
        f"{workflow}:{job_id}"
        for workflow, doc in workflows.items()
        for job_id, job in doc["jobs"].items()
        if job.get("uses") == "./.github/workflows/validate.yml"
    ]
    # A deployment validates each component it deploys beside that component's plan: once for the usual
    # one-component push, once per component (each on its own runner) when all of them change.
    assert callers == ["terraform-component.yml:validate"]
    assert workflows["terraform-component.yml"]["jobs"]["validate"]["if"] == "inputs.validate"


def _pip_download(tmp_path: Path, requirements: str) -> subprocess.CompletedProcess[str]:
    """pip, offline, fetching ``requirements`` from a folder holding a stand-in wheel for every package."""
    wheels = tmp_path / "wheels"
    wheels.mkdir(exist_ok=True)
    for line in requirements.splitlines():
        match = re.match(r"^(\S+)==(\S+)", line)
        if match:
            with zipfile.ZipFile(wheels / f"{match[1]}-{match[2]}-py3-none-any.whl", "w") as wheel:
                wheel.writestr(f"{match[1]}/__init__.py", "")
    (tmp_path / "requirements.txt").write_text(requirements, encoding="utf-8")
    command = [sys.executable, "-m", "pip", "--isolated", "download", "--no-deps", "--no-index"]
    command += ["--find-links", str(wheels), "--dest", str(tmp_path / "got"), "-r", "requirements.txt"]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)


def test_pip_checks_every_wheel_against_its_hash_and_refuses_a_missing_one(tmp_path: Path) -> None:
    """pip's own hash-checking mode on the generated file: a wheel that is not the locked one is refused,
    and a line without its hash stops the install."""
    text = (REPOS / "2_1_bbws_dynamodb_schemas" / "requirements.txt").read_text(encoding="utf-8")
    (tmp_path / "other-wheels").mkdir()
    done = _pip_download(tmp_path / "other-wheels", text)
    assert done.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in done.stderr, done.stderr
    assert f"Expected sha256 {LOCK['sets']['requirements']['packages'][0]['sha256']}" in done.stderr

    package = LOCK["sets"]["requirements"]["packages"][0]
    dropped = text.replace(f" \\\n    --hash=sha256:{package['sha256']}", "", 1)
    assert dropped != text
    (tmp_path / "dropped").mkdir()
    done = _pip_download(tmp_path / "dropped", dropped)
    assert done.returncode != 0
    assert "Hashes are required in --require-hashes mode" in done.stderr, done.stderr
    assert f"{package['name']}=={package['version']} --hash=sha256:" in done.stderr


def _definition(tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "definition"
    shutil.copytree(DEFINITION, target)
    return target


def test_validate_refuses_a_lock_not_resolved_from_todays_pins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Renovate bump of pyproject.toml without a relock: the lock's roots no longer match."""
    definition = _definition(tmp_path)
    lock = definition / "python-lock.yaml"
    root = LOCK["sets"]["requirements"]["roots"][0]
    name = root.split("==")[0]
    lock.write_text(lock.read_text(encoding="utf-8").replace(f"- {root}\n", f"- {name}==0.0.1\n", 1))
    assert run(["validate", "--definition", str(definition)]) == 2
    err = capsys.readouterr().err
    assert f"{lock}:" in err and "/sets/requirements/roots" in err
    assert f"{name}==0.0.1" in err and root in err
    assert "nox -s relock" in err


@pytest.mark.parametrize(
    ("edit", "pointer"),
    [
        (lambda text: text.replace("sha256: ", "sha256: x", 1), "/sets/requirements/packages/0/sha256"),
        (lambda text: text.replace("python: '3.11'", "python: '3.12'", 1), "/python"),
    ],
    ids=["damaged-hash", "other-python"],
)
def test_validate_refuses_a_damaged_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, pointer: str
) -> None:
    definition = _definition(tmp_path)
    lock = definition / "python-lock.yaml"
    lock.write_text(edit(lock.read_text(encoding="utf-8")))
    assert run(["validate", "--definition", str(definition)]) == 2
    err = capsys.readouterr().err
    assert f"{lock}:" in err and pointer in err, err


def test_validate_refuses_a_missing_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = _definition(tmp_path)
    (definition / "python-lock.yaml").unlink()
    assert run(["validate", "--definition", str(definition)]) == 2
    err = capsys.readouterr().err
    assert "the Python lock file is missing" in err and "nox -s relock" in err


def test_the_committed_lock_is_exactly_what_relock_writes() -> None:
    """No hand edits: the file is relock's rendering of its own data (header, platforms, sets)."""
    sets = {
        group: (entry["roots"], [LockedPackage(**p) for p in entry["packages"]])
        for group, entry in LOCK["sets"].items()
    }
    assert LOCK["platforms"] == list(PLATFORMS)
    assert lock_text(LOCK["python"], sets) == (DEFINITION / "python-lock.yaml").read_text(encoding="utf-8")
    assert (EDGE / "definition" / "python-lock.yaml").read_text() == (DEFINITION / "python-lock.yaml").read_text()
