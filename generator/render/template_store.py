"""The Copier template (``copier.yml`` + ``blueprints/``, symlinks resolved) as a plain folder to render from.

Rendering from the git checkout itself would make Copier clone it and fold in uncommitted work; a plain
copy renders exactly the working tree. Writing that copy (about 180 files) cost 0.05-0.2 s of every
generate on a busy disk, so the copy is kept in the ``template`` cache folder under the sha256 of its
content and reused while the blueprints stay the same. Before each use the kept copy is read back and
compared with the blueprints, byte for byte, mode and folder for folder (reading is cheap, writing is
not): one that differs in any way is replaced, never used. With caching off, each run stages its own copy.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from contextlib import suppress
from pathlib import Path

from generator.render.cache_paths import cache_dir
from generator.render.indexed import prune

KIND = "template"
KEEP = 4  # copies kept (the newest by use); older ones are removed when a new one is written
SOURCES = ("copier.yml", "blueprints")

# A snapshot: relative POSIX path -> (bytes, permission bits) for a file, None for a folder. Copier gives
# each rendered file its template file's permissions, so they are part of the template.
Snapshot = dict[str, tuple[bytes, int] | None]


def _snapshot(top: Path, names: tuple[str, ...], *, follow: bool) -> Snapshot | None:
    """Every folder and file under ``top/<name>`` for each name. With ``follow`` (the project's own
    blueprints) symlinks are read through, as they are staged; without (a kept copy) any symlink or
    special file makes the copy unusable (None)."""
    found: Snapshot = {}
    for name in names:
        start = top / name
        if not follow and start.is_symlink():
            return None
        if start.is_file():
            found[name] = _read(start)
            continue
        for dirpath, dirnames, filenames in os.walk(start, followlinks=follow):
            dirnames.sort()
            rel = Path(dirpath).relative_to(top).as_posix()
            found[rel] = None
            for entry in sorted(filenames) + ([] if follow else [d for d in dirnames if Path(dirpath, d).is_symlink()]):
                path = Path(dirpath) / entry
                if not follow and (path.is_symlink() or not path.is_file()):
                    return None
                found[f"{rel}/{entry}"] = _read(path)
    return found


def _read(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as handle:
        return handle.read(), stat.S_IMODE(os.fstat(handle.fileno()).st_mode)


def _digest(snapshot: Snapshot) -> str:
    hasher = hashlib.sha256()
    for rel in sorted(snapshot):
        item = snapshot[rel]
        if item is None:
            hasher.update(f"dir\0{rel}\0".encode("utf-8", "surrogateescape"))
        else:
            data, mode = item
            hasher.update(f"file\0{rel}\0{mode:o}\0{len(data)}\0".encode("utf-8", "surrogateescape"))
            hasher.update(data)
    return hasher.hexdigest()


def _write(snapshot: Snapshot, folder: Path) -> Path:
    folder.mkdir()
    for rel in sorted(snapshot):
        item = snapshot[rel]
        if item is None:
            (folder / rel).mkdir(exist_ok=True)
            continue
        data, mode = item
        (folder / rel).write_bytes(data)
        os.chmod(folder / rel, mode)
    return folder


def staged_template(root: Path, staging: Path) -> Path:
    """A plain folder holding exactly project ``root``'s Copier template: a kept copy when one matches,
    else one written now (kept for the next runs, or in ``staging`` when caching is off or fails)."""
    snapshot = _snapshot(root, SOURCES, follow=True)
    assert snapshot is not None  # following symlinks never refuses
    folder = cache_dir(KIND)
    if folder is None:
        return _write(snapshot, staging / "template")
    kept = folder / _digest(snapshot)
    if kept.is_dir():
        if _intact(kept, snapshot):
            with suppress(OSError):
                os.utime(kept)  # most recently used: kept longest
            return kept
        shutil.rmtree(kept, ignore_errors=True)  # damaged: written anew below
    try:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
        _write(snapshot, temporary / "template")
        os.rename(temporary / "template", kept)
        shutil.rmtree(temporary, ignore_errors=True)
    except OSError:
        # Not written here: a concurrent run kept the same copy, or a damaged one could not be removed.
        if not _intact(kept, snapshot):
            return _write(snapshot, staging / "template")
    prune(folder, KEEP, used=lambda copy: copy.stat().st_mtime, current=kept)
    return kept


def _intact(kept: Path, snapshot: Snapshot) -> bool:
    """True when ``kept`` is a real folder holding exactly ``snapshot``: nothing changed, missing or added."""
    if kept.is_symlink() or not kept.is_dir():
        return False
    tops = {rel for rel in snapshot if "/" not in rel}
    return set(os.listdir(kept)) == tops and _snapshot(kept, SOURCES, follow=False) == snapshot
