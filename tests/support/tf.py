"""Running the real terraform in tests: provider from the machine's filesystem mirror when there is one."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

MIRROR_ENV = "BBWS_TF_PROVIDER_MIRROR"
# Where machine images usually carry a mirror; searched before a wider scan.
_LIKELY = ("/opt/tf-plugins", "/usr/share/terraform/plugins", "/usr/local/share/terraform/plugins")


def _mirror_root_of(provider_binary: Path) -> Path | None:
    for parent in provider_binary.parents:
        if parent.name == "registry.terraform.io":
            return parent.parent
    return None


@cache
def mirror_root() -> Path | None:
    """The folder holding ``registry.terraform.io`` with the AWS provider, or None (download instead)."""
    named = os.environ.get(MIRROR_ENV)
    if named:
        return Path(named)
    candidates = [Path(p) for p in _LIKELY] + [Path.home() / ".terraform.d" / "plugins", Path("/opt")]
    for base in candidates:
        if not base.is_dir():
            continue
        for found in base.glob("**/terraform-provider-aws*"):
            root = _mirror_root_of(found)
            if root is not None:
                return root
    return None


def cli_config(directory: Path) -> Path:
    """Write a CLI config that installs providers from the mirror (or the registry when there is none)."""
    path = directory / "terraformrc"
    root = mirror_root()
    if root is None:
        path.write_text("")
    else:
        path.write_text(
            "provider_installation {\n"
            f'  filesystem_mirror {{\n    path    = "{root}"\n    include = ["registry.terraform.io/*/*"]\n  }}\n'
            '  direct {\n    exclude = ["registry.terraform.io/*/*"]\n  }\n'
            "}\n"
        )
    return path


def binary() -> str:
    """The terraform executable (tests need it; there is no fake)."""
    exe = shutil.which("terraform")
    if exe is None:
        raise RuntimeError("terraform is not on PATH; install Terraform 1.11")
    return exe


_COLOR_FLAGGED = frozenset({"init", "validate", "plan", "apply", "show", "output", "state"})


def run(
    args: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    ok: Sequence[int] = (0,),
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run terraform with ``args`` in ``cwd``; fail with its output when the exit code is not in ``ok``."""
    result = subprocess.run(
        [binary(), args[0], "-no-color", *args[1:]] if args[0] in _COLOR_FLAGGED else [binary(), *args],
        cwd=cwd,
        env={**os.environ, **env, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"},
        capture_output=True,
        text=True,
        check=False,
        # An emulator error can leave the provider retrying for a long time; fail the test instead.
        timeout=timeout,
    )
    if result.returncode not in ok:
        raise AssertionError(
            f"terraform {' '.join(args)} in {cwd} exited {result.returncode}\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result
