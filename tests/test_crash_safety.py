"""A generate killed at any moment leaves every tree old or new, and the next run finishes the job."""

from __future__ import annotations

import fcntl
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import render, swap
from generator.cli import run
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

TREES = ["repos/2_1_bbws_dynamodb_schemas", "repos/2_1_bbws_s3_schemas", "docs"]
KILLS = 20


def _snapshot(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and not p.name.startswith(".bbws-gen")
    }


def _reset(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(REPOS, out / "repos")
    shutil.copytree(DOCS, out / "docs")


def _generate_cmd(definition: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "generator",
        "generate",
        "--definition",
        str(definition),
        "--output",
        str(out / "repos"),
        "--docs",
        str(out / "docs"),
    ]


@pytest.fixture(scope="module")
def changed_definition(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, dict[str, bytes]], float]:
    """A definition whose output differs in every tree, that new output, and how long generating it took."""
    definition = tmp_path_factory.mktemp("def") / "definition"
    shutil.copytree(DEFINITION, definition)
    platform = definition / "platform.yaml"
    platform.write_text(platform.read_text().replace("Owner: Tebogo", "Owner: Platform Team"))
    table = (
        (definition / "tables" / "tenants.json").read_text().replace('"tableName": "tenants"', '"tableName": "leads"')
    )
    (definition / "tables" / "leads.json").write_text(table)
    expected = tmp_path_factory.mktemp("expected")
    start = time.monotonic()
    assert subprocess.run(_generate_cmd(definition, expected), capture_output=True, check=False).returncode == 0
    duration = time.monotonic() - start
    return definition, {tree: _snapshot(expected / tree) for tree in TREES}, duration


def test_sigkill_at_any_point_leaves_old_or_new_trees(
    tmp_path: Path, changed_definition: tuple[Path, dict[str, dict[str, bytes]], float]
) -> None:
    definition, new, duration = changed_definition
    old = {"repos/" + p.name: _snapshot(p) for p in REPOS.iterdir() if p.is_dir()} | {"docs": _snapshot(DOCS)}
    assert all(old[t] != new[t] for t in TREES), "the change must touch every tree"
    out = tmp_path / "out"
    rng = random.Random(20261125)
    seen: set[str] = set()
    for _ in range(KILLS):
        _reset(out)
        process = subprocess.Popen(_generate_cmd(definition, out), cwd=ROOT)
        # Spread the kills over a whole run as long as this machine takes now (busy CI is slower).
        time.sleep(rng.uniform(0.1, 1.15) * duration)
        process.send_signal(signal.SIGKILL)
        process.wait()
        states = []
        for tree in TREES:
            now = _snapshot(out / tree)
            assert now in (old[tree], new[tree]), f"{tree} is a mix of old and new files"
            states.append("new" if now == new[tree] else "old")
        seen.add("/".join(states))
        swap.recover(out / "repos")
        after = {"new" if _snapshot(out / t) == new[t] else "old" for t in TREES}
        assert len(after) == 1, f"after recovery the trees disagree: {after}"
        assert not list((out / "repos").glob(".bbws-gen-*")), "recovery leaves no staging behind"
    assert len(seen) > 1, f"the kills all landed at the same point ({seen}); widen the delays"


def test_a_second_generate_waits_for_the_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _reset(out)
    with (out / "repos" / render.LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        process = subprocess.Popen(
            _generate_cmd(DEFINITION, out), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(2.5)
        assert process.poll() is None, "the second generate must wait while the lock is held"
        fcntl.flock(held, fcntl.LOCK_UN)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


def test_a_generate_that_cannot_get_the_lock_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _reset(out)
    monkeypatch.setattr(render, "LOCK_WAIT_SECONDS", 0.5)
    with (out / "repos" / render.LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = run(["generate", "--output", str(out / "repos"), "--docs", str(out / "docs")])
    assert code == 1
    assert "another bbws-gen generate holds" in capsys.readouterr().err
