"""``adopt.tf``: the import blocks of one root, one per address, each with its ID per environment.

Terraform allows one import block per address, and one root serves every environment, so each block
maps environment -> ID and keeps only ``var.environment``'s entry (``for_each``, Terraform 1.7+): a
plan for an environment without an entry imports nothing there. Adopting a second environment merges
into the same blocks; ``--clean`` removes an environment's entries (and the file with the last one).
An import block whose resource is already in the state does nothing, so a block left after its apply
is harmless; cleaning keeps the root tidy.

The file is the user's, not generate's: it is not in ``.bbws-gen.manifest``, so ``generate`` keeps it
and ``generate --check`` does not compare it. Adopt reads back only what it wrote (its header, its
block layout) and refuses any other ``adopt.tf``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from generator.adopt.records import AdoptError

FILE_NAME = "adopt.tf"
HEADER = (
    "# Written by `bbws-gen adopt` (not generated: generate keeps it and --check ignores it). It brings\n"
    "# resources that already exist under this root, per environment: review each environment's plan\n"
    "# (imports, in-place updates only). Once applied there: `bbws-gen adopt --clean --env <env>`.\n"
)
# IDs and addresses reach HCL here, so they are held to characters that need no escaping in a string.
SAFE_ID = re.compile(r"^[A-Za-z0-9_./:@+=,-]{1,1024}$")
SAFE_ADDRESS = re.compile(r'^[a-z0-9_]+\.[a-z0-9_]+(?:\[(?:[0-9]+|"[A-Za-z0-9_./-]+")\])?$')
_BLOCK = re.compile(
    r"import \{\s*for_each = \{\s*for env, id in \{(?P<map>[^{}]*)\} : env => id if env == var\.environment\s*\}"
    r"\s*to\s*=\s*(?P<to>\S+)\s*id\s*=\s*each\.value\s*\}",
)
_ENTRY = re.compile(r'^\s*(?P<env>[a-z][a-z0-9_-]*)\s*=\s*"(?P<id>[^"\\$%]*)"\s*$')

Imports = dict[str, dict[str, str]]  # address -> {environment: import ID}


def read(root: Path) -> Imports:
    """The imports of ``root``'s ``adopt.tf`` (empty when there is none); AdoptError for another file."""
    path = root / FILE_NAME
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    if not text.startswith(HEADER.splitlines()[0]):
        raise AdoptError(
            f"{path}: a file of yours, not written by bbws-gen adopt",
            ["rename it (adopt writes its import blocks to adopt.tf)"],
        )
    imports: Imports = {}
    for block in _BLOCK.finditer(text):
        ids: dict[str, str] = {}
        for line in block["map"].strip().splitlines():
            entry = _ENTRY.match(line)
            if entry is None:
                raise AdoptError(
                    f"{path}: cannot read {line.strip()!r} in the block for {block['to']}",
                    ["restore the file from git, or delete it and run bbws-gen adopt again"],
                )
            ids[entry["env"]] = entry["id"]
        imports[block["to"]] = ids
    if text.count("import {") != len(imports):
        raise AdoptError(
            f"{path}: an import block was edited by hand and cannot be read back",
            ["restore the file from git, or delete it and run bbws-gen adopt again"],
        )
    return imports


def render(imports: Mapping[str, Mapping[str, str]]) -> str:
    """The file's text: blocks in address order, environments sorted, formatted as terraform fmt does."""
    blocks: list[str] = []
    for address in sorted(imports):
        if not SAFE_ADDRESS.match(address):
            raise AdoptError(f"{address!r} is not an address adopt can write")
        ids = imports[address]
        for env, value in ids.items():
            if not SAFE_ID.match(value):
                raise AdoptError(f"{address} in {env}: the ID {value!r} has characters adopt does not write into HCL")
        width = max(len(env) for env in ids)
        entries = "".join(f'      {env.ljust(width)} = "{ids[env]}"\n' for env in sorted(ids))
        blocks.append(
            "import {\n  for_each = {\n    for env, id in {\n"
            + entries
            + "    } : env => id if env == var.environment\n  }\n"
            + f"  to = {address}\n  id = each.value\n}}\n"
        )
    return HEADER + "".join("\n" + block for block in blocks)


def _formatted(text: str) -> str:
    """``text`` through ``terraform fmt -`` when terraform is here (render already writes its layout)."""
    exe = shutil.which("terraform")
    if exe is None:
        return text
    result = subprocess.run([exe, "fmt", "-"], input=text, capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else text


def write(root: Path, imports: Mapping[str, Mapping[str, str]]) -> Path | None:
    """Write ``root``'s ``adopt.tf`` (delete it when ``imports`` is empty); the path written, or None."""
    path = root / FILE_NAME
    kept = {address: ids for address, ids in imports.items() if ids}
    if not kept:
        path.unlink(missing_ok=True)
        return None
    text = _formatted(render(kept))
    partial = path.with_name(f".{FILE_NAME}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path
