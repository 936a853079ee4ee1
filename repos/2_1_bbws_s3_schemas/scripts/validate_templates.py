"""Validate the BBWS email templates: catalog, Mustache, variable contracts, samples, and the rendered HTML.

This file is shipped verbatim into the generated S3 repo as ``scripts/validate_templates.py`` (with
``email_checks.py`` and ``email_client_support.json`` beside it) and is what ``bbws-gen`` runs on the
definition's templates, so a template accepted here is accepted there. It needs the standard library,
chevron, jsonschema, PyYAML and tinycss2; html-validate (``tools/email``, node) when it runs.

Usage: ``python validate_templates.py [TEMPLATES_DIR] [--html-validate auto|require|off]`` (default
``templates``, ``auto``). TEMPLATES_DIR holds ``catalog.yaml`` and, for every catalog entry
``<folder>/<name>.html``, the files ``<folder>/<name>.html`` (the HTML body), ``<name>.txt`` (plain-text
alternative), ``<name>.contract.json`` (JSON Schema of the context the Lambda renders with) and
``<name>.sample.json`` (sample context). Prints one ``file:line: message`` per defect (``file:line: warning:
message`` per warning) on stdout and a summary on stderr. Exit 0 when there are no errors (warnings do not
fail), 1 when there are, 2 for bad usage (directory missing, catalog unreadable or not YAML, or
``--html-validate require`` and html-validate cannot run).

Python keeps what no validator knows. catalog.yaml matches CATALOG_SCHEMA, has no duplicate keys or
entries, and its S3 keys follow the folder rules (folder = category, ``_internal.html`` iff audience
internal); every entry has its four files and every template file has an entry; Mustache in the HTML, the
text and the subject is well formed (no unescaped, partial or delimiter tags); every placeholder is declared
in the contract (resolved through section scopes as Mustache does), every required variable is used, and
HTML and text use the same variables; the sample matches the contract and renders without leftover braces
and under Gmail's 102 KB clipping limit; a charset is declared; customer templates carry an unsubscribe
link and the company address (``brand.address``) verbatim.

The HTML rendered with the sample is then checked by email_checks.py (client support from caniemail's data
with its policy, CSS safety, event handlers, WCAG AA contrast, link text) and by html-validate configured
for email (parse errors, content models, duplicate ids, attribute values, alt, lang, https-only links,
forbidden elements); their findings are mapped back to the template's own lines.
"""

from __future__ import annotations

import argparse
import copy
import functools
import html
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import chevron
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError

try:  # part of the bbws-gen package
    from . import email_checks
except ImportError:  # run as scripts/validate_templates.py, email_checks.py beside it
    import email_checks  # type: ignore[import-not-found,no-redef]

CATALOG_FILE = "catalog.yaml"
# Gmail clips a message body over 102 KB and hides the rest (often the unsubscribe footer) behind a link.
MAX_RENDERED_BYTES = 102_400
# Catalogs with at least this many templates per worker are checked on several cores.
PARALLEL_FROM = 8
FOLDERS = ("receipts", "notifications", "invoices")
SIBLINGS = {
    ".txt": "plain-text alternative",
    ".contract.json": "variable contract (JSON Schema of the render context)",
    ".sample.json": "sample render context",
}
UNSUBSCRIBE_VARIABLE = "unsubscribeUrl"

# The catalog's JSON Schema. It lives here, not in a file beside the script, because the generated repo
# ships only templates/ and scripts/; the definition's schema/catalog.schema.json must equal this dict
# (a unit test of bbws-gen asserts it), so editors that read the yaml-language-server comment agree with CI.
CATALOG_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:bbws:schema:email-template-catalog:1",
    "title": "BBWS email template catalog",
    "description": (
        "catalog.yaml of the BBWS email templates: the brand literals every customer template carries "
        "and one entry per template uploaded to s3://bbws-templates-{env}/<key>."
    ),
    "type": "object",
    "additionalProperties": False,
    "required": ["brand", "templates"],
    "properties": {
        "brand": {
            "description": "Brand literals. Templates contain them as literal text, never as variables.",
            "type": "object",
            "additionalProperties": False,
            "required": ["company", "address", "support_email", "website", "logo_url"],
            "properties": {
                "company": {"type": "string", "minLength": 1},
                "address": {
                    "description": "Physical address; every customer template must contain it verbatim.",
                    "type": "string",
                    "minLength": 1,
                },
                "support_email": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$"},
                "website": {"type": "string", "pattern": "^https://[^\\s]+$"},
                "logo_url": {"type": "string", "pattern": "^https://[^\\s]+$"},
            },
        },
        "templates": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["key", "category", "audience", "version", "subject", "description"],
                "properties": {
                    "key": {
                        "description": "S3 object key; also the path of the file under the templates folder.",
                        "type": "string",
                        "pattern": "^(receipts|notifications|invoices)/[a-z0-9_]+\\.html$",
                    },
                    "category": {"enum": list(FOLDERS)},
                    "audience": {"enum": ["customer", "internal"]},
                    "version": {
                        "description": "Semantic version, stored in the S3 object's metadata.",
                        "type": "string",
                        "pattern": "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)$",
                    },
                    "subject": {
                        "description": "Mustache; every variable must be declared in the contract.",
                        "type": "string",
                        "minLength": 1,
                        "pattern": "\\S",
                    },
                    "description": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}

NAME = re.compile(r"^(?:\.|[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)$")
LINE_NUMBER = re.compile(r"line (\d+)")


class UsageError(Exception):
    """The run cannot start: the templates folder or its catalog is missing or unreadable (exit 2)."""


@dataclass(frozen=True, order=True)
class Finding:
    """One defect: the file (as the user would open it), a 1-based line and what to do about it."""

    file: str
    line: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        level = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}: {level}{self.message}"


# --------------------------------------------------------------------------------------------- helpers


def pointer_of(path: Iterable[Any]) -> str:
    """Turn a path of keys and indexes into an RFC 6901 JSON pointer ("/" for the root)."""
    text = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return text or "/"


def line_of_offset(text: str, offset: int) -> int:
    """1-based line of a character offset."""
    return text.count("\n", 0, offset) + 1


class LineIndex:
    """Maps key paths of a YAML or JSON document to 1-based lines (JSON is read as YAML: it keeps marks)."""

    def __init__(self, text: str) -> None:
        self._text = text

    @functools.cached_property
    def root(self) -> yaml.Node | None:
        """The composed document, built on first use: most files have no finding and need no lines."""
        try:
            # libyaml's loader when present: the pure-Python one dominates a clean run's time.
            return yaml.compose(self._text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            # Only the line numbers are lost; the caller reports the syntax error itself.
            return None

    def line(self, path: Sequence[Any], key: bool = False) -> int:
        """Line of the deepest node on ``path`` that exists (of its key when ``key``), 1 when unknown."""
        node = self.root
        key_node: yaml.Node | None = None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(part)]
                if not match:
                    break
                key_node, node = match[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                key_node, node = None, node.value[part]
            else:
                break
        target = key_node if key and key_node is not None else node
        return target.start_mark.line + 1 if target is not None else 1


def duplicate_yaml_keys(node: yaml.Node | None) -> Iterator[tuple[int, str]]:
    """Yield (line, message) for every repeated mapping key; PyYAML would silently keep only the last."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            name = str(key_node.value)
            line = key_node.start_mark.line + 1
            if name in seen:
                yield (
                    line,
                    f"duplicate key '{name}' (first at line {seen[name]}); YAML keeps only the last one, "
                    "so remove or merge one of them",
                )
            else:
                seen[name] = line
            yield from duplicate_yaml_keys(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from duplicate_yaml_keys(item)


def schema_hint(error: ValidationError) -> str:
    """A how-to-fix sentence for a jsonschema error of the catalog, by the keyword that failed."""
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return f"remove the key or fix its spelling (allowed: {allowed})"
    if error.validator == "required":
        return "add the missing key"
    if error.validator == "enum":
        values = error.validator_value if isinstance(error.validator_value, list) else []
        return "use one of " + ", ".join(str(v) for v in values)
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "key":
        return (
            "keys are <folder>/<name>.html with folder receipts, notifications or invoices and a name "
            "of lowercase letters, digits and underscores"
        )
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] == "version":
        return "use a semantic version MAJOR.MINOR.PATCH such as 1.0.0"
    if error.validator in ("pattern", "type", "minLength", "minItems"):
        return "fix the value"
    return "see the catalog schema in scripts/validate_templates.py"


# ------------------------------------------------------------------------------------------- mustache


@dataclass(frozen=True)
class Tag:
    """One Mustache tag with its position in the source."""

    kind: str  # variable, unescaped, section, inverted, end, comment, partial, delimiter
    name: str
    line: int
    start: int
    end: int

    def text(self) -> str:
        """The tag as a reader would write it, for messages."""
        sigil = {"section": "#", "inverted": "^", "end": "/", "partial": ">", "unescaped": "&"}
        return "{{" + sigil.get(self.kind, "") + self.name + "}}"


SIGILS = {
    "#": "section",
    "^": "inverted",
    "/": "end",
    "!": "comment",
    ">": "partial",
    "&": "unescaped",
    "=": "delimiter",
}


def scan_mustache(text: str) -> tuple[list[Tag], list[tuple[int, str]]]:
    """Tokenize Mustache with exact lines; return the tags and (line, message) syntax errors.

    chevron's own tokenizer stops at the first error and its line count drifts after standalone tags,
    so this scanner finds every error with the line a reader needs; chevron is then run as a cross-check.
    """
    tags: list[Tag] = []
    errors: list[tuple[int, str]] = []
    pos = 0
    while (start := text.find("{{", pos)) >= 0:
        line = line_of_offset(text, start)
        triple = text.startswith("{{{", start)
        close = text.find("}}}" if triple else "}}", start + (3 if triple else 2))
        if close < 0:
            snippet = text[start : start + 30].split("\n")[0]
            errors.append((line, f"unclosed Mustache tag '{snippet}'; end it with '}}}}'"))
            break
        end = close + (3 if triple else 2)
        inner = text[start + (3 if triple else 2) : close]
        pos = end
        kind = "unescaped" if triple else SIGILS.get(inner[:1], "variable")
        if "{{" in inner or ("\n" in inner and kind != "comment"):
            # '{{a} ... {{b}}' reads as one tag to chevron; the real mistake is the first, unclosed one.
            snippet = text[start:end].split("\n")[0][:40]
            errors.append((line, f"unclosed Mustache tag '{snippet}'; end it with '}}}}'"))
            pos = start + 2
            continue
        name = inner.strip() if kind == "variable" or triple else inner[1:].strip()
        if kind == "delimiter":
            errors.append(
                (
                    line,
                    f"set-delimiter tag '{text[start:end]}' is not supported; keep the {{{{ }}}} delimiters",
                )
            )
            continue
        if kind not in ("comment",) and not NAME.match(name):
            errors.append(
                (
                    line,
                    f"malformed Mustache tag '{text[start:end]}'; names are letters, digits, '_' and '-', "
                    "joined by '.'",
                )
            )
            continue
        tags.append(Tag(kind, name, line, start, end))
    errors.extend(_section_errors(tags))
    return tags, errors


def _section_errors(tags: Sequence[Tag]) -> list[tuple[int, str]]:
    """Check that sections open and close in order, reporting every problem rather than the first."""
    errors: list[tuple[int, str]] = []
    stack: list[Tag] = []
    for tag in tags:
        if tag.kind in ("section", "inverted"):
            stack.append(tag)
        elif tag.kind == "end":
            if not stack:
                errors.append((tag.line, f"{tag.text()} closes a section that was never opened; remove it"))
            elif stack[-1].name == tag.name:
                stack.pop()
            else:
                top = stack[-1]
                errors.append(
                    (
                        tag.line,
                        f"{tag.text()} closes {top.text()} opened at line {top.line}; "
                        f"close it with {{{{/{top.name}}}}} first or fix the name",
                    )
                )
                if any(open_tag.name == tag.name for open_tag in stack):
                    while stack and stack[-1].name != tag.name:
                        stack.pop()
                    stack.pop()
    for open_tag in stack:
        errors.append((open_tag.line, f"{open_tag.text()} is never closed; add {{{{/{open_tag.name}}}}}"))
    return errors


def chevron_error(text: str) -> tuple[int, str] | None:
    """Run chevron's tokenizer (what renders in the tests and, in Python Lambdas, in production)."""
    try:
        for _ in chevron.tokenizer.tokenize(text):
            pass
    except chevron.ChevronError as exc:
        numbers = LINE_NUMBER.findall(str(exc))
        return (int(numbers[-1]) if numbers else 1, "Mustache syntax error: " + " ".join(str(exc).split()))
    return None


def mustache_errors(text: str) -> tuple[list[Tag], list[tuple[int, str]]]:
    """Tags and syntax errors of a Mustache text, from this scanner and chevron's tokenizer."""
    tags, errors = scan_mustache(text)
    if not errors:
        # The scanner is stricter than chevron everywhere we know of; this keeps us honest if not.
        extra = chevron_error(text)
        if extra:
            errors.append(extra)
    return tags, errors


# ------------------------------------------------------------------------------------------- contracts


@dataclass(frozen=True)
class Scope:
    """A Mustache context level: the data path it stands for and the schema of its value."""

    path: tuple[str, ...]
    schema: Mapping[str, Any] | None


@dataclass
class Usage:
    """What a template uses: resolved data paths (with first line) and undeclared names."""

    paths: dict[tuple[str, ...], int] = field(default_factory=dict)
    unknown: list[tuple[Tag, str]] = field(default_factory=list)


def deref(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Follow local ``$ref``s (``#/...``) so section scopes see the real object or array schema."""
    seen = 0
    while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 20:
        ref: str = schema["$ref"]
        if not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part) if isinstance(target, Mapping) else None
        schema, seen = target, seen + 1
    return schema if isinstance(schema, Mapping) else None


def _kind(schema: Mapping[str, Any] | None) -> str:
    """'array', 'object' or 'scalar': what a section over a value of this schema iterates or enters."""
    if schema is None:
        return "scalar"
    declared = schema.get("type")
    types = {declared} if isinstance(declared, str) else set(declared) if isinstance(declared, list) else set()
    # Contracts sometimes omit "type" next to "items"/"properties"; those keywords say enough.
    if "array" in types or (not types and "items" in schema):
        return "array"
    if "object" in types or (not types and "properties" in schema):
        return "object"
    return "scalar"


def _property(schema: Mapping[str, Any] | None, name: str, root: Mapping[str, Any]) -> Any:
    """The schema of property ``name`` of an object schema, or a sentinel when not declared."""
    props = schema.get("properties") if schema is not None else None
    if isinstance(props, Mapping) and name in props:
        return deref(props[name], root) or {}
    return _MISSING


_MISSING = object()


def resolve(
    name: str, scopes: Sequence[Scope], root: Mapping[str, Any]
) -> tuple[tuple[str, ...], Mapping[str, Any] | None] | str:
    """Resolve a tag name as Mustache does: first part up the scope stack, the rest inside it.

    Returns (path, schema) or, when undeclared, the reason as text.
    """
    if name == ".":
        return scopes[-1].path, scopes[-1].schema
    first, *rest = name.split(".")
    for scope in reversed(scopes):
        found = _property(scope.schema, first, root)
        if found is _MISSING:
            continue
        path, schema = (*scope.path, first), found
        for part in rest:
            found = _property(schema, part, root)
            if found is _MISSING:
                return f"'{'.'.join(path)}' has no property '{part}'"
            path, schema = (*path, part), found
        return path, schema
    return "not declared"


def variable_usage(tags: Sequence[Tag], contract: Mapping[str, Any]) -> Usage:
    """Walk the tags with a scope stack and record which contract paths they use.

    Inside ``{{#items}}`` over an array the scope is the item schema, over an object it is that object,
    over anything else (a flag, a string) names fall through to the outer scopes, as in Mustache.
    """
    usage = Usage()
    scopes = [Scope((), contract)]
    for tag in tags:
        if tag.kind in ("comment", "partial"):
            continue
        if tag.kind == "end":
            if len(scopes) > 1:
                scopes.pop()
            continue
        result = resolve(tag.name, scopes, contract)
        if isinstance(result, str):
            usage.unknown.append((tag, result))
            path: tuple[str, ...] = ("\0unknown", tag.name)
            schema: Mapping[str, Any] | None = None
        else:
            path, schema = result
            if path:
                usage.paths.setdefault(path, tag.line)
        if tag.kind == "section":
            kind = _kind(schema)
            if kind == "array" and schema is not None:
                scopes.append(Scope(path, deref(schema.get("items"), contract)))
            elif kind == "object":
                scopes.append(Scope(path, schema))
            else:
                scopes.append(Scope(path, None))
        elif tag.kind == "inverted":
            # An inverted section renders only when the value is empty: the context does not change.
            scopes.append(scopes[-1])
    return usage


def unused_required(
    schema: Mapping[str, Any] | None,
    root: Mapping[str, Any],
    prefix: tuple[str, ...],
    used: set[tuple[str, ...]],
) -> Iterator[tuple[str, ...]]:
    """Yield required paths no tag uses, descending into used objects and arrays of objects."""
    if schema is None:
        return
    required = schema.get("required", [])
    for name in required if isinstance(required, list) else []:
        path = (*prefix, str(name))
        if not any(p[: len(path)] == path for p in used):
            yield path
            continue
        child = _property(schema, str(name), root)
        if child is _MISSING:
            continue
        if _kind(child) == "array":
            yield from unused_required(deref(child.get("items"), root), root, path, used)
        elif _kind(child) == "object":
            yield from unused_required(child, root, path, used)


def dotted(path: Sequence[str]) -> str:
    """A data path for messages."""
    return ".".join(path)


# ------------------------------------------------------------------------------------------------ HTML


class HtmlChecks(HTMLParser):
    """What no HTML validator knows: the unsubscribe link and the charset declaration mail clients decode by.

    Everything else about the markup (parse errors, content models, ids, alt, lang, links) is html-validate's
    and the rendered-document checks' in email_checks.py.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.has_charset = False
        self.unsubscribe_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Note a charset declaration and an unsubscribe link."""
        names = {name for name, _ in attrs}
        if tag == "meta" and ("charset" in names or any(v and "charset=" in v.lower() for _, v in attrs)):
            self.has_charset = True
        href = next((value or "" for name, value in attrs if name == "href"), "")
        if tag == "a" and re.search(r"\{\{\s*" + UNSUBSCRIBE_VARIABLE + r"\s*\}\}", href):
            self.unsubscribe_link = True


# ------------------------------------------------------------------------------------------- validation


@dataclass
class Context:
    """One validation run: where files are and how to name them in findings."""

    root: Path
    prefix: str
    findings: list[Finding] = field(default_factory=list)
    # Each HTML template rendered with its sample, by path under the folder, for html-validate.
    documents: dict[str, email_checks.Rendered] = field(default_factory=dict)

    def name(self, rel: str) -> str:
        """How a file under the templates folder is shown."""
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def add(self, rel: str, line: int, message: str, severity: str = "error") -> None:
        """Record a finding against a file under the templates folder."""
        self.findings.append(Finding(self.name(rel), max(int(line), 1), message, severity))


def _display_prefix(templates_dir: Path) -> str:
    # Relative paths are shown as given (so they open from the current directory); absolute ones
    # relative to the folder's parent, which keeps CI logs short and identical across machines.
    if templates_dir.is_absolute():
        return templates_dir.name
    return templates_dir.as_posix().rstrip("/") if templates_dir.as_posix() != "." else ""


def _read_text(ctx: Context, rel: str) -> str | None:
    try:
        return (ctx.root / rel).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        ctx.add(rel, 1, f"file is not UTF-8 ({exc.reason} at byte {exc.start}); save it as UTF-8")
    except OSError as exc:
        ctx.add(rel, 1, f"cannot read file: {exc.strerror}")
    return None


def _read_json(ctx: Context, rel: str) -> tuple[Any, str] | None:
    text = _read_text(ctx, rel)
    if text is None:
        return None
    try:
        return json.loads(text), text
    except json.JSONDecodeError as exc:
        ctx.add(rel, exc.lineno, f"not valid JSON: {exc.msg} at column {exc.colno}")
        return None


def load_catalog(templates_dir: Path) -> tuple[Any, str]:
    """Read catalog.yaml, raising UsageError when it is missing, unreadable or not YAML."""
    if not templates_dir.is_dir():
        raise UsageError(f"{templates_dir}: templates folder not found; pass the folder that holds {CATALOG_FILE}")
    path = templates_dir / CATALOG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{path}: {CATALOG_FILE} not found; every templates folder needs one") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    try:
        return _parse_catalog(text), text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"{path}:{line}: {CATALOG_FILE} is not valid YAML: {problem}") from exc


# bbws-gen reads the catalog twice in one run (for its model, then here); the pure-Python loader takes
# 0.1 s on a catalog of 200 templates. The last text parsed and what it parsed to (given out as copies).
_LAST_CATALOG: dict[str, Any] = {}


def _parse_catalog(text: str) -> Any:
    if text not in _LAST_CATALOG:
        data = yaml.safe_load(text)  # raises before anything is remembered
        _LAST_CATALOG.clear()
        _LAST_CATALOG[text] = data
    return copy.deepcopy(_LAST_CATALOG[text])


@dataclass(frozen=True)
class Entry:
    """A catalog entry that passed the schema, with the line its key is on."""

    key: str
    audience: str
    subject: str
    line: int
    subject_line: int


def check_catalog(ctx: Context, data: Any, text: str) -> tuple[list[Entry], str | None]:
    """Schema, duplicates and S3 key rules of catalog.yaml; returns the usable entries and brand address."""
    index = LineIndex(text)
    for line, message in duplicate_yaml_keys(index.root):
        ctx.add(CATALOG_FILE, line, message)
    validator = Draft202012Validator(CATALOG_SCHEMA)
    bad_paths: set[tuple[Any, ...]] = set()
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        path = tuple(error.absolute_path)
        bad_paths.add(path)
        ctx.add(CATALOG_FILE, index.line(path), f"{pointer_of(path)}: {error.message}; {schema_hint(error)}")
    address: str | None = None
    if isinstance(data, Mapping) and isinstance(data.get("brand"), Mapping):
        value = data["brand"].get("address")
        address = value if isinstance(value, str) and value.strip() else None
    raw = data.get("templates") if isinstance(data, Mapping) else None
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            continue
        key: str = item["key"]
        line = index.line(("templates", i, "key"))
        if key in seen:
            ctx.add(
                CATALOG_FILE,
                line,
                f"duplicate catalog entry for {key} (first at line {seen[key]}); remove one of them",
            )
            continue
        seen[key] = line
        entry_fields = {
            ("templates", i),
            *(("templates", i, name) for name in ("key", "category", "audience")),
        }
        if any(p[:3] in entry_fields for p in bad_paths):
            # The schema already said what is wrong with this entry; folder rules would only repeat it.
            entries.append(_entry(item, key, line, index, i))
            continue
        folder, _, filename = key.partition("/")
        if item.get("category") != folder:
            ctx.add(
                CATALOG_FILE,
                index.line(("templates", i, "category")),
                f"{key}: category is {item.get('category')} but the key is in folder {folder}/; "
                f"the folder must equal the category: move the file or fix category",
            )
        internal_name = filename.endswith("_internal.html")
        if item.get("audience") == "internal" and not internal_name:
            ctx.add(
                CATALOG_FILE,
                index.line(("templates", i, "audience")),
                f"{key}: audience is internal but the name does not end in _internal.html; "
                f"rename it to {key[: -len('.html')]}_internal.html or set audience: customer",
            )
        if item.get("audience") == "customer" and internal_name:
            ctx.add(
                CATALOG_FILE,
                index.line(("templates", i, "audience")),
                f"{key}: the name ends in _internal.html but audience is customer; "
                "set audience: internal or rename the key",
            )
        entries.append(_entry(item, key, line, index, i))
    return entries, address


def _entry(item: Mapping[str, Any], key: str, line: int, index: LineIndex, i: int) -> Entry:
    subject = item.get("subject")
    return Entry(
        key=key,
        audience=str(item.get("audience")),
        subject=subject if isinstance(subject, str) else "",
        line=line,
        subject_line=index.line(("templates", i, "subject")),
    )


def check_orphans(ctx: Context, keys: set[str]) -> None:
    """Report template files (and their siblings) that no catalog entry names: they would never upload."""
    for path in sorted(ctx.root.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(ctx.root).parts):
            continue
        rel = path.relative_to(ctx.root).as_posix()
        if rel.endswith(".html"):
            if rel not in keys:
                ctx.add(
                    rel,
                    1,
                    f"template has no entry in {CATALOG_FILE}; add one (key: {rel}, category, audience, "
                    "version, subject, description) or delete the file",
                )
            continue
        for suffix, what in SIBLINGS.items():
            if rel.endswith(suffix) and rel[: -len(suffix)] + ".html" not in keys:
                ctx.add(
                    rel,
                    1,
                    f"{what} of {rel[: -len(suffix)]}.html, which is not in {CATALOG_FILE}; "
                    "add the template to the catalog or delete this file",
                )


@dataclass
class Parsed:
    """A Mustache file read and tokenized."""

    rel: str
    text: str
    tags: list[Tag]
    ok: bool


def _parse_mustache(ctx: Context, rel: str) -> Parsed | None:
    text = _read_text(ctx, rel)
    if text is None:
        return None
    tags, errors = mustache_errors(text)
    for line, message in errors:
        ctx.add(rel, line, message)
    return Parsed(rel, text, tags, not errors)


# Contracts that passed check_schema in this process, by their canonical text: a catalog of hundreds of
# templates often repeats a contract (copied between templates), which is then checked once.
_PASSED_LIMIT = 100_000  # remembered contracts per process; forgotten all at once beyond this
_PASSED: set[str] = set()


def _canonical(instance: Any) -> str | None:
    """A text equal for two JSON values exactly when they are equal up to the order of object keys."""
    try:
        return json.dumps(instance, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        return None  # not plain JSON (or too deep to write): checked in full every time


def check_contract_schema(contract: Any) -> None:
    """Raise the SchemaError ``Draft202012Validator.check_schema(contract)`` raises, or nothing when it
    would not. Only jsonschema's public API: these scripts run in the customer's repos, where an update bot
    bumps jsonschema."""
    key = _canonical(contract)
    if key is not None and key in _PASSED:
        return
    Draft202012Validator.check_schema(contract)
    if key is not None:
        if len(_PASSED) >= _PASSED_LIMIT:
            _PASSED.clear()
        _PASSED.add(key)


def _load_contract(ctx: Context, rel: str) -> Mapping[str, Any] | None:
    loaded = _read_json(ctx, rel)
    if loaded is None:
        return None
    contract, text = loaded
    index = LineIndex(text)
    try:
        check_contract_schema(contract)
    except SchemaError as exc:
        ctx.add(
            rel,
            index.line(tuple(exc.absolute_path)),
            f"not a valid JSON Schema (Draft 2020-12): {exc.message}",
        )
        return None
    if not isinstance(contract, Mapping) or contract.get("type") != "object":
        ctx.add(rel, 1, 'the contract must describe an object: set "type": "object" at the top level')
        return None
    if contract.get("additionalProperties") is not False:
        ctx.add(
            rel,
            index.line(("additionalProperties",), key=True),
            'set "additionalProperties": false at the top level so a misspelt variable fails validation '
            "instead of rendering as an empty string",
        )
    return contract


def _leftover_braces(ctx: Context, parsed: Parsed, rendered: str, sample_name: str) -> None:
    source_lines = [line.strip() for line in parsed.text.split("\n")]
    reported: set[int] = set()
    for match in re.finditer(r"\{\{|\}\}", rendered):
        rendered_line = line_of_offset(rendered, match.start())
        if rendered_line in reported:
            continue
        reported.add(rendered_line)
        content = rendered.split("\n")[rendered_line - 1].strip()
        # Static lines render unchanged, so the same text in the source is where the braces are.
        line = source_lines.index(content) + 1 if content in source_lines else 1
        ctx.add(
            parsed.rel,
            line,
            f"'{match.group()}' is left in the output after rendering with {sample_name} (rendered line "
            f"{rendered_line}: {content[:60]!r}); Mustache leaves braces that are not a whole tag as text: "
            "put a space between CSS braces ('} }') and keep braces out of sample values",
        )


def check_template(ctx: Context, entry: Entry, address: str | None) -> None:
    """Every rule for one catalog entry: its files, Mustache, HTML, contract, sample, render."""
    base = entry.key[: -len(".html")]
    rels = {
        "html": entry.key,
        "txt": base + ".txt",
        "contract": base + ".contract.json",
        "sample": base + ".sample.json",
    }
    if not (ctx.root / entry.key).is_file():
        ctx.add(
            CATALOG_FILE,
            entry.line,
            f"catalog entry {entry.key} has no file {ctx.name(entry.key)}; create it or remove the entry",
        )
        return
    for kind, suffix in (("txt", ".txt"), ("contract", ".contract.json"), ("sample", ".sample.json")):
        if not (ctx.root / rels[kind]).is_file():
            ctx.add(
                entry.key,
                1,
                f"{entry.key} has no {SIBLINGS[suffix]} {Path(rels[kind]).name}; create it next to the .html",
            )

    html_file = _parse_mustache(ctx, rels["html"])
    txt_file = _parse_mustache(ctx, rels["txt"]) if (ctx.root / rels["txt"]).is_file() else None
    subject_tags, subject_errors = mustache_errors(entry.subject)
    for _, message in subject_errors:
        ctx.add(CATALOG_FILE, entry.subject_line, f"{entry.key}: subject: {message}")

    if html_file is not None:
        _check_html(ctx, html_file, entry, address)
    if txt_file is not None and entry.audience == "customer":
        if not re.search(r"\{\{\s*" + UNSUBSCRIBE_VARIABLE + r"\s*\}\}", txt_file.text):
            ctx.add(
                txt_file.rel,
                1,
                f"customer template has no unsubscribe link; add a line "
                f"'Unsubscribe: {{{{{UNSUBSCRIBE_VARIABLE}}}}}' to the footer",
            )
        if address and address not in txt_file.text:
            ctx.add(
                txt_file.rel,
                1,
                f"customer template lacks the company address {address!r} (brand.address "
                f"in {CATALOG_FILE}); add it verbatim to the footer",
            )

    contract = _load_contract(ctx, rels["contract"]) if (ctx.root / rels["contract"]).is_file() else None
    sample_loaded = _read_json(ctx, rels["sample"]) if (ctx.root / rels["sample"]).is_file() else None
    contract_name = Path(rels["contract"]).name
    if contract is not None:
        _check_variables(ctx, entry, contract, rels["contract"], html_file, txt_file, subject_tags, not subject_errors)
    if contract is not None and sample_loaded is not None:
        sample, sample_text = sample_loaded
        index = LineIndex(sample_text)
        validator = Draft202012Validator(contract, format_checker=FormatChecker())
        for error in sorted(validator.iter_errors(sample), key=lambda e: [str(p) for p in e.absolute_path]):
            path = tuple(error.absolute_path)
            ctx.add(
                rels["sample"],
                index.line(path),
                f"sample does not match {contract_name} at {pointer_of(path)}: {error.message}; "
                "fix the sample or the contract",
            )
    if sample_loaded is not None:
        _check_render(ctx, entry, sample_loaded[0], rels["sample"], html_file, txt_file)


def _check_html(ctx: Context, parsed: Parsed, entry: Entry, address: str | None) -> None:
    checks = HtmlChecks()
    checks.feed(parsed.text)
    checks.close()
    if not checks.has_charset:
        ctx.add(parsed.rel, 1, 'add <meta charset="utf-8"> to <head> so clients decode the text right')
    if entry.audience == "customer":
        if not checks.unsubscribe_link:
            ctx.add(
                parsed.rel,
                1,
                f"customer template has no unsubscribe link; add "
                f'<a href="{{{{{UNSUBSCRIBE_VARIABLE}}}}}">Unsubscribe</a> to the footer and declare '
                f"{UNSUBSCRIBE_VARIABLE} in the contract",
            )
        if address and address not in parsed.text and html.escape(address, quote=False) not in parsed.text:
            ctx.add(
                parsed.rel,
                1,
                f"customer template lacks the company address {address!r} (brand.address in {CATALOG_FILE}); "
                "add it verbatim to the footer",
            )
    for tag in parsed.tags:
        if tag.kind == "unescaped":
            ctx.add(
                parsed.rel,
                tag.line,
                f"{{{{{{{tag.name}}}}}}} / {{{{&{tag.name}}}}} turns HTML escaping off, so a value from a "
                f"customer could inject markup; use {{{{{tag.name}}}}}",
            )
        if tag.kind == "partial":
            ctx.add(
                parsed.rel,
                tag.line,
                f"{tag.text()}: partials are not uploaded with the template; inline the content",
            )


def _check_variables(
    ctx: Context,
    entry: Entry,
    contract: Mapping[str, Any],
    contract_rel: str,
    html_file: Parsed | None,
    txt_file: Parsed | None,
    subject_tags: list[Tag],
    subject_ok: bool,
) -> None:
    contract_name = Path(contract_rel).name
    usages: dict[str, Usage] = {}
    for parsed in (html_file, txt_file):
        if parsed is None or not parsed.ok:
            continue
        usage = variable_usage(parsed.tags, contract)
        usages[parsed.rel] = usage
        for tag, reason in usage.unknown:
            ctx.add(parsed.rel, tag.line, _undeclared(tag, reason, contract_name))
    subject_usage = variable_usage(subject_tags, contract) if subject_ok else Usage()
    for tag, reason in subject_usage.unknown:
        ctx.add(
            CATALOG_FILE,
            entry.subject_line,
            f"{entry.key}: subject: " + _undeclared(tag, reason, contract_name),
        )

    if html_file is None or txt_file is None or html_file.rel not in usages or txt_file.rel not in usages:
        return
    html_paths, txt_paths = usages[html_file.rel].paths, usages[txt_file.rel].paths
    for path in sorted(set(html_paths) - set(txt_paths)):
        ctx.add(
            html_file.rel,
            html_paths[path],
            f"variable {dotted(path)} is used here but not in {Path(txt_file.rel).name}; the plain-text "
            "alternative must carry the same variables: add it there or remove it here",
        )
    for path in sorted(set(txt_paths) - set(html_paths)):
        ctx.add(
            txt_file.rel,
            txt_paths[path],
            f"variable {dotted(path)} is used here but not in {Path(html_file.rel).name}; the HTML and "
            "plain-text alternatives must use the same variables: add it there or remove it here",
        )
    used = set(html_paths) | set(txt_paths) | set(subject_usage.paths)
    index_text = _read_text(ctx, contract_rel) or ""
    index = LineIndex(index_text)
    for path in unused_required(contract, contract, (), used):
        ctx.add(
            contract_rel,
            _contract_line(index, index_text, path),
            f"required variable {dotted(path)} is never used in {Path(html_file.rel).name}, "
            f"{Path(txt_file.rel).name} or the subject; use it or remove it from required",
        )


def _contract_line(index: LineIndex, text: str, path: Sequence[str]) -> int:
    # Object and array properties nest differently (properties vs items.properties); the first line that
    # declares the last name is where a reader looks, and is exact for the usual flat contracts.
    match = re.search(r'"' + re.escape(path[-1]) + r'"\s*:', text)
    return line_of_offset(text, match.start()) if match else index.line(("required",))


def _undeclared(tag: Tag, reason: str, contract_name: str) -> str:
    shown = tag.text() if tag.kind in ("variable", "section", "inverted") else "{{" + tag.name + "}}"
    if reason == "not declared":
        return f"placeholder {shown} is not declared in {contract_name}; add it to properties or fix the name"
    return f"placeholder {shown} is not declared in {contract_name}: {reason}; add it or fix the name"


def _check_render(
    ctx: Context,
    entry: Entry,
    sample: Any,
    sample_rel: str,
    html_file: Parsed | None,
    txt_file: Parsed | None,
) -> None:
    sample_name = Path(sample_rel).name
    data = sample if isinstance(sample, Mapping) else {}
    for parsed in (html_file, txt_file):
        if parsed is None or not parsed.ok:
            continue
        rendered = str(chevron.render(parsed.text, data, partials_path=None))
        if parsed is html_file:
            _check_rendered_html(ctx, parsed.rel, email_checks.render_with_lines(parsed.text, data))
        _leftover_braces(ctx, parsed, rendered, sample_name)
        size = len(rendered.encode("utf-8"))
        if parsed is html_file and size > MAX_RENDERED_BYTES:
            ctx.add(
                parsed.rel,
                1,
                f"rendered with {sample_name} the HTML is {size:,} bytes, over the "
                f"{MAX_RENDERED_BYTES:,}-byte limit (Gmail clips mail over 102 KB, hiding the footer); "
                "trim markup or styles",
            )


def _check_rendered_html(ctx: Context, rel: str, rendered: email_checks.Rendered) -> None:
    """Client support, safety, contrast and link text of a rendered template, on its template lines."""
    ctx.documents[rel] = rendered
    for line, severity, message in email_checks.issues_by_line(email_checks.check_document(rendered), rendered):
        ctx.add(rel, line, message, severity)


@dataclass(frozen=True)
class Report:
    """A validation run: errors, warnings, and why html-validate did not run (None when it ran)."""

    errors: list[Finding]
    warnings: list[Finding]
    skipped: str | None


HTML_VALIDATOR_MODES = ("auto", "require", "off")


def run_checks(templates_dir: Path, html_validator: str = "off") -> Report:
    """Every check of a templates folder; ``html_validator`` says whether html-validate runs.

    "off": the Python checks only (what bbws-gen runs on every generate: no node needed); "auto": also
    html-validate when node and tools/email are installed, else ``skipped`` says why; "require": also
    html-validate, and UsageError when it cannot run. Raises UsageError for a missing folder or catalog.
    """
    data, text = load_catalog(templates_dir)
    ctx = Context(templates_dir, _display_prefix(templates_dir))
    skipped: str | None = "not requested"
    node: email_checks.HtmlValidateRun | None = None
    if html_validator != "off":
        try:
            # Started first: node loads html-validate while Python checks the templates.
            node = email_checks.HtmlValidateRun(email_checks.find_tool(Path(__file__).resolve().parent))
        except email_checks.ToolUnavailable as exc:
            if html_validator == "require":
                raise UsageError(f"html-validate cannot run: {exc}") from exc
            skipped = str(exc)
    try:
        entries, address = check_catalog(ctx, data, text)
        check_orphans(ctx, {entry.key for entry in entries} | _all_keys(data))
        check_templates(ctx, entries, address)
    except BaseException:
        if node is not None:
            node.cancel()
        raise
    if node is not None:
        try:
            found = node.results({rel: doc.text for rel, doc in sorted(ctx.documents.items())})
        except email_checks.ToolUnavailable as exc:
            if html_validator == "require":
                raise UsageError(f"html-validate cannot run: {exc}") from exc
            skipped = str(exc)
        else:
            skipped = None
            for rel, issues in found.items():
                for line, severity, message in email_checks.issues_by_line(issues, ctx.documents[rel]):
                    ctx.add(rel, line, message, severity)
    findings = sorted(set(ctx.findings))
    return Report(
        [f for f in findings if f.severity == "error"], [f for f in findings if f.severity != "error"], skipped
    )


def validate(templates_dir: Path, html_validator: str = "off") -> list[Finding]:
    """Validate a templates folder (catalog.yaml and the files it names); return the errors by file, line.

    Raises UsageError when the folder or its catalog is missing or unreadable.
    """
    return run_checks(templates_dir, html_validator).errors


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_one(job: tuple[Path, str, Entry, str | None]) -> tuple[list[Finding], dict[str, email_checks.Rendered]]:
    root, prefix, entry, address = job
    ctx = Context(root, prefix)
    check_template(ctx, entry, address)
    return ctx.findings, ctx.documents


def check_templates(ctx: Context, entries: Sequence[Entry], address: str | None) -> None:
    """``check_template`` for every entry; on every core when the catalog is long.

    A template costs about 10 ms (parsing its HTML twice, the Draft 2020-12 meta-schema check of its
    contract), starting worker processes about 0.1 s: short catalogs stay in this process.
    """
    workers = min(_usable_cores(), 8, len(entries) // PARALLEL_FROM)
    if workers < 2:
        for entry in entries:
            check_template(ctx, entry, address)
        return
    jobs = [(ctx.root, ctx.prefix, entry, address) for entry in entries]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for findings, documents in pool.map(_check_one, jobs, chunksize=max(1, len(jobs) // (workers * 4))):
            ctx.findings.extend(findings)
            ctx.documents.update(documents)


def _all_keys(data: Any) -> set[str]:
    # Entries the schema rejected still name their files; do not also call those files orphans.
    raw = data.get("templates") if isinstance(data, Mapping) else None
    return {item["key"] for item in raw or [] if isinstance(item, Mapping) and isinstance(item.get("key"), str)}


def main(argv: list[str] | None = None) -> int:
    """Command line entry point: print findings, return 0 (clean), 1 (defects) or 2 (usage error)."""
    parser = argparse.ArgumentParser(
        prog="validate_templates.py",
        description="Validate a BBWS email templates folder (catalog.yaml, HTML, text, contracts, samples).",
    )
    parser.add_argument("templates_dir", nargs="?", default="templates", help="folder holding catalog.yaml")
    parser.add_argument(
        "--html-validate",
        choices=HTML_VALIDATOR_MODES,
        default="auto",
        help="run html-validate (tools/email, needs node and `npm ci --prefix tools/email`): auto = when "
        "installed, require = fail (exit 2) when it cannot run, off = never (default: auto)",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        # argparse exits 2 on bad arguments and 0 for --help; return instead so callers can test main().
        return int(exc.code or 0)
    templates_dir = Path(args.templates_dir)
    try:
        report = run_checks(templates_dir, args.html_validate)
    except UsageError as exc:
        print(f"validate_templates: {exc}", file=sys.stderr)
        return 2
    findings = report.errors
    for finding in sorted(report.errors + report.warnings):
        print(finding)
    if report.skipped and args.html_validate == "auto":
        print(f"validate_templates: html-validate skipped: {report.skipped}", file=sys.stderr)
    if findings:
        files = len({f.file for f in findings})
        print(
            f"validate_templates: {len(findings)} problem(s) in {files} file(s) under {templates_dir}",
            file=sys.stderr,
        )
        return 1
    warned = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
    print(f"validate_templates: {templates_dir} is valid{warned}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
