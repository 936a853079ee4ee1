"""The library: what the CLI, onboarding, bench, preview and the tests call. It never prints.

Two verbs: :func:`validate` reads a definition folder into the frozen :class:`~generator.model.Model`;
:func:`generate` renders it into the output and docs folders (or, with ``check``, only compares). Both
raise :class:`~generator.errors.BbwsGenError` subclasses, whose class says the exit code; the CLI is the
only place that turns them into messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the model pulls in the loader and jsonschema: imported when a verb runs, not before
    from generator.model import Model
    from generator.render.host import RenderHost
    from generator.render.output_cache import OutputCache

Report = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


@dataclass(frozen=True)
class Validated:
    """A valid definition: its model, and warnings that did not stop it (e.g. editor backup files)."""

    model: Model
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Changes:
    """What :func:`generate` did: one line per file ("<tree>/<path> (<status>)"), empty when the output
    was already up to date, plus the definition's warnings."""

    lines: tuple[str, ...]
    notes: tuple[str, ...] = ()


def validate(definition: Path) -> Validated:
    """Load and check ``definition``; raises :class:`~generator.errors.DefinitionError` listing every problem."""
    from generator.definition import load_definition
    from generator.model import build_model

    raw = load_definition(definition)
    return Validated(build_model(raw), raw.notes)


def generate(
    definition: Path,
    output: Path,
    docs: Path,
    *,
    check: bool = False,
    root: Path | None = None,
    report: Report = _quiet,
) -> Changes:
    """Render ``definition`` with the blueprints of project ``root`` (default: the one the current directory
    is in) into ``output`` (the two repos) and ``docs``.

    With ``check``, write nothing and raise :class:`~generator.errors.DriftError` listing each differing file.
    Only files the trees' manifests list are replaced or deleted; a failed run leaves the output as it was.
    """
    from generator.render import cache_paths, output_cache, pipeline  # light: copier is imported only to render

    root = pipeline.project_root() if root is None else root
    problem = cache_paths.probe()
    if problem is not None:
        report(f"warning: {problem}")
    cache = output_cache.OutputCache.open(root, definition, report)
    entry = cache.lookup() if cache is not None else None
    if cache is not None and entry is not None:
        report(f"every input unchanged since a cached run: comparing with {entry.folder}")
        try:
            lines = pipeline.write_trees(
                entry.produce,
                pipeline.trees_at(entry.trees, output, docs),
                output,
                docs,
                check=check,
                root=root,
                definition=definition,
                report=report,
            )
            return Changes(tuple(lines), entry.notes)
        except output_cache.Unusable:
            # Nothing was compared or written yet: forget the entry and take the rendering way.
            cache.discard("its files do not match its index")
    return _render(definition, output, docs, check, root, report, cache)


def _render(
    definition: Path,
    output: Path,
    docs: Path,
    check: bool,
    root: Path,
    report: Report,
    cache: OutputCache | None,
) -> Changes:
    """The way without a cached answer: validate, then render; keep what was rendered. A render host is
    started first (its module is light): it imports Copier on another CPU while this process validates
    (see render.host)."""
    from generator.render.host import RenderHost

    host = RenderHost.start()
    try:
        return _validate_and_render(definition, output, docs, check, root, report, cache, host)
    finally:
        if host is not None:
            host.close()


def _validate_and_render(
    definition: Path,
    output: Path,
    docs: Path,
    check: bool,
    root: Path,
    report: Report,
    cache: OutputCache | None,
    host: RenderHost | None,
) -> Changes:
    from generator import verdict_cache
    from generator.render import pipeline

    report(f"validating the definition in {definition}")
    valid = validate(definition)

    def keep(rendered: Path, kinds: list[tuple[str, str]]) -> None:
        if cache is not None:
            cache.store(rendered, kinds, valid.notes)

    lines = pipeline.generate(
        valid.model,
        output,
        docs,
        check=check,
        report=report,
        root=root,
        definition=definition,
        keep=keep,
        renderer=host,
    )
    verdict_cache.prune()
    return Changes(tuple(lines), valid.notes)
