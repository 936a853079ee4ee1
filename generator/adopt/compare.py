"""What applying the generated root to an adopted table would do, from the table's shape alone.

DynamoDB changes a table's key schema and its local secondary indexes only by creating the table anew
(Terraform replaces it: every item is lost), while global secondary indexes are added and dropped in
place (a dropped index's items stay in the table; queries on the index stop working).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.adopt.facts import TableFacts
from generator.adopt.records import Difference

ADDRESS = "aws_dynamodb_table.this"


def _describe(index: Mapping[str, Any]) -> str:
    keys = index["hash_key"] + (f", {index['range_key']}" if index["range_key"] else "")
    extra = f" {index['non_key']}" if index["non_key"] else ""
    return f"({keys}) {index['projection']}{extra}"


def _key_differences(found: TableFacts, wanted: TableFacts, where: str) -> list[Difference]:
    out: list[Difference] = []
    for key in ("hash_key", "range_key"):
        if found[key] != wanted[key]:
            out.append(
                Difference(
                    where,
                    f"{key} is {found[key]!r} there, {wanted[key]!r} in the definition; "
                    "applying would delete the table and create it empty",
                    "replace",
                )
            )
    for name in filter(None, (wanted["hash_key"], wanted["range_key"])):
        have = found["types"].get(name)
        if have is not None and have != wanted["types"].get(name):
            out.append(
                Difference(
                    where,
                    f"key attribute {name} is {have} there, {wanted['types'][name]} in the "
                    "definition; applying would delete the table and create it empty",
                    "replace",
                )
            )
    return out


def _lsi_differences(found: TableFacts, wanted: TableFacts, where: str) -> list[Difference]:
    out: list[Difference] = []
    for name in sorted(set(found["lsi"]) | set(wanted["lsi"])):
        have, want = found["lsi"].get(name), wanted["lsi"].get(name)
        if have == want:
            continue
        what = (
            "exists there only"
            if want is None
            else "is missing there"
            if have is None
            else f"is {_describe(have)} there, {_describe(want)} in the definition"
        )
        out.append(
            Difference(
                where,
                f"local secondary index {name} {what}; LSIs are fixed at creation, so "
                "applying would delete the table and create it empty",
                "replace",
            )
        )
    return out


def _gsi_differences(found: TableFacts, wanted: TableFacts, where: str) -> list[Difference]:
    out: list[Difference] = []
    for name in sorted(set(found["gsi"]) | set(wanted["gsi"])):
        have, want = found["gsi"].get(name), wanted["gsi"].get(name)
        if have == want:
            continue
        if want is None:
            detail = (
                f"global secondary index {name} {_describe(have)} is not in the definition; applying "
                "deletes the index (the items stay; queries on it stop working)"
            )
        elif have is None:
            detail = f"global secondary index {name} {_describe(want)} is missing; applying creates it (backfill)"
        else:
            detail = (
                f"global secondary index {name} is {_describe(have)} there, {_describe(want)} in the "
                "definition; applying deletes it and creates it again (backfill)"
            )
        out.append(Difference(where, detail, "update"))
    return out


def table_differences(component: str, found: TableFacts, wanted: TableFacts) -> list[Difference]:
    """Every difference between an existing table and its generated root, replacing ones first."""
    where = f"{component}: {ADDRESS}"
    return (
        _key_differences(found, wanted, where)
        + _lsi_differences(found, wanted, where)
        + _gsi_differences(found, wanted, where)
    )
