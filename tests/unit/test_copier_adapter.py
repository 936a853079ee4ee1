"""The Copier/Jinja adapter: written for the pinned versions, and inert (reported) with any other."""

from __future__ import annotations

import tomllib

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
