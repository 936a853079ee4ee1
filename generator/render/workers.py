"""How many processes the trees render in."""

from __future__ import annotations

import multiprocessing
import os


def worker_count(trees: int) -> int:
    """Render processes: one per tree, at most one per CPU this process may use, and only where fork exists."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(trees, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))
