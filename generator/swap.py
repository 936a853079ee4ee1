"""Replace a directory tree by another in one step, so readers see the old tree or the new, never a mix."""

from __future__ import annotations

import ctypes
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

_RENAME_EXCHANGE = 2  # from linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    # The C library already loaded into this process (find_library would spawn ldconfig: slow).
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def _carry_over(old: Path, new: Path, keep: Iterable[str]) -> None:
    """Move user-owned working directories (e.g. ``.terraform``) from the old tree into the new one."""
    names = set(keep)
    for dirpath, dirnames, _ in os.walk(old):
        for name in list(dirnames):
            if name in names:
                source = Path(dirpath) / name
                target = new / source.relative_to(old)
                if target.parent.is_dir() and not target.exists():
                    source.rename(target)
                dirnames.remove(name)


def replace_tree(new: Path, dest: Path, keep: Iterable[str] = ()) -> None:
    """Put ``new`` at ``dest``. Both must be on one filesystem; ``new`` is gone afterwards."""
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        new.rename(dest)
        return
    _carry_over(dest, new, keep)
    if _exchange(new, dest):
        shutil.rmtree(new)
        return
    # No atomic exchange here (not Linux): two renames, with a window in which dest is absent.
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    dest.rename(old)
    new.rename(dest)
    shutil.rmtree(old)
