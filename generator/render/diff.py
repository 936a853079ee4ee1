"""What differs between a rendered tree and the tree in the output, file by file (owned files only)."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

from generator.render import manifest


def differences(expected: Path, actual: Path) -> list[tuple[str, str]]:
    """(relative path, status) of each owned file that differs between the rendered ``expected`` tree and the
    existing ``actual`` tree: "new" (generate adds it), "missing" (owned, deleted by hand), "changed" (other
    bytes or executable bits), "obsolete" (owned, no longer generated: generate deletes it), "conflict" (a
    file of the user's where generate would write one). The user's files are not compared."""
    want, have = manifest.files(expected), manifest.files(actual)
    listed = manifest.read(actual)
    owned = manifest.owned(actual, want)
    changes: list[tuple[str, str]] = []
    for name, path in want.items():
        if name not in have:
            changes.append((name, "missing" if listed is not None and name in listed else "new"))
        elif not same_file(path, have[name]):
            changes.append((name, "changed" if name in owned else "conflict"))
    changes += [(name, "obsolete") for name in have if name in owned and name not in want]
    return sorted(changes)


def same_file(a: Path, b: Path) -> bool:
    """Same bytes and executable bits (or the same symlink target)."""
    if a.is_symlink() or b.is_symlink():
        return a.is_symlink() and b.is_symlink() and os.readlink(a) == os.readlink(b)
    # Git keeps the executable bit, so it is part of what was generated.
    executable = (a.stat().st_mode ^ b.stat().st_mode) & 0o111 == 0
    return executable and filecmp.cmp(a, b, shallow=False)
