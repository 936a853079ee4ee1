"""The real terraform binary, used for formatting checks of the rendered output."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from generator.errors import GenerateError

_WHERE = re.compile(r"on (\S+) line (\d+)")


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
        text=True,
        check=False,
    )
    return result.stdout


def unformatted(tree: Path) -> list[str] | None:
    """Files under ``tree`` that ``terraform fmt`` would change; None when terraform is absent (not checked)."""
    exe = binary()
    if exe is None:
        return None
    result = subprocess.run(
        [exe, "fmt", "-no-color", "-check", "-recursive", "-list=true", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode not in (0, 3):
        # Rendered Terraform that does not parse: a blueprint defect (definition text is escaped).
        places = sorted({f"{tree.name}/{file}:{line}" for file, line in _WHERE.findall(result.stderr)})
        raise GenerateError(
            f"terraform fmt cannot parse the rendered Terraform in {', '.join(places) or tree.name}",
            [line for line in result.stderr.strip().splitlines() if line.strip()][:20],
        )
    return sorted(Path(line).as_posix() for line in result.stdout.split())
