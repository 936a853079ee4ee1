"""A table's shape in one form, from a state file, DescribeTable or the repo's spec, so they compare."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# {"hash_key", "range_key", "types": {attribute: type}, "gsi": {name: index}, "lsi": {name: index}},
# each index {"hash_key", "range_key", "projection", "non_key"}.
TableFacts = dict[str, Any]


def _index(hash_key: str | None, range_key: str | None, projection: str, non_key: Iterable[str]) -> dict[str, Any]:
    return {
        "hash_key": hash_key or None,
        "range_key": range_key or None,
        "projection": projection,
        "non_key": sorted(non_key),
    }


def table_facts_from_state(attributes: Mapping[str, Any]) -> TableFacts:
    """From an ``aws_dynamodb_table`` instance of a state file."""

    def indexes(key: str, hash_default: str | None) -> dict[str, Any]:
        return {
            i["name"]: _index(
                i.get("hash_key") or hash_default,
                i.get("range_key"),
                i.get("projection_type", "ALL"),
                i.get("non_key_attributes") or [],
            )
            for i in attributes.get(key) or []
        }

    return {
        "hash_key": attributes.get("hash_key"),
        "range_key": attributes.get("range_key") or None,
        "types": {a["name"]: a["type"] for a in attributes.get("attribute") or []},
        "gsi": indexes("global_secondary_index", None),
        "lsi": indexes("local_secondary_index", attributes.get("hash_key")),
    }


def _keys(schema: Iterable[Mapping[str, str]]) -> tuple[str | None, str | None]:
    keys = {k["KeyType"]: k["AttributeName"] for k in schema}
    return keys.get("HASH"), keys.get("RANGE")


def table_facts_from_api(table: Mapping[str, Any]) -> TableFacts:
    """From DynamoDB's ``DescribeTable`` ``Table``."""

    def indexes(key: str) -> dict[str, Any]:
        found = {}
        for i in table.get(key) or []:
            hash_key, range_key = _keys(i["KeySchema"])
            projection = i.get("Projection", {})
            found[i["IndexName"]] = _index(
                hash_key, range_key, projection.get("ProjectionType", "ALL"), projection.get("NonKeyAttributes", [])
            )
        return found

    hash_key, range_key = _keys(table["KeySchema"])
    return {
        "hash_key": hash_key,
        "range_key": range_key,
        "types": {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])},
        "gsi": indexes("GlobalSecondaryIndexes"),
        "lsi": indexes("LocalSecondaryIndexes"),
    }


def table_facts_from_spec(table: Mapping[str, Any]) -> TableFacts:
    """From a table of the repo's spec (what the generated root defines)."""

    def indexes(key: str, hash_default: str | None) -> dict[str, Any]:
        return {
            i["name"]: _index(
                i.get("hash_key") or hash_default,
                i.get("range_key"),
                i["projection_type"],
                i.get("non_key_attributes") or [],
            )
            for i in table.get(key) or []
        }

    return {
        "hash_key": table["hash_key"],
        "range_key": table.get("range_key") or None,
        "types": {a["name"]: a["type"] for a in table["key_attributes"]},
        "gsi": indexes("global_indexes", None),
        "lsi": indexes("local_indexes", table["hash_key"]),
    }
