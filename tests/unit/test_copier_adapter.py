"""The Copier/Jinja adapter: written for the pinned versions, and inert (reported) with any other."""

from __future__ import annotations

import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import cast

import jinja2
import pytest
from copier._main import Worker

from generator.render import copier_adapter
from tests.conftest import ROOT


def _pins() -> dict[str, str]:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(line.split("==") for line in dependencies)


def test_the_adapter_is_written_for_the_pinned_copier_and_jinja() -> None:
    """A bump of either pin must come with a review of the adapter (and this constant)."""
    pins = _pins()
    assert {name: pins[name] for name in copier_adapter.WRITTEN_FOR} == copier_adapter.WRITTEN_FOR
    assert copier_adapter.version_mismatches() == [], "installed versions differ from the pins: reinstall"


def test_with_the_pinned_versions_both_speed_ups_apply_and_are_undone() -> None:
    compile_before, probe_before = jinja2.Environment.compile, Worker._sync_git_index_executable_bit
    lines: list[str] = []
    with copier_adapter.fast_rendering(lines.append):
        assert jinja2.Environment.compile is not compile_before
        assert Worker._sync_git_index_executable_bit is not probe_before
        assert jinja2.Environment().from_string("{{ 1 + x }}").render(x=1) == "2"
    assert jinja2.Environment.compile is compile_before
    assert Worker._sync_git_index_executable_bit is probe_before
    assert lines == []


def test_another_copier_version_renders_without_the_speed_ups_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copier_adapter, "installed", lambda name: "99.0.0" if name == "copier" else "3.1.6")
    compile_before, probe_before = jinja2.Environment.compile, Worker._sync_git_index_executable_bit
    lines: list[str] = []
    with copier_adapter.fast_rendering(lines.append):
        assert jinja2.Environment.compile is compile_before
        assert Worker._sync_git_index_executable_bit is probe_before
    assert lines == [
        "copier 99.0.0 is installed; the adapter was written for copier 9.19.1: "
        "rendering without the Copier/Jinja speed-ups"
    ]


def test_a_missing_jinja_is_reported_as_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(copier_adapter, "installed", lambda name: None if name == "jinja2" else "9.19.1")
    assert copier_adapter.version_mismatches() == ["jinja2 is not installed; the adapter was written for jinja2 3.1.6"]


def test_a_copier_without_the_private_probe_renders_plainly_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(Worker, "_sync_git_index_executable_bit")
    lines: list[str] = []
    with copier_adapter.fast_rendering(lines.append):
        assert not hasattr(Worker, "_sync_git_index_executable_bit")
    assert lines == ["Copier has no Worker._sync_git_index_executable_bit: rendering with its per-file git probe"]
    assert not hasattr(Worker, "_sync_git_index_executable_bit"), "nothing is left behind"


def _get_repo() -> Callable[[str], str | None]:
    from copier import _template

    return cast(Callable[[str], str | None], getattr(_template, "get_repo"))  # noqa: B009  # private


@pytest.fixture
def no_git(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Make every git command Copier would run fail the test (and record that it was asked for)."""
    from copier import _vcs

    asked: list[tuple[object, ...]] = []

    def get_git(*args: object) -> None:
        asked.append(args)
        raise AssertionError("Copier ran git")

    monkeypatch.setattr(_vcs, "get_git", get_git)
    return asked


def test_a_plain_template_folder_is_answered_without_git(tmp_path: Path, no_git: list[tuple[object, ...]]) -> None:
    (tmp_path / "template").mkdir()
    with copier_adapter.fast_rendering(print):
        assert _get_repo()(str(tmp_path / "template")) is None
    assert no_git == []
    with pytest.raises(AssertionError, match="Copier ran git"):  # what the stub saves: Copier's own asks git
        _get_repo()(str(tmp_path / "template"))


def test_a_git_repository_root_is_still_a_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "sub").mkdir()
    worktree = tmp_path / "linked"
    worktree.mkdir()
    (worktree / ".git").write_text(f"gitdir: {repo / '.git'}\n")  # a linked worktree or submodule: .git is a file
    bare = tmp_path / "template.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    original = _get_repo()
    expected = {path: original(str(path)) for path in (repo, bare, repo / "sub")}
    assert expected[repo] == repo.as_posix() and expected[bare] == bare.as_posix()
    with copier_adapter.fast_rendering(print):
        assert _get_repo() is not original
        assert {path: _get_repo()(str(path)) for path in expected} == expected
        assert _get_repo()(str(repo / "sub")) is None  # inside a repository, not its root: plain, as git says
        assert _get_repo()(str(worktree)) == original(str(worktree))
        assert _get_repo()("gh:copier-org/copier") == "https://github.com/copier-org/copier.git"


def test_the_git_probe_is_restored_after_the_block_even_when_it_fails() -> None:
    original = _get_repo()
    with pytest.raises(RuntimeError), copier_adapter.fast_rendering(print):
        assert _get_repo() is not original
        raise RuntimeError("render failed")
    assert _get_repo() is original


def test_copier_renders_a_plain_template_without_asking_git_whether_it_is_a_repository(
    tmp_path: Path, no_git: list[tuple[object, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from copier import _template, run_copy

    monkeypatch.setattr(_template, "is_git_available", lambda: True)  # as on any machine with git
    template = tmp_path / "template"
    template.mkdir()
    (template / "copier.yml").write_text("name:\n  type: str\n")
    (template / "hello.txt.jinja").write_text("hello {{ name }}\n")
    with copier_adapter.fast_rendering(print):
        run_copy(str(template), str(tmp_path / "out"), data={"name": "bbws"}, defaults=True, quiet=True)
    assert (tmp_path / "out" / "hello.txt").read_text() == "hello bbws\n"
    assert no_git == []
