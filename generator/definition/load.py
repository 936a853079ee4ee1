"""Load the definition folder and validate it completely before anything is rendered.

Layout: ``platform.yaml``, ``tables/<tableName>.json``, ``schema/*.schema.json``. Every problem of
every file is collected, then raised together as one :class:`DefinitionError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.errors import DefinitionError, Finding
from generator.shipped import validate_templates
from generator.shipped.validate_schemas import (
    Document,
    LineIndex,
    load_json,
    schema_findings,
    table_files,
    validate_documents,
)

PLATFORM_FILE = "platform.yaml"
TABLES_DIR = "tables"
TEMPLATES_DIR = "templates"
SCHEMA_DIR = "schema"


@dataclass(frozen=True)
class RawDefinition:
    """The definition's documents, each valid against its schema and the semantic rules."""

    root: Path
    platform: Document
    tables: tuple[Document, ...]
    table_schema: Mapping[str, Any]
    catalog: Mapping[str, Any]

    @property
    def templates_dir(self) -> Path:
        """The folder with catalog.yaml and the template files."""
        return self.root / TEMPLATES_DIR


def load_yaml(path: Path, display: str) -> Document | Finding:
    """Read a YAML file, or return the finding that says why it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        return Finding(display, 0, "", f"cannot read the file: {exc}", "make it a readable UTF-8 file")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 0
        where = f" at line {line} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return Finding(display, line, "", f"invalid YAML{where}: {problem}", "fix the YAML syntax")
    return Document(display, data, LineIndex(text))


def _schema(root: Path, name: str) -> Mapping[str, Any]:
    path = root / SCHEMA_DIR / name
    try:
        loaded: Mapping[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DefinitionError(
            [Finding(str(path), 0, "", f"cannot load the JSON Schema: {exc}", "restore it from git")]
        ) from exc
    return loaded


def _platform(root: Path, problems: list[Finding]) -> Document | None:
    display = str(root / PLATFORM_FILE)
    loaded = load_yaml(root / PLATFORM_FILE, display)
    if isinstance(loaded, Finding):
        problems.append(loaded)
        return None
    found = schema_findings(loaded, _schema(root, "platform.schema.json"))
    problems.extend(found)
    return None if found else loaded


def _tables(root: Path, schema: Mapping[str, Any], problems: list[Finding]) -> list[Document]:
    directory = root / TABLES_DIR
    paths = table_files(directory)
    if not paths:
        problems.append(
            Finding(
                str(directory),
                0,
                "",
                "no table files found",
                f"add one <tableName>.json per table to {directory}",
            )
        )
    docs: list[Document] = []
    for path in paths:
        loaded = load_json(path, str(path))
        if isinstance(loaded, Finding):
            problems.append(loaded)
        else:
            docs.append(loaded)
    found = validate_documents(docs, schema)
    problems.extend(found)
    bad = {f.file for f in found}
    return [d for d in docs if d.file not in bad]


def _templates(root: Path, problems: list[Finding]) -> Mapping[str, Any]:
    """The template catalog, after the same checks scripts/validate_templates.py runs in the S3 repo."""
    directory = root / TEMPLATES_DIR
    try:
        found = validate_templates.validate(directory)
        catalog, _ = validate_templates.load_catalog(directory)
    except validate_templates.UsageError as exc:
        problems.append(Finding(str(directory), 0, "", str(exc), "restore the templates folder with its catalog.yaml"))
        return {}
    for finding in found:
        # The validator names files relative to the folder's parent; name them as the user passed them.
        file = str(directory.parent / finding.file) if directory.is_absolute() else finding.file
        message, _, hint = finding.message.partition("; ")
        problems.append(Finding(file, finding.line, "", message, hint))
    return catalog if isinstance(catalog, Mapping) else {}


def _cross_file(platform: Document, tables: list[Document], problems: list[Finding]) -> None:
    envs = list(platform.data["environments"])
    if "templates" not in platform.data["buckets"]:
        problems.append(
            platform.finding(
                ["buckets"],
                "the email templates need a bucket with purpose 'templates'",
                "add buckets.templates (see the shipped platform.yaml)",
            )
        )
    for purpose in platform.data["buckets"]:
        for env in envs:
            for suffix in ("", "-logs", "-dr"):
                name = platform.data["bucket_name"].replace("{purpose}", purpose + suffix).replace("{env}", env)
                if len(name) > 63:
                    problems.append(
                        platform.finding(
                            ["buckets", purpose],
                            f"bucket name {name!r} is longer than S3's 63 characters",
                            "shorten the purpose or the bucket_name pattern",
                            key=True,
                        )
                    )
        if purpose + "-logs" in platform.data["buckets"] or purpose + "-dr" in platform.data["buckets"]:
            problems.append(
                platform.finding(
                    ["buckets", purpose],
                    f"purpose {purpose!r} clashes with the log or DR bucket of another purpose",
                    "purposes must not end in -logs or -dr",
                    key=True,
                )
            )
    _github(platform, envs, problems)
    for doc in tables:
        if doc.data.get("tableName") == "backup":
            problems.append(
                doc.finding(
                    ["tableName"],
                    "'backup' is reserved: it is the AWS Backup component of the DynamoDB repo",
                    "name the table after its domain, e.g. backups_log",
                )
            )
    for doc in tables:
        for env in doc.data.get("backup", {}):
            if env not in envs:
                problems.append(
                    doc.finding(
                        ["backup", env],
                        f"environment {env!r} is not defined in {PLATFORM_FILE}",
                        f"use one of: {', '.join(envs)}",
                        key=True,
                    )
                )


# GitHub allows at most six required reviewers per environment; IAM role names have 64 characters.
MAX_REVIEWERS = 6
MAX_ROLE_NAME = 64


def _github(platform: Document, envs: list[str], problems: list[Finding]) -> None:
    # The model names the roles; imported here because the model imports this package.
    from generator.model import role_name

    github = platform.data["github"]
    reviewers = github["reviewers"]
    count = len(reviewers["users"]) + len(reviewers["teams"])
    if not 1 <= count <= MAX_REVIEWERS:
        problems.append(
            platform.finding(
                ["github", "reviewers"],
                f"{count} reviewers: an approval environment needs at least 1"
                f" and GitHub allows at most {MAX_REVIEWERS}",
                "list 1 to 6 GitHub logins under users and team slugs under teams",
            )
        )
    for kind, repository in github["repositories"].items():
        for env in envs:
            name = role_name(repository, "apply", env)
            if len(name) > MAX_ROLE_NAME:
                problems.append(
                    platform.finding(
                        ["github", "repositories", kind],
                        f"IAM role name {name!r} is longer than {MAX_ROLE_NAME} characters",
                        "shorten the repository or environment name",
                    )
                )


def load_definition(root: Path) -> RawDefinition:
    """Load and validate the whole definition, raising :class:`DefinitionError` with every problem."""
    if not (root / PLATFORM_FILE).is_file():
        raise DefinitionError(
            [
                Finding(
                    str(root),
                    0,
                    "",
                    f"not a definition folder: {PLATFORM_FILE} is missing",
                    "pass --definition pointing at the folder that holds platform.yaml and tables/",
                )
            ]
        )
    problems: list[Finding] = []
    table_schema = _schema(root, "table.schema.json")
    platform = _platform(root, problems)
    tables = _tables(root, table_schema, problems)
    catalog = _templates(root, problems)
    if platform is not None:
        _cross_file(platform, tables, problems)
    if problems or platform is None:
        raise DefinitionError(problems)
    return RawDefinition(root, platform, tuple(tables), table_schema, catalog)
