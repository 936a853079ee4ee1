"""Refresh the provider hashes of ``pins.yaml`` after a version bump (``python -m generator.relock``).

Renovate can bump ``providers.<name>.version`` but cannot compute the lock-file hashes that every
generated ``.terraform.lock.hcl`` carries. This runs ``terraform providers lock`` for the pinned version
in an empty root (online, or from a filesystem mirror with ``--fs-mirror``) and writes the hashes it
records back into ``pins.yaml``, keeping the file's comments and layout.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from generator.errors import EXIT_INVALID, EXIT_OK, BbwsGenError
from generator.pins import PINS_FILE
from generator.relock_python import PythonLockError, relock_python

PLATFORMS = ("linux_amd64",)  # GitHub's Ubuntu runners; see the repos' READMEs for laptops
_HASH = re.compile(r'"((?:h1|zh):[A-Za-z0-9+/=]+)"')


class RelockError(BbwsGenError):
    """terraform could not lock the provider, or pins.yaml has no such provider (exit code 2)."""

    exit_code = EXIT_INVALID


def provider_hashes(source: str, version: str, mirror: Path | None = None) -> list[str]:
    """The hashes ``terraform providers lock`` records for ``source`` at exactly ``version``."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise RelockError("terraform is not on PATH")
    with tempfile.TemporaryDirectory(prefix="bbws-relock-") as tmp:
        root = Path(tmp)
        name = source.split("/")[-1]
        (root / "versions.tf").write_text(
            f'terraform {{\n  required_providers {{\n    {name} = {{\n      source  = "{source}"\n'
            f'      version = "{version}"\n    }}\n  }}\n}}\n',
            encoding="utf-8",
        )
        command = [terraform, "providers", "lock", *(f"-platform={p}" for p in PLATFORMS)]
        if mirror is not None:
            command.append(f"-fs-mirror={mirror}")
        result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RelockError(f"terraform providers lock failed:\n{result.stdout}{result.stderr}")
        return sorted(set(_HASH.findall((root / ".terraform.lock.hcl").read_text(encoding="utf-8"))))


def replace_hashes(text: str, provider: str, hashes: Sequence[str]) -> str:
    """``pins.yaml`` text with the ``hashes:`` list of ``providers.<provider>`` replaced, comments kept."""
    block = re.search(rf"(?m)^  {re.escape(provider)}:\n(?:    .*\n|\s*\n)*", text)
    if block is None:
        raise RelockError(f"no providers.{provider} block in {PINS_FILE}")
    listing = re.search(r"(?m)^    hashes:\n(?:      - .*\n)+", block[0])
    if listing is None:
        raise RelockError(f"providers.{provider} has no hashes: list in {PINS_FILE}")
    new_listing = "    hashes:\n" + "".join(f'      - "{h}"\n' for h in hashes)
    start = block.start() + listing.start()
    return text[:start] + new_listing + text[block.start() + listing.end() :]


def relock(pins_path: Path, mirror: Path | None = None) -> list[str]:
    """Rewrite every provider's hashes in ``pins_path``; returns one line per provider that changed."""
    text = pins_path.read_text(encoding="utf-8")
    changed = []
    for name, provider in sorted(yaml.safe_load(text)["providers"].items()):
        hashes = provider_hashes(provider["source"], str(provider["version"]), mirror)
        if hashes != sorted(provider["hashes"]):
            text = replace_hashes(text, name, hashes)
            changed.append(f"{name} {provider['version']}: {', '.join(hashes)}")
    pins_path.write_text(text, encoding="utf-8")
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: relock [--pins FILE] [--fs-mirror DIR] [--only providers|python]."""
    parser = argparse.ArgumentParser(prog="python -m generator.relock", description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parents[1] / "definition" / PINS_FILE
    parser.add_argument("--pins", type=Path, default=default, help="the pins file (default: definition/pins.yaml)")
    parser.add_argument("--fs-mirror", type=Path, help="a provider filesystem mirror instead of the registry")
    parser.add_argument(
        "--only",
        choices=("providers", "python"),
        help="providers: the lock-file hashes in pins.yaml; python: python-lock.yaml beside it (from PyPI)",
    )
    args = parser.parse_args(argv)
    try:
        changed = [] if args.only == "python" else relock(args.pins, args.fs_mirror)
        if args.only != "providers":
            changed += relock_python(args.pins)
    except (RelockError, PythonLockError, OSError) as exc:
        print(f"relock: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print("\n".join(changed) if changed else f"{args.pins}: hashes already match the pinned versions")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
