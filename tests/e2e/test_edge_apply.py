"""The edge-case golden record's DynamoDB repo applied to moto for dev: what the shipped tables never exercise.

A table without a sort key, with TTL, streams and PITR off and an INCLUDE projection (sessions); a numeric
sort key, an LSI and a KEYS_ONLY stream (readings, left out of AWS Backup in dev). dev has no DR
replication, so only the emulator's Backup gaps need overrides (tests/support/emulator_gaps.py: BACKUP_TAGS,
BACKUP_SELECTION, BACKUP_REGION_SETTINGS_AND_VAULT_POLICY); the selection moto lacks is read from the real
root's plan instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EDGE
from tests.support.deploy import (
    NO_SELECTION,
    NO_VAULT_POLICY,
    Deployment,
    deploy,
    dynamodb_overrides,
    plan_json,
    read_spec,
)
from tests.support.moto import moto_server

pytestmark = pytest.mark.e2e

REPO = EDGE / "repos" / "2_1_bbws_dynamodb_schemas"
SPEC = read_spec(REPO)
ENV = "dev"
TABLES = {t["name"]: t for t in SPEC["tables"]}


def _env() -> dict[str, Any]:
    env: dict[str, Any] = next(e for e in SPEC["environments"] if e["name"] == ENV)
    return env


def _schema(table: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "schemas" / f"{table}.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = _env()
    workdir = tmp_path_factory.mktemp("edge-dynamodb")
    with moto_server(env["account_id"], env["region"], workdir / "moto.log") as server:
        yield deploy(REPO, workdir, ENV, server, dynamodb_overrides(SPEC))


@pytest.mark.parametrize("component", sorted(TABLES))
def test_second_plan_shows_no_changes(deployed: Deployment, component: str) -> None:
    code, text = deployed.plan_exit_code(component)
    assert code == 0, f"{component} is not idempotent:\n{text[-3000:]}"


def _keys(key_schema: list[dict[str, str]]) -> dict[str, str]:
    return {k["KeyType"]: k["AttributeName"] for k in key_schema}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_table_is_what_its_schema_file_says(deployed: Deployment, table: str) -> None:
    schema, data = _schema(table), TABLES[table]
    dynamodb = deployed.server.client("dynamodb")
    described = dynamodb.describe_table(TableName=table)["Table"]

    assert _keys(described["KeySchema"]) == {
        "HASH": data["hash_key"],
        **({"RANGE": data["range_key"]} if data["range_key"] else {}),
    }
    assert {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]} == {
        k["name"]: k["type"] for k in data["key_attributes"]
    }
    for kind, declared in (
        ("GlobalSecondaryIndexes", schema.get("globalSecondaryIndexes", [])),
        ("LocalSecondaryIndexes", schema.get("localSecondaryIndexes", [])),
    ):
        built = {i["IndexName"]: i for i in described.get(kind, [])}
        assert set(built) == {i["indexName"] for i in declared}
        for index in declared:
            got = built[index["indexName"]]
            sort_key = index.get("sortKey") or {}
            assert _keys(got["KeySchema"]) == {
                "HASH": index["partitionKey"]["name"],
                **({"RANGE": sort_key["name"]} if sort_key else {}),
            }
            assert got["Projection"]["ProjectionType"] == index.get("projectionType", "ALL")
            assert sorted(got["Projection"].get("NonKeyAttributes", [])) == sorted(index.get("nonKeyAttributes", []))

    streams = described.get("StreamSpecification", {"StreamEnabled": False})
    assert streams["StreamEnabled"] is (data["stream_view_type"] is not None)
    assert streams.get("StreamViewType") == data["stream_view_type"]

    pitr = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == (
        "ENABLED" if data["pitr"] else "DISABLED"
    )
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if data["ttl_attribute"]:
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": data["ttl_attribute"]}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"

    tags = {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]}
    assert tags["BackupPolicy"] == (_env()["backup"]["policy"] if data["backup"][ENV] else "none")
    assert {k: tags[k] for k in data["tags"]} == data["tags"]


def test_backup_second_plan_adds_only_what_moto_lacks_and_selects_tables_backed_up_here(
    deployed: Deployment, tmp_path: Path
) -> None:
    """The backup root's second plan, with the workarounds for what moto lacks taken out.

    One plan serves both checks: everything applied shows no change, and the selection and vault policy
    (emulator_gaps.BACKUP_SELECTION, BACKUP_REGION_SETTINGS_AND_VAULT_POLICY) are all that
    would be created, the selection naming only the tables backed up in dev.
    """
    override = deployed.root("backup") / "emulator_override.tf"
    text = override.read_text()
    override.write_text(text.replace(NO_SELECTION, "").replace(NO_VAULT_POLICY, ""))
    try:
        plan = plan_json(deployed, "backup", tmp_path)
    finally:
        override.write_text(text)
    changes = {c["address"]: c["change"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    assert _env()["dr_replication"] is False, "dev has no DR vault, so no DR vault policy"
    assert set(changes) == {
        "aws_backup_selection.tables[0]",
        "aws_backup_vault_policy.this",
    }
    assert all(change["actions"] == ["create"] for change in changes.values())
    env = _env()
    expected = [
        f"arn:aws:dynamodb:{env['region']}:{env['account_id']}:table/{name}"
        for name, data in sorted(TABLES.items())
        if data["backup"][ENV]
    ]
    assert sorted(changes["aws_backup_selection.tables[0]"]["after"]["resources"]) == expected
    assert len(expected) < len(TABLES), "the edge record leaves a table out of dev's backups"
