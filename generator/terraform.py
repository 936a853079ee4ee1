"""The real terraform binary, used for formatting checks of the rendered output."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from generator.errors import GenerateError

_WHERE = re.compile(r"on (\S+) line (\d+)")
_TARGETS_PER_RUN = 400  # files per terraform run: far below any command-line length limit


def binary() -> str | None:
    """Path of terraform on PATH, or None."""
    return shutil.which("terraform")


def fmt_diff(tree: Path) -> str:
    """What ``terraform fmt`` would change under ``tree``, as a unified diff."""
    exe = binary()
    if exe is None:
        return ""
    result = subprocess.run(
        [exe, "fmt", "-no-color", "-check", "-recursive", "-diff", "."],
        cwd=tree,
        capture_output=True,
        encoding="utf-8",  # terraform writes UTF-8 whatever the locale (LC_ALL=C would decode as ASCII)
        errors="replace",
        check=False,
    )
    return result.stdout


def unformatted_files(tree: Path, targets: Sequence[str]) -> list[str]:
    """Which of ``targets`` (files or folders, relative to ``tree``; folders recursively) ``terraform fmt``
    would change, as sorted POSIX paths relative to ``tree``. Raises :class:`GenerateError` when terraform is
    absent or cannot parse one of them."""
    exe = binary()
    if exe is None:
        raise GenerateError("terraform is not on PATH", ["install Terraform 1.11 (see the README)"])
    changed: list[str] = []
    for start in range(0, len(targets), _TARGETS_PER_RUN):
        result = subprocess.run(
            [exe, "fmt", "-no-color", "-check", "-recursive", "-list=true", *targets[start : start + _TARGETS_PER_RUN]],
            cwd=tree,
            capture_output=True,
            encoding="utf-8",  # terraform writes UTF-8 whatever the locale (LC_ALL=C would decode as ASCII)
            errors="replace",
            check=False,
        )
        if result.returncode not in (0, 3):
            # Rendered Terraform that does not parse: a blueprint defect (definition text is escaped).
            places = sorted({f"{tree.name}/{file}:{line}" for file, line in _WHERE.findall(result.stderr)})
            raise GenerateError(
                f"terraform fmt cannot parse the rendered Terraform in {', '.join(places) or tree.name}",
                [line for line in result.stderr.strip().splitlines() if line.strip()][:20],
            )
        changed += [Path(line).as_posix() for line in result.stdout.splitlines() if line.strip()]
    return sorted(changed)
