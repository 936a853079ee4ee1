"""``bbws-gen onboard table|template``: add a DynamoDB table or an email template through a questionnaire.

Two ways to answer, one set of rules. Interactively, each answer is checked as it is given, with the
rules ``bbws-gen validate`` applies (the published table schema and validate_schemas.py for tables, the
catalog rules of validate_templates.py for templates, and the existing tables and catalog for clashes).
With ``--answers FILE`` (YAML or JSON, the keys are documented in :mod:`generator.onboard.table_file` and
:mod:`generator.onboard.template_files`) nothing is asked and every invalid answer is reported by its key.
Both then build the files, validate them together with the rest of the definition (a copy of it: nothing
is written before everything passes), write them, regenerate and return the next steps.

The modules: ``answers`` (answers files, typed reading), ``table_rules`` / ``template_rules`` (the rule
per answer), ``table_answers`` + ``table_file`` and ``template_files`` (the files built from the answers),
``email_layout`` (the HTML and text scaffolds, from the Jinja layouts in ``layouts/``), ``contract`` (the
JSON contract and sample), ``catalog_entry`` (the catalog.yaml entry), ``questionnaire``,
``table_questions``, ``index_questions`` and ``template_questions`` (the interactive questions),
``prompts`` (the terminal), ``common`` (the definition, safe writes) and ``finish`` (regenerate, next steps).

Why questionary for the prompts. It is the prompt library Copier itself uses, so it is already
installed at the pinned version, and in a real terminal it gives the better experience: fixed choices
(key types, projections, stream view types, audiences) are lists picked with the arrow keys or a
shortcut, so an invalid choice cannot be typed at all; a rejected text answer stays on screen, editable,
with the rule underneath, so the second chance needs no retyping; defaults are pre-filled and editable.
It speaks plain VT100 on a pseudo-terminal, so tests drive it with pexpect (they set
``PROMPT_TOOLKIT_NO_CPR=1`` so it does not wait for a cursor-position reply a pty never sends).
Copier's own questionnaire was the alternative: its questions are static YAML with Jinja validators, so
it cannot loop ("add another GSI?"), cannot call validate_documents on the assembled table, and cannot
send the user back to one answer; plain ``input()`` has no choice lists and no in-place correction.

:func:`onboard` is a library function: it returns what it did (:class:`Onboarded`) and raises
:class:`~generator.errors.BbwsGenError` subclasses, whose class says the CLI's exit code: 1 written but
``generate`` failed (GenerateError); 2 invalid answers (InvalidAnswers), invalid definition
(DefinitionError), unreadable answers file, no terminal, or input ended (OnboardError); 130 aborted: Ctrl-C
or "Abort" at the summary (Cancelled). Nothing is written unless the answers pass every check. Only the
questionnaire (:mod:`generator.onboard.prompts`) talks to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from generator.api import Report
from generator.checks import validate_templates as vt
from generator.onboard.answers import load_answers
from generator.onboard.common import Definition, display, write_files
from generator.onboard.errors import Cancelled, InvalidAnswers, OnboardError
from generator.onboard.finish import Regenerated, Steps, generate_command, next_steps, regenerate
from generator.onboard.prompts import Prompter, has_terminal

__all__ = ["Onboarded", "onboard"]

KINDS = ("table", "template")


def _quiet(message: str) -> None:
    """The default progress reporter: says nothing."""


@dataclass(frozen=True)
class Onboarded:
    """What onboarding did: the files it wrote, the regeneration (None with ``generate=False``), the next steps."""

    written: tuple[Path, ...]
    regenerated: Regenerated | None
    next_steps: str

    def lines(self) -> list[str]:
        """The report for the user: the files written, what regeneration changed, the next steps."""
        lines = ["", *(f"wrote {display(path)}" for path in self.written)]
        if self.regenerated is not None:
            lines += ["", *self.regenerated.lines()]
        return [*lines, self.next_steps]


def _prompter(intro: str) -> Prompter:
    """The terminal, after saying what is added where and how to get out."""
    prompter = Prompter()
    prompter.say(intro)
    prompter.say("Ctrl-C aborts; nothing is written before you confirm the summary.")
    return prompter


def _table(definition: Definition, answers: Path | None) -> tuple[dict[str, str], Steps]:
    from generator.onboard.table_file import build_table, check_table
    from generator.onboard.table_rules import TableRules

    rules = TableRules.load(definition)
    if answers is None:
        from generator.onboard.table_questions import TableQuestionnaire

        built = TableQuestionnaire(_prompter(f"Add a DynamoDB table to {display(definition.root)}."), rules).run()
    else:
        built = build_table(load_answers(answers), rules)
        check_table(built, rules)
    envs = definition.environments
    steps = Steps(
        name=built.name,
        add=[display(definition.root / built.rel)],
        deploy=f"Deploy: after the merge the DynamoDB repo's pipeline plans terraform/{built.name} for {envs[0]}; "
        f"approve the plan, then promote the same commit to {', then '.join(envs[1:])}, each behind its own approval.",
        notes=[
            "DynamoDB applies one GSI change (add or remove) per table update: when you later add GSIs to this "
            "table, add one per pull request and deployment. LSIs can only be created together with the table."
        ],
    )
    return {built.rel: built.text()}, steps


def _template(definition: Definition, answers: Path | None) -> tuple[dict[str, str], Steps]:
    from generator.onboard.template_files import build_template, check_template
    from generator.onboard.template_rules import TemplateRules

    rules = TemplateRules(definition)
    if answers is None:
        from generator.onboard.template_questions import TemplateQuestionnaire

        prompter = _prompter(f"Add an email template to {display(rules.templates_dir)}.")
        built = TemplateQuestionnaire(prompter, rules).run()
    else:
        built = build_template(load_answers(answers), rules)
        check_template(built, rules)
    base = display(definition.root / built.base)
    steps = Steps(
        name=built.key,
        add=[f"{base}.*", display(rules.templates_dir / vt.CATALOG_FILE)],
        first=[
            f"Write the wording in {base}.html and .txt (the layout gives the header, a row per variable and the "
            "footer); keep both on the same variables, and the .sample.json valid for the .contract.json, which "
            "the sending Lambda's team codes against. `bbws-gen validate` checks all of it."
        ],
        deploy=f"Deploy: after the merge the S3 repo's pipeline uploads {built.key} to "
        f"{', then '.join(definition.template_buckets)}, each behind its own approval.",
    )
    return dict(built.files), steps


def _files(kind: str, definition: Definition, answers: Path | None) -> tuple[dict[str, str], Steps]:
    """The files to write and the next steps, from the answers file or the questionnaire."""
    if answers is None and not has_terminal():
        raise OnboardError(
            "no terminal to ask the questions on; nothing was written",
            [f"run it in a terminal, or answer in a file: bbws-gen onboard {kind} --answers FILE (YAML or JSON)"],
        )
    try:
        return _table(definition, answers) if kind == "table" else _template(definition, answers)
    except InvalidAnswers as error:
        if answers is None:
            raise
        raise error.named(display(answers)) from None
    except KeyboardInterrupt:
        raise Cancelled() from None
    except EOFError:
        raise OnboardError("input ended before the questionnaire was complete; nothing was written") from None


def onboard(
    kind: str,
    definition: Path,
    answers: Path | None = None,
    *,
    generate: bool = True,
    root: Path | None = None,
    report: Report = _quiet,
) -> Onboarded:
    """Add a table or template (``kind``) to ``definition`` from an answers file, or ask on the terminal.

    Writes the new files only once they pass every check ``bbws-gen validate`` runs, then (``generate``)
    regenerates the output with the blueprints of project ``root`` (default: the one the current directory
    is in). Raises the errors the module docstring lists.
    """
    if kind not in KINDS:
        raise OnboardError(f"cannot onboard {kind!r}", [f"onboard one of: {', '.join(KINDS)}"])
    try:
        loaded = Definition.load(definition)
    except KeyboardInterrupt:
        raise Cancelled() from None
    files, steps = _files(kind, loaded, answers)
    try:
        written = tuple(write_files(loaded.root, files))
    except KeyboardInterrupt:  # write_files has put back what it had replaced
        raise Cancelled() from None
    regenerated = regenerate(loaded.root, root, report) if generate else None
    outputs = regenerated.outputs if regenerated is not None else None
    text = next_steps(kind, steps, outputs, generate_command(loaded.root, root), root)
    return Onboarded(written, regenerated, text)
