"""One generate at a time per output folder: an advisory lock file beside the generated repos."""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from generator import faults
from generator.errors import GenerateError

LOCK_FILE = ".bbws-gen.lock"
LOCK_WAIT_SECONDS = 60.0


@contextmanager
def locked(output: Path) -> Iterator[None]:
    """Hold the lock of ``output`` for the block; a second generate waits, then gives up with a clear error."""
    output.mkdir(parents=True, exist_ok=True)
    with (output / LOCK_FILE).open("a") as handle:
        _acquire(handle, fcntl.LOCK_EX, output)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def reading(output: Path) -> Iterator[None]:
    """For a ``--check``, which writes nothing: share the lock of ``output`` when its lock file exists, so
    the comparison never sees a swap half done; checks do not wait for each other. Creates nothing."""
    try:
        handle = (output / LOCK_FILE).open("r")
    except FileNotFoundError:  # no generate ever ran here: nothing can be swapping
        yield
        return
    with handle:
        _acquire(handle, fcntl.LOCK_SH, output)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _acquire(handle: IO[str], mode: int, output: Path) -> None:
    """Take the lock in ``mode``, waiting up to :data:`LOCK_WAIT_SECONDS` for a generate that holds it."""
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    waiting = False
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if not waiting:  # a named step, so a test can see the wait begin instead of guessing a delay
                faults.point("lock:waiting")
                waiting = True
            if time.monotonic() > deadline:
                raise GenerateError(
                    f"another bbws-gen generate holds {output / LOCK_FILE}",
                    [f"waited {LOCK_WAIT_SECONDS:g} s; let it finish (or end it) and run again"],
                ) from None
            time.sleep(0.1)
