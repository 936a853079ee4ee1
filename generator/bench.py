"""`nox -s bench`: timings of generate on the shipped definition (median of several runs)."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from generator.cli import run

RUNS = 7


def _median_seconds(args: list[str]) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        code = run(args)
        samples.append(time.perf_counter() - start)
        if code != 0:
            raise SystemExit(f"bbws-gen {' '.join(args)} exited {code}")
    return statistics.median(samples)


def main() -> int:
    """Print the median wall time of generate (fresh output) and generate --check (no changes)."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        output = Path(tmp) / "repos"
        shutil.copytree(root / "repos", output)
        docs = Path(tmp) / "docs"
        shutil.copytree(root / "docs", docs)
        generate = _median_seconds(["generate", "--output", str(output), "--docs", str(docs)])
        check = _median_seconds(["generate", "--check", "--output", str(output), "--docs", str(docs)])
    print(
        f"generate (shipped definition): median {generate:.3f} s over {RUNS} runs (goal <= 1.5 s)",
        file=sys.stderr,
    )
    print(
        f"generate --check (no changes): median {check:.3f} s over {RUNS} runs (goal <= 1.5 s)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
