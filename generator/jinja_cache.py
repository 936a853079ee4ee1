"""Compile each Jinja template source once, not once per use and per run.

Every Copier run builds its own Jinja environment and compiles every template, path segment and
answers template anew: one generate compiled 137 distinct sources 918 times, and compiling was most of
the time Copier took. While :func:`compile_cache` is active, ``jinja2.Environment.compile`` keeps what it
compiled in memory for the rest of the run and, marshalled, in a cache folder for the next run (as
Python keeps ``__pycache__``). The key covers the source, its name, everything in the environment that
changes the compiled code, and the Jinja, Copier and Python bytecode versions, so a stale entry is
never used: it is simply never looked up again.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import marshal
import os
import tempfile
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import CodeType
from typing import Any

CACHE_ENV = "BBWS_GEN_CACHE_DIR"


def cache_dir() -> Path | None:
    """Where compiled templates are kept between runs: ``$BBWS_GEN_CACHE_DIR`` ("off" disables), else
    ``$XDG_CACHE_HOME/bbws-gen/jinja`` or ``~/.cache/bbws-gen/jinja``."""
    named = os.environ.get(CACHE_ENV)
    if named == "off":
        return None
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory to be found: run without a cache
            return None
    return Path(base) / "bbws-gen" / "jinja"


def _qualname(value: object) -> str:
    if value is None or isinstance(value, bool | str):
        return repr(value)
    return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__qualname__)}"


def environment_key(env: Any) -> str:
    """Everything besides the source that decides what Jinja compiles a template to, as text."""
    parts = [
        _qualname(type(env)),
        *(
            repr(getattr(env, name))
            for name in (
                "block_start_string",
                "block_end_string",
                "variable_start_string",
                "variable_end_string",
                "comment_start_string",
                "comment_end_string",
                "line_statement_prefix",
                "line_comment_prefix",
                "trim_blocks",
                "lstrip_blocks",
                "newline_sequence",
                "keep_trailing_newline",
                "optimized",
                "is_async",
            )
        ),
        *sorted(env.extensions),
        _qualname(env.finalize),
        _qualname(env.autoescape),
        *_versions(),
    ]
    return "\x00".join(parts)


@functools.cache
def _versions() -> tuple[str, ...]:
    # Looked up once: importlib.metadata scans the installed distributions on every call.
    return (
        importlib.metadata.version("jinja2"),
        importlib.metadata.version("copier"),
        importlib.util.MAGIC_NUMBER.hex(),
    )


Key = tuple[str, str, str | None, bool]  # environment key, source, template name, defer_init


class _Store:
    """Compiled code by key: in memory for this run, marshalled on disk for the next ones."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.memory: dict[Key, CodeType] = {}

    @staticmethod
    def _file_name(key: Key) -> str:
        digest = hashlib.sha256()
        for part in (key[0], key[1], repr(key[2]), repr(key[3])):
            digest.update(part.encode("utf-8", "surrogatepass") + b"\x00")
        return digest.hexdigest()

    def get(self, key: Key) -> CodeType | None:
        if key in self.memory:
            return self.memory[key]
        if self.directory is None:
            return None
        try:
            code = marshal.loads((self.directory / self._file_name(key)).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None  # not cached yet, or unreadable: compile again
        if isinstance(code, CodeType):
            self.memory[key] = code
            return code
        return None

    def put(self, key: Key, code: CodeType) -> None:
        self.memory[key] = code
        if self.directory is None:
            return
        # A cache that cannot be written only costs time; write whole files or nothing.
        with suppress(OSError):
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(marshal.dumps(code))
                os.replace(temporary, self.directory / self._file_name(key))
            finally:
                with suppress(FileNotFoundError):
                    os.unlink(temporary)


def _with_filename(code: CodeType, filename: str) -> CodeType:
    """``code`` (and the macro and block functions nested in it) reporting ``filename`` in errors."""
    if code.co_filename == filename:
        return code
    consts = tuple(_with_filename(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


@contextmanager
def compile_cache(directory: Path | None = None) -> Iterator[None]:
    """Share compiled template code within this run and across runs, for the duration of the block.

    Only Jinja's public ``Environment.compile`` is wrapped. Extension preprocess hooks still run on
    every use, because they may keep state per compile (Copier's ``yield`` tag resets its context there).
    """
    from jinja2 import Environment

    store = _Store(directory if directory is not None else cache_dir())
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
