"""A generate killed at any step leaves every tree old or new, loses no user file, and the next run finishes.

Deterministic: one clean run lists every named step of generate and swap it passes (BBWS_GEN_FAULT_TRACE),
then a forked generate is SIGKILLed at each of them in turn (BBWS_GEN_FAULT), with the user's files (local
state, an override, a saved plan, notes, a provider cache) planted in every tree.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import faults
from generator.cli import run
from generator.render import lock, swap
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

TREES = ["repos/2_1_bbws_dynamodb_schemas", "repos/2_1_bbws_s3_schemas", "docs"]
USER_FILES = {
    "repos/2_1_bbws_dynamodb_schemas/terraform/tenants/terraform.tfstate": "tenants state\n",
    "repos/2_1_bbws_dynamodb_schemas/terraform/tenants/dev_override.tf": "# override\n",
    "repos/2_1_bbws_dynamodb_schemas/terraform/tenants/.terraform/providers/marker": "provider cache\n",
    "repos/2_1_bbws_s3_schemas/plan.json": "{}\n",
    "repos/2_1_bbws_s3_schemas/terraform/templates/terraform.tfstate": "templates state\n",
    "docs/notes/meeting.md": "mine\n",
}
# Steps that must be among those traced (the hook is wired where it matters).
REQUIRED_STEPS = {
    "generate:rendered",
    "swap:plan-unrenamed",
    "swap:plan-written",
    *(f"swap:{tree.rsplit('/', 1)[-1]}:{step}" for tree in TREES for step in ("carrying", "carried", "exchanged")),
}


def _snapshot(path: Path) -> dict[str, bytes]:
    """The owned files of a tree (the user's files and bbws-gen's lock and staging left out)."""
    user = {name.split("/", 1)[1] if name.startswith("docs/") else name for name in USER_FILES}
    prefix = path.relative_to(path.parents[1]).as_posix() + "/" if path.name != "docs" else ""
    return {
        rel: p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
        and not p.name.startswith(".bbws-gen-")
        and ".terraform" not in p.parts
        and (rel := p.relative_to(path).as_posix())
        and prefix + rel not in user
    }


def _reset(out: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(REPOS, out / "repos")
    shutil.copytree(DOCS, out / "docs")
    for name, text in USER_FILES.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)


def _argv(definition: Path, out: Path) -> list[str]:
    return [
        "-q",
        "generate",
        "--definition",
        str(definition),
        "--output",
        str(out / "repos"),
        "--docs",
        str(out / "docs"),
    ]


def _generate_cmd(definition: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "generator", *_argv(definition, out)]


def _forked_generate(definition: Path, out: Path, env: dict[str, str], *extra: str) -> int:
    """Run generate in a forked child (no interpreter start-up per run); its wait status."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.environ.update(env)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            code = run([*_argv(definition, out), *extra])
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return status


@pytest.fixture(scope="module")
def changed_definition(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, bytes]]]:
    """A definition whose output differs in every tree, and that new output."""
    definition = tmp_path_factory.mktemp("def") / "definition"
    shutil.copytree(DEFINITION, definition)
    platform = definition / "platform.yaml"
    platform.write_text(platform.read_text().replace("Owner: Tebogo", "Owner: Platform Team"))
    table = (
        (definition / "tables" / "tenants.json").read_text().replace('"tableName": "tenants"', '"tableName": "leads"')
    )
    (definition / "tables" / "leads.json").write_text(table)
    expected = tmp_path_factory.mktemp("expected")
    assert run(_argv(definition, expected)) == 0
    return definition, {tree: _snapshot(expected / tree) for tree in TREES}


def test_a_crash_at_every_step_leaves_old_or_new_trees_and_every_user_file(
    tmp_path: Path, changed_definition: tuple[Path, dict[str, dict[str, bytes]]]
) -> None:
    definition, new = changed_definition
    old = {tree: _snapshot(ROOT / tree) for tree in TREES}
    assert all(old[t] != new[t] for t in TREES), "the change must touch every tree"
    out = tmp_path / "out"
    _reset(out)
    trace = tmp_path / "trace"
    assert os.WEXITSTATUS(_forked_generate(definition, out, {faults.TRACE_ENV: str(trace)})) == 0
    steps = list(dict.fromkeys(trace.read_text().splitlines()))
    assert set(steps) >= REQUIRED_STEPS, f"fault points not reached: {REQUIRED_STEPS - set(steps)}"
    for step in steps:
        _reset(out)
        status = _forked_generate(definition, out, {faults.FAULT_ENV: step})
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"{step}: the fault did not fire"
        states = []
        for tree in TREES:
            now = _snapshot(out / tree)
            assert now in (old[tree], new[tree]), f"crash at {step}: {tree} is a mix of old and new files"
            states.append("new" if now == new[tree] else "old")
        swap.recover(out / "repos")
        after = {"new" if _snapshot(out / t) == new[t] else "old" for t in TREES}
        assert len(after) == 1, f"crash at {step}: after recovery the trees disagree: {after}"
        assert after == ({"new"} if step.startswith("swap:") and step != "swap:plan-unrenamed" else {"old"}), step
        for name, text in USER_FILES.items():
            assert (out / name).read_text() == text, f"crash at {step} then recovery lost the user's {name}"
        assert not list((out / "repos").glob(".bbws-gen-*")), "recovery leaves no staging behind"
    # And a full run after the last crash ends with the new output and every user file.
    assert run(_argv(definition, out)) == 0
    assert all(_snapshot(out / t) == new[t] for t in TREES)
    assert all((out / name).read_text() == text for name, text in USER_FILES.items())


def test_a_crash_during_recovery_is_recovered_by_the_next_run(
    tmp_path: Path, changed_definition: tuple[Path, dict[str, dict[str, bytes]]]
) -> None:
    definition, new = changed_definition
    out = tmp_path / "out"
    _reset(out)
    status = _forked_generate(definition, out, {faults.FAULT_ENV: "swap:2_1_bbws_s3_schemas:carrying"})
    assert os.WIFSIGNALED(status)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: recovery itself dies half-way
        try:
            os.environ[faults.FAULT_ENV] = "swap:docs:carried"
            swap.recover(out / "repos")
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), "the fault in recovery did not fire"
    swap.recover(out / "repos")
    assert all(_snapshot(out / t) == new[t] for t in TREES)
    assert all((out / name).read_text() == text for name, text in USER_FILES.items())


def test_a_kill_at_a_random_moment_never_mixes_trees(
    tmp_path: Path, changed_definition: tuple[Path, dict[str, dict[str, bytes]]]
) -> None:
    """An extra to the test above with a real process and a real timer: it asserts only the invariant, so a
    slow machine (every kill landing before the swap) cannot fail it."""
    definition, new = changed_definition
    old = {tree: _snapshot(ROOT / tree) for tree in TREES}
    out = tmp_path / "out"
    _reset(out)
    process = subprocess.Popen(_generate_cmd(definition, out), cwd=ROOT)
    time.sleep(1.0)
    process.send_signal(signal.SIGKILL)
    process.wait()
    for tree in TREES:
        assert _snapshot(out / tree) in (old[tree], new[tree]), f"{tree} is a mix of old and new files"
    swap.recover(out / "repos")
    assert len({"new" if _snapshot(out / t) == new[t] else "old" for t in TREES}) == 1
    assert all((out / name).read_text() == text for name, text in USER_FILES.items())


def _reached(trace: Path, step: str, process: subprocess.Popen[str]) -> bool:
    """Wait until ``process`` passes the named ``step`` (True) or ends first (False); no fixed delay."""
    while process.poll() is None:
        if trace.is_file() and step in trace.read_text(encoding="utf-8").split():
            return True
        time.sleep(0.05)
    return False


def test_a_second_generate_waits_for_the_first(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _reset(out)
    trace = tmp_path / "trace"
    with (out / "repos" / lock.LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        process = subprocess.Popen(
            _generate_cmd(DEFINITION, out),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, faults.TRACE_ENV: str(trace)},
        )
        assert _reached(trace, "lock:waiting", process), "the second generate must wait while the lock is held"
        assert process.poll() is None, "the second generate must wait while the lock is held"
        fcntl.flock(held, fcntl.LOCK_UN)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err


def test_a_generate_that_cannot_get_the_lock_fails_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    _reset(out)
    monkeypatch.setattr(lock, "LOCK_WAIT_SECONDS", 0.5)
    with (out / "repos" / lock.LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = run(["generate", "--output", str(out / "repos"), "--docs", str(out / "docs")])
    assert code == 1
    assert "another bbws-gen generate holds" in capsys.readouterr().err


def _listing(top: Path) -> list[str]:
    """Every path under ``top``, files and folders, with nothing left out."""
    return sorted(p.relative_to(top).as_posix() for p in top.rglob("*"))


def test_a_check_writes_nothing_in_the_output_even_when_killed_midway(tmp_path: Path) -> None:
    # A check used to stage inside the output and create the lock there: a backup, a copy or a test
    # reading the repos at that moment saw a folder vanish under it.
    out = tmp_path / "out"
    _reset(out)
    before = _listing(out)
    status = _forked_generate(DEFINITION, out, {faults.FAULT_ENV: "generate:rendered"}, "--check")
    assert os.WIFSIGNALED(status), "the check must have reached the point where the trees are staged"
    assert _listing(out) == before, "a check must create nothing beside the repos, not even its staging"
    assert run([*_argv(DEFINITION, out), "--check"]) == 0
    assert _listing(out) == before


def test_a_check_waits_while_a_generate_holds_the_lock(tmp_path: Path) -> None:
    out = tmp_path / "out"
    _reset(out)
    trace = tmp_path / "trace"
    with (out / "repos" / lock.LOCK_FILE).open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        process = subprocess.Popen(
            [*_generate_cmd(DEFINITION, out), "--check"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, faults.TRACE_ENV: str(trace)},
        )
        assert _reached(trace, "lock:waiting", process), "a check must not compare trees a generate is swapping"
        assert process.poll() is None
        fcntl.flock(held, fcntl.LOCK_UN)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
