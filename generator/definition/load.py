"""Load the definition folder and validate it completely before anything is rendered.

Layout: ``platform.yaml``, ``pins.yaml``, ``tables/<tableName>.json``, ``schema/*.schema.json``. Every problem of
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
from generator.pins import PINS_FILE, Pins, build_pins, pyproject_pins, python_findings
from generator.shipped import validate_templates
from generator.shipped.validate_schemas import (
    Document,
    LineIndex,
    load_json,
    pointer_of,
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
    pins: Pins

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


def _pins(root: Path, problems: list[Finding]) -> Pins | None:
    """The tool pins, or None with the reasons added to ``problems``."""
    path = root / PINS_FILE
    if not path.is_file():
        problems.append(
            Finding(str(path), 0, "", "the tool pins file is missing", f"copy {PINS_FILE} from bbws-gen's definition/")
        )
        return None
    loaded = load_yaml(path, str(path))
    if isinstance(loaded, Finding):
        problems.append(loaded)
        return None
    found = schema_findings(loaded, _schema(root, "pins.schema.json"))
    if found:
        problems.extend(found)
        return None
    try:
        pinned = pyproject_pins()
    except OSError as exc:
        hint = "bbws-gen reads Python versions from its checkout's pyproject.toml: install it with pip install -e ."
        problems.append(
            Finding(str(exc.filename or "pyproject.toml"), 0, "", f"cannot read the Python pins: {exc}", hint)
        )
        return None
    found = python_findings(loaded, pinned)
    problems.extend(found)
    return None if found else build_pins(loaded.data, pinned)


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
    components = {*platform.data["buckets"], "backup", *(d.data.get("tableName") for d in tables)}
    for name in platform.data.get("codeowners", {}).get("components", {}):
        if name not in components:
            problems.append(
                platform.finding(
                    ["codeowners", "components", name],
                    f"component {name!r} does not exist",
                    f"use a table name, a bucket purpose or backup: {', '.join(sorted(map(str, components)))}",
                    key=True,
                )
            )
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
        problems.extend(_table_backup_and_tags(platform, doc))


def _table_backup_and_tags(platform: Document, doc: Document) -> list[Finding]:
    """The customer's per-table backup and tags, checked against the platform they cannot override.

    One AWS Backup plan per environment selects every table by its BackupPolicy tag, so a table's
    ``{"frequency", "retention"}`` must be that plan. A table tag may repeat a platform tag, never contradict it
    (a resource tag would silently win over the provider's default tag).
    """
    problems: list[Finding] = []
    environments = platform.data["environments"]
    for env, wanted in doc.data.get("backup", {}).items():
        if not isinstance(wanted, Mapping) or env not in environments:
            continue
        policy = environments[env]["backup"]
        if (wanted.get("frequency"), wanted.get("retention")) != (policy["frequency"], policy["retention_days"]):
            problems.append(
                doc.finding(
                    ["backup", env],
                    f"backup.{env} asks for {wanted.get('frequency')} backups kept {wanted.get('retention')} days, "
                    f"but {env}'s backup policy in {PLATFORM_FILE} is {policy['frequency']}, kept "
                    f"{policy['retention_days']} days (one AWS Backup plan per environment serves every table)",
                    f'write {{"frequency": "{policy["frequency"]}", "retention": {policy["retention_days"]}}} or true, '
                    f"false to leave the table out of backups in {env}, or change environments.{env}.backup in "
                    f"{PLATFORM_FILE} for every table",
                )
            )
    for key, value in doc.data.get("tags", {}).items():
        fixed = platform.data["tags"].get(key)
        if fixed is not None and fixed != value:
            problems.append(
                doc.finding(
                    ["tags", key],
                    f"tag {key} = {value!r} contradicts the platform's tag {key} = {fixed!r} "
                    f"({platform.file} {pointer_of(['tags', key])})",
                    f"remove {key} from the table's tags (the platform's value applies), or give it the same value",
                )
            )
    return problems


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
    pins = _pins(root, problems)
    tables = _tables(root, table_schema, problems)
    catalog = _templates(root, problems)
    if platform is not None:
        _cross_file(platform, tables, problems)
    if problems or platform is None or pins is None:
        raise DefinitionError(problems)
    return RawDefinition(root, platform, tuple(tables), table_schema, catalog, pins)
