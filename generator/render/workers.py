"""The processes the trees render in: how many, and how they end with the process that started them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys


def worker_count(trees: int) -> int:
    """Render processes: one per tree, at most one per CPU this process may use, and only where fork exists."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(trees, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def die_with_parent(parent: int) -> None:
    """In a process generate forked (the render host, a render worker): die with the process that started
    it, and leave Ctrl-C to that one. Without this a parent killed (the OOM killer, a SIGKILL, the crash
    tests) leaves its children rendering into a staging folder recovery may already have removed, and a
    pool worker waiting forever on a queue whose writing end it holds itself. Linux has a parent-death
    signal; elsewhere the children end when the pipe to their parent closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent reports the cancel and stops its children
    if sys.platform != "linux":
        return
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the signal was set
        os._exit(1)
