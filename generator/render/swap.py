"""Replace a directory tree by another in one step, so readers see the old tree or the new, never a mix."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from generator import faults
from generator.render import manifest

_RENAME_EXCHANGE = 2  # from linux/fs.h
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux renameat2(RENAME_EXCHANGE); False where unsupported."""
    import ctypes  # only when a swap happens

    # The C library already loaded into this process (find_library would spawn ldconfig: slow).
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def _move_into(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # The user's file wins over a generated one at its path (generate refuses that case up front; this only
    # keeps recovery from ever dropping a user's file).
    if target.is_dir() and not target.is_symlink() and source.is_dir():
        shutil.rmtree(target)
    os.replace(source, target)


def _carry_over(old: Path, new: Path, label: str) -> None:
    """Move everything in ``old`` that is the user's (not in its manifest) into ``new``, at the same paths.

    Renames only, so each file is in exactly one of the two trees at any moment: a crash part-way loses
    nothing, and finishing the swap later carries the rest.
    """
    new_owned = manifest.read(new) or frozenset()
    for dirpath, dirnames, filenames in os.walk(old):
        for name in [d for d in dirnames if d in manifest.KEPT_DIRS]:
            _move_into(Path(dirpath) / name, new / (Path(dirpath) / name).relative_to(old))
            dirnames.remove(name)
        if not dirnames and not filenames and Path(dirpath) != old:
            (new / Path(dirpath).relative_to(old)).mkdir(parents=True, exist_ok=True)  # a user's empty folder
    for rel in manifest.user_files(old, new_owned):
        _move_into(old / rel, new / rel)
        faults.point(f"swap:{label}:carrying")
    faults.point(f"swap:{label}:carried")


def replace_tree(new: Path, dest: Path) -> None:
    """Put ``new`` at ``dest``, keeping the user's files of ``dest``. Both on one filesystem; ``new`` goes."""
    label = dest.name
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        new.rename(dest)
        faults.point(f"swap:{label}:exchanged")
        return
    _carry_over(dest, new, label)
    if _exchange(new, dest):
        faults.point(f"swap:{label}:exchanged")
        shutil.rmtree(new)
        faults.point(f"swap:{label}:removed-old")
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
    faults.point("swap:plan-unrenamed")
    tmp.rename(staging / PLAN_FILE)


def commit(staging: Path, moves: list[tuple[Path, Path]]) -> None:
    """Swap every ``(new, dest)`` pair in; once the plan is written, the swaps will all happen.

    A run killed before the plan is written leaves every destination as it was; a run killed after it
    leaves each destination old or new (never a mix inside a tree), and the next run finishes the job.
    """
    _write_plan(staging, moves)
    faults.point("swap:plan-written")
    for new, dest in moves:
        replace_tree(new, dest)


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except FileNotFoundError:
        return None


def recover(output: Path) -> list[str]:
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
                    replace_tree(new, dest)
                    completed.append(str(dest))
        shutil.rmtree(staging, ignore_errors=True)
    for leftover in output.glob(".*.old"):
        shutil.rmtree(leftover, ignore_errors=True)
    return completed
