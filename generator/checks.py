"""The one adapter to the shipped scripts (``generator/shipped/``): the only module that imports them.

The shipped scripts are copied verbatim into the generated repos and run there standalone, so they keep
their own ``Finding``, ``Document`` and ``LineIndex``; this module hands them the generator's documents
and turns what they report into :class:`generator.locations.Finding`. Everything else in the generator
(loader, lint, onboarding, bench) calls the scripts through here.

Importing this module imports jsonschema and PyYAML (the scripts need them): the CLI's fast paths import
it only when they validate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from generator import verdict_cache
from generator.locations import Document, Finding, LineIndex, pointer_of
from generator.shipped import validate_schemas as _schemas
from generator.shipped import validate_templates
from generator.shipped.validate_schemas import KEY_TYPES, table_files
from generator.shipped.validate_templates import (
    CATALOG_FILE,
    CATALOG_SCHEMA,
    FOLDERS,
    UNSUBSCRIBE_VARIABLE,
    load_catalog,
    mustache_errors,
)

__all__ = [
    "CATALOG_FILE",
    "CATALOG_SCHEMA",
    "FOLDERS",
    "KEY_TYPES",
    "UNSUBSCRIBE_VARIABLE",
    "Document",
    "Finding",
    "LineIndex",
    "TemplatesUnreadable",
    "load_catalog",
    "load_json",
    "mustache_errors",
    "pointer_of",
    "schema_findings",
    "split_hint",
    "table_files",
    "template_findings",
    "validate_documents",
    "validate_templates",
]

# The templates script's exception for a folder or catalog it cannot read (exit 2 when run standalone).
TemplatesUnreadable = validate_templates.UsageError


def _finding(found: _schemas.Finding) -> Finding:
    return Finding(found.file, found.line, found.pointer, found.message, found.hint)


def _shipped(doc: Document) -> _schemas.Document:
    """The table script's view of ``doc``: same file name and data, its own line index on the same text."""
    return _schemas.Document(doc.file, doc.data, _schemas.LineIndex(doc.lines.text))


def load_json(path: Path, display: str) -> Document | Finding:
    """Read a JSON file as the table script does, or return the finding that says why it is not JSON."""
    loaded = _schemas.load_json(path, display)
    if isinstance(loaded, _schemas.Finding):
        return _finding(loaded)
    # The script's LineIndex keeps the text it was built from; the generator's index is built on the same.
    return Document(loaded.file, loaded.data, LineIndex(loaded.lines._text))


def schema_findings(doc: Document, schema: Mapping[str, Any]) -> list[Finding]:
    """Every JSON Schema violation of ``doc``, with the table script's messages and hints."""
    return [_finding(f) for f in _schemas.schema_findings(_shipped(doc), schema)]


def validate_documents(docs: Sequence[Document], schema: Mapping[str, Any], file_names: bool = True) -> list[Finding]:
    """Table documents checked as ``scripts/validate_schemas.py`` checks them, one by one and against each
    other (unique names; name = file name unless ``file_names`` is false); sorted by file and line."""
    found = _schemas.validate_documents([_shipped(doc) for doc in docs], schema, file_names)
    return sorted(_finding(f) for f in found)


def split_hint(message: str) -> tuple[str, str]:
    """The templates script's message and how-to-fix hint.

    That script's findings carry one text, "what is wrong; how to fix it" (it prints them on one line). Its
    hints are its own fixed phrases and never hold "; ", while the part before may quote user text that
    does, so the hint is what follows the last "; " (none when there is none).
    """
    message_part, separator, hint = message.rpartition("; ")
    return (message_part, hint) if separator else (message, "")


def _templates_key(directory: Path) -> str | None:
    """What decides the templates check: the folder's files, the script and what it ships with, the
    versions of the libraries it checks with. None when the folder cannot be keyed (it then just runs)."""
    files = verdict_cache.tree_files(directory)
    if files is None:
        return None
    script = Path(validate_templates.__file__).parent
    checker = [script / "validate_templates.py", script / "email_checks.py", script / "email_client_support.json"]
    inputs = [(path.relative_to(directory).as_posix(), path) for path in files]
    inputs += [(f"<checker>/{path.name}", path) for path in checker]
    try:
        return verdict_cache.digest(inputs, ("jsonschema", "chevron", "tinycss2", "pyyaml"))
    except OSError:  # vanished while reading, or unreadable: the check itself will say so
        return None


def template_findings(directory: Path) -> tuple[list[Finding], Mapping[str, Any]]:
    """Validate a templates folder as ``scripts/validate_templates.py`` does (no html-validate): the
    findings, files named as ``directory`` is (absolute or relative), and the catalog read from it.

    A folder whose exact content passed before (see :mod:`generator.verdict_cache`) is not checked again:
    the checks of a dozen templates cost more than all the rest of a generate.
    """
    key = _templates_key(directory)
    try:
        catalog, _ = load_catalog(directory)
        if key is not None and verdict_cache.passed("templates", key):
            return [], catalog if isinstance(catalog, Mapping) else {}
        found = validate_templates.validate(directory)
    except TemplatesUnreadable as exc:
        return [Finding(str(directory), 0, "", str(exc), "restore the templates folder with its catalog.yaml")], {}
    findings = []
    for finding in found:
        # The script names files relative to the folder's parent; name them as the caller passed the folder.
        file = str(directory.parent / finding.file) if directory.is_absolute() else finding.file
        message, hint = split_hint(finding.message)
        findings.append(Finding(file, finding.line, "", message, hint))
    if not findings and key is not None:
        verdict_cache.remember("templates", key)
    return findings, catalog if isinstance(catalog, Mapping) else {}
