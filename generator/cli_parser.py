"""The command line's grammar: every command, option and help text of ``bbws-gen`` (argparse only; the
CLI in :mod:`generator.cli` parses with it and does the rest)."""

from __future__ import annotations

import argparse
from pathlib import Path


def _common() -> argparse.ArgumentParser:
    """Options every command takes, before or after the command name (SUPPRESS: a later one wins)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print problems and results only"
    )
    common.add_argument(
        "--project",
        type=Path,
        default=argparse.SUPPRESS,
        help="the project root (default: the nearest folder from here up holding copier.yml beside definition/)",
    )
    return common


def parser() -> argparse.ArgumentParser:
    """The ``bbws-gen`` parser, with each command's options."""
    common = _common()
    parser = argparse.ArgumentParser(prog="bbws-gen", description="Generate the BBWS schema repos.", parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="render both repos from the definition", parents=[common])
    gen.add_argument("--definition", type=Path, help="definition folder (default: <project>/definition)")
    gen.add_argument("--output", type=Path, help="folder that holds the repos (default: <project>/repos)")
    gen.add_argument("--docs", type=Path, help="folder for the generated docs (default: <project>/docs)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 listing each differing file")
    val = sub.add_parser("validate", help="validate the definition only", parents=[common])
    val.add_argument("--definition", type=Path, help="definition folder (default: <project>/definition)")
    onboard = sub.add_parser(
        "onboard", help="add a table or an email template through a questionnaire", parents=[common]
    )
    onboard.add_argument("kind", choices=["table", "template"], help="what to add")
    onboard.add_argument("--definition", type=Path, help="definition folder (default: <project>/definition)")
    onboard.add_argument("--answers", type=Path, help="YAML/JSON answers file: run without prompts")
    onboard.add_argument("--no-generate", action="store_true", help="write the definition files only")
    split = sub.add_parser("split", help="turn each generated repo into a standalone git repository", parents=[common])
    split.add_argument("--output", type=Path, help="folder that holds the repos (default: <project>/repos)")
    split.add_argument("--into", type=Path, help="where the split repos go (default: <project>/build/split)")
    split.add_argument(
        "--remote",
        default=None,
        help="URL of the monorepo that split repos' `copier update` uses (default: this checkout's origin)",
    )
    lint = sub.add_parser(
        "lint", help="check hand-written table files in the customer's schema-file format", parents=[common]
    )
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE", help="table files (*.json)")
    lint.add_argument("--terraform", type=Path, help="a .tf file or folder: compare its GSIs with the files'")
    update = sub.add_parser(
        "update", help="take a blueprint release into generated repos with copier update", parents=[common]
    )
    update.add_argument("repos", nargs="*", type=Path, help="repo folders (default: every repo under --output)")
    update.add_argument("--output", type=Path, help="folder that holds the repos (default: <project>/repos)")
    update.add_argument("--vcs-ref", help="the release to take (default: the newest v* tag)")
    update.add_argument("--trust", action="store_true", help="allow the release's migrations to run")
    _preview_parser(sub.add_parser("preview", help="render each email template to HTML and PNG", parents=[common]))
    _adopt_parser(
        sub.add_parser("adopt", help="import resources that already exist into the generated roots", parents=[common])
    )
    return parser


def _adopt_parser(adopt: argparse.ArgumentParser) -> None:
    adopt.add_argument("repos", nargs="*", type=Path, help="repo folders (default: every repo under --output)")
    adopt.add_argument("--output", type=Path, help="folder that holds the repos (default: <project>/repos)")
    adopt.add_argument("--env", help="the environment whose resources exist (required unless --clean)")
    adopt.add_argument(
        "--from-state", type=Path, metavar="FILE", help="an old root's state file instead of the account"
    )
    adopt.add_argument("--clean", action="store_true", help="remove --env's import entries (all without --env)")


def _preview_parser(preview: argparse.ArgumentParser) -> None:
    from os import cpu_count

    preview.add_argument("--definition", type=Path, help="definition folder (default: <project>/definition)")
    preview.add_argument(
        "--output",
        dest="previews",
        metavar="DIR",
        type=Path,
        help="where the previews go (default: <project>/build/previews)",
    )
    preview.add_argument("--only", action="append", metavar="KEY", help="only this template key (repeatable)")
    preview.add_argument("--no-png", action="store_true", help="HTML and text only, no Chromium")
    preview.add_argument("--require-png", action="store_true", help="fail (exit 2) when no Chromium is found")
    preview.add_argument("--chromium", help="Chromium executable (default: $BBWS_CHROMIUM, then PATH)")
    preview.add_argument("--allow-network", action="store_true", help="let Chromium load remote images")
    preview.add_argument("--jobs", type=int, default=min(4, cpu_count() or 1), help="screenshots in parallel")
