"""Content-addressed memory of checks that passed: a check whose exact inputs passed before is skipped.

Only passes are remembered, keyed on the sha256 of everything that decides the verdict (the checked files'
paths and bytes, the checker's own source, Python and every installed distribution: optional libraries such
as ``rfc3339-validator`` change what jsonschema checks). Any change to any of
them is another key, so a defect can never be hidden by an earlier pass; a failing check always runs and
reports. Markers live in the ``checks`` folder of :func:`generator.render.cache_paths.cache_root`
(``BBWS_GEN_CACHE_DIR=off`` turns this off too); deleting them only costs time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path

from generator.render.cache_paths import cache_dir, environment

KIND = "checks"
KEEP_MARKERS = 20_000  # empty files; a run with every table new leaves about 1,000
_MAX_FILES = 5000


def tree_files(directory: Path) -> list[Path] | None:
    """Every file under ``directory``, sorted; None when it holds anything but folders and regular files
    (a symlink, a FIFO): such input is never remembered, the check just runs."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            if path.is_symlink() or not (path.is_dir() or path.is_file()):
                return None
        found += [Path(dirpath) / name for name in filenames]
        if len(found) > _MAX_FILES:
            return None
    return sorted(found)


def digest(files: Iterable[tuple[str, Path]], libraries: Iterable[str] = ()) -> str:
    """The key: each (name, path)'s name and bytes, Python and every installed distribution (``libraries``,
    the ones the check imports, are among them; kept for the callers that name them)."""
    hasher = hashlib.sha256(environment())
    for name, path in files:
        data = path.read_bytes()
        hasher.update(f"\0file\0{name}\0{len(data)}\0".encode())
        hasher.update(data)
    return hasher.hexdigest()


def _marker(check: str, key: str) -> Path | None:
    folder = cache_dir(KIND)
    return None if folder is None else folder / f"{check}-{key}"


def passed(check: str, key: str) -> bool:
    """True when ``check`` passed before on inputs with this key (the marker is then the newest: see
    :func:`prune`)."""
    marker = _marker(check, key)
    if marker is None:
        return False
    try:
        os.utime(marker)
    except OSError:  # no marker (or one that cannot be touched: an unusable cache only costs time)
        return marker.is_file()
    return True


def prune(keep: int = KEEP_MARKERS) -> None:
    """Remove the markers least recently used beyond ``keep`` (down to three quarters of it, so a run does not
    prune every time). Every changed Terraform file leaves a marker (:mod:`generator.render.fmt_check`)."""
    folder = cache_dir(KIND)
    if folder is None:
        return
    try:
        with os.scandir(folder) as entries:
            markers = [(entry.stat().st_mtime, entry.path) for entry in entries if entry.is_file()]
    except OSError:
        return
    if len(markers) <= keep:
        return
    for _, path in sorted(markers)[: len(markers) - keep * 3 // 4]:
        with suppress(OSError):
            os.unlink(path)


def remember(check: str, key: str) -> None:
    """Record that ``check`` passed on inputs with this key (best effort: a cache that cannot be written
    only costs time)."""
    marker = _marker(check, key)
    if marker is None:
        return
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    except OSError:
        pass
