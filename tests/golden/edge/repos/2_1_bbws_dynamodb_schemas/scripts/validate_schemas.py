"""Validate DynamoDB table files: JSON Schema first, then the rules DynamoDB itself enforces.

This file is shipped verbatim into the generated DynamoDB repo as ``scripts/validate_schemas.py`` and is
also what ``bbws-gen validate`` runs on the definition, so a table file accepted here is accepted there.
It needs only the standard library, jsonschema and PyYAML.

Usage: ``python validate_schemas.py [SCHEMAS_DIR]`` (default ``schemas``). SCHEMAS_DIR holds
``table.schema.json`` and one ``<tableName>.json`` per table. Exit 0 when clean, 1 with one
``file:line: pointer: message`` line per defect, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

SCHEMA_FILE = "table.schema.json"
KEY_TYPES = ("S", "N", "B")


@dataclass(frozen=True, order=True)
class Finding:
    """One defect in one file, located by JSON pointer and (where known) line."""

    file: str
    line: int
    pointer: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.pointer}: {self.message}" if self.pointer else f"{where}: {self.message}"
        return f"{text}\n    how to fix: {self.hint}" if self.hint else text


def pointer_of(path: Iterable[Any]) -> str:
    """Turn a path of keys and indexes into an RFC 6901 JSON pointer."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class LineIndex:
    """Maps JSON pointers of a JSON or YAML document to 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._text = text

    @functools.cached_property
    def _root(self) -> yaml.Node | None:
        """The composed document, built on first use (only files with findings need lines)."""
        try:
            return yaml.compose(self._text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            # JSON that YAML cannot read (rare: tabs in odd places) only loses line numbers.
            return None

    def line(self, path: Sequence[Any], key: bool = False) -> int:
        """Line of the value at ``path`` (or of its key, when ``key``), 0 when unknown."""
        node = self._root
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
        return target.start_mark.line + 1 if target is not None else 0


@dataclass(frozen=True)
class Document:
    """A parsed file with what is needed to point into it."""

    file: str
    data: Any
    lines: LineIndex

    def finding(self, path: Sequence[Any], message: str, hint: str = "", key: bool = False) -> Finding:
        """A finding at ``path`` inside this document."""
        return Finding(self.file, self.lines.line(path, key), pointer_of(path), message, hint)


def load_json(path: Path, display: str) -> Document | Finding:
    """Read a JSON file, or return the finding that says why it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return Finding(display, 0, "", f"cannot read the file: {exc}", "make it a readable UTF-8 file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Finding(
            display,
            exc.lineno,
            "",
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            "fix the syntax (a missing comma or quote, or a trailing comma, is the usual cause)",
        )
    return Document(display, data, LineIndex(text))


def _hint_from_schema(error: ValidationError) -> str:
    hint = error.schema.get("x-hint", "") if isinstance(error.schema, Mapping) else ""
    return str(hint)


def _hint_from_parent(schema: Mapping[str, Any], error: ValidationError) -> str:
    """The x-hint of the schema that holds ``propertyNames`` (where such hints are written)."""
    node: Any = schema
    for part in list(error.schema_path)[: list(error.schema_path).index("propertyNames")]:
        node = node[part] if isinstance(node, Mapping) or isinstance(part, int) else {}
    if isinstance(node, Mapping) and "$ref" in node:
        return ""
    return str(node.get("x-hint", "")) if isinstance(node, Mapping) else ""


def _message(error: ValidationError, path: Sequence[Any]) -> str:
    """A plain-words message for one schema violation (jsonschema's own quote Python reprs)."""
    value, bound = json.dumps(error.instance), cast(Any, error.validator_value)
    if error.validator in ("maxItems", "minItems") and isinstance(error.instance, list):
        limit = "at most" if error.validator == "maxItems" else "at least"
        return f"{len(error.instance)} items, but {limit} {bound} are allowed"
    if error.validator == "minLength":
        return f"{value} is shorter than {bound} characters"
    if error.validator == "maxLength":
        return f"{value} is longer than {bound} characters"
    if error.validator == "pattern":
        return f"{value} does not match the pattern {bound}"
    if error.validator == "type":
        return f"{value} is not of type {bound}"
    if error.validator == "enum":
        field = f"{path[-1]} " if path and isinstance(path[-1], str) else ""
        return f"{field}{value} is not allowed (allowed: {', '.join(json.dumps(v) for v in bound)})"
    if error.validator == "required":
        return error.message.replace("is a required property", "is required but missing")
    return error.message


def schema_findings(doc: Document, schema: Mapping[str, Any]) -> list[Finding]:
    """Every JSON Schema violation of ``doc``, with the nearest valid key suggested for unknown keys."""
    findings: list[Finding] = []
    validator = Draft202012Validator(schema)
    for error in validator.iter_errors(doc.data):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            allowed = sorted(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - set(allowed)):
                near = difflib.get_close_matches(extra, allowed, n=1, cutoff=0.6)
                hint = f"did you mean {near[0]!r}?" if near else "allowed keys: " + ", ".join(allowed)
                findings.append(doc.finding([*path, extra], f"unknown key {extra!r}", hint, key=True))
            continue
        if "propertyNames" in error.schema_path:
            # The offending thing is a key, not a value: point at the key itself.
            hint = _hint_from_schema(error) or _hint_from_parent(schema, error)
            findings.append(
                doc.finding([*path, error.instance], f"key {error.instance!r} is not allowed here", hint, key=True)
            )
            continue
        message = _message(error, path)
        findings.append(doc.finding(path, message, _hint_from_schema(error)))
    return findings


def _indexes(table: Mapping[str, Any]) -> Iterator[tuple[str, int, Mapping[str, Any]]]:
    for kind in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        for i, index in enumerate(table.get(kind, [])):
            yield kind, i, index


def _sort_key(holder: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The sort key of a primary key or an index; absent and ``"sortKey": null`` both mean none."""
    key = holder.get("sortKey")
    return key if isinstance(key, Mapping) else None


def _keys(holder: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The keys of a primary key or an index by role, without a missing or null sort key."""
    sort = _sort_key(holder)
    return {"partitionKey": holder["partitionKey"], **({"sortKey": sort} if sort else {})}


def _label(kind: str, index: Mapping[str, Any]) -> str:
    """How messages name an index: GSI 'Name' or LSI 'Name'."""
    return f"{'GSI' if kind == 'globalSecondaryIndexes' else 'LSI'} {index['indexName']!r}"


ROLE_WORDS = {"partitionKey": "partition key", "sortKey": "sort key"}
_KEY_TYPE_POINTER = re.compile(
    r"^/(?:primaryKey|(globalSecondaryIndexes|localSecondaryIndexes)/(\d+))/(partitionKey|sortKey)/type$"
)


def _declared_types(table: Mapping[str, Any]) -> dict[str, str]:
    types = {a["name"]: a["type"] for a in table.get("attributes", [])}
    for key in _keys(table["primaryKey"]).values():
        types.setdefault(key["name"], key["type"])
    return types


def _key_type_finding(doc: Document, finding: Finding) -> Finding:
    """Name the index and the attribute when a key has a type DynamoDB cannot key on (the schema says where)."""
    match = _KEY_TYPE_POINTER.match(finding.pointer)
    if not match or not finding.message.startswith("type "):
        return finding
    kind, i, role = match.groups()
    try:
        holder = doc.data[kind][int(i)] if kind else doc.data["primaryKey"]
        key = holder[role]
        owner = _label(kind, holder) if kind else "The table"
        message = (
            f"{owner} uses attribute {key['name']!r} ({key['type']}) as its {ROLE_WORDS[role]}; "
            "DynamoDB keys must be S, N or B"
        )
    except (KeyError, TypeError, IndexError):
        return finding
    hint = (
        (
            f"store {key['name']!r} as N (1/0) or S and declare it so in attributes and in the index, "
            "or drop the index (a sparse index on an attribute set only when true also works)"
        )
        if kind
        else f"key the table on an S, N or B attribute; keep {key['name']!r} as an ordinary attribute"
    )
    return Finding(finding.file, finding.line, finding.pointer, message, hint)


def _key_rules(doc: Document) -> Iterator[Finding]:
    table = doc.data
    declared = _declared_types(table)
    primary = _keys(table["primaryKey"])
    if "sortKey" in primary and primary["sortKey"]["name"] == primary["partitionKey"]["name"]:
        yield doc.finding(
            ["primaryKey", "sortKey", "name"],
            f"the table's primary key uses attribute {primary['sortKey']['name']!r} as both partition key and sort key",
            "use a different attribute for the sort key, or drop the sort key",
        )
    for kind, i, index in _indexes(table):
        label = _label(kind, index)
        keys = _keys(index)
        for role, key in keys.items():
            if key["name"] not in declared:
                yield doc.finding(
                    [kind, i, role, "name"],
                    f"{label} uses attribute {key['name']!r} as its {ROLE_WORDS[role]}, which is not declared "
                    "in attributes",
                    f'add {{"name": "{key["name"]}", "type": "{key["type"] if key["type"] in KEY_TYPES else "S"}"}} '
                    "to attributes, or fix the name",
                )
            elif declared[key["name"]] != key["type"] and key["type"] in KEY_TYPES:
                # (a key type outside S/N/B is reported once, by the schema)
                yield doc.finding(
                    [kind, i, role, "type"],
                    f"{label} declares {key['name']!r} as {key['type']}, but attributes declare it as "
                    f"{declared[key['name']]}",
                    "make the two types the same (and S, N or B, as DynamoDB keys must be)",
                )
        if "sortKey" in keys and keys["sortKey"]["name"] == keys["partitionKey"]["name"]:
            yield doc.finding(
                [kind, i, "sortKey", "name"],
                f"{label} uses attribute {keys['sortKey']['name']!r} as both partition key and sort key",
                "pick a different sort key attribute or drop the sort key",
            )


def _key_names(holder: Mapping[str, Any]) -> tuple[str, str | None]:
    sort = _sort_key(holder)
    return holder["partitionKey"]["name"], sort["name"] if sort else None


def _index_rules(doc: Document) -> Iterator[Finding]:
    table = doc.data
    primary = table["primaryKey"]
    seen_names: dict[str, str] = {}
    seen_shapes: dict[tuple[Any, ...], str] = {}
    table_keys = _key_names(primary)
    for kind, i, index in _indexes(table):
        name, label = index["indexName"], _label(kind, index)
        if name in seen_names:
            yield doc.finding(
                [kind, i, "indexName"],
                f"index name {name!r} is used twice",
                "give every index (global and local) its own name",
            )
        seen_names.setdefault(name, pointer_of([kind, i]))
        keys = _key_names(index)
        projection = index.get("projectionType", "ALL")
        # Same keys and same projection: the second index serves no query the first does not, at twice the
        # write cost. (Same keys with a narrower projection can be a deliberate saving on reads.)
        shape = (keys, projection, tuple(sorted(index.get("nonKeyAttributes", ()))))
        if shape in seen_shapes:
            yield doc.finding(
                [kind, i],
                f"{label} has the same keys as {seen_shapes[shape]} ({' + '.join(filter(None, keys))}) and the "
                f"same projection ({projection})",
                f"remove {label}: {seen_shapes[shape]} already serves every query it could serve",
            )
        elif keys == table_keys:
            yield doc.finding(
                [kind, i],
                f"{label} has the same keys as the table itself",
                "query the table directly and remove the index",
            )
        seen_shapes.setdefault(shape, label)
        described, pattern = index.get("description"), index.get("accessPattern")
        if isinstance(described, str) and isinstance(pattern, str) and described.strip() != pattern.strip():
            yield doc.finding(
                [kind, i, "description"],
                f"{label} has a description and an accessPattern that differ; both are its access pattern",
                "keep one of the two (description is the customer's name for it), or make them the same text",
            )
        if projection == "INCLUDE" and not index.get("nonKeyAttributes"):
            yield doc.finding(
                [kind, i, "projectionType"],
                f"{label} projects INCLUDE but lists no nonKeyAttributes",
                "add nonKeyAttributes with the attributes to copy into the index, or use ALL or KEYS_ONLY",
            )
        if projection != "INCLUDE" and "nonKeyAttributes" in index:
            yield doc.finding(
                [kind, i, "nonKeyAttributes"],
                f"{label} lists nonKeyAttributes but projects {projection}",
                "set projectionType to INCLUDE, or remove nonKeyAttributes",
            )
        if kind == "localSecondaryIndexes":
            if _sort_key(primary) is None:
                yield doc.finding(
                    [kind, i],
                    f"{label} needs a table with a sort key",
                    "add primaryKey.sortKey, or make the index global",
                )
            if index["partitionKey"]["name"] != primary["partitionKey"]["name"]:
                yield doc.finding(
                    [kind, i, "partitionKey", "name"],
                    f"{label} must share the table's partition key {primary['partitionKey']['name']!r}",
                    "use the table's partition key, or make the index global",
                )
            if _sort_key(index) is None:
                yield doc.finding(
                    [kind, i],
                    f"{label} has no sort key",
                    "a local index exists to give the table another sort key: add sortKey",
                )


def _attribute_rules(doc: Document) -> Iterator[Finding]:
    table = doc.data
    seen: set[str] = set()
    primary_keys = _keys(table["primaryKey"]).values()
    primary_names = {k["name"] for k in primary_keys}
    for i, attribute in enumerate(table.get("attributes", [])):
        name = attribute["name"]
        if name in seen:
            yield doc.finding(
                ["attributes", i, "name"], f"attribute {name!r} is declared twice", "keep one declaration"
            )
        seen.add(name)
        if name in primary_names:
            key_type = next(k["type"] for k in primary_keys if k["name"] == name)
            if key_type != attribute["type"]:
                yield doc.finding(
                    ["attributes", i, "type"],
                    f"attribute {name!r} is the table key of type {key_type} but is declared as {attribute['type']}",
                    "make the two types the same",
                )
    ttl = table.get("ttl", {})
    if ttl.get("enabled"):
        declared = _declared_types(table)
        attr = ttl.get("attributeName")
        if not attr:
            yield doc.finding(["ttl"], "TTL is enabled but names no attributeName", "add attributeName")
        elif declared.get(attr, "N") != "N":
            yield doc.finding(
                ["ttl", "attributeName"],
                f"TTL attribute {attr!r} is declared as {declared[attr]}; DynamoDB only expires items by an N "
                "attribute (epoch seconds)",
                f"declare {attr!r} with type N",
            )
    streams = table.get("streams", {})
    if streams.get("enabled") and "viewType" not in streams:
        yield doc.finding(
            ["streams"],
            "streams are enabled but no viewType is given",
            'add "viewType": "NEW_AND_OLD_IMAGES" (or KEYS_ONLY, NEW_IMAGE, OLD_IMAGE)',
        )


def semantic_findings(doc: Document) -> list[Finding]:
    """Rules beyond the JSON Schema.

    They also run on documents with schema errors, so one pass reports every defect (a BOOL index key
    and a duplicate index in the same file); a rule stops quietly where the structure it reads is
    missing or malformed, since the schema error already names that.
    """
    findings: list[Finding] = []
    for rule in (_key_rules, _index_rules, _attribute_rules):
        try:
            for finding in rule(doc):
                findings.append(finding)
        except (KeyError, TypeError, AttributeError, IndexError):
            continue
    return findings


def validate_documents(docs: Sequence[Document], schema: Mapping[str, Any], file_names: bool = True) -> list[Finding]:
    """Validate table documents one by one and against each other (unique names, and name = file name
    unless ``file_names`` is false, as for hand-written files outside a schemas folder)."""
    findings: list[Finding] = []
    owners: dict[str, str] = {}
    for doc in docs:
        found = [_key_type_finding(doc, f) for f in schema_findings(doc, schema)] + semantic_findings(doc)
        name = doc.data.get("tableName") if isinstance(doc.data, Mapping) else None
        if isinstance(name, str):
            name_is_valid = not any(f.pointer == "/tableName" for f in found)
            if name in owners:
                found.append(
                    doc.finding(
                        ["tableName"],
                        f"table name {name!r} is already used by {owners[name]}",
                        "table names must be unique; rename one of the tables",
                    )
                )
            owners.setdefault(name, doc.file)
            stem = Path(doc.file).name.removesuffix(".json")
            if stem != name and name_is_valid and file_names:
                found.append(
                    doc.finding(
                        ["tableName"],
                        f"the file is named {stem}.json but holds table {name!r}",
                        f"rename the file to {name}.json (one file per table, named after it)",
                    )
                )
        findings.extend(found)
    return sorted(findings)


def table_files(directory: Path) -> list[Path]:
    """The table files of a schemas directory (every ``*.json`` but the schema itself)."""
    return sorted(p for p in directory.glob("*.json") if not p.name.endswith(".schema.json"))


def validate_directory(directory: Path, schema_path: Path | None = None) -> list[Finding]:
    """Validate every table file in ``directory`` against ``schema_path`` (default: the one beside them)."""
    schema = json.loads((schema_path or directory / SCHEMA_FILE).read_text(encoding="utf-8"))
    docs: list[Document] = []
    findings: list[Finding] = []
    for path in table_files(directory):
        loaded = load_json(path, str(path))
        if isinstance(loaded, Finding):
            findings.append(loaded)
        else:
            docs.append(loaded)
    return sorted(findings + validate_documents(docs, schema))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: print each defect, exit 1 if any, 2 for bad usage."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("schemas_dir", nargs="?", default="schemas", type=Path)
    parser.add_argument("--schema", type=Path, help=f"the JSON Schema (default: SCHEMAS_DIR/{SCHEMA_FILE})")
    args = parser.parse_args(argv)
    directory: Path = args.schemas_dir
    schema_path: Path = args.schema or directory / SCHEMA_FILE
    if not directory.is_dir() or not schema_path.is_file():
        print(f"error: {directory} is not a schemas folder with {schema_path.name}", file=sys.stderr)
        return 2
    findings = validate_directory(directory, schema_path)
    for finding in findings:
        print(finding)
    count = len(table_files(directory))
    if findings:
        print(f"{len(findings)} defect(s) in {count} table file(s)", file=sys.stderr)
        return 1
    print(f"{count} table file(s) valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
