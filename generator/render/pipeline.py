"""The steps of generate, in order: refuse unsafe folders, lock, recover, produce the trees in a staging
folder, compare them with the output, then either report the drift (``--check``) or swap them in.

Each rendered tree gets a manifest of its files (:mod:`.manifest`): only those are compared, replaced or
deleted; the user's files in a tree are carried into the new one (:mod:`.swap`). A failed or interrupted
run leaves the previous output as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generator import faults
from generator.errors import DriftError, GenerateError
from generator.render import swap
from generator.render.destinations import check_destinations
from generator.render.diff import differences
from generator.render.lock import locked, reading
from generator.render.staging import staging_dir

if TYPE_CHECKING:
    from generator.model import Model
    from generator.render.staging import Renderer

Produce = Callable[[Path], Path]  # given the staging folder, put each tree at <returned folder>/<tree name>


@dataclass(frozen=True)
class Tree:
    """One generated tree: its name (a repo's, or "docs") and the folder it goes to."""

    name: str
    destination: Path


def trees_at(kinds: Sequence[tuple[str, str]], output: Path, docs: Path) -> list[Tree]:
    """The trees (name, "output" or "docs") placed: a repo at ``output/<name>``, the docs at ``docs``."""
    return [Tree(name, docs if under == "docs" else output / name) for name, under in kinds]


def _quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


def project_root() -> Path:
    """The project the current directory is in (see :mod:`generator.project`)."""
    from generator.project import find_project

    return find_project()


def write_trees(
    produce: Produce,
    trees: Sequence[Tree],
    output: Path,
    docs: Path,
    *,
    check: bool,
    root: Path,
    definition: Path | None,
    report: Callable[[str], None] = _quiet,
) -> list[str]:
    """Produce the trees in staging, then compare (``check``: raise :class:`DriftError` on differences) or
    swap in those that differ. Returns the change lines (empty when the output was already up to date).
    ``produce`` puts the trees in the staging folder it is given (a fresh render, or a checked copy of a
    cache entry), so only staged trees are ever compared and swapped in."""
    repo_names = [tree.name for tree in trees if tree.destination.parent == output]
    check_destinations(root, definition, output, docs, repo_names)
    # A check writes nothing in the output: it shares the lock, recovers nothing, and stages elsewhere.
    with reading(output) if check else locked(output):
        if not check:
            swap.recover(output)
        with staging_dir(None if check else output) as staging:
            rendered = produce(staging)
            faults.point("generate:rendered")
            found = [
                (tree, name, status)
                for tree in trees
                for name, status in differences(rendered / tree.name, tree.destination)
            ]
            changes = [f"{tree.name}/{name} ({status})" for tree, name, status in found]
            if check:
                if changes:
                    raise DriftError(changes)
                return []
            if not changes:
                return []  # byte for byte what is there: nothing to swap
            conflicts = [f"{t.destination / name}" for t, name, status in found if status == "conflict"]
            if conflicts:
                raise GenerateError(
                    "generate would overwrite files it did not write; nothing was changed",
                    [f"{path}: move it away (or delete it) and run again" for path in conflicts],
                )
            for tree in trees:
                tree.destination.parent.mkdir(parents=True, exist_ok=True)
                if tree.destination.parent.stat().st_dev != staging.stat().st_dev:
                    raise GenerateError(
                        f"{tree.destination} is on another filesystem than {output}",
                        ["keep --output and --docs on one filesystem, so the swap stays atomic"],
                    )
            report(f"swapping the new trees into {output} and {docs}")
            swap.commit(staging, [(rendered / t.name, t.destination) for t in trees])
            return changes


def generate(
    model: Model,
    output: Path,
    docs: Path,
    check: bool = False,
    report: Callable[[str], None] = _quiet,
    root: Path | None = None,
    definition: Path | None = None,
    keep: Callable[[Path, list[tuple[str, str]]], None] | None = None,
    renderer: Renderer | None = None,
) -> list[str]:
    """Render every target of ``model``; in check mode raise :class:`DriftError` on differences, else swap them in.

    ``root`` is the project whose blueprints render (default: the one the current directory is in);
    ``definition`` is only used to refuse outputs that overlap it; ``keep`` is handed the folder of the
    rendered, fmt-checked trees and (name, "output" or "docs") of each before they are compared (the output
    cache stores them); ``renderer`` renders the trees (default: :func:`~generator.render.staging.render_trees`,
    here; :class:`~generator.render.host.RenderHost` renders them in a process started earlier).
    """
    from generator.render.staging import render_all, render_trees
    from generator.render.targets import targets

    root = project_root() if root is None else root
    all_targets = targets(model, output, docs)

    def produce(staging: Path) -> Path:
        rendered, fmt_checked = render_all(root, staging, all_targets, report, renderer or render_trees)
        if keep is not None and fmt_checked:
            keep(rendered, [(t.name, "docs" if t.destination == docs else "output") for t in all_targets])
        return rendered

    trees = [Tree(t.name, t.destination) for t in all_targets]
    return write_trees(produce, trees, output, docs, check=check, root=root, definition=definition, report=report)
