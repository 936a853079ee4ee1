"""After the files are written: regenerate the repos, then tell the user what to do next.

Where the output goes: ``generate`` writes ``repos/`` and ``docs/`` beside the definition folder, the
monorepo's layout. For the project's own ``definition/`` (the project onboard runs in, found from the
current directory or ``--project``) those are its committed ``repos/`` and ``docs/`` (exactly what
``bbws-gen generate`` writes by default). For any other definition folder (a copy in a test) they are that
folder's siblings, never the project's; a sibling ``repos/`` or ``docs/`` that bbws-gen did not generate is
left alone: regeneration is skipped and the command to run is printed instead.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from generator import api
from generator.errors import BbwsGenError, GenerateError, UsageError
from generator.onboard.common import display
from generator.onboard.errors import Cancelled
from generator.render.destinations import check_destinations
from generator.render.targets import repo_names

RUNBOOKS = "docs/2_bbws_docs/runbooks/"
WIDTH = 100
SHOWN_CHANGES = 20


@dataclass(frozen=True)
class Outputs:
    """Where generate writes for a definition folder."""

    repos: Path
    docs: Path
    own: bool


def checkout_root(root: Path | None = None) -> Path | None:
    """The project onboarding runs in: ``root`` when the CLI found it (``--project`` included), else the one
    the current directory is in (None outside any project: then only the definition folder given is used)."""
    if root is not None:
        return root
    from generator.project import find_project

    try:
        return find_project()
    except UsageError:
        return None


def _own(definition: Path, root: Path | None) -> bool:
    return root is not None and definition.resolve() == (root / "definition").resolve()


def outputs_for(definition: Path, root: Path | None = None) -> Outputs | str:
    """The output folders for ``definition``, or why generation is skipped."""
    project = checkout_root(root)
    if project is not None and _own(definition, project):
        return Outputs(project / "repos", project / "docs", own=True)
    parent = definition.resolve().parent
    outputs = Outputs(parent / "repos", parent / "docs", own=False)
    # The rule generate itself applies (manifest, or an older output's marker): onboarding never guesses.
    try:
        check_destinations(project or parent, definition, outputs.repos, outputs.docs, repo_names())
    except UsageError as refused:
        return "; ".join([str(refused), *refused.details])
    return outputs


def generate_command(definition: Path, root: Path | None = None) -> str:
    """The command that regenerates the output of ``definition``."""
    if _own(definition, checkout_root(root)):
        return "nox -s generate (or bbws-gen generate)"
    parent = definition.resolve().parent
    return (
        f"bbws-gen generate --definition {display(definition)} --output {display(parent / 'repos')} "
        f"--docs {display(parent / 'docs')}"
    )


@dataclass(frozen=True)
class Regenerated:
    """What regeneration did: where it wrote and the changed files, or why it was skipped."""

    outputs: Outputs | None
    changes: api.Changes | None
    skipped: str = ""

    def lines(self) -> list[str]:
        """The report: the changed files (the first few of many) and a summary line."""
        if self.outputs is None or self.changes is None:
            return [f"not regenerating: {self.skipped}."]
        changes = list(self.changes.lines)
        shown = changes if len(changes) <= SHOWN_CHANGES + 5 else changes[:SHOWN_CHANGES]
        more = [f"... and {len(changes) - len(shown)} more"] if shown != changes else []
        summary = f"generated into {display(self.outputs.repos)} and {display(self.outputs.docs)}"
        return [f"  {line}" for line in [*shown, *more, f"{summary} ({len(changes)} file(s) changed)"]]


def regenerate(definition: Path, root: Path | None, report: api.Report) -> Regenerated:
    """Generate the output of ``definition`` with the library, beside it or into the project's own folders.

    Raises GenerateError (exit code 1) when generation fails and Cancelled when it is interrupted: the
    definition files are written by then, and the previous output is left as it was.
    """
    outputs = outputs_for(definition, root)
    if isinstance(outputs, str):
        return Regenerated(None, None, outputs)
    command = generate_command(definition, root)
    report(f"regenerating {display(outputs.repos)} and {display(outputs.docs)}")
    try:
        changes = api.generate(definition, outputs.repos, outputs.docs, root=checkout_root(root), report=report)
    except KeyboardInterrupt:
        raise Cancelled(
            "interrupted while regenerating: the definition files are written and the previous output is untouched",
            [f"regenerate with {command}"],
        ) from None
    except BbwsGenError as error:
        raise GenerateError(
            f"the definition files are written, but generate failed: {error}",
            [*error.details, *map(str, getattr(error, "problems", ())), f"fix the problem, then run {command}"],
        ) from error
    return Regenerated(outputs, changes)


def runbook(kind: str, outputs: Outputs | None, project: Path | None = None) -> str:
    """The runbook for adding a table or template: its file when the generated docs (or this checkout's) have it."""
    title = "add or change a table" if kind == "table" else "add or change an email template"
    word = "table" if kind == "table" else "template"
    root = checkout_root(project)
    for docs in ([outputs.docs] if outputs else []) + ([root / "docs"] if root else []):
        found = sorted((docs / RUNBOOKS.removeprefix("docs/")).glob(f"*add*{word}*.md"))
        if found:
            return f"{display(found[0])} (the '{title}' runbook)"
    return f"the '{title}' runbook in {RUNBOOKS}"


@dataclass
class Steps:
    """What the next steps say for the new table or template."""

    name: str
    add: list[str]
    deploy: str
    first: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def next_steps(kind: str, steps: Steps, outputs: Outputs | None, regenerate_with: str, project: Path | None) -> str:
    """What to do after onboarding: (write,) regenerate, review, check, commit and open a PR, deploy."""
    paths = [*steps.add]
    if outputs is not None:
        paths += [display(outputs.repos) + "/", display(outputs.docs) + "/"]
    what = "table" if kind == "table" else "email template"
    todo: list[tuple[str, str]] = [(text, "") for text in steps.first]
    if outputs is None:
        todo.append(("Regenerate the repos:", regenerate_with))
    elif steps.first:  # the repos copy what the user writes next (the wording): generate again after it
        todo.append(("Regenerate the repos once that is written (they carry it as written):", regenerate_with))
    todo += [
        ("Review what changed (-N makes new files show in the diff):", "git add -N . && git status && git diff"),
        ("Check (validates the definition, fails if repos/ or docs/ are not regenerated):", "nox -s check"),
        ("Commit and open a pull request:", f'git add {" ".join(paths)} && git commit -m "Add {what} {steps.name}"'),
        (steps.deploy, ""),
    ]
    lines = ["", "Next steps:"]
    for number, (text, command) in enumerate(todo, start=1):
        lines.append(_fill(text, f"  {number}. ", "     "))
        if command:
            lines.append(f"       {command}")
    lines += [_fill(note, "  ", "  ") for note in steps.notes]
    lines.append(_fill(f"Runbook: {runbook(kind, outputs, project)}", "  ", "  "))
    return "\n".join(lines)


def _fill(text: str, first: str, rest: str) -> str:
    return textwrap.fill(
        text, width=WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False, break_long_words=False
    )
