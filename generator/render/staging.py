"""Render the blueprints into a staging folder beside the output, and check the Terraform there.

Rendering never writes into the output directly: everything lands in a staging directory beside the
output (so the final renames stay on one filesystem). The blueprints come from the project the command
runs in (:mod:`generator.project`), never from where the package is installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from generator import terraform
from generator.errors import GenerateError
from generator.render import fmt_check, manifest, swap
from generator.render.targets import Target, release
from generator.render.workers import die_with_parent, worker_count


@contextmanager
def staging_dir(output: Path | None) -> Iterator[Path]:
    """A fresh staging folder inside ``output``, removed after the block (a crash leaves it for recovery).
    ``None`` (a ``--check``, which swaps nothing): in the system's temporary folder, so a check writes
    nothing beside the user's repos."""
    path = Path(tempfile.mkdtemp(prefix=swap.STAGING_PREFIX, dir=output))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def render_target(template: Path, target: Target, destination: Path, release_tag: str) -> None:
    """Render one blueprint with Copier (public API only) into ``destination``."""
    from copier import run_copy  # imported late: copier is slow to import and `validate` never needs it

    from generator.answers import blueprint_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            run_copy(
                str(template),
                str(destination),
                data=blueprint_data(target.blueprint, target.spec, release_tag),
                defaults=True,
                overwrite=True,
                quiet=True,
                skip_tasks=True,
            )
        except Exception as exc:  # Copier raises many types; all mean the blueprint did not render
            raise GenerateError(f"blueprint {target.blueprint!r} failed to render: {exc}") from exc


@dataclass(frozen=True)
class RenderJob:
    """What the render workers render: plain, picklable data (it may cross into the render host)."""

    template: Path
    rendered: Path
    tag: str
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class TreeResult:
    """One rendered tree: the error that stopped it (with details), or the files ``terraform fmt`` would
    change (``None``: terraform is not on PATH, the tree was not fmt-checked)."""

    error: str | None = None
    details: tuple[str, ...] = ()
    unformatted: tuple[str, ...] | None = ()


@dataclass(frozen=True)
class Rendered:
    """Every tree's result, in the order of the job's targets, and progress lines for the user."""

    results: tuple[TreeResult, ...]
    notes: tuple[str, ...] = ()


def render_tree(job: RenderJob, index: int) -> TreeResult:
    """Render target ``index`` of ``job``, write its manifest, and fmt-check it (in a worker process, so
    one tree's fmt check runs while another tree renders)."""
    target = job.targets[index]
    tree = job.rendered / target.name
    try:
        render_target(job.template, target, tree, job.tag)
        manifest.write(tree)
        unformatted = fmt_check.unformatted(tree)
    except GenerateError as exc:
        return TreeResult(str(exc), tuple(exc.details))
    return TreeResult(unformatted=None if unformatted is None else tuple(f"{target.name}/{p}" for p in unformatted))


# The job the forked render workers render: set before the pool forks them, so each worker is handed only
# an index, and inherits Copier already imported and the adapter's speed-ups already applied.
_JOB: RenderJob | None = None


def _render_job(index: int) -> TreeResult:
    assert _JOB is not None
    return render_tree(_JOB, index)


def render_trees(job: RenderJob) -> Rendered:
    """Render every tree of ``job``: in parallel forked workers when there is more than one CPU, else one
    after the other here. Raises :class:`GenerateError` when a worker dies."""
    # Imported here: a run that takes its trees from the output cache never renders.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import copier  # noqa: F401  # once, before the workers fork, so none imports it again

    from generator.render.copier_adapter import fast_rendering

    global _JOB
    notes: list[str] = []
    with fast_rendering(notes.append):
        _JOB = job
        try:
            workers = worker_count(len(job.targets))
            if workers == 1:
                return Rendered(tuple(render_tree(job, i) for i in range(len(job.targets))), tuple(notes))
            with ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            ) as pool:
                return Rendered(tuple(pool.map(_render_job, range(len(job.targets)))), tuple(notes))
        except BrokenProcessPool as exc:
            raise GenerateError(
                "a render worker process died (killed, or out of memory); nothing was changed",
                ["run generate again; if it recurs, check the machine's memory"],
            ) from exc
        finally:
            _JOB = None


class Renderer(Protocol):
    """Where the trees render: :func:`render_trees` here, or a render host started earlier."""

    def __call__(self, job: RenderJob) -> Rendered: ...


def render_all(
    root: Path,
    staging: Path,
    targets: list[Target],
    report: Callable[[str], None],
    renderer: Renderer = render_trees,
) -> tuple[Path, bool]:
    """Render every target into ``staging/rendered/<name>`` with its manifest; raise :class:`GenerateError`
    when the blueprints fail or render Terraform that ``terraform fmt`` would change. Returns the folder and
    whether ``terraform fmt`` checked it (False when terraform is not on PATH: such trees are not cached).
    """
    template = stage_template(root, staging / "template")
    rendered = staging / "rendered"
    rendered.mkdir()
    tag = release(root)
    for target in targets:
        report(f"rendering {target.name} (blueprint {target.blueprint}) and checking its Terraform is fmt-clean")
    outcome = renderer(RenderJob(template, rendered, tag, tuple(targets)))
    for note in outcome.notes:
        report(note)
    failed = next((result for result in outcome.results if result.error is not None), None)
    if failed is not None:
        raise GenerateError(str(failed.error), failed.details)
    checked = all(result.unformatted is not None for result in outcome.results)
    if not checked:
        report("warning: terraform not on PATH; skipped the terraform fmt check (this run is not cached)")
    unformatted = [name for result in outcome.results for name in result.unformatted or ()]
    if unformatted:
        raise GenerateError(
            "the blueprints rendered Terraform that terraform fmt would change",
            [f"{name}: not fmt-clean (fix the blueprint's layout)" for name in unformatted]
            + terraform.fmt_diff(rendered).splitlines(),
        )
    return rendered, checked


TEMPLATE_SOURCES = ("copier.yml", "blueprints")


def stage_template(root: Path, folder: Path) -> Path:
    """A plain copy of project ``root``'s Copier template (``copier.yml`` and ``blueprints/``, symlinks read
    through) in ``folder``. Copier renders from it: from the git checkout itself it would clone the repository
    and fold in uncommitted work; a plain copy renders exactly the working tree."""
    folder.mkdir()
    shutil.copy2(root / "copier.yml", folder / "copier.yml")
    shutil.copytree(root / "blueprints", folder / "blueprints", symlinks=False)
    return folder
