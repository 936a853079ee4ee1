"""Trees of files kept with an index of what each file is (sha256 and executable bit, or a symlink's
target), so a kept tree can be checked against its index before it stands in for rendering.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

INDEX = "index.json"  # in each cache entry: what its files are (and, for the output cache, more)
_STALE = 3600  # seconds: a temporary folder older than this is an interrupted run's


def index_of(trees: Path) -> dict[str, list[str]]:
    """{relative POSIX path: [sha256 or "link", executable bit or link target]} of every file under ``trees``."""
    index: dict[str, list[str]] = {}
    top = str(trees)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/")
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = name if prefix == "." else f"{prefix}/{name}"
            if os.path.islink(path):
                index[rel] = ["link", os.readlink(path)]
                continue
            with open(path, "rb") as handle:
                mode = "x" if os.fstat(handle.fileno()).st_mode & 0o111 else "-"
                index[rel] = [hashlib.sha256(handle.read()).hexdigest(), mode]
    return index


def keep_tree(source: Path, target: Path, name: str) -> dict[str, list[str]]:
    """Copy the tree ``source`` to ``target`` (files with their modes, symlinks; nothing else; never a hard
    link: a cache entry shares no inode with a working tree, where an edit in place would reach it) in one
    pass, returning the index entries (as :func:`index_of` gives them, under
    ``name/``, or unprefixed when ``name`` is empty) of what was kept."""
    index: dict[str, list[str]] = {}
    top = str(source)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        relative = os.path.relpath(dirpath, top)
        into = os.path.normpath(os.path.join(str(target), relative))
        os.makedirs(into, exist_ok=True)
        prefix = "/".join(part for part in (name, "" if relative == "." else relative.replace(os.sep, "/")) if part)
        for entry in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path, copy = os.path.join(dirpath, entry), os.path.join(into, entry)
            if os.path.islink(path):
                os.symlink(os.readlink(path), copy)
                index[f"{prefix}/{entry}" if prefix else entry] = ["link", os.readlink(path)]
                continue
            with open(path, "rb") as reader:
                mode = os.fstat(reader.fileno()).st_mode
                data = reader.read()
            with open(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                out.write(data)
            os.chmod(copy, stat.S_IMODE(mode))  # exactly the rendered file's mode, as a fresh render gives it
            key = f"{prefix}/{entry}" if prefix else entry
            index[key] = [hashlib.sha256(data).hexdigest(), "x" if mode & 0o111 else "-"]
        dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
    return index


def publish(folder: Path, entry: Path, fill: Callable[[Path], object]) -> OSError | None:
    """Write the cache entry ``entry`` in ``folder``: ``fill`` puts its files in a temporary folder there and
    returns its index, written as :data:`INDEX`; the folder is then renamed to ``entry``, so an entry appears
    whole or not at all, and never over an existing one (a run may be comparing with it). Returns None when
    ``entry`` is there afterwards (this run's, or as good, a concurrent run's), else the error: a cache that
    cannot be written only costs time."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    except OSError as exc:
        return exc
    try:
        index = fill(temporary)
        (temporary / INDEX).write_text(json.dumps(index, indent=0, sort_keys=True), encoding="utf-8")
        os.rename(temporary, entry)
    except OSError as exc:
        if not (entry / INDEX).is_file():
            return exc
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return None


def _size(path: Path) -> int:
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            with suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


def prune(folder: Path, keep: int, max_bytes: int, *, current: Path | None = None) -> None:
    """Keep at most the ``keep`` entries of ``folder`` used last (by their index's modification time) and at
    most ``max_bytes`` in all, ``current`` (the entry this run uses) always among them; drop the temporary
    folders interrupted runs left (after an hour: one may be a concurrent run's store under way). Removing
    an entry a concurrent run is reading is safe: a run copies an entry and checks the copy against the
    index, and renders afresh when it does not match."""
    now = time.time()
    entries: list[tuple[float, Path]] = []
    with suppress(OSError):
        for path in folder.iterdir():
            with suppress(OSError):
                if path.name.startswith(".tmp-"):
                    if now - path.stat().st_mtime > _STALE:
                        shutil.rmtree(path, ignore_errors=True)
                elif path != current:
                    entries.append(((path / INDEX).stat().st_mtime, path))
    budget = max_bytes - (_size(current) if current is not None else 0)
    kept = 1 if current is not None else 0
    for _, path in sorted(entries, reverse=True):
        size = _size(path)
        if kept < keep and size <= budget:
            kept += 1
            budget -= size
        else:
            shutil.rmtree(path, ignore_errors=True)
