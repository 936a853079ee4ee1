"""Onboarding a DynamoDB table: the table file built from its answers, and checked.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.checks import validate_documents
from generator.definition.load import TABLES_DIR
from generator.locations import Document, LineIndex
from generator.onboard.answers import Reader
from generator.onboard.common import check_whole_definition
from generator.onboard.errors import AnswerProblem, InvalidAnswers
from generator.onboard.table_answers import (
    Declared,
    read_attribute,
    read_backup,
    read_index,
    read_primary_key,
    read_ttl,
)
from generator.onboard.table_rules import (
    AUDIT_ATTRIBUTES,
    DEFAULT_PARTITION_KEY,
    DEFAULT_SORT_KEY,
    DEFAULT_STREAM,
    SCHEMA_REF,
    STREAM_OFF,
    TableRules,
)

Placed = list[tuple[dict[str, Any], str]]  # a part of the table file, and the answers key it came from


@dataclass(frozen=True)
class _Parts:
    """The lists of the table file, each entry with the answers key it came from."""

    explicit: Placed
    audit: list[dict[str, Any]]
    gsis: Placed
    lsis: Placed


def _table_data(
    name: str,
    description: str | None,
    partition: dict[str, Any],
    sort: dict[str, Any] | None,
    declared: Declared,
    parts: _Parts,
    origins: dict[str, str],
) -> dict[str, Any]:
    """The table file up to its indexes, in the shipped files' key order; fills ``origins`` as it goes."""
    data: dict[str, Any] = {"$schema": SCHEMA_REF, "tableName": name}
    if description:
        data["description"] = description
    data["capacityMode"] = "ON_DEMAND"
    data["primaryKey"] = {"partitionKey": partition, **({"sortKey": sort} if sort else {})}
    origins["/primaryKey"] = "partition_key"
    origins["/primaryKey/partitionKey"] = "partition_key"
    origins["/primaryKey/sortKey"] = "sort_key"
    attributes = [*parts.explicit, *declared.implicit, *((a, "audit_attributes") for a in parts.audit)]
    data["attributes"] = [attribute for attribute, _ in attributes]
    origins.update({f"/attributes/{i}": origin for i, (_, origin) in enumerate(attributes)})
    origins["/attributes"] = "attributes"
    for kind, items, answer in (
        ("globalSecondaryIndexes", parts.gsis, "gsis"),
        ("localSecondaryIndexes", parts.lsis, "lsis"),
    ):
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
    return data


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


def _indexes(
    r: Reader, rules: TableRules, declared: Declared, partition: dict[str, Any] | None, sort_wanted: bool
) -> tuple[Placed, Placed]:
    """The GSIs, then the LSIs (which need a sort key and take the table's partition key)."""
    index_names: list[str] = []
    gsis: Placed = []
    for g in r.items("gsis"):
        index = read_index(g, rules, declared, index_names, None)
        if index is not None:
            gsis.append((index, g.prefix))
    lsis: Placed = []
    lsi_readers = r.items("lsis")
    if lsi_readers and not sort_wanted:
        r.problem("lsis", "local secondary indexes need a table with a sort key", "add sort_key, or make them gsis")
    for g in lsi_readers:
        index = read_index(g, rules, declared, index_names, partition or DEFAULT_PARTITION_KEY)
        if index is not None:
            lsis.append((index, g.prefix))
    return gsis, lsis


def build_table(answers: Mapping[str, Any], rules: TableRules) -> BuiltTable:
    """The table file the answers describe; InvalidAnswers names every answer that breaks a rule."""
    problems: list[AnswerProblem] = []
    r = Reader(answers, "", problems)
    name = r.text("name", required=True, check=rules.table_name, what="the table name")
    description = r.text("description")
    partition = read_primary_key(r, "partition_key", DEFAULT_PARTITION_KEY, rules)
    sort: dict[str, Any] | None = None
    sort_wanted = not (r.given("sort_key") and r.raw("sort_key") in (None, False, ""))
    if sort_wanted:
        sort = read_primary_key(r, "sort_key", DEFAULT_SORT_KEY, rules)
        if sort and partition and sort["name"] == partition["name"]:
            r.problem(
                "sort_key",
                "the sort key is the same attribute as the partition key",
                "use a different attribute for the sort key, or set sort_key: null",
            )
    declared = Declared()
    for role, key in (("partition_key", partition), ("sort_key", sort)):
        if key:
            declared.add(key["name"], key["type"], f"the table's {role.replace('_', ' ')}")
    audit = r.flag("audit_attributes", True)
    origins: dict[str, str] = {"/tableName": "name", "/description": "description"}
    explicit: Placed = []
    for a in r.items("attributes"):
        attribute = read_attribute(a, rules, declared, audit)
        if attribute is not None:
            explicit.append((attribute, a.prefix))
    audit_attributes: list[dict[str, Any]] = []
    if audit:
        audit_attributes = [dict(a) for a in AUDIT_ATTRIBUTES if a["name"] not in declared.types]
        for attribute in audit_attributes:
            declared.add(attribute["name"], attribute["type"], "an audit attribute")
    gsis, lsis = _indexes(r, rules, declared, partition, sort_wanted)
    ttl = read_ttl(r, declared)
    streams = (
        STREAM_OFF
        if r.raw("streams") is False
        else r.choice("streams", rules.stream_views, DEFAULT_STREAM, "OFF turns the stream off")
    )
    pitr = r.flag("pitr", True)
    backup = read_backup(r, rules.definition.environments)
    r.finish()
    if problems or name is None or partition is None:
        raise InvalidAnswers(problems)

    parts = _Parts(explicit, audit_attributes, gsis, lsis)
    data = _table_data(name, description, partition, sort, declared, parts, origins)
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
