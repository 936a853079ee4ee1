"""Command line interface. The only place where errors become messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from generator import api
from generator.cli_parser import parser
from generator.errors import (
    EXIT_ABORTED,
    EXIT_DEFECT,
    EXIT_INVALID,
    EXIT_OK,
    BbwsGenError,
    DefinitionError,
    DriftError,
    UsageError,
)
from generator.project import find_project, resolve

if TYPE_CHECKING:  # imported when the command runs
    from generator.update import Outcome


def _error(error: BbwsGenError) -> int:
    """Print an error and its details; return the exit code its class carries."""
    print(f"error: {error}", file=sys.stderr)
    for detail in error.details:
        print(f"  {detail}", file=sys.stderr)
    return error.exit_code


def _usage(error: UsageError) -> int:
    return _error(error)


def _print_notes(notes: Sequence[str]) -> None:
    for note in notes:
        print(f"warning: {note}", file=sys.stderr)


def _locate(args: argparse.Namespace) -> Path | None:
    """The project root, with the folder options it defaults filled in; None when the command was given
    every folder it needs and runs outside a project. Raises :class:`UsageError` when it needs one."""
    try:
        root: Path | None = find_project(getattr(args, "project", None))
    except UsageError as error:
        if getattr(args, "project", None) is not None:
            raise
        if not _standalone(args):
            folders = _STANDALONE.get(args.command)
            raise UsageError(str(error), [*error.details, *([f"or pass {folders}"] if folders else [])]) from None
        root = None
    given_docs = getattr(args, "docs", None)
    defaults = (
        ("definition", "definition"),
        ("output", "repos"),
        ("docs", "docs"),
        ("into", "build/split"),
        ("previews", "build/previews"),
    )
    for name, default in defaults:
        value = getattr(args, name, None)
        if root is not None and hasattr(args, name):
            setattr(args, name, resolve(root, value, default))
        elif value is not None:
            setattr(args, name, value.absolute())
    if root is not None and args.command == "generate" and given_docs is None:
        args.docs = _default_docs(root, args.definition, args.output)
    return root


def _default_docs(root: Path, definition: Path, output: Path) -> Path:
    """The project's docs/ when the definition and the output are the project's own; else docs/ beside the
    output, so another definition never rewrites the project's documents."""
    own = resolve(root, None, "docs")
    if definition == resolve(root, None, "definition") and output == resolve(root, None, "repos"):
        return own
    beside = output.parent / "docs"
    if beside == own:
        raise UsageError(
            f"--definition or --output is not the project's own, and docs would default to the project's {own}",
            ["pass --docs DIR: where the docs of this definition go"],
        )
    return beside


# The folder options that let a command run outside a project.
_STANDALONE = {"validate": "--definition", "split": "--output and --into", "preview": "--definition and --output"}


def _standalone(args: argparse.Namespace) -> bool:
    """True when the command has every folder it needs without a project (generate always needs its
    blueprints): validate or onboard --no-generate with --definition, split with --output and --into,
    preview with --definition and --output."""
    if args.command == "validate" or (args.command == "onboard" and args.no_generate):
        return args.definition is not None
    if args.command == "preview":
        return args.definition is not None and args.previews is not None
    return args.command == "split" and args.output is not None and args.into is not None


def _update(args: argparse.Namespace) -> int:
    """``update`` runs in a project (all its repos) or inside a split-out repo, which is no project."""
    from generator.update import UpdateBlocked, apply_update, plan_updates

    output = args.output
    if output is None and not args.repos:
        try:
            output = find_project(getattr(args, "project", None)) / "repos"
        except UsageError as error:
            if getattr(args, "project", None) is not None:
                return _usage(error)
    try:
        plans = plan_updates(output, args.repos, args.vcs_ref)
    except UpdateBlocked as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"\n{error}", file=sys.stderr)
        return error.exit_code
    except BbwsGenError as error:
        return _error(error)
    code = EXIT_OK
    for plan in plans:
        outcome = apply_update(plan, args.trust)
        _print_outcome(outcome)
        code = max(code, EXIT_DEFECT if outcome.status in ("failed", "conflicts") else EXIT_OK)
    return code


def _print_outcome(outcome: Outcome) -> None:
    repo, current, target = outcome.plan.repo, outcome.plan.current, outcome.plan.target
    if outcome.status == "current":
        print(f"{repo}: already at {current}")
    elif outcome.status == "failed":
        print(f"{repo}: copier update to {target} failed (exit {outcome.copier_exit}):", file=sys.stderr)
        print("  " + "\n  ".join(outcome.output_tail), file=sys.stderr)
        if outcome.needs_trust:
            print("  the release runs migrations: read them, then run again with --trust", file=sys.stderr)
    elif outcome.status == "conflicts":
        print(f"{repo}: updated {current} -> {target} with {len(outcome.conflicts)} conflict(s):")
        for name in outcome.conflicts:
            print(f"  {name}")
        print(
            "  resolve the <<<<<<< markers (or .rej files), `git add` each file, then commit; "
            "do not `git commit -a` before resolving",
        )
    else:
        print(f"{repo}: updated {current} -> {target} (review with git status, then commit)")


def _lint(files: Sequence[Path], terraform: Path | None, quiet: bool) -> int:
    """Print every problem lint found; exit 0 clean, 1 defects, 2 unreadable input."""
    from generator.lint import LintUsageError, lint

    try:
        result = lint(files, terraform)
    except LintUsageError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return error.exit_code
    for finding in [*result.unreadable, *result.findings]:
        print(finding)
    if not quiet:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
    if result.unreadable:
        print(f"\n{len(result.unreadable)} file(s) could not be read", file=sys.stderr)
        return EXIT_INVALID
    if result.findings:
        print(f"\n{len(result.findings)} defect(s) in {len(files)} file(s)", file=sys.stderr)
        return EXIT_DEFECT
    if not quiet:
        print(f"{len(files)} file(s) clean" + (f", GSIs agree with {terraform}" if terraform else ""), file=sys.stderr)
    return EXIT_OK


def _adopt(args: argparse.Namespace) -> int:
    """``adopt`` runs on the given repos, every repo of the project, or the generated repo it runs in."""
    from generator.adopt import AdoptBlocked, adopt, clean, report

    try:
        repos = report.repos(args.repos, args.output, getattr(args, "project", None))
        if args.clean:
            for path in clean(repos, args.env):
                print(f"{'cleaned' if path.exists() else 'removed'} {path}")
            return EXIT_OK
        if args.env is None:
            raise UsageError("adopt needs --env ENV (the environment whose resources exist)")
        done = adopt(repos, args.env, args.from_state)
    except AdoptBlocked as error:
        print("\n".join(report.blocked_lines(error)), file=sys.stderr)
        return error.exit_code
    except BbwsGenError as error:
        return _error(error)
    print("\n".join(report.lines(done)))
    return EXIT_OK


def _split(args: argparse.Namespace) -> int:
    from generator.split import split

    url = split(args.output, args.into, args.remote, report=print)
    print(f"copier update in each split repo takes blueprint releases from {url}")
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    from generator.preview import preview

    made = preview(
        args.definition,
        args.previews,
        only=args.only,
        png=not args.no_png,
        require_png=args.require_png,
        chromium=args.chromium,
        allow_network=args.allow_network,
        jobs=args.jobs,
    )
    if made.png_skipped:
        print(f"preview: {made.png_skipped}", file=sys.stderr)
    for failure in made.failures:
        print(f"preview: {failure}", file=sys.stderr)
    print(f"preview: {len(made.previews)} template(s), {made.screenshots} screenshot(s); open {made.index}")
    return EXIT_DEFECT if made.failures else EXIT_OK


def _print_problems(error: DefinitionError) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    print(f"\n{len(error.problems)} problem(s) in the definition; nothing was written.", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already; keep its code
        return int(exc.code or 0)
    quiet = getattr(args, "quiet", False)
    if args.command == "update":
        return _update(args)
    if args.command == "lint":
        return _lint(args.files, args.terraform, quiet)
    if args.command == "adopt":
        return _adopt(args)
    try:
        root = _locate(args)
    except UsageError as error:
        return _usage(error)

    def report(message: str) -> None:
        # -q silences progress, not warnings: a skipped check must show in CI logs too.
        if not quiet or message.startswith("warning:"):
            print(f"bbws-gen: {message}", file=sys.stderr)

    try:
        if args.command == "split":
            return _split(args)
        if args.command == "preview":
            return _preview(args)
        if args.command == "onboard":
            from generator.onboard import onboard

            done = onboard(
                args.kind, args.definition, args.answers, generate=not args.no_generate, root=root, report=report
            )
            print("\n".join(done.lines()))
            return EXIT_OK
        if args.command == "validate":
            valid = api.validate(args.definition)
            _print_notes(valid.notes)
            print(f"definition {args.definition} is valid ({len(valid.model.tables)} tables)")
            return EXIT_OK
        changes = api.generate(args.definition, args.output, args.docs, check=args.check, root=root, report=report)
    except DefinitionError as error:
        _print_problems(error)
        return error.exit_code
    except DriftError as error:
        for change in error.changes:
            print(change)
        print(
            f"\n{len(error.changes)} generated file(s) differ from what the definition and blueprints produce; "
            "run `bbws-gen generate` (it replaces only files it generated; yours stay) and commit.",
            file=sys.stderr,
        )
        if any(change.endswith("(conflict)") for change in error.changes):
            print("A (conflict) file is yours, at a path generate now writes: move it away first.", file=sys.stderr)
        return error.exit_code
    except BbwsGenError as error:
        return _error(error)
    _print_notes(changes.notes)
    if args.check:
        print("generated output is up to date")
    else:
        if not quiet:
            for change in changes.lines:
                print(change)
        print(f"generated into {args.output} and {args.docs} ({len(changes.lines)} file(s) changed)")
    return EXIT_OK


def main() -> int:
    """Console entry point. Ctrl-C says so in one line and exits 130 (the render processes stop with it)."""
    try:
        return run(sys.argv[1:])
    except KeyboardInterrupt:
        print(
            "bbws-gen: cancelled (Ctrl-C); the output is as it was, or finishes its swap on the next run",
            file=sys.stderr,
        )
        return EXIT_ABORTED
