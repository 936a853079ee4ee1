"""Which repos adopt works on, and its results as text (the CLI prints them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from generator.adopt.records import AdoptBlocked, AdoptError
from generator.errors import UsageError
from generator.project import find_project

ANSWERS = ".copier-answers.yml"


def repos(given: Sequence[Path], output: Path | None, project: Path | None) -> list[Path]:
    """``given`` repos; else every repo under ``output`` (default: the project's ``repos/``); else the
    generated repo the current directory is in (a split-out repo is no project)."""
    if given:
        missing = [str(r) for r in given if not (r / ANSWERS).is_file()]
        if missing:
            raise AdoptError(f"not a generated repo (no {ANSWERS}): {', '.join(missing)}")
        return [r.absolute() for r in given]
    if output is None:
        try:
            output = find_project(project) / "repos"
        except UsageError:
            here = Path.cwd()
            inside = next((f for f in (here, *here.parents) if (f / ANSWERS).is_file()), None)
            if inside is None or project is not None:
                raise
            return [inside]
    found = sorted(p for p in output.iterdir() if (p / ANSWERS).is_file()) if output.is_dir() else []
    if not found:
        raise AdoptError(f"{output}: holds no generated repo", ["pass --output DIR or repo folders"])
    return found


def lines(done: object) -> list[str]:
    """What was found and written, what differs, and the next steps."""
    from generator.adopt import Adoption

    assert isinstance(done, Adoption)
    out = [f"adopt {done.environment} (from {done.source}):"]
    for c in done.components:
        out.append(f"  {c.repo} {c.component}: {len(c.imports)} to import, {len(c.absent)} not found")
        out += [f"    import {address} <- {import_id}" for address, import_id in c.imports.items()]
        if c.absent:
            out.append("    not found (the apply creates them): " + ", ".join(c.absent))
        out += [f"    differs: {d}" for d in c.differences]
    out += [f"note: {note}" for note in done.notes]
    out += [f"wrote {path}" for path in done.written]
    if done.written:
        out += [
            "next: commit the adopt.tf file(s) in a pull request; its plan must show imports and in-place updates",
            "only (scripts/check_plan_safety.py blocks an import that is then replaced or deleted). After the",
            f"apply in {done.environment}: `bbws-gen adopt --clean --env {done.environment}`. Runbook: "
            "docs/runbooks/adopt-existing-resources.md (the old root lets go with `removed` blocks first).",
        ]
    else:
        out.append(f"nothing found to adopt in {done.environment}: the first apply creates everything")
    return out


def blocked_lines(error: AdoptBlocked) -> list[str]:
    """Why nothing was written."""
    return [
        f"error: {error}",
        *[f"  {d}" for d in error.differences],
        "Applying would lose the data of these tables. Keep the existing shape in the definition (e.g. the",
        "same keys and LSIs), or copy the data to a new table first: docs/runbooks/destructive-changes.md.",
    ]
