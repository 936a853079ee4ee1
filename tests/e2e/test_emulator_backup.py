"""The emulator's AWS Backup extension (tests/support/emulator_backup.py), which the rehearsal turns on.

emulator_gaps.BACKUP_SELECTION and BACKUP_REGION_SETTINGS_AND_VAULT_POLICY hold on plain moto
(tests/e2e/test_emulator_gaps.py); with the extension the same calls answer as AWS documents them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REGION = "af-south-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenants"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    with moto_server(ACCOUNT, REGION, tmp_path_factory.mktemp("backup") / "moto.log", backup=True) as started:
        yield started


def _code(call: object) -> str:
    try:
        call()  # type: ignore[operator]
    except Exception as error:  # botocore's ClientError, raised per client class
        return str(error.response["Error"]["Code"])  # type: ignore[attr-defined]
    return "OK"


def test_selections_are_kept_as_sent(server: MotoServer) -> None:
    backup = server.client("backup")
    backup.create_backup_vault(BackupVaultName="v")
    plan_id = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": "p", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "v"}]}
    )["BackupPlanId"]
    other = backup.create_backup_plan(
        BackupPlan={"BackupPlanName": "q", "Rules": [{"RuleName": "r", "TargetBackupVaultName": "v"}]}
    )["BackupPlanId"]
    sent = {
        "SelectionName": "daily",
        "IamRoleArn": ROLE,
        "Resources": [TABLE],
        "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/BackupPolicy", "ConditionValue": "daily"}]},
    }
    created = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=sent)
    selection_id = created["SelectionId"]
    got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert got["BackupSelection"] == sent and got["BackupPlanId"] == plan_id
    (listed,) = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    assert (listed["SelectionId"], listed["SelectionName"], listed["IamRoleArn"]) == (selection_id, "daily", ROLE)
    assert backup.list_backup_selections(BackupPlanId=other)["BackupSelectionsList"] == []
    assert _code(lambda: backup.get_backup_selection(BackupPlanId=other, SelectionId=selection_id)) == (
        "ResourceNotFoundException"
    )
    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
    assert backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
    assert _code(lambda: backup.create_backup_selection(BackupPlanId="nope", BackupSelection=sent)) == (
        "ResourceNotFoundException"
    )


def test_region_settings_are_per_region_and_merged(server: MotoServer) -> None:
    backup = server.client("backup")
    other_region = server.client("backup", region="eu-west-1")
    assert backup.describe_region_settings()["ResourceTypeManagementPreference"] == {}
    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": True})
    backup.update_region_settings(ResourceTypeOptInPreference={"DynamoDB": True}, ResourceTypeManagementPreference={})
    settings = backup.describe_region_settings()
    assert settings["ResourceTypeManagementPreference"] == {"DynamoDB": True}
    assert settings["ResourceTypeOptInPreference"] == {"DynamoDB": True}
    assert other_region.describe_region_settings()["ResourceTypeManagementPreference"] == {}


def test_vault_access_policies_are_stored(server: MotoServer) -> None:
    backup = server.client("backup")
    backup.create_backup_vault(BackupVaultName="guarded")
    assert _code(lambda: backup.get_backup_vault_access_policy(BackupVaultName="guarded")) == (
        "ResourceNotFoundException"
    )
    policy = json.dumps({"Version": "2012-10-17", "Statement": []})
    backup.put_backup_vault_access_policy(BackupVaultName="guarded", Policy=policy)
    got = backup.get_backup_vault_access_policy(BackupVaultName="guarded")
    assert (got["BackupVaultName"], got["Policy"]) == ("guarded", policy)
    assert got["BackupVaultArn"].endswith(":backup-vault:guarded")
    backup.delete_backup_vault_access_policy(BackupVaultName="guarded")
    assert _code(lambda: backup.get_backup_vault_access_policy(BackupVaultName="guarded")) == (
        "ResourceNotFoundException"
    )
    assert _code(lambda: backup.put_backup_vault_access_policy(BackupVaultName="absent", Policy=policy)) != "OK"
