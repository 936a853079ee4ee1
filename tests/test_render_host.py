"""The render host (generator/render/host.py): a process forked early that renders the trees exactly as this
process would, leaves no process behind, and turns its own death or failure into a clear error that
changes nothing."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import stat
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from generator import api
from generator.errors import DefinitionError, GenerateError
from generator.render import cache_paths, staging
from generator.render.host import RenderHost
from generator.render.targets import Target, targets
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform: no render host starts"
)

DIED = "the render host process died"


def _tree(path: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``path`` with its executable bit (the lock beside the repos is not output)."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & stat.S_IXUSR))
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".bbws-gen.lock"
    }


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the module: passed fmt checks and compiled templates carry from test to test (no
    test here stores a rendered output, so no run takes its trees from the output cache)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def two_cpus(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two CPUs, whatever this machine has, so a host starts (tests of one CPU say so themselves)."""
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(cache_dir))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RenderHost]]:
    """Every host started during the test (by the test or by api.generate); none may outlive it."""
    hosts: list[RenderHost] = []
    real = RenderHost.start.__func__  # type: ignore[attr-defined]

    def recording(cls: type[RenderHost]) -> RenderHost | None:
        host: RenderHost | None = real(cls)
        if host is not None:
            hosts.append(host)
        return host

    monkeypatch.setattr(RenderHost, "start", classmethod(recording))
    yield hosts
    for host in hosts:
        host.close()


def _assert_gone(host: RenderHost) -> None:
    assert not host._process.is_alive()
    assert host._process not in multiprocessing.active_children()
    assert host._process.exitcode is not None, "reaped, not a zombie"


def _start() -> RenderHost:
    host = RenderHost.start()
    assert host is not None, "two CPUs and fork: a host starts"
    return host


def _job(tmp_path: Path) -> staging.RenderJob:
    (tmp_path / "rendered").mkdir()
    return staging.RenderJob(tmp_path, tmp_path / "rendered", "v0", ())


def test_a_host_closed_unused_leaves_no_process(started: list[RenderHost]) -> None:
    host = _start()
    host.close()
    _assert_gone(host)
    host.close()  # twice is harmless


def test_a_host_renders_exactly_the_committed_output(
    started: list[RenderHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = api.validate(DEFINITION).model
    host = _start()

    def here(*args: object) -> None:
        raise AssertionError("rendered in this process, not in the host")

    # After the fork: the host keeps the real ones, this process can no longer render.
    monkeypatch.setattr(staging, "render_trees", here)
    monkeypatch.setattr(staging, "render_target", here)
    out = tmp_path / "out"
    (out / "staging").mkdir(parents=True)
    lines: list[str] = []
    rendered, checked = staging.render_all(
        ROOT, out / "staging", targets(model, out / "repos", out / "docs"), lines.append, renderer=host
    )
    assert checked == (shutil.which("terraform") is not None)
    for name in ["2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas"]:
        assert _tree(rendered / name) == _tree(REPOS / name), name
    assert _tree(rendered / "docs") == _tree(DOCS)
    _assert_gone(host)  # it exits once it has answered


def test_a_host_killed_before_answering_is_a_clear_error(started: list[RenderHost], tmp_path: Path) -> None:
    host = _start()
    os.kill(host._process.pid or 0, signal.SIGKILL)
    host._process.join()
    with pytest.raises(GenerateError, match=DIED) as raised:
        host(_job(tmp_path))
    assert raised.value.details == ["run generate again; if it recurs, check the machine's memory"]
    _assert_gone(host)


def _killing_start(monkeypatch: pytest.MonkeyPatch) -> list[RenderHost]:
    """Make api.generate's host die (SIGKILL, as the OOM killer would) before it is handed the job."""
    hosts: list[RenderHost] = []
    real = RenderHost.start.__func__  # type: ignore[attr-defined]

    def killed(cls: type[RenderHost]) -> RenderHost | None:
        host: RenderHost | None = real(cls)
        assert host is not None
        os.kill(host._process.pid or 0, signal.SIGKILL)
        hosts.append(host)
        return host

    monkeypatch.setattr(RenderHost, "start", classmethod(killed))
    return hosts


def test_generate_with_a_dead_host_changes_nothing(
    tmp_path: Path, definition_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = definition_copy / "platform.yaml"
    platform.write_text(platform.read_text().replace("Owner: Tebogo", "Owner: Platform Team"))
    shutil.copytree(REPOS, tmp_path / "repos")
    shutil.copytree(DOCS, tmp_path / "docs")
    hosts = _killing_start(monkeypatch)
    with pytest.raises(GenerateError, match=DIED):
        api.generate(definition_copy, tmp_path / "repos", tmp_path / "docs", root=ROOT)
    assert _tree(tmp_path / "repos") == _tree(REPOS) and _tree(tmp_path / "docs") == _tree(DOCS)
    assert not list((tmp_path / "repos").glob(".bbws-gen-*")) and not list((tmp_path / "docs").glob(".bbws-gen-*"))
    assert len(hosts) == 1
    _assert_gone(hosts[0])


def test_a_blueprint_error_in_the_host_comes_back_with_its_message_and_details(
    started: list[RenderHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = staging.render_target

    def failing(template: Path, target: Target, destination: Path, tag: str) -> None:
        if target.blueprint == "s3":
            raise GenerateError("blueprint 's3' failed to render: no such variable", ["in README.md.jinja line 3"])
        destination.mkdir(parents=True)  # the other trees need not render for this test

    monkeypatch.setattr(staging, "render_target", failing)  # before the fork: the host inherits it
    host = _start()
    monkeypatch.setattr(staging, "render_target", real)  # this process would render without the error
    model = api.validate(DEFINITION).model
    (tmp_path / "staging").mkdir()
    with pytest.raises(GenerateError) as raised:
        staging.render_all(
            ROOT, tmp_path / "staging", targets(model, tmp_path / "repos", tmp_path / "docs"), print, renderer=host
        )
    assert str(raised.value) == "blueprint 's3' failed to render: no such variable"
    assert raised.value.details == ["in README.md.jinja line 3"]
    _assert_gone(host)


def test_an_error_of_the_host_itself_comes_back_with_its_message_and_details(
    started: list[RenderHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render worker of the host dies: the host's GenerateError crosses back whole."""

    def dying(job: staging.RenderJob, index: int) -> staging.TreeResult:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")

    monkeypatch.setattr(staging, "render_tree", dying)
    host = _start()
    model = api.validate(DEFINITION).model
    job = staging.RenderJob(tmp_path, tmp_path / "rendered", "v0", tuple(targets(model, tmp_path, tmp_path)))
    with pytest.raises(GenerateError) as raised:
        host(job)
    assert str(raised.value) == "a render worker process died (killed, or out of memory); nothing was changed"
    assert raised.value.details == ["run generate again; if it recurs, check the machine's memory"]
    _assert_gone(host)


def test_a_definition_that_does_not_validate_stops_the_host(
    started: list[RenderHost], tmp_path: Path, definition_copy: Path
) -> None:
    (definition_copy / "platform.yaml").write_text("not: [valid\n")
    with pytest.raises(DefinitionError):
        api.generate(definition_copy, tmp_path / "repos", tmp_path / "docs", root=ROOT)
    assert len(started) == 1
    _assert_gone(started[0])


def test_on_one_cpu_no_host_starts_and_generate_renders_here(
    started: list[RenderHost], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert RenderHost.start() is None
    before = set(multiprocessing.active_children())
    lines: list[str] = []
    api.generate(DEFINITION, tmp_path / "repos", tmp_path / "docs", root=ROOT, report=lines.append)
    assert any("validating the definition" in line for line in lines), "rendered, not taken from a cache"
    assert _tree(tmp_path / "repos") == _tree(REPOS) and _tree(tmp_path / "docs") == _tree(DOCS)
    assert started == [] and set(multiprocessing.active_children()) == before


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a dead child its new parent has not reaped yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` (a liveness wait, not a speed assertion: the limit is generous)."""
    for _ in range(1200):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_generate_killed_while_its_trees_render_leaves_no_render_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed by the OOM killer or a SIGKILL, generate takes its render host and the host's workers with it:
    none goes on writing into a staging folder that the next run's recovery removes."""
    monkeypatch.setenv(cache_paths.CACHE_ENV, "off")
    pids = tmp_path / "pids"
    pids.mkdir()

    def stuck(template: Path, target: Target, destination: Path, tag: str) -> None:
        (pids / str(os.getpid())).write_text(target.name)
        time.sleep(600)

    monkeypatch.setattr(staging, "render_target", stuck)
    model = api.validate(DEFINITION).model
    (tmp_path / "staging").mkdir()
    generate = os.fork()
    if generate == 0:  # pragma: no cover - the child: a generate that gets as far as rendering
        try:
            host = _start()
            (pids / "host").write_text(str(host._process.pid))
            trees = targets(model, tmp_path / "repos", tmp_path / "docs")
            staging.render_all(ROOT, tmp_path / "staging", trees, lambda line: None, renderer=host)
        finally:
            os._exit(0)
    workers = lambda: [int(p.name) for p in pids.iterdir() if p.name.isdigit()]  # noqa: E731
    try:
        _wait_for(lambda: len(workers()) == 2, "two render workers rendering")
        os.kill(generate, signal.SIGKILL)
        os.waitpid(generate, 0)
        watched = [int((pids / "host").read_text()), *workers()]
        _wait_for(lambda: not any(_running(pid) for pid in watched), f"render processes {watched} ending")
    finally:
        for pid in workers() + ([int((pids / "host").read_text())] if (pids / "host").exists() else []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
