"""Property-based: any table valid for DynamoDB is accepted, round-trips, and renders Terraform that validates."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.cli import run
from generator.definition.load import builtin_schema
from generator.shipped.validate_schemas import Document, LineIndex, validate_documents
from tests.conftest import DEFINITION
from tests.support import tf

SCHEMA = builtin_schema("table.schema.json")
NAME = st.from_regex(r"[a-z][a-zA-Z0-9_]{2,20}", fullmatch=True)
# Table names also name folders, KMS aliases, git tags and matrix entries (generator/definition/names.py).
TABLE_NAME = st.from_regex(r"[a-z][a-z0-9_-]{2,20}", fullmatch=True)
KEY_TYPE = st.sampled_from(["S", "N", "B"])


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    """A table file DynamoDB would accept: distinct attribute names, keys S/N/B, AWS limits kept."""
    names = draw(st.lists(NAME, min_size=4, max_size=10, unique_by=str.lower))
    types = {n: draw(KEY_TYPE) for n in names}
    pk, sk, *others = names
    has_sort = draw(st.booleans())
    key = lambda n: {"name": n, "type": types[n]}  # noqa: E731
    table: dict[str, Any] = {
        "tableName": "gen_" + draw(TABLE_NAME),
        "description": "generated",
        "primaryKey": {"partitionKey": key(pk), **({"sortKey": key(sk)} if has_sort else {})},
        "attributes": [key(n) for n in ([] if has_sort else [sk]) + others],
    }
    pairs = [(a, b) for a in [sk, *others] for b in [None, *others] if a != b]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=min(5, len(pairs)), unique=True))
    gsis = []
    for i, (a, b) in enumerate(chosen):
        if (a, b) == (pk, sk if has_sort else None):
            continue
        projection = draw(st.sampled_from(["ALL", "KEYS_ONLY", "INCLUDE"]))
        index: dict[str, Any] = {"indexName": f"G{i}Index", "partitionKey": key(a), "projectionType": projection}
        if b:
            index["sortKey"] = key(b)
        if projection == "INCLUDE":
            index["nonKeyAttributes"] = ["payload"]
        gsis.append(index)
    if gsis:
        table["globalSecondaryIndexes"] = gsis
    if has_sort and others and draw(st.booleans()):
        table["localSecondaryIndexes"] = [
            {"indexName": "L0Index", "partitionKey": key(pk), "sortKey": key(others[-1]), "projectionType": "ALL"}
        ]
    if draw(st.booleans()):
        table["attributes"].append({"name": "expiresAtEpoch", "type": "N"})
        table["ttl"] = {"enabled": True, "attributeName": "expiresAtEpoch"}
    return table


def _document(table: dict[str, Any]) -> Document:
    text = json.dumps(table, indent=2)
    return Document(f"{table['tableName']}.json", table, LineIndex(text))


@settings(max_examples=200, deadline=None)
@given(tables())
def test_every_valid_table_is_accepted(table: dict[str, Any]) -> None:
    assert validate_documents([_document(table)], SCHEMA) == []


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=tables())
def test_a_valid_table_round_trips_and_its_terraform_validates(table: dict[str, Any], tmp_path: Path) -> None:
    work = tmp_path / str(abs(hash(json.dumps(table, sort_keys=True))))
    definition = work / "definition"
    shutil.copytree(DEFINITION, definition)
    name = table["tableName"]
    (definition / "tables" / f"{name}.json").write_text(json.dumps(table, indent=2) + "\n")
    assert (
        run(
            ["generate", "--definition", str(definition), "--output", str(work / "repos"), "--docs", str(work / "docs")]
        )
        == 0
    )
    repo = work / "repos" / "2_1_bbws_dynamodb_schemas"
    written = json.loads((repo / "schemas" / f"{name}.json").read_text())
    assert {k: v for k, v in written.items() if k != "$schema"} == table
    root = repo / "terraform" / name
    env = {"TF_CLI_CONFIG_FILE": str(tf.cli_config(work))}
    tf.run(["init", "-backend=false", "-lockfile=readonly"], root, env)
    assert "Success" in tf.run(["validate"], root, env).stdout
