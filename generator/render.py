"""Render the blueprints into a staging tree, check it, then swap it in (or only compare, for --check).

Rendering never writes into the output directly: everything lands in a staging directory beside the
output, and each repo directory is exchanged with its new version in one rename at the end, so a failed
or interrupted run leaves the previous output as it was.
"""

from __future__ import annotations

import fcntl
import filecmp
import os
import shutil
import tempfile
import time
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator import swap, terraform
from generator.answers import blueprint_data, dynamodb_spec, s3_spec
from generator.errors import DriftError, GenerateError
from generator.jinja_cache import compile_cache
from generator.model import DYNAMODB_REPO, S3_REPO, Model

# Files a user may keep inside a generated repo that are not part of the output (terraform init).
KEPT_NAMES = frozenset({".terraform"})
LOCK_FILE = ".bbws-gen.lock"
LOCK_WAIT_SECONDS = 60


@dataclass(frozen=True)
class Target:
    """One output directory and the Copier data that renders it."""

    name: str
    destination: Path
    blueprint: str
    spec: Mapping[str, Any]


def project_root() -> Path:
    """The monorepo checkout this generator belongs to (where copier.yml lives)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "copier.yml").is_file():
        raise GenerateError(
            f"no copier.yml in {root}",
            ["bbws-gen renders the blueprints of its own checkout: install it from the monorepo (pip install -e .)"],
        )
    return root


def release(root: Path) -> str:
    """The blueprint release recorded as ``_commit``: ``v`` + the project version."""
    with (root / "pyproject.toml").open("rb") as handle:
        return "v" + str(tomllib.load(handle)["project"]["version"])


def targets(model: Model, root: Path, output: Path, docs: Path) -> list[Target]:
    """Every generated tree: the two repos under ``output``, and the docs at ``docs``."""
    requirements = python_requirements(root)
    dynamodb = {**dynamodb_spec(model), "python_requirements": requirements}
    s3 = {**s3_spec(model), "python_requirements": requirements}
    return [
        Target(DYNAMODB_REPO, output / DYNAMODB_REPO, "dynamodb", dynamodb),
        Target(S3_REPO, output / S3_REPO, "s3", s3),
        Target("docs", docs, "docs", {"dynamodb": dynamodb, "s3": s3}),
    ]


def python_requirements(root: Path) -> list[str]:
    """Pins the generated repos' scripts need, taken from the project's single list of pins."""
    with (root / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    wanted = ("jsonschema==", "pyyaml==", "chevron==", "tinycss2==", "boto3==")
    return sorted(p for p in pins if p.lower().startswith(wanted))


def _stage_template(root: Path, into: Path) -> Path:
    """Copy the Copier template (copier.yml + blueprints, symlinks resolved) into a plain directory.

    Rendering from the git checkout itself would make Copier clone it and fold in uncommitted work;
    a plain copy is faster and renders exactly the working tree.
    """
    template = into / "template"
    template.mkdir()
    shutil.copy2(root / "copier.yml", template / "copier.yml")
    shutil.copytree(root / "blueprints", template / "blueprints", symlinks=False)
    return template


@contextmanager
def _untracked_destination() -> Iterator[None]:
    """Skip Copier's per-file `git config` probe while rendering into a fresh staging folder.

    Copier syncs executable bits into the destination's git index, spawning git once per file; the
    staging folder's files are never tracked (a no-op by Copier's own rules), and the probe cost
    0.3 s of a 1.3 s generate here. Only private API is touched, so it is skipped when absent.
    """
    from copier._main import Worker

    original = getattr(Worker, "_sync_git_index_executable_bit", None)
    if original is None:
        yield
        return
    Worker._sync_git_index_executable_bit = lambda self, dst_relpath, src_mode: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        Worker._sync_git_index_executable_bit = original  # type: ignore[method-assign]


def _render(template: Path, target: Target, destination: Path, release_tag: str) -> None:
    from copier import run_copy  # imported late: copier is slow to import and `validate` never needs it

    with warnings.catch_warnings(), _untracked_destination():
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


def _files(tree: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    if not tree.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d not in KEPT_NAMES)
        for name in filenames:
            path = Path(dirpath) / name
            found[path.relative_to(tree).as_posix()] = path
    return found


def differences(expected: Path, actual: Path) -> list[tuple[str, str]]:
    """(relative path, status) of each file ``actual`` lacks ("missing"), has on top ("extra") or has
    with other bytes or executable bits ("changed") compared to ``expected``; user working dirs
    (``.terraform``) ignored."""
    want, have = _files(expected), _files(actual)
    changes = [(name, "missing") for name in set(want) - set(have)]
    changes += [(name, "extra") for name in set(have) - set(want)]
    changes += [(name, "changed") for name in set(want) & set(have) if not _same_file(want[name], have[name])]
    return sorted(changes)


def _same_file(a: Path, b: Path) -> bool:
    # Git keeps the executable bit, so it is part of what was generated.
    executable = (a.stat().st_mode ^ b.stat().st_mode) & 0o111 == 0
    return executable and filecmp.cmp(a, b, shallow=False)


@contextmanager
def _locked(output: Path) -> Iterator[None]:
    """One generate at a time per output folder; a second one waits, then gives up with a clear error."""
    output.mkdir(parents=True, exist_ok=True)
    with (output / LOCK_FILE).open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise GenerateError(
                        f"another bbws-gen generate holds {output / LOCK_FILE}",
                        [f"waited {LOCK_WAIT_SECONDS} s; let it finish (or end it) and run again"],
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _staging(output: Path) -> Iterator[Path]:
    # Beside the output, so the final renames stay on one filesystem.
    path = Path(tempfile.mkdtemp(prefix=swap.STAGING_PREFIX, dir=output))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


def _has_terraform(tree: Path) -> bool:
    # The docs tree has none: no need to start terraform for it.
    return any(tree.rglob("*.tf")) or any(tree.rglob("*.tfvars"))


def _unformatted(tree: Path, name: str) -> list[str]:
    return [f"{name}/{path}" for path in terraform.unformatted(tree)] if _has_terraform(tree) else []


def _render_all(root: Path, staging: Path, all_targets: list[Target], report: Callable[[str], None]) -> Path:
    template = _stage_template(root, staging)
    rendered = staging / "rendered"
    rendered.mkdir()
    tag = release(root)
    # terraform fmt checks each rendered tree while the next one renders (it is another process).
    with compile_cache(), ThreadPoolExecutor(max_workers=1) as fmt:
        checks = []
        for target in all_targets:
            report(f"rendering {target.name} (blueprint {target.blueprint})")
            _render(template, target, rendered / target.name, tag)
            checks.append(fmt.submit(_unformatted, rendered / target.name, target.name))
        report("checking that the rendered Terraform is fmt-clean")
        unformatted = [name for check in checks for name in check.result()]
    if unformatted:
        raise GenerateError(
            "the blueprints rendered Terraform that terraform fmt would change",
            [f"{name}: not fmt-clean (fix the blueprint's layout)" for name in unformatted]
            + terraform.fmt_diff(rendered).splitlines(),
        )
    return rendered


def generate(
    model: Model, output: Path, docs: Path, check: bool = False, report: Callable[[str], None] = _quiet
) -> list[str]:
    """Render every target; in check mode raise :class:`DriftError` on differences, else swap them in.

    Returns the change lines (empty when the output was already up to date).
    """
    root = project_root()
    all_targets = targets(model, root, output, docs)
    with _locked(output):
        swap.recover(output, keep=KEPT_NAMES)
        with _staging(output) as staging:
            rendered = _render_all(root, staging, all_targets, report)
            changes = [
                f"{target.name}/{name} ({status})"
                for target in all_targets
                for name, status in differences(rendered / target.name, target.destination)
            ]
            if check:
                if changes:
                    raise DriftError(changes)
                return []
            if not changes:
                return []  # byte for byte what is there: nothing to swap
            for target in all_targets:
                target.destination.parent.mkdir(parents=True, exist_ok=True)
                if target.destination.parent.stat().st_dev != staging.stat().st_dev:
                    raise GenerateError(
                        f"{target.destination} is on another filesystem than {output}",
                        ["keep --output and --docs on one filesystem, so the swap stays atomic"],
                    )
            report(f"swapping the new trees into {output} and {docs}")
            swap.commit(staging, [(rendered / t.name, t.destination) for t in all_targets], keep=KEPT_NAMES)
            return changes
