"""The compile cache behind generate: the same output warm or cold, never a stale or foreign entry."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import pytest

from generator.render import cache_paths
from generator.render.copier_adapter import compile_cache


def _render(env: jinja2.Environment, source: str, **context: object) -> str:
    return env.from_string(source).render(**context)


def test_a_second_run_takes_the_code_from_disk_and_renders_the_same(tmp_path: Path) -> None:
    source = "{% for i in items %}{{ i * 2 }},{% endfor %}{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(name) }}"
    with compile_cache(tmp_path):
        cold = _render(jinja2.Environment(), source, items=[1, 2], name="a")
    assert len(list(tmp_path.iterdir())) == 1
    original = jinja2.Environment.compile
    calls: list[str] = []

    def counting(self: jinja2.Environment, *args: object, **kwargs: object) -> object:
        calls.append("compile")
        return original(self, *args, **kwargs)  # type: ignore[call-overload]

    jinja2.Environment.compile = counting  # type: ignore[assignment,method-assign]
    try:
        with compile_cache(tmp_path):
            warm = _render(jinja2.Environment(), source, items=[1, 2], name="a")
    finally:
        jinja2.Environment.compile = original  # type: ignore[method-assign]
    assert warm == cold == "2,4,<a>"
    assert calls == [], "the second run compiled again instead of using the cache"
    assert jinja2.Environment.compile is original, "the wrapper is removed after the block"


def test_differently_configured_environments_never_share_code(tmp_path: Path) -> None:
    with compile_cache(tmp_path):
        assert _render(jinja2.Environment(), "{{ x }}", x=1) == "1"
        odd = jinja2.Environment(variable_start_string="[[", variable_end_string="]]")
        assert _render(odd, "{{ x }}", x=1) == "{{ x }}"
        assert _render(jinja2.Environment(keep_trailing_newline=True), "{{ x }}\n", x=1) == "1\n"
        assert _render(jinja2.Environment(), "{{ x }}\n", x=1) == "1"


def test_an_unreadable_entry_is_compiled_again(tmp_path: Path) -> None:
    with compile_cache(tmp_path):
        _render(jinja2.Environment(), "{{ x }}", x=1)
    (entry,) = tmp_path.iterdir()
    entry.write_bytes(b"not marshalled code")
    with compile_cache(tmp_path):
        assert _render(jinja2.Environment(), "{{ x }}", x=2) == "2"


def test_errors_name_the_current_template_file(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
        (folder / "page.jinja").write_text("line one\n{{ missing.attribute }}\n")
    with compile_cache(tmp_path / "cache"):
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(first), undefined=jinja2.StrictUndefined)
        with pytest.raises(jinja2.UndefinedError):
            env.get_template("page.jinja").render()
    with compile_cache(tmp_path / "cache"):
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(second), undefined=jinja2.StrictUndefined)
        with pytest.raises(jinja2.UndefinedError) as raised:
            env.get_template("page.jinja").render()
    frames = [str(entry.path) for entry in raised.traceback]
    assert str(second / "page.jinja") in frames and str(first / "page.jinja") not in frames


def test_off_keeps_nothing_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache_paths.CACHE_ENV, "off")
    assert cache_paths.cache_dir("jinja") is None
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "named"))
    assert cache_paths.cache_dir("jinja") == tmp_path / "named" / "jinja"
    monkeypatch.delenv(cache_paths.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_paths.cache_dir("jinja") == tmp_path / "xdg" / "bbws-gen" / "jinja"


def test_an_altered_entry_is_never_used(tmp_path: Path) -> None:
    """A compiled file that is valid code but not what was stored (altered by hand, or another version's)
    renders nothing: each file is checked against the sha256 stored with it (issue 22, defect 8)."""
    import marshal

    with compile_cache(tmp_path):
        _render(jinja2.Environment(), "{{ x }}", x=1)
    (entry,) = tmp_path.iterdir()
    foreign = jinja2.Environment().compile("altered {{ x }}")
    for altered in (marshal.dumps(foreign), entry.read_bytes()[:32] + marshal.dumps(foreign)):
        entry.write_bytes(altered)
        with compile_cache(tmp_path):
            assert _render(jinja2.Environment(), "{{ x }}", x=2) == "2"


def test_the_folder_is_bounded_by_size(tmp_path: Path) -> None:
    from generator.render import compile_store

    for number in range(6):
        (tmp_path / f"{number}").write_bytes(b"x" * 100)
        os.utime(tmp_path / f"{number}", (number, number))
    compile_store.prune(tmp_path, max_bytes=350)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3", "4", "5"], "the oldest go first"
