"""``python -m generator.preview [OPTIONS]``: the same as ``bbws-gen preview [OPTIONS]``."""

import sys

from generator.cli import run

raise SystemExit(run(["preview", *sys.argv[1:]]))
