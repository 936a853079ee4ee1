"""Onboarding a DynamoDB table: the rules per answer, the table file built from the answers, the questions.

Answers (an answers file holds the same keys; everything but ``name`` has a default)::

    name: orders                                  # table name (schema rule, not already used)
    description: Customer orders ...
    partition_key: {name: PK, type: S, pattern: "ORDER#{orderId}"}     # default PK (S)
    sort_key: {name: SK, type: S, pattern: METADATA}   # default; null for a table without sort key
    audit_attributes: true                        # id, dateCreated, dateLastUpdated, lastUpdatedBy, active
    attributes: [{name: status, type: S, required: true, enum: [NEW, PAID], description: ...}]
    gsis: [{name: StatusIndex, partition_key: status, sort_key: dateCreated, projection: ALL,
            non_key_attributes: [...], access_pattern: ...}]
    lsis: [{name: ByUpdate, sort_key: dateLastUpdated, projection: KEYS_ONLY}]
    ttl: expiresAt                                # null (default) for no TTL
    streams: NEW_AND_OLD_IMAGES                   # or NEW_IMAGE, OLD_IMAGE, KEYS_ONLY, OFF
    pitr: true
    backup: true                                  # or per environment: {dev: true, sit: true, prod: false}

An index key is an attribute name; an attribute not declared elsewhere is written ``{name: x, type: S}``
and is then declared in the table file for you (as is the TTL attribute, as N).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from generator.definition import names
from generator.definition.load import TABLES_DIR
from generator.onboard.answers import Reader
from generator.onboard.common import Definition, check_whole_definition, display
from generator.onboard.errors import AnswerProblem, InvalidAnswers
from generator.shipped.validate_schemas import (
    KEY_TYPES,
    Document,
    LineIndex,
    validate_documents,
)

SCHEMA_REF = "../schema/table.schema.json"
RESERVED_NAMES = {"backup": "'backup' is reserved: it is the AWS Backup component of the DynamoDB repo"}
DEFAULT_PARTITION_KEY: dict[str, Any] = {"name": "PK", "type": "S"}
DEFAULT_SORT_KEY: dict[str, Any] = {"name": "SK", "type": "S", "pattern": "METADATA"}
DEFAULT_STREAM = "NEW_AND_OLD_IMAGES"
STREAM_OFF = "OFF"
ATTRIBUTE_EXTRAS = ("enum", "default", "format", "unique", "pattern", "minimum", "maximum")

# The customer's "activatable entity" pattern, as the shipped tables declare it.
AUDIT_ATTRIBUTES: tuple[dict[str, Any], ...] = (
    {"name": "id", "type": "S", "required": True, "format": "uuid", "description": "Entity id (UUID v4)."},
    {
        "name": "dateCreated",
        "type": "S",
        "required": True,
        "format": "date-time",
        "description": "ISO 8601 UTC timestamp of creation.",
    },
    {
        "name": "dateLastUpdated",
        "type": "S",
        "required": True,
        "format": "date-time",
        "description": "ISO 8601 UTC timestamp of the last change.",
    },
    {
        "name": "lastUpdatedBy",
        "type": "S",
        "required": True,
        "format": "email",
        "description": "Email of the user or service that made the last change.",
    },
    {
        "name": "active",
        "type": "N",
        "required": True,
        "enum": [1, 0],
        "default": 1,
        "description": "Soft-delete flag: 1 = active, 0 = deleted (no DELETE is ever issued). Stored as N, not "
        "BOOL, so an index can be keyed on it (DynamoDB index keys must be S, N or B).",
    },
)
AUDIT_NAMES = tuple(a["name"] for a in AUDIT_ATTRIBUTES)
TYPE_DESCRIPTIONS = {
    "S": "string",
    "N": "number",
    "B": "binary",
    "BOOL": "boolean (cannot be a key)",
    "NULL": "null",
    "L": "list",
    "M": "map",
    "SS": "string set",
    "NS": "number set",
    "BS": "binary set",
}
PROJECTION_DESCRIPTIONS = {
    "ALL": "copy every attribute into the index",
    "KEYS_ONLY": "only the table and index keys",
    "INCLUDE": "the keys plus attributes you list",
}
STREAM_DESCRIPTIONS = {
    "NEW_AND_OLD_IMAGES": "the item before and after each change (the BBWS default)",
    "NEW_IMAGE": "the item after each change",
    "OLD_IMAGE": "the item before each change",
    "KEYS_ONLY": "only the keys of the changed item",
    STREAM_OFF: "no stream",
}


# ----------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class TableRules:
    """The rules of the published table schema and of validate_schemas.py, asked one answer at a time."""

    definition: Definition
    schema: Mapping[str, Any]
    existing: Mapping[str, Document]

    @classmethod
    def load(cls, definition: Definition) -> TableRules:
        """The rules for a table joining ``definition``."""
        existing = {str(doc.data["tableName"]): doc for doc in definition.raw.tables}
        return cls(definition, definition.raw.table_schema, existing)

    def _defs(self, *path: str) -> Mapping[str, Any]:
        node: Any = self.schema
        for part in path:
            node = node[part]
        return dict(node)

    @property
    def attribute_types(self) -> list[str]:
        """Every DynamoDB attribute type the schema allows."""
        return [str(t) for t in self._defs("$defs", "attribute", "properties", "type")["enum"]]

    @property
    def projections(self) -> list[str]:
        """Index projection types."""
        return [str(t) for t in self._defs("$defs", "index", "properties", "projectionType")["enum"]]

    @property
    def stream_views(self) -> list[str]:
        """Stream view types, the default first, then OFF."""
        views = [str(t) for t in self._defs("properties", "streams", "properties", "viewType")["enum"]]
        return [DEFAULT_STREAM, *[v for v in views if v != DEFAULT_STREAM], STREAM_OFF]

    @property
    def key_type_hint(self) -> str:
        """Why keys are S, N or B, in the schema's words."""
        return str(self._defs("$defs", "key", "properties", "type").get("x-hint", ""))

    def name_rule(self, value: str, what: str) -> str | None:
        """The schema's rule for table and index names ($defs/name)."""
        subschema = self._defs("$defs", "name")
        if any(True for _ in Draft202012Validator(subschema).iter_errors(value)):
            return f"{value!r} is not a valid {what} name: {subschema.get('x-hint', 'see the table schema')}"
        return None

    def table_name(self, value: str) -> str | None:
        """A new table's name: schema pattern, not reserved, not used by another table file."""
        problem = self.name_rule(value, "table")
        if problem:
            return problem
        if value in RESERVED_NAMES:
            return f"{RESERVED_NAMES[value]}; name the table after its domain"
        rule = names.table_name_problem(value)
        if rule:
            return f"{rule[0]}; {rule[1]}"
        if value in self.existing:
            return (
                f"table {value!r} already exists ({display(Path(self.existing[value].file))}); "
                "pick another name, or edit that file to change the table"
            )
        clash = next((name for name in self.existing if name.casefold() == value.casefold()), None)
        if clash:
            return f"{value!r} differs from the existing table {clash!r} only in case; pick another name"
        return None


def attribute_name_rule(value: str, taken: Mapping[str, str]) -> str | None:
    """An attribute name: 1-255 characters, declared once (``taken`` maps names to who declared them)."""
    if not value:
        return "the attribute name is empty"
    if len(value) > 255:
        return "attribute names are at most 255 characters"
    if value in taken:
        return f"{value!r} is already declared ({taken[value]}); use another name"
    return None


def key_attribute_rule(name: str, declared: Mapping[str, str]) -> str | None:
    """An index key attribute that is declared must have a key type (S, N or B)."""
    if not name:
        return "the attribute name is empty"
    if len(name) > 255:
        return "attribute names are at most 255 characters"
    kind = declared.get(name)
    if kind is not None and kind not in KEY_TYPES:
        return (
            f"attribute {name!r} is declared as {kind}; DynamoDB index keys must be S, N or B: store a flag as "
            "N (1/0) like active, or pick another attribute"
        )
    return None


def ttl_rule(name: str, declared: Mapping[str, str]) -> str | None:
    """The TTL attribute holds epoch seconds: it must be (or become) an N attribute."""
    if not name:
        return "the TTL attribute name is empty"
    kind = declared.get(name)
    if kind is not None and kind != "N":
        return (
            f"TTL attribute {name!r} is declared as {kind}; DynamoDB only expires items by an N attribute "
            "(epoch seconds): pick an N attribute or a new name"
        )
    return None


def index_name_rule(rules: TableRules, value: str, taken: Sequence[str]) -> str | None:
    """An index name: schema pattern and unique among the table's indexes (global and local)."""
    problem = rules.name_rule(value, "index")
    if problem:
        return problem
    if value in taken:
        return f"index name {value!r} is used twice; give every index (global and local) its own name"
    return None


def _number(text: str) -> int | float | None:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


# ---------------------------------------------------------------------------------------------- build


@dataclass
class BuiltTable:
    """A table file built from valid answers, and which answer each part of it came from."""

    name: str
    data: dict[str, Any]
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def rel(self) -> str:
        """The file's path inside the definition folder."""
        return f"{TABLES_DIR}/{self.name}.json"

    def text(self) -> str:
        """The file as the shipped table files are written."""
        return json.dumps(self.data, indent=2) + "\n"

    def answer_of(self, pointer: str) -> str:
        """The answers key that produced the part of the file at JSON ``pointer``."""
        best = ""
        for prefix in self.origins:
            if (pointer == prefix or pointer.startswith(prefix + "/")) and len(prefix) >= len(best):
                best = prefix
        return self.origins.get(best, "name")


@dataclass
class _Declared:
    """Attribute types known so far, and the attributes the answers declare implicitly (index keys, TTL)."""

    types: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    implicit: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def add(self, name: str, kind: str, owner: str) -> None:
        self.types.setdefault(name, kind)
        self.owners.setdefault(name, owner)


def _primary_key(r: Reader, name: str, default: Mapping[str, Any], rules: TableRules) -> dict[str, Any] | None:
    value = r.raw(name)
    if value is None:
        return dict(default)
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        r.problem(name, "must be a mapping {name, type, pattern, description}", f"e.g. {name}: {{name: PK, type: S}}")
        return None
    k = r.child(name, value)
    key_name = k.text("name", required=True, what="the key attribute's name")
    key_type = k.choice("type", KEY_TYPES, "S", rules.key_type_hint)
    pattern = k.text("pattern")
    description = k.text("description")
    if not key_name or key_type is None:
        return None
    key: dict[str, Any] = {"name": key_name, "type": key_type}
    if pattern:
        key["pattern"] = pattern
    if description:
        key["description"] = description
    return key


def _attribute(a: Reader, rules: TableRules, declared: _Declared, audit: bool) -> dict[str, Any] | None:
    taken = dict(declared.owners)
    if audit:
        taken.update({n: "an audit attribute (audit_attributes: true)" for n in AUDIT_NAMES if n not in taken})
    name = a.text("name", required=True, check=lambda v: attribute_name_rule(v, taken))
    kind = a.choice("type", rules.attribute_types, "S", "use a DynamoDB attribute type")
    required = a.flag("required", False)
    extras = {key: a.raw(key) for key in ATTRIBUTE_EXTRAS if a.raw(key) is not None}
    description = a.text("description")
    if name is None or kind is None:
        return None
    declared.add(name, kind, a.prefix)
    attribute: dict[str, Any] = {"name": name, "type": kind, "required": required, **extras}
    if description:
        attribute["description"] = description
    return attribute


def _index_key(
    g: Reader, role: str, declared: _Declared, index: str, required: bool, rules: TableRules
) -> dict[str, Any] | None:
    value = g.raw(role)
    if value is None or value == "":
        if required:
            g.problem(role, "is required but missing", "name the key attribute, e.g. sort_key: dateCreated")
        return None
    given: str | None = None
    if isinstance(value, str):
        attr: str | None = value.strip()
    elif isinstance(value, Mapping):
        k = g.child(role, value)
        attr = k.text("name", required=True)
        given = k.choice("type", KEY_TYPES, None, rules.key_type_hint) if k.given("type") else None
        if k.given("type") and given is None:
            return None
    else:
        g.problem(role, "must be an attribute name, or {name: ..., type: S|N|B} for a new attribute")
        return None
    if not attr:
        return None
    problem = key_attribute_rule(attr, declared.types)
    if problem:
        g.problem(role, problem)
        return None
    if attr in declared.types:
        if given is not None and given != declared.types[attr]:
            g.problem(
                role,
                f"{attr!r} is declared as {declared.types[attr]} ({declared.owners[attr]}) but given here as {given}",
                "make the two types the same, or leave the type out here",
            )
            return None
        return {"name": attr, "type": declared.types[attr]}
    if given is None:
        g.problem(
            role,
            f"attribute {attr!r} is not declared",
            f"declare it in attributes, or give its type here: {role}: {{name: {attr}, type: S}}",
        )
        return None
    declared.add(attr, given, g.key(role))
    declared.implicit.append(
        (
            {"name": attr, "type": given, "required": False, "description": f"Key attribute of index {index}."},
            g.key(role),
        )
    )
    return {"name": attr, "type": given}


def _index(
    g: Reader,
    rules: TableRules,
    declared: _Declared,
    taken: list[str],
    local_partition: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    name = g.text("name", required=True, check=lambda v: index_name_rule(rules, v, taken), what="the index name")
    if name:
        taken.append(name)
    label = name or g.prefix
    if local_partition is None:
        partition = _index_key(g, "partition_key", declared, label, True, rules)
    else:
        if g.given("partition_key"):
            g.problem(
                "partition_key",
                "a local secondary index always uses the table's partition key",
                "remove partition_key here, or make the index a GSI",
            )
        partition = {"name": local_partition["name"], "type": local_partition["type"]}
    sort = _index_key(g, "sort_key", declared, label, local_partition is not None, rules)
    projection = g.choice(
        "projection", rules.projections, "ALL", "use ALL, KEYS_ONLY or INCLUDE (with non_key_attributes)"
    )
    non_key = g.names("non_key_attributes")
    access = g.text("access_pattern")
    if name is None or partition is None or projection is None or (g.raw("sort_key") and sort is None):
        return None
    index: dict[str, Any] = {"indexName": name, "partitionKey": partition}
    if sort:
        index["sortKey"] = sort
    index["projectionType"] = projection
    if non_key is not None:
        index["nonKeyAttributes"] = non_key
    if access:
        index["accessPattern"] = access
    return index


def _backup(r: Reader, environments: Sequence[str]) -> dict[str, bool]:
    value = r.raw("backup")
    if value is None or isinstance(value, bool):
        return {env: value is not False for env in environments}
    if not isinstance(value, Mapping):
        r.problem("backup", "must be true, false or a mapping of environment to true/false")
        return {}
    result = {env: True for env in environments}
    for env, enabled in value.items():
        if env not in environments:
            r.problem(
                f"backup.{env}",
                f"environment {env!r} is not defined in platform.yaml",
                f"use one of: {', '.join(environments)}",
            )
        elif not isinstance(enabled, bool):
            r.problem(f"backup.{env}", f"must be true or false, not {enabled!r}")
        else:
            result[str(env)] = enabled
    return result


def build_table(answers: Mapping[str, Any], rules: TableRules) -> BuiltTable:
    """The table file the answers describe; InvalidAnswers names every answer that breaks a rule."""
    problems: list[AnswerProblem] = []
    r = Reader(answers, "", problems)
    name = r.text("name", required=True, check=rules.table_name, what="the table name")
    description = r.text("description")
    partition = _primary_key(r, "partition_key", DEFAULT_PARTITION_KEY, rules)
    sort: dict[str, Any] | None = None
    sort_wanted = not (r.given("sort_key") and r.raw("sort_key") in (None, False, ""))
    if sort_wanted:
        sort = _primary_key(r, "sort_key", DEFAULT_SORT_KEY, rules)
        if sort and partition and sort["name"] == partition["name"]:
            r.problem(
                "sort_key",
                "the sort key is the same attribute as the partition key",
                "use a different attribute for the sort key, or set sort_key: null",
            )
    declared = _Declared()
    for role, key in (("partition_key", partition), ("sort_key", sort)):
        if key:
            declared.add(key["name"], key["type"], f"the table's {role.replace('_', ' ')}")
    audit = r.flag("audit_attributes", True)
    origins: dict[str, str] = {"/tableName": "name", "/description": "description"}
    explicit: list[tuple[dict[str, Any], str]] = []
    for a in r.items("attributes"):
        attribute = _attribute(a, rules, declared, audit)
        if attribute is not None:
            explicit.append((attribute, a.prefix))
    audit_attributes: list[dict[str, Any]] = []
    if audit:
        audit_attributes = [dict(a) for a in AUDIT_ATTRIBUTES if a["name"] not in declared.types]
        for attribute in audit_attributes:
            declared.add(attribute["name"], attribute["type"], "an audit attribute")
    index_names: list[str] = []
    gsis: list[tuple[dict[str, Any], str]] = []
    for g in r.items("gsis"):
        index = _index(g, rules, declared, index_names, None)
        if index is not None:
            gsis.append((index, g.prefix))
    lsis: list[tuple[dict[str, Any], str]] = []
    lsi_readers = r.items("lsis")
    if lsi_readers and not sort_wanted:
        r.problem("lsis", "local secondary indexes need a table with a sort key", "add sort_key, or make them gsis")
    for g in lsi_readers:
        index = _index(g, rules, declared, index_names, partition or DEFAULT_PARTITION_KEY)
        if index is not None:
            lsis.append((index, g.prefix))
    ttl_value = r.raw("ttl")
    ttl: str | None = None
    if isinstance(ttl_value, str) and ttl_value.strip():
        ttl = ttl_value.strip()
        problem = ttl_rule(ttl, declared.types)
        if problem:
            r.problem("ttl", problem)
        elif ttl not in declared.types:
            declared.add(ttl, "N", "ttl")
            declared.implicit.append(
                (
                    {
                        "name": ttl,
                        "type": "N",
                        "required": False,
                        "description": "Expiry time in epoch seconds: DynamoDB deletes the item after it (TTL).",
                    },
                    "ttl",
                )
            )
    elif ttl_value not in (None, False, ""):
        r.problem(
            "ttl", "must be the name of the expiry attribute (epoch seconds), or null for no TTL", "ttl: expiresAt"
        )
    streams = (
        STREAM_OFF
        if r.raw("streams") is False
        else r.choice("streams", rules.stream_views, DEFAULT_STREAM, "OFF turns the stream off")
    )
    pitr = r.flag("pitr", True)
    backup = _backup(r, rules.definition.environments)
    r.finish()
    if problems or name is None or partition is None:
        raise InvalidAnswers(problems)

    data: dict[str, Any] = {"$schema": SCHEMA_REF, "tableName": name}
    if description:
        data["description"] = description
    data["capacityMode"] = "ON_DEMAND"
    data["primaryKey"] = {"partitionKey": partition, **({"sortKey": sort} if sort else {})}
    origins["/primaryKey"] = "partition_key"
    origins["/primaryKey/partitionKey"] = "partition_key"
    origins["/primaryKey/sortKey"] = "sort_key"
    attributes = [*explicit, *declared.implicit, *((a, "audit_attributes") for a in audit_attributes)]
    data["attributes"] = []
    for attribute, origin in attributes:
        data["attributes"].append(attribute)
        origins[f"/attributes/{len(data['attributes']) - 1}"] = origin
    origins["/attributes"] = "attributes"
    for kind, items, answer in (("globalSecondaryIndexes", gsis, "gsis"), ("localSecondaryIndexes", lsis, "lsis")):
        if not items:
            continue
        data[kind] = [index for index, _ in items]
        origins[f"/{kind}"] = answer
        for i, (_, prefix) in enumerate(items):
            origins[f"/{kind}/{i}"] = prefix
            for json_key, answer_key in (
                ("indexName", "name"),
                ("partitionKey", "partition_key" if kind == "globalSecondaryIndexes" else ""),
                ("sortKey", "sort_key"),
                ("projectionType", "projection"),
                ("nonKeyAttributes", "non_key_attributes"),
                ("accessPattern", "access_pattern"),
            ):
                origins[f"/{kind}/{i}/{json_key}"] = f"{prefix}.{answer_key}" if answer_key else prefix
    data["ttl"] = {"enabled": True, "attributeName": ttl} if ttl else {"enabled": False}
    data["streams"] = (
        {"enabled": True, "viewType": streams} if streams and streams != STREAM_OFF else {"enabled": False}
    )
    data["pitr"] = {"enabled": pitr}
    data["backup"] = backup
    origins.update({"/ttl": "ttl", "/streams": "streams", "/pitr": "pitr", "/backup": "backup"})
    return BuiltTable(name, data, origins)


# validate_schemas.py speaks of the table file's keys; these are the answers' names for them.
ANSWER_WORDS = (
    ("primaryKey.sortKey", "sort_key"),
    ("nonKeyAttributes", "non_key_attributes"),
    ("projectionType", "projection"),
    ("add sortKey", "add sort_key"),
)


def _answer_words(text: str) -> str:
    for table_word, answer_word in ANSWER_WORDS:
        text = text.replace(table_word, answer_word)
    return text


def check_table(built: BuiltTable, rules: TableRules) -> None:
    """Validate the built file with the existing tables (validate_schemas.py), then the whole definition.

    Raises InvalidAnswers with each finding named by the answer it came from.
    """
    root = rules.definition.root
    display_file = str(root / built.rel)
    doc = Document(display_file, built.data, LineIndex(built.text()))
    findings = [f for f in validate_documents([*rules.existing.values(), doc], rules.schema) if f.file == display_file]
    problems = [
        AnswerProblem(built.answer_of(f.pointer), _answer_words(f.message), _answer_words(f.hint)) for f in findings
    ]
    if not problems:
        for f in check_whole_definition(root, {built.rel: built.text()}):
            key = built.answer_of(f.pointer) if f.file == display_file else "definition"
            problems.append(AnswerProblem(key, f.message if key != "definition" else str(f), f.hint))
    if problems:
        raise InvalidAnswers(problems)
