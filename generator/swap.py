"""Replace a directory tree by another in one step, so readers see the old tree or the new, never a mix."""

from __future__ import annotations

import ctypes
import json
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


PLAN_FILE = "swap-plan.json"
STAGING_PREFIX = ".bbws-gen-"


def _write_plan(staging: Path, moves: list[tuple[Path, Path]]) -> None:
    """Record the swaps about to happen, durably, so an interrupted run can be finished by the next."""
    entries = [{"new": str(new), "dest": str(dest), "inode": new.stat().st_ino} for new, dest in moves]
    tmp = staging / (PLAN_FILE + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(entries, handle)
        handle.flush()
        os.fsync(handle.fileno())
    tmp.rename(staging / PLAN_FILE)


def commit(staging: Path, moves: list[tuple[Path, Path]], keep: Iterable[str] = ()) -> None:
    """Swap every ``(new, dest)`` pair in; once the plan is written, the swaps will all happen.

    A run killed before the plan is written leaves every destination as it was; a run killed after it
    leaves each destination old or new (never a mix inside a tree), and the next run finishes the job.
    """
    _write_plan(staging, moves)
    for new, dest in moves:
        replace_tree(new, dest, keep)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def recover(output: Path, keep: Iterable[str] = ()) -> list[str]:
    """Finish the swaps of an interrupted run and remove abandoned staging trees under ``output``.

    Returns the destinations it completed. Call it with the output lock held.
    """
    completed: list[str] = []
    if not output.is_dir():
        return completed
    for staging in sorted(output.glob(STAGING_PREFIX + "*")):
        plan = staging / PLAN_FILE
        if plan.is_file():
            for entry in json.loads(plan.read_text(encoding="utf-8")):
                new, dest = Path(entry["new"]), Path(entry["dest"])
                # Inodes survive renames: the new tree is either still staged or already in place.
                if _inode(dest) != entry["inode"] and _inode(new) == entry["inode"]:
                    replace_tree(new, dest, keep)
                    completed.append(str(dest))
        shutil.rmtree(staging, ignore_errors=True)
    for leftover in output.glob(".*.old"):
        shutil.rmtree(leftover, ignore_errors=True)
    return completed
