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
from pathlib import Path

from generator import terraform
from generator.errors import GenerateError
from generator.render import manifest, swap
from generator.render.targets import Target, release


@contextmanager
def staging_dir(output: Path) -> Iterator[Path]:
    """A fresh staging folder inside ``output``, removed after the block (a crash leaves it for recovery)."""
    path = Path(tempfile.mkdtemp(prefix=swap.STAGING_PREFIX, dir=output))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def stage_template(root: Path, into: Path) -> Path:
    """Copy the Copier template (copier.yml + blueprints, symlinks resolved) into a plain directory.

    Rendering from the git checkout itself would make Copier clone it and fold in uncommitted work;
    a plain copy is faster and renders exactly the working tree.
    """
    template = into / "template"
    template.mkdir()
    shutil.copy2(root / "copier.yml", template / "copier.yml")
    shutil.copytree(root / "blueprints", template / "blueprints", symlinks=False)
    return template


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


def _has_terraform(tree: Path) -> bool:
    # The docs tree has none: no need to start terraform for it.
    return any(tree.rglob("*.tf")) or any(tree.rglob("*.tfvars"))


def _unformatted(tree: Path, name: str) -> list[str] | None:
    """The tree's files fmt would change; None when terraform is absent and the tree has Terraform."""
    if not _has_terraform(tree):
        return []
    files = terraform.unformatted(tree)
    return None if files is None else [f"{name}/{path}" for path in files]


# What the forked render workers render: set before the pool forks them, so nothing unpicklable (the
# model's read-only mappings) has to cross a process boundary; each worker is handed only an index.
_JOBS: tuple[Path, list[Target], Path, str] | None = None


def _render_job(index: int) -> str | None:
    """Render target ``index`` of :data:`_JOBS` (in a worker process); the error message, or None."""
    assert _JOBS is not None
    template, targets, rendered, tag = _JOBS
    target = targets[index]
    try:
        render_target(template, target, rendered / target.name, tag)
        manifest.write(rendered / target.name)
    except GenerateError as exc:
        return str(exc)
    return None


def _workers(count: int) -> int:
    """Render processes: one per tree, at most one per CPU this process may use, and only where fork exists."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(count, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1))


def render_all(root: Path, staging: Path, targets: list[Target], report: Callable[[str], None]) -> tuple[Path, bool]:
    """Render every target into ``staging/rendered/<name>`` with its manifest; raise :class:`GenerateError`
    when the blueprints fail or render Terraform that ``terraform fmt`` would change. Returns the folder and
    whether ``terraform fmt`` checked it (False when terraform is not on PATH: such trees are not cached).

    The trees render in parallel worker processes (forked: they inherit Copier, already imported, and the
    adapter's speed-ups); then ``terraform fmt`` checks them, two at a time.
    """
    # Imported here: a run that takes its trees from the output cache never renders.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    from generator.render.copier_adapter import fast_rendering

    global _JOBS
    template = stage_template(root, staging)
    rendered = staging / "rendered"
    rendered.mkdir()
    tag = release(root)
    import copier  # noqa: F401  # once, before the workers fork, so none imports it again

    with fast_rendering(report):
        _JOBS = (template, targets, rendered, tag)
        try:
            for target in targets:
                report(f"rendering {target.name} (blueprint {target.blueprint})")
            workers = _workers(len(targets))
            if workers == 1:
                failures = [_render_job(index) for index in range(len(targets))]
            else:
                with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
                    failures = list(pool.map(_render_job, range(len(targets))))
        except BrokenProcessPool as exc:
            raise GenerateError(
                "a render worker process died (killed, or out of memory); nothing was changed",
                ["run generate again; if it recurs, check the machine's memory"],
            ) from exc
        finally:
            _JOBS = None
    failure = next((message for message in failures if message is not None), None)
    if failure is not None:
        raise GenerateError(failure)
    report("checking that the rendered Terraform is fmt-clean")
    with ThreadPoolExecutor(max_workers=2) as fmt:
        results = list(fmt.map(_unformatted, [rendered / t.name for t in targets], [t.name for t in targets]))
    checked = all(names is not None for names in results)
    if not checked:
        report("warning: terraform not on PATH; skipped the terraform fmt check (this run is not cached)")
    unformatted = [name for names in results if names is not None for name in names]
    if unformatted:
        raise GenerateError(
            "the blueprints rendered Terraform that terraform fmt would change",
            [f"{name}: not fmt-clean (fix the blueprint's layout)" for name in unformatted]
            + terraform.fmt_diff(rendered).splitlines(),
        )
    return rendered, checked
