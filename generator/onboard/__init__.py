"""``bbws-gen onboard table|template``: add a DynamoDB table or an email template through a questionnaire.

Two ways to answer, one set of rules. Interactively, each answer is checked as it is given, with the
rules ``bbws-gen validate`` applies (the published table schema and validate_schemas.py for tables, the
catalog rules of validate_templates.py for templates, and the existing tables and catalog for clashes).
With ``--answers FILE`` (YAML or JSON, the keys are documented in :mod:`generator.onboard.table` and
:mod:`generator.onboard.template`) nothing is asked and every invalid answer is reported by its key.
Both then build the files, validate them together with the rest of the definition (a copy of it: nothing
is written before everything passes), write them, regenerate and print the next steps.

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

Exit codes: 0 written (and regenerated); 1 written but ``generate`` failed; 2 invalid answers, invalid
definition, unreadable answers file, no terminal, or input ended (EOF); 130 aborted (Ctrl-C or "Abort"
at the summary). Nothing is written unless the answers pass every check.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import DefinitionError
from generator.onboard.answers import load_answers
from generator.onboard.common import Definition, display, write_files
from generator.onboard.errors import Cancelled, InvalidAnswers, OnboardError
from generator.onboard.finish import generate_command, next_steps, regenerate, use_project

EXIT_OK, EXIT_INVALID, EXIT_ABORTED = 0, 2, 130


@dataclass
class Steps:
    """What the next steps say for the new table or template."""

    name: str
    add: list[str]
    deploy: str
    first: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


__all__ = ["onboard"]


def _table(definition: Definition, answers: Path | None) -> tuple[dict[str, str], Steps]:
    from generator.onboard.table import TableRules, build_table, check_table

    rules = TableRules.load(definition)
    if answers is None:
        from generator.onboard.prompts import Prompter
        from generator.onboard.questions import TableQuestionnaire

        print(f"Add a DynamoDB table to {display(definition.root)}.")
        print("Ctrl-C aborts; nothing is written before you confirm the summary.")
        built = TableQuestionnaire(Prompter(), rules).run()
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
    from generator.onboard.template import TemplateRules, build_template, check_template

    rules = TemplateRules(definition)
    if answers is None:
        from generator.onboard.prompts import Prompter
        from generator.onboard.questions import TemplateQuestionnaire

        print(f"Add an email template to {display(rules.templates_dir)}.")
        print("Ctrl-C aborts; nothing is written before you confirm the summary.")
        built = TemplateQuestionnaire(Prompter(), rules).run()
    else:
        built = build_template(load_answers(answers), rules)
        check_template(built, rules)
    platform = definition.raw.platform.data
    buckets = [
        platform["bucket_name"].replace("{purpose}", "templates").replace("{env}", env)
        for env in definition.environments
    ]
    base = display(definition.root / built.base)
    steps = Steps(
        name=built.key,
        add=[f"{base}.*", display(rules.templates_dir / "catalog.yaml")],
        first=[
            f"Write the wording in {base}.html and .txt (the layout gives the header, a row per variable and the "
            "footer); keep both on the same variables, and the .sample.json valid for the .contract.json, which "
            "the sending Lambda's team codes against. `bbws-gen validate` checks all of it."
        ],
        deploy=f"Deploy: after the merge the S3 repo's pipeline uploads {built.key} to {', then '.join(buckets)}, "
        "each behind its own approval.",
    )
    return dict(built.files), steps


def onboard(kind: str, definition: Path, answers: Path | None, generate: bool = True, root: Path | None = None) -> int:
    """Run the questionnaire for ``kind`` ("table" or "template"); return the exit code.

    ``root`` is the project (its blueprints render, its ``repos/`` and ``docs/`` receive the output).
    """
    if root is not None:
        use_project(root)
    try:
        loaded = Definition.load(definition)
    except DefinitionError as error:
        for finding in error.problems:
            print(finding, file=sys.stderr)
        print(
            f"\n{len(error.problems)} problem(s) in the definition: it must be valid before anything is added "
            "to it; fix them (bbws-gen validate) and run onboard again. Nothing was written.",
            file=sys.stderr,
        )
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("\nAborted; nothing was written.", file=sys.stderr)
        return EXIT_ABORTED
    try:
        if answers is None and not (sys.stdin.isatty() and sys.stdout.isatty()):
            raise OnboardError(
                "no terminal to ask the questions on",
                [f"run it in a terminal, or answer in a file: bbws-gen onboard {kind} --answers FILE (YAML or JSON)"],
            )
        files, steps = _table(loaded, answers) if kind == "table" else _template(loaded, answers)
        written = write_files(loaded.root, files)
    except InvalidAnswers as error:
        source = display(answers) if answers is not None else "answers"
        for problem in error.problems:
            print(f"{source}: {problem}", file=sys.stderr)
        print(f"\n{len(error.problems)} invalid answer(s) in {source}; nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    except OnboardError as error:
        print(f"error: {error}", file=sys.stderr)
        for detail in error.details:
            print(f"  {detail}", file=sys.stderr)
        print("Nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    except (KeyboardInterrupt, Cancelled):
        print("\nAborted; nothing was written.", file=sys.stderr)
        return EXIT_ABORTED
    except EOFError:
        print("\nInput ended before the questionnaire was complete; nothing was written.", file=sys.stderr)
        return EXIT_INVALID
    print()
    for path in written:
        print(f"wrote {display(path)}")
    code, outputs = EXIT_OK, None
    if generate:
        try:
            code, outputs = regenerate(loaded.root)
        except KeyboardInterrupt:
            print(
                "\nInterrupted while regenerating: the definition files are written and the previous output is "
                f"untouched; regenerate with {generate_command(loaded.root)}",
                file=sys.stderr,
            )
            return EXIT_ABORTED
    generated = generate and outputs is not None
    print(
        next_steps(
            kind,
            steps.name,
            steps.add,
            outputs,
            generated,
            generate_command(loaded.root),
            steps.first,
            steps.deploy,
            steps.notes,
        )
    )
    return code
