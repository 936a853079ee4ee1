"""Load the definition folder and validate it completely before anything is rendered.

Layout: ``platform.yaml``, ``pins.yaml``, ``tables/<tableName>.json``, ``templates/``, and ``schema/*.schema.json``
(editor copies only: validation uses the schemas built into the package, so a loosened copy in the
folder loosens nothing). Every file is checked by :mod:`generator.definition.safe_read` before it is
opened; every problem of every file is collected, then raised together as one :class:`DefinitionError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from generator.checks import schema_findings, table_files, template_findings, validate_documents
from generator.definition import names, safe_read
from generator.definition.names import BACKUP_COMPONENT, TEMPLATES_PURPOSE
from generator.errors import DefinitionError
from generator.locations import Document, Finding, pointer_of
from generator.pins import (
    PINS_FILE,
    PYTHON_LOCK_FILE,
    RELOCK_HINT,
    Pins,
    build_pins,
    lock_findings,
    pyproject_pins,
    python_findings,
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
    notes: tuple[str, ...] = ()

    @property
    def templates_dir(self) -> Path:
        """The folder with catalog.yaml and the template files."""
        return self.root / TEMPLATES_DIR


def builtin_schema(name: str) -> Mapping[str, Any]:
    """A JSON Schema shipped inside the package (``generator/schemas/<name>``)."""
    text = resources.files("generator").joinpath("schemas", name).read_text(encoding="utf-8")
    loaded: Mapping[str, Any] = json.loads(text)
    return loaded


SCHEMA_NAMES = (
    "platform.schema.json",
    "table.schema.json",
    "catalog.schema.json",
    "pins.schema.json",
    "python-lock.schema.json",
)


def _editor_copies(root: Path, readable: frozenset[Path]) -> list[str]:
    """Notes on ``schema/`` copies that differ from the built-in schemas (they only guide editors)."""
    notes = []
    for name in SCHEMA_NAMES:
        path = root / SCHEMA_DIR / name
        if path not in readable:
            continue
        try:
            same = json.loads(safe_read.read_text(path)) == builtin_schema(name)
        except (safe_read.UnsafeInput, ValueError, OSError):
            same = False
        if not same:
            notes.append(
                f"{path} differs from the schema built into bbws-gen, which is the one validation uses; "
                f"editors that read the copy check other rules (restore it from bbws-gen's generator/schemas/{name})"
            )
    return notes


def _document(path: Path, kind: str, problems: list[Finding]) -> Document | None:
    loaded = safe_read.load_document(path, kind)
    if isinstance(loaded, Finding):
        problems.append(loaded)
        return None
    found = safe_read.text_problems(loaded, yaml_breaks=kind == "yaml")
    problems.extend(found)
    return None if found else loaded


def _platform(root: Path, problems: list[Finding]) -> Document | None:
    loaded = _document(root / PLATFORM_FILE, "yaml", problems)
    if loaded is None:
        return None
    found = schema_findings(loaded, builtin_schema("platform.schema.json"))
    if not found:
        found = names.platform_problems(loaded)
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
    loaded = _document(path, "yaml", problems)
    if loaded is None:
        return None
    found = schema_findings(loaded, builtin_schema("pins.schema.json"))
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
    lock = None if found else _python_lock(root, loaded, pinned, problems)
    return None if lock is None else build_pins(loaded.data, pinned, lock.data)


def _python_lock(root: Path, pins: Document, pinned: Mapping[str, str], problems: list[Finding]) -> Document | None:
    """The Python lock beside ``pins.yaml``, when it was resolved from today's pins; else None and why."""
    path = root / PYTHON_LOCK_FILE
    if not path.is_file():
        problems.append(Finding(str(path), 0, "", "the Python lock file is missing", RELOCK_HINT))
        return None
    loaded = _document(path, "yaml", problems)
    if loaded is None:
        return None
    found = schema_findings(loaded, builtin_schema("python-lock.schema.json"))
    if not found:
        found = lock_findings(loaded, pins.data, pinned)
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
    too_many = names.table_count_problems(str(directory), len(paths))
    if too_many:
        problems.extend(too_many)  # before reading any of them
        return []
    docs = [doc for doc in (_document(path, "json", problems) for path in paths) if doc is not None]
    found = validate_documents(docs, schema)
    named = {f.file for f in found if f.pointer == "/tableName"}
    found += [f for doc in docs if doc.file not in named for f in names.table_name_problems(doc)]
    found += names.case_collisions(docs)
    problems.extend(found)
    bad = {f.file for f in found}
    return [d for d in docs if d.file not in bad]


def _templates(root: Path, problems: list[Finding]) -> Mapping[str, Any]:
    """The template catalog, after the same checks scripts/validate_templates.py runs in the S3 repo."""
    directory = root / TEMPLATES_DIR
    # The templates validator reads these files itself, with the plain loaders: parse each strictly first.
    unsafe: list[Finding] = []
    if (directory / "catalog.yaml").is_file():
        catalog_doc = _document(directory / "catalog.yaml", "yaml", unsafe)
        entries = catalog_doc.data.get("templates") if catalog_doc and isinstance(catalog_doc.data, dict) else None
        if isinstance(entries, list):
            unsafe += names.template_count_problems(str(directory / "catalog.yaml"), len(entries))
    for path in sorted(directory.rglob("*.json")):
        _document(path, "json", unsafe)
    if unsafe:
        problems.extend(unsafe)
        return {}
    found, catalog = template_findings(directory)
    problems.extend(found)
    return catalog


def _cross_file(platform: Document, tables: list[Document], problems: list[Finding]) -> None:
    envs = list(platform.data["environments"])
    if TEMPLATES_PURPOSE not in platform.data["buckets"]:
        problems.append(
            platform.finding(
                ["buckets"],
                f"the email templates need a bucket with purpose {TEMPLATES_PURPOSE!r}",
                f"add buckets.{TEMPLATES_PURPOSE} (see the shipped platform.yaml)",
            )
        )
    for purpose in platform.data["buckets"]:
        for env in envs:
            for name in names.bucket_names(platform.data["bucket_name"], purpose, env).values():
                if len(name) > 63:
                    problems.append(
                        platform.finding(
                            ["buckets", purpose],
                            f"bucket name {name!r} is longer than S3's 63 characters",
                            "shorten the purpose or the bucket_name pattern",
                            key=True,
                        )
                    )
        if any(purpose + suffix in platform.data["buckets"] for suffix in names.BUCKET_SUFFIXES.values()):
            problems.append(
                platform.finding(
                    ["buckets", purpose],
                    f"purpose {purpose!r} clashes with the log or DR bucket of another purpose",
                    "purposes must not end in -logs or -dr",
                    key=True,
                )
            )
    _github(platform, envs, problems)
    components = {*platform.data["buckets"], BACKUP_COMPONENT, *(d.data.get("tableName") for d in tables)}
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


# GitHub allows at most six required reviewers per environment; IAM role names have 64 characters.
MAX_REVIEWERS = 6
MAX_ROLE_NAME = 64


def _github(platform: Document, envs: list[str], problems: list[Finding]) -> None:
    github = platform.data["github"]
    reviewers = github["reviewers"]
    count = len(reviewers["users"]) + len(reviewers["teams"])
    if not 1 <= count <= MAX_REVIEWERS:
        problems.append(
            platform.finding(
                ["github", "reviewers"],
                f"{count} reviewers: an approval environment needs at least 1"
                f" and GitHub allows at most {MAX_REVIEWERS}",
                f"list 1 to {MAX_REVIEWERS} GitHub logins under users and team slugs under teams",
            )
        )
    for kind, repository in github["repositories"].items():
        for env in envs:
            name = names.role_name(repository, "apply", env)
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
    if not (root / PLATFORM_FILE).exists() and not (root / PLATFORM_FILE).is_symlink():
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
    # Nothing is opened before every path is known to be a small regular file inside the folder.
    scanned = safe_read.scan(root, (PLATFORM_FILE, PINS_FILE, PYTHON_LOCK_FILE, TABLES_DIR, TEMPLATES_DIR, SCHEMA_DIR))
    if scanned.problems:
        raise DefinitionError(scanned.problems)
    problems: list[Finding] = []
    table_schema = builtin_schema("table.schema.json")
    platform = _platform(root, problems)
    pins = _pins(root, problems)
    tables = _tables(root, table_schema, problems)
    catalog = _templates(root, problems)
    if platform is not None:
        _cross_file(platform, tables, problems)
    if problems or platform is None or pins is None:
        raise DefinitionError(problems)
    notes = tuple(_editor_copies(root, scanned.files))
    return RawDefinition(root, platform, tuple(tables), table_schema, catalog, pins, notes)
