"""Command line interface. The only place where errors become messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from generator.definition import load_definition
from generator.errors import DefinitionError, DriftError, GenerateError
from generator.model import build_model

EXIT_OK, EXIT_DEFECT, EXIT_INVALID = 0, 1, 2


def _default_root() -> Path:
    return Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    root = _default_root()
    parser = argparse.ArgumentParser(prog="bbws-gen", description="Generate the BBWS schema repos.")
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems and results only (for CI)")
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="render both repos from the definition")
    gen.add_argument("--definition", type=Path, default=root / "definition", help="definition folder")
    gen.add_argument("--output", type=Path, default=root / "repos", help="folder that holds the repos")
    gen.add_argument("--docs", type=Path, default=root / "docs", help="folder for the generated docs")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing each differing file")
    val = sub.add_parser("validate", help="validate the definition only")
    val.add_argument("--definition", type=Path, default=root / "definition", help="definition folder")
    onboard = sub.add_parser("onboard", help="add a table or an email template through a questionnaire")
    onboard.add_argument("kind", choices=["table", "template"], help="what to add")
    onboard.add_argument("--definition", type=Path, default=root / "definition", help="definition folder")
    onboard.add_argument("--answers", type=Path, help="YAML/JSON answers file: run without prompts")
    onboard.add_argument("--no-generate", action="store_true", help="write the definition files only")
    split = sub.add_parser("split", help="turn each generated repo into a standalone git repository")
    split.add_argument("--output", type=Path, default=root / "repos", help="folder that holds the repos")
    split.add_argument("--into", type=Path, default=root / "build" / "split", help="where the split repos go")
    split.add_argument(
        "--remote",
        default=None,
        help="URL of the monorepo that split repos' `copier update` uses (default: this checkout's origin)",
    )
    lint = sub.add_parser("lint", help="check hand-written table files in the customer's schema-file format")
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE", help="table files (*.json)")
    lint.add_argument("--terraform", type=Path, help="a .tf file or folder: compare its GSIs with the files'")
    return parser


def _print_problems(error: DefinitionError) -> None:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    print(f"\n{len(error.problems)} problem(s) in the definition; nothing was written.", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage already; keep its code
        return int(exc.code or 0)
    if args.command == "onboard":
        from generator.onboard import onboard

        return onboard(args.kind, args.definition, args.answers, generate=not args.no_generate)
    if args.command == "split":
        from generator.split import split

        return split(args.output, args.into, args.remote)
    if args.command == "lint":
        from generator.lint import run_lint

        return run_lint(args.files, args.terraform, quiet=args.quiet)

    def report(message: str) -> None:
        if not args.quiet:
            print(f"bbws-gen: {message}", file=sys.stderr)

    try:
        report(f"validating the definition in {args.definition}")
        raw = load_definition(args.definition)
        for note in raw.notes:
            print(f"warning: {note}", file=sys.stderr)
        model = build_model(raw)
        if args.command == "validate":
            print(f"definition {args.definition} is valid ({len(model.tables)} tables)")
            return EXIT_OK
        from generator.render import generate  # copier is heavy; validate does not need it

        changes = generate(model, args.output, args.docs, check=args.check, report=report)
    except DefinitionError as error:
        _print_problems(error)
        return EXIT_INVALID
    except DriftError as error:
        for change in error.changes:
            print(change)
        print(
            f"\n{len(error.changes)} file(s) differ from what the definition and blueprints produce; "
            "run `bbws-gen generate` (or `nox -s generate`) and commit.",
            file=sys.stderr,
        )
        return EXIT_DEFECT
    except GenerateError as error:
        print(f"error: {error}", file=sys.stderr)
        for detail in error.details:
            print(f"  {detail}", file=sys.stderr)
        return EXIT_DEFECT
    if args.check:
        print("generated output is up to date")
    else:
        for change in changes:
            print(change)
        print(f"generated into {args.output} and {args.docs} ({len(changes)} file(s) changed)")
    return EXIT_OK


def main() -> int:
    """Console entry point."""
    return run(sys.argv[1:])
