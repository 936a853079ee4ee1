"""post_deploy_check.py's checks of what moto 5.2.5 cannot hold, against recorded AWS responses.

moto cannot make a DynamoDB replica ACTIVE, does not replicate S3 objects, and implements neither
backup selections nor region settings (tests/support/emulator_gaps.py: REPLICA_NEVER_ACTIVE,
NO_REPLICATION, BACKUP_SELECTION, BACKUP_REGION_SETTINGS_AND_VAULT_POLICY). These checks are therefore run
here against responses shaped as AWS returns them (botocore's Stubber validates every request and
response against the service model), once as a healthy prod and once with the defect each check exists
to catch.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from generator.shipped import post_deploy_check as pdc
from tests.conftest import REPOS

DYNAMODB = REPOS / "2_1_bbws_dynamodb_schemas"
S3_REPO = REPOS / "2_1_bbws_s3_schemas"
DYNAMODB_SPEC = pdc.read_spec(DYNAMODB)
S3_SPEC = pdc.read_spec(S3_REPO)
PROD = next(e for e in DYNAMODB_SPEC["environments"] if e["dr_replication"])
ACCOUNT = PROD["account_id"]


class StubbedClients(pdc.Clients):
    """Clients whose every call is answered by a Stubber with recorded responses."""

    def __init__(self) -> None:
        super().__init__(PROD["region"])
        self.stubbers: dict[str, Stubber] = {}

    def stub(self, service: str, region: str | None = None) -> Stubber:
        key = f"{service}@{region or PROD['region']}"
        if key not in self.stubbers:
            client = boto3.client(
                service, region_name=region or PROD["region"], aws_access_key_id="x", aws_secret_access_key="x"
            )
            self._clients[key] = client
            self.stubbers[key] = Stubber(client)
            self.stubbers[key].activate()
        return self.stubbers[key]


@pytest.fixture
def clients() -> Iterator[StubbedClients]:
    made = StubbedClients()
    yield made
    for stubber in made.stubbers.values():
        stubber.assert_no_pending_responses()


def _failed(report: pdc.Report) -> dict[str, tuple[str, str]]:
    return {r.check: (r.expected, r.actual) for r in report.results if not r.ok}


# ------------------------------------------------------------------------------------------ replicas
def _gsi(name: str, hash_key: str, range_key: str | None = None) -> dict[str, Any]:
    keys = [{"AttributeName": hash_key, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key, "KeyType": "RANGE"})
    return {"IndexName": name, "KeySchema": keys, "Projection": {"ProjectionType": "ALL"}}


TENANT_GSIS = [
    _gsi("EmailIndex", "email"),
    _gsi("TenantStatusIndex", "status", "dateCreated"),
    _gsi("ActiveIndex", "active", "dateCreated"),
]


@pytest.mark.parametrize(
    ("replicas", "dr_gsis", "failed"),
    [
        ([{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}], TENANT_GSIS, set()),
        ([{"RegionName": "eu-west-1", "ReplicaStatus": "CREATING"}], TENANT_GSIS, {"replica eu-west-1 status"}),
        ([{"RegionName": "eu-west-1", "ReplicaStatus": "ACTIVE"}], TENANT_GSIS[:2], {"replica eu-west-1 indexes"}),
        ([], None, {"replica regions", "replica eu-west-1 status"}),
    ],
    ids=["healthy", "not-active", "index-missing", "no-replica"],
)
def test_replica_in_the_dr_region_is_active_with_the_same_indexes(
    clients: StubbedClients, replicas: list[dict[str, str]], dr_gsis: list[dict[str, Any]] | None, failed: set[str]
) -> None:
    described = {"TableName": "tenants", "Replicas": replicas, "GlobalSecondaryIndexes": TENANT_GSIS}
    if dr_gsis is not None:
        dr = clients.stub("dynamodb", PROD["dr_region"])
        dr.add_response("describe_table", {"Table": {"TableName": "tenants", "GlobalSecondaryIndexes": dr_gsis}})
    report = pdc.Report("tenants")
    pdc._check_replicas(clients, report, PROD, "tenants", described)
    assert set(_failed(report)) == failed


def test_no_replica_expected_where_the_environment_does_not_replicate(clients: StubbedClients) -> None:
    dev = next(e for e in DYNAMODB_SPEC["environments"] if not e["dr_replication"])
    report = pdc.Report("tenants")
    pdc._check_replicas(clients, report, dev, "tenants", {"TableName": "tenants"})
    assert _failed(report) == {} and [r.check for r in report.results] == ["replica regions"]


# -------------------------------------------------------------------------------------------- backup
def _backup_plan_responses(stub: Stubber, selection: dict[str, Any], management: bool) -> None:
    plan_id = "11111111-2222-3333-4444-555555555555"
    vault = PROD["backup"]["vault"]
    stub.add_response(
        "list_backup_plans",
        {"BackupPlansList": [{"BackupPlanName": vault, "BackupPlanId": plan_id}]},
    )
    rule = {
        "RuleName": PROD["backup"]["policy"],
        "TargetBackupVaultName": vault,
        "ScheduleExpression": PROD["backup"]["schedule"],
        "Lifecycle": {"DeleteAfterDays": PROD["backup"]["retention_days"]},
        "CopyActions": [
            {"DestinationBackupVaultArn": f"arn:aws:backup:{PROD['dr_region']}:{ACCOUNT}:backup-vault:{vault}-dr"}
        ],
    }
    stub.add_response(
        "get_backup_plan", {"BackupPlan": {"BackupPlanName": vault, "Rules": [rule]}}, {"BackupPlanId": plan_id}
    )
    stub.add_response(
        "list_backup_selections",
        {"BackupSelectionsList": [{"SelectionId": "sel-1", "BackupPlanId": plan_id}]},
        {"BackupPlanId": plan_id},
    )
    stub.add_response(
        "get_backup_selection",
        {"BackupSelection": selection, "SelectionId": "sel-1", "BackupPlanId": plan_id},
        {"BackupPlanId": plan_id, "SelectionId": "sel-1"},
    )
    stub.add_response(
        "describe_region_settings",
        {
            "ResourceTypeOptInPreference": {"DynamoDB": True, "S3": False},
            "ResourceTypeManagementPreference": {"DynamoDB": management, "EFS": False},
        },
    )


def _table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{PROD['region']}:{ACCOUNT}:table/{name}"


TABLES = pdc.backed_up_tables(DYNAMODB_SPEC, PROD)
POLICY_CONDITION = {
    "StringEquals": [{"ConditionKey": "aws:ResourceTag/BackupPolicy", "ConditionValue": PROD["backup"]["policy"]}]
}
GOOD_SELECTION = {
    "SelectionName": PROD["backup"]["policy"],
    "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{PROD['backup']['role']}",
    "Resources": [_table_arn(t) for t in TABLES],
    "Conditions": POLICY_CONDITION,
}


@pytest.mark.parametrize(
    ("selection", "management", "failed"),
    [
        (GOOD_SELECTION, True, set()),
        ({**GOOD_SELECTION, "Resources": [_table_arn(t) for t in TABLES[:-1]]}, True, {"backup selection tables"}),
        (
            {
                **GOOD_SELECTION,
                "Resources": [],
                "Conditions": {},
                "ListOfTags": [
                    {"ConditionType": "STRINGEQUALS", "ConditionKey": "BackupPolicy", "ConditionValue": "x"}
                ],
            },
            True,
            {"backup selection tables", "backup selection condition"},
        ),
        (GOOD_SELECTION, False, {"advanced DynamoDB backup"}),
    ],
    ids=["healthy", "table-missing", "tag-alone", "advanced-features-off"],
)
def test_backup_selection_and_advanced_features(
    clients: StubbedClients, selection: dict[str, Any], management: bool, failed: set[str]
) -> None:
    _backup_plan_responses(clients.stub("backup"), selection, management)
    report = pdc.check_backup(clients, PROD, "backup", TABLES)
    assert set(_failed(report)) == failed, report.results


# ---------------------------------------------------------------------------------- S3 replication
S3_PROD = next(e for e in S3_SPEC["environments"] if e["dr_replication"])
PURPOSE = S3_SPEC["templates_purpose"]
BUCKET = next(b for b in S3_SPEC["buckets"] if b["purpose"] == PURPOSE)


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


@pytest.mark.parametrize("defect", ["none", "missing", "stale", "no-rule"])
def test_every_template_is_in_the_dr_bucket_with_the_same_checksum(clients: StubbedClients, defect: str) -> None:
    source = clients.stub("s3")
    dr_bucket = BUCKET["dr_names"][S3_PROD["name"]]
    if defect == "no-rule":
        source.add_client_error("get_bucket_replication", "ReplicationConfigurationNotFoundError", http_status_code=404)
    else:
        source.add_response(
            "get_bucket_replication",
            {
                "ReplicationConfiguration": {
                    "Role": f"arn:aws:iam::{ACCOUNT}:role/r",
                    "Rules": [{"Status": "Enabled", "Destination": {"Bucket": f"arn:aws:s3:::{dr_bucket}"}}],
                }
            },
            {"Bucket": BUCKET["names"][S3_PROD["name"]]},
        )
    dr = clients.stub("s3", S3_PROD["dr_region"])
    keys = [key for key, _, _ in pdc.template_objects(S3_SPEC)]
    for index, key in enumerate(keys):
        data = (S3_REPO / "templates" / key).read_bytes()
        if index == 0 and defect == "missing":
            dr.add_client_error("get_object", "NoSuchKey", http_status_code=404)
            continue
        if index == 1 and defect == "stale":
            data = data + b"<!-- an older version -->"
        dr.add_response("get_object", {"Body": _body(data)}, {"Bucket": dr_bucket, "Key": key})
    report = pdc.Report(PURPOSE)
    pdc.check_replication(clients, S3_REPO, report, S3_SPEC, S3_PROD, PURPOSE)
    expected = {
        "none": set(),
        "missing": {f"DR copy {keys[0]}"},
        "stale": {f"DR copy {keys[1]}"},
        "no-rule": {"replication rule"},
    }[defect]
    assert set(_failed(report)) == expected
    assert len([r for r in report.results if r.check.startswith("DR copy")]) == len(keys)
    sha = hashlib.sha256((S3_REPO / "templates" / keys[2]).read_bytes()).hexdigest()
    assert any(r.actual == sha and r.ok for r in report.results)
