"""The rules of a new DynamoDB table, one answer at a time: the published table schema, the naming rules
(generator/definition/names.py) and validate_schemas.py's, and the tables already defined."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from generator.checks import KEY_TYPES
from generator.definition import names
from generator.locations import Document
from generator.onboard.common import Definition, display

SCHEMA_REF = "../schema/table.schema.json"
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
