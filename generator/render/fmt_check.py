"""``terraform fmt -check`` of a rendered tree, skipping files whose exact bytes passed before.

A table edit changes a handful of the repo's Terraform files; the rest (providers, versions, backends,
every other component) are byte for byte what passed the last run. fmt's verdict on a file depends only on
its bytes, its kind (``.tf`` or ``.tfvars``) and the terraform binary, so a pass is remembered under the
sha256 of exactly those (:mod:`generator.verdict_cache`). Only passes are remembered: a file fmt would
change is checked, and reported, every time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from generator import terraform, verdict_cache
from generator.render.cache_paths import terraform_digest

# The files ``terraform fmt -recursive`` formats.
SUFFIXES = (".tf", ".tfvars", ".tftest.hcl", ".tfmock.hcl")
_CHECK = "fmt"


def _ignored(name: str) -> bool:
    """Names ``terraform fmt -recursive`` passes over in a folder (Terraform's ``configs.IsIgnoredFile``):
    hidden files and folders, and editor backups."""
    return name.startswith(".") or name.endswith("~") or (name.startswith("#") and name.endswith("#"))


def terraform_files(tree: Path) -> list[str]:
    """POSIX paths, relative to ``tree``, of the files fmt checks, sorted; hidden folders (``.terraform``) and
    files, and editor backups, are skipped, as ``terraform fmt -recursive`` skips them."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if not _ignored(d))
        prefix = os.path.relpath(dirpath, tree).replace(os.sep, "/")
        found += [
            name if prefix == "." else f"{prefix}/{name}"
            for name in filenames
            if name.endswith(SUFFIXES) and not _ignored(name)
        ]
    return sorted(found)


def _key(identity: bytes, name: str, data: bytes) -> str:
    suffix = next(s for s in SUFFIXES if name.endswith(s))
    return hashlib.sha256(identity + b"\0" + suffix.encode() + b"\0" + data).hexdigest()


def unformatted(tree: Path) -> list[str] | None:
    """The files under ``tree`` that ``terraform fmt`` would change (relative POSIX paths, sorted); None
    when terraform is not on PATH and the tree has Terraform (not checked). Raises
    :class:`~generator.errors.GenerateError` when fmt cannot parse a file."""
    names = terraform_files(tree)
    if not names:
        return []
    exe = terraform.binary()
    if exe is None:
        return None
    identity = terraform_digest(exe).encode()  # which terraform judges, by content
    keys = {name: _key(identity, name, (tree / name).read_bytes()) for name in names}
    unknown = [name for name in names if not verdict_cache.passed(_CHECK, keys[name])]
    if not unknown:
        return []
    changed = terraform.unformatted_files(tree, unknown)
    if set(changed) <= set(unknown):  # else terraform names files otherwise than it was given them: keep nothing
        for name in set(unknown) - set(changed):
            verdict_cache.remember(_CHECK, keys[name])
    return changed
