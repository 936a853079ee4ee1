"""Compiled Jinja template code by key: in memory for one run, marshalled on disk for the next ones.

Every Copier run builds its own Jinja environment and compiles every template, path segment and
answers template anew: one generate compiled 137 distinct sources 918 times, and compiling was most of
the time Copier took. :func:`generator.render.copier_adapter.compile_cache` routes
``jinja2.Environment.compile`` through this store (as Python keeps ``__pycache__``). The key covers
the source, its name, everything in the environment that changes the compiled code, Python and every
installed distribution (:func:`~generator.render.cache_paths.environment`), so a stale entry is never used:
it is simply never looked up again. Each file starts with the sha256 of the marshalled code after it and is
used only when that matches; the folder is kept under :data:`MAX_BYTES`, oldest files first.
"""

from __future__ import annotations

import hashlib
import importlib.util
import marshal
import os
import tempfile
from contextlib import suppress
from pathlib import Path
from types import CodeType
from typing import Any

from generator.render.cache_paths import environment

MAX_BYTES = 32 * 1024 * 1024  # the shipped blueprints compile to about 2 MB
_DIGEST = 32  # bytes of sha256 in front of each file


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
        importlib.util.MAGIC_NUMBER.hex(),
        environment().decode("utf-8", "surrogateescape"),
    ]
    return "\x00".join(parts)


Key = tuple[str, str, str | None, bool]  # environment key, source, template name, defer_init


class Store:
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
            data = (self.directory / self._file_name(key)).read_bytes()
            if hashlib.sha256(data[_DIGEST:]).digest() != data[:_DIGEST]:
                return None  # damaged or altered: compile again (and overwrite it)
            code = marshal.loads(data[_DIGEST:])
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
                payload = marshal.dumps(code)
                with os.fdopen(handle, "wb") as out:
                    out.write(hashlib.sha256(payload).digest() + payload)
                os.replace(temporary, self.directory / self._file_name(key))
            finally:
                with suppress(FileNotFoundError):
                    os.unlink(temporary)


def prune(directory: Path, max_bytes: int = MAX_BYTES) -> None:
    """Remove the oldest compiled files until ``directory`` holds at most ``max_bytes`` (best effort)."""
    try:
        with os.scandir(directory) as entries:
            files = [(entry.stat().st_mtime, entry.stat().st_size, entry.path) for entry in entries if entry.is_file()]
    except OSError:
        return
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= max_bytes:
            break
        with suppress(OSError):
            os.unlink(path)
        total -= size
