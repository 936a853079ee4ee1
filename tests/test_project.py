"""bbws-gen finds its project from the current directory, as git does, never from where it is installed.

The console script of this checkout's environment (an editable install of this checkout) is run in a
second clone, in a subfolder, from outside any project, and from a non-editable install: each reads and
writes the project it runs in, and nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.test_update import copy_worktree

BBWS_GEN = Path(sys.executable).parent / "bbws-gen"
OWNER = "Owner: Tebogo"


def _run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BBWS_GEN), *args], cwd=cwd, capture_output=True, text=True, check=False, env=env or dict(os.environ)
    )


def _status(path: Path) -> str:
    """git status of this checkout's generated trees (to prove a run elsewhere did not touch them)."""
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all", "--", "repos", "docs", "definition"],
        cwd=path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second checkout of the project (this working tree's files) whose definition differs."""
    path = tmp_path_factory.mktemp("second") / "clone"
    copy_worktree(ROOT, path)
    platform = path / "definition" / "platform.yaml"
    platform.write_text(platform.read_text().replace(OWNER, "Owner: Second Clone"))
    return path


def test_a_second_clone_reads_and_writes_only_itself(clone: Path) -> None:
    before = _status(ROOT)
    result = _run(clone / "definition" / "tables", "generate", "-q")  # from a subfolder, -q after the command
    assert result.returncode == 0, result.stderr
    assert "Second Clone" in (clone / "repos" / "2_1_bbws_dynamodb_schemas" / ".copier-answers.yml").read_text()
    assert "Second Clone" not in (ROOT / "repos" / "2_1_bbws_dynamodb_schemas" / ".copier-answers.yml").read_text()
    assert _status(ROOT) == before, "a run in another clone changed this checkout"
    assert "validating" not in result.stderr, "-q after the subcommand is honoured"
    # --output without --docs: the docs are still the clone's, never the installed checkout's.
    out = clone / "build" / "other-repos"
    result = _run(clone, "generate", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "2_1_bbws_s3_schemas" / ".copier-answers.yml").is_file()
    assert _status(ROOT) == before
    assert _run(clone, "generate", "--check").returncode == 0


def test_outside_any_project_is_a_clear_usage_error(tmp_path: Path, clone: Path) -> None:
    result = _run(tmp_path, "generate")
    assert result.returncode == 2
    assert "not inside a bbws-gen project" in result.stderr and "--project" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())
    # --project names it, before or after the subcommand.
    assert _run(tmp_path, "--project", str(clone), "validate").returncode == 0
    assert _run(tmp_path, "validate", "--project", str(clone)).returncode == 0
    wrong = _run(tmp_path, "validate", "--project", str(tmp_path))
    assert wrong.returncode == 2 and "is not a bbws-gen project" in wrong.stderr


def test_a_subfolder_finds_the_root(clone: Path) -> None:
    result = _run(clone / "repos" / "2_1_bbws_s3_schemas" / "terraform", "validate")
    assert result.returncode == 0, result.stderr
    assert str(clone / "definition") in result.stdout


@pytest.mark.e2e
def test_a_non_editable_install_works_on_the_project_it_runs_in(tmp_path: Path, clone: Path) -> None:
    """pip install (not -e) of the package, run inside the clone: the blueprints and definition are the clone's."""
    target = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import generator; print(generator.__file__)"],
        cwd=clone / "definition",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.strip().startswith(str(target)), "the installed copy must be the one that runs"
    repo = clone / "repos" / "2_1_bbws_dynamodb_schemas"
    shutil.rmtree(repo)
    before = _status(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "generator", "generate"],
        cwd=clone / "definition",
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Second Clone" in (repo / ".copier-answers.yml").read_text()
    assert _status(ROOT) == before
