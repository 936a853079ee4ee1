"""Each gap listed in tests/support/emulator_gaps.py is still there with the pinned moto.

When a moto upgrade closes a gap, its probe here fails: drop the entry and the workaround it names.
The gaps seen only through terraform (a diff on a second plan) are asserted by the e2e test that works
around them, with the workaround taken out.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import boto3
import pytest

from tests.support import emulator_gaps as gaps
from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REGION = "af-south-1"
DR_REGION = "eu-west-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(ACCOUNT, REGION, tmp_path_factory.mktemp("gaps") / "moto.log") as started:
        yield started


def _status(call: Any) -> int:
    """The HTTP status an emulator call answers with (200 when it succeeds)."""
    try:
        call()
    except Exception as error:  # botocore's ClientError, raised per client class
        return int(error.response["ResponseMetadata"]["HTTPStatusCode"])  # type: ignore[attr-defined]
    return 200


def test_the_list_names_the_pinned_moto() -> None:
    assert version("moto") == gaps.MOTO_VERSION, "a new moto: check every gap again, then update MOTO_VERSION"
    assert all(gap.moto == gaps.MOTO_VERSION for gap in gaps.GAPS.values())


def test_replica_never_appears(server: MotoServer) -> None:
    """REPLICA_NEVER_ACTIVE: the ReplicaUpdates of UpdateTable are dropped, so no replica ever turns ACTIVE."""
    dynamodb = server.client("dynamodb")
    dynamodb.create_table(
        TableName="gap-replica",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.update_table(TableName="gap-replica", ReplicaUpdates=[{"Create": {"RegionName": DR_REGION}}])
    replicas = dynamodb.describe_table(TableName="gap-replica")["Table"].get("Replicas", [])
    assert [r for r in replicas if r.get("ReplicaStatus") == "ACTIVE"] == []


def test_backup_selection_region_settings_and_vault_policy_are_missing(server: MotoServer) -> None:
    """BACKUP_SELECTION and BACKUP_REGION_SETTINGS_AND_VAULT_POLICY: 500s and 404s instead of answers.

    The region settings are answered by the tests' emulator (RegionSettingsResponse), so their gap is probed
    in moto itself: its BackupResponse has no handler for them, which is what made it answer 404.
    """
    backup = boto3.client(
        "backup", **_kwargs(server), config=boto3.session.Config(retries={"max_attempts": 1, "mode": "standard"})
    )
    backup.create_backup_vault(BackupVaultName="gap-vault")
    plan = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": "gap", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "gap-vault"}]}
    )
    plan_id = plan["BackupPlanId"]
    selection = {"SelectionName": "s", "IamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/backup", "Resources": ["*"]}
    assert _status(lambda: backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection)) == 500
    assert _status(lambda: backup.list_backup_selections(BackupPlanId=plan_id)) == 500
    from moto.backup.responses import BackupResponse
    from moto.backup.urls import url_paths

    assert not hasattr(BackupResponse, "update_region_settings")
    assert not hasattr(BackupResponse, "describe_region_settings")
    assert not any("account-settings" in path for path in url_paths), "moto routes /account-settings"
    assert _status(lambda: backup.put_backup_vault_access_policy(BackupVaultName="gap-vault", Policy="{}")) == 404


def test_backup_tags_are_read_back_only_with_a_trailing_slash(server: MotoServer) -> None:
    """BACKUP_TAGS: ListTags as the AWS provider sends it (no trailing slash) answers no tags."""
    backup = server.client("backup")
    arn = backup.create_backup_vault(BackupVaultName="gap-tags", BackupVaultTags={"Owner": "x"})["BackupVaultArn"]
    assert backup.list_tags(ResourceArn=arn)["Tags"] == {"Owner": "x"}, "boto3's path ends with a slash"
    context = ssl.create_default_context(cafile=str(server.ca_bundle))
    # A SigV4-shaped header so that moto routes the call to Backup; moto does not check signatures.
    credential = f"testing/20260101/{REGION}/backup/aws4_request"
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=0"}
    request = urllib.request.Request(f"{server.endpoint}/tags/{arn}", headers=headers)
    with urllib.request.urlopen(request, context=context, timeout=10) as answer:
        assert json.load(answer) == {"Tags": {}}


def test_replication_rule_comes_back_changed_and_never_copies_objects(server: MotoServer) -> None:
    """DELETE_MARKER_REPLICATION_DIFF and NO_REPLICATION: the rule is kept, but not as sent; no object is copied."""
    for bucket, region in (("gap-source", REGION), ("gap-destination", DR_REGION)):
        s3 = server.client("s3", region=region)
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    source = server.client("s3")
    rule = {
        "ID": "all",
        "Priority": 0,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
        "Destination": {"Bucket": "arn:aws:s3:::gap-destination"},
    }
    role = f"arn:aws:iam::{ACCOUNT}:role/replication"
    source.put_bucket_replication(Bucket="gap-source", ReplicationConfiguration={"Role": role, "Rules": [rule]})
    (kept,) = source.get_bucket_replication(Bucket="gap-source")["ReplicationConfiguration"]["Rules"]
    assert kept["DeleteMarkerReplication"] == {"Status": "Disabled"}
    assert "SourceSelectionCriteria" not in kept
    source.put_object(Bucket="gap-source", Key="k", Body=b"x")
    assert server.client("s3", region=DR_REGION).list_objects_v2(Bucket="gap-destination")["KeyCount"] == 0


def test_iam_is_not_enforced(server: MotoServer) -> None:
    """IAM_NOT_ENFORCED: a user without any policy lists the buckets."""
    iam = server.client("iam")
    iam.create_user(UserName="gap-nobody")
    key = iam.create_access_key(UserName="gap-nobody")["AccessKey"]
    nobody = boto3.client(
        "s3",
        **{**_kwargs(server), "aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]},
    )
    assert _status(nobody.list_buckets) == 200


def _kwargs(server: MotoServer) -> dict[str, Any]:
    return {
        "endpoint_url": server.endpoint,
        "region_name": server.region,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "verify": str(server.ca_bundle),
    }
