"""Refuse output folders that would clobber anything but a previous bbws-gen output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from generator.errors import UsageError
from generator.render import manifest
from generator.render.lock import LOCK_FILE


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _overlap(a: Path, b: Path) -> bool:
    return _inside(a, b) or _inside(b, a)


def check_destinations(
    root: Path, definition: Path | None, output: Path, docs: Path, repo_names: Sequence[str]
) -> None:
    """Raise :class:`UsageError` unless ``output`` and ``docs`` are safe to write.

    ``--output`` and ``--docs`` must not overlap each other or the definition, must not be (or hold) the
    project root, and the trees ``output/<repo_names>`` and ``docs`` must each be empty, absent or a tree
    bbws-gen wrote (manifest, or an older output).
    """
    output, docs = output.resolve(), docs.resolve()
    problems: list[str] = []
    if _overlap(output, docs):
        problems.append(f"--output {output} and --docs {docs} overlap: give two separate folders")
    for flag, path in (("--output", output), ("--docs", docs)):
        if definition is not None and _overlap(path, definition.resolve()):
            problems.append(f"{flag} {path} overlaps the definition {definition.resolve()}: write elsewhere")
        if _inside(root, path):
            problems.append(f"{flag} {path} is the project root {root} or holds it: give a folder inside it")
    if problems:
        raise UsageError("the output folders are not safe to write", problems)
    repo_dirs = [output / name for name in repo_names]
    for tree in [*repo_dirs, docs]:
        if not manifest.is_previous_output(tree):
            problems.append(
                f"{tree} is not empty and is not a previous bbws-gen output (no {manifest.MANIFEST}): "
                "pick an empty or new folder, or move its files away"
            )
    if output.is_dir() and not any(tree.exists() for tree in repo_dirs):
        others = [p.name for p in output.iterdir() if p.name != LOCK_FILE and not p.name.startswith(".bbws-gen-")]
        if others:
            problems.append(
                f"{output} holds other files ({', '.join(sorted(others)[:3])}) and no generated repo: "
                "pick an empty or new folder for --output"
            )
    if problems:
        raise UsageError("refusing to write into folders that hold files bbws-gen did not write", problems)
