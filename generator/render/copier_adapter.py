"""The one module that touches Copier's or Jinja's private API, pinned to the versions it was written for.

Three speed-ups live here, and only here:

- Copier asks git three times per run whether the template folder is a repository root or a bundle
  (``git rev-parse``, ``git init`` and ``git bundle verify``, about 25 ms). The staged template is a plain
  folder with no ``.git``: :func:`_plain_template` answers "no repository" for such a folder without git,
  by stubbing the private ``copier._template.get_repo`` (other paths still go to Copier's own).
- Copier syncs executable bits into the destination's git index, spawning ``git`` once per file; a
  staging folder is never tracked (a no-op by Copier's own rules), and the probe cost 0.3 s of a 1.3 s
  generate. :func:`_untracked_destination` stubs the private ``Worker._sync_git_index_executable_bit``.
- Copier compiles every template anew in every run; :func:`compile_cache` routes
  ``jinja2.Environment.compile`` through :mod:`generator.render.compile_store`.

All rely on behaviour no release promises, so :func:`fast_rendering` applies them only when the installed
Copier and Jinja are the versions in :data:`WRITTEN_FOR` (the pins of pyproject.toml, which a test holds
equal); with any other version it renders the plain, slower way and says so through ``report``.
"""

from __future__ import annotations

import functools
import importlib.metadata
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

from generator.render.cache_paths import cache_dir
from generator.render.compile_store import Store, environment_key, prune

# The versions this module was written and tested against: the pins of pyproject.toml.
WRITTEN_FOR = {"copier": "9.19.1", "jinja2": "3.1.6"}


@functools.cache
def installed(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None when it is not installed."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_mismatches() -> list[str]:
    """One line per library whose installed version is not the one this adapter was written for."""
    lines = []
    for name, pinned in WRITTEN_FOR.items():
        found = installed(name)
        if found != pinned:
            have = f"{name} is not installed" if found is None else f"{name} {found} is installed"
            lines.append(f"{have}; the adapter was written for {name} {pinned}")
    return lines


@contextmanager
def _plain_template() -> Iterator[None]:
    """Answer Copier's "is the template a git repository?" without git for a plain local folder."""
    from copier import _template

    original: Callable[[str], str | None] = getattr(_template, "get_repo")  # noqa: B009  # private, not exported

    def get_repo(url: str) -> str | None:
        path = Path(url)
        # A folder named *.git is a bare repository to Copier (it answers from the name, without git).
        if path.is_absolute() and not url.endswith(".git") and path.is_dir() and not (path / ".git").exists():
            return None  # neither a repository root (it has no .git) nor a bundle (a folder): what git says
        return original(url)

    setattr(_template, "get_repo", get_repo)  # noqa: B010
    try:
        yield
    finally:
        setattr(_template, "get_repo", original)  # noqa: B010


@contextmanager
def _untracked_destination(report: Callable[[str], None]) -> Iterator[None]:
    """Skip Copier's per-file ``git config`` probe while rendering into a fresh staging folder."""
    from copier._main import Worker

    original = getattr(Worker, "_sync_git_index_executable_bit", None)
    if original is None:
        report("Copier has no Worker._sync_git_index_executable_bit: rendering with its per-file git probe")
        yield
        return
    Worker._sync_git_index_executable_bit = lambda self, dst_relpath, src_mode: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Worker._sync_git_index_executable_bit = original  # type: ignore[method-assign]


def _with_filename(code: CodeType, filename: str) -> CodeType:
    """``code`` (and the macro and block functions nested in it) reporting ``filename`` in errors."""
    if code.co_filename == filename:
        return code
    consts = tuple(_with_filename(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


@contextmanager
def compile_cache(directory: Path | None = None) -> Iterator[None]:
    """Share compiled template code within this run and across runs, for the duration of the block.

    ``directory`` defaults to the ``jinja`` cache folder (none when caching is off: memory only). Extension
    preprocess hooks still run on every use, because they may keep state per compile (Copier's ``yield``
    tag resets its context there).
    """
    from jinja2 import Environment

    store = Store(directory if directory is not None else cache_dir("jinja"))
    if store.directory is not None:
        prune(store.directory)
    env_keys: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
    original: Any = Environment.compile  # overloaded on ``raw``; called with the caller's own arguments

    def compile_cached(
        env: Any,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        if raw or not isinstance(source, str):  # Python source text, or an already parsed tree
            return original(env, source, name, filename, raw, defer_init)
        if env not in env_keys:
            env_keys[env] = environment_key(env)
        # Not keyed on the file name: each run renders from a fresh staging folder, so the same
        # template has a new path every time. The cached code is pointed at the current path instead.
        key = (env_keys[env], source, name, defer_init)
        code = store.get(key)
        if code is None:
            code = original(env, source, name, filename, raw, defer_init)
            store.put(key, code)
            return code
        env.preprocess(source, name, filename)
        return _with_filename(code, filename or "<template>")

    Environment.compile = compile_cached  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        Environment.compile = original  # type: ignore[method-assign]


@contextmanager
def fast_rendering(report: Callable[[str], None]) -> Iterator[None]:
    """The speed-ups for the block when the installed Copier and Jinja are the versions they were written
    for; otherwise none of them, reported, and the same output (only slower)."""
    mismatches = version_mismatches()
    if mismatches:
        for line in mismatches:
            report(f"{line}: rendering without the Copier/Jinja speed-ups")
        yield
        return
    with _plain_template(), _untracked_destination(report), compile_cache():
        yield
