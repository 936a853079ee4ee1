"""The emulator's AWS Backup extension (tests/support/emulator_backup.py), which the rehearsal turns on.

emulator_gaps.BACKUP_SELECTION and BACKUP_REGION_SETTINGS_AND_VAULT_POLICY hold on plain moto
(tests/e2e/test_emulator_gaps.py); with the extension the same calls answer as AWS documents them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPOS
from tests.support.deploy import BACKUP_TAGS_IGNORED, apply, bootstrap_region_settings, prepare, read_spec
from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REGION = "af-south-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/tenants"
DYNAMODB = REPOS / "2_1_bbws_dynamodb_schemas"


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


def test_the_backup_root_applies_as_generated_and_plans_clean(tmp_path: Path) -> None:
    """With the extension, prod's backup root (selection, both vault policies) applies with
    only its tags worked around (emulator_gaps.BACKUP_TAGS), a second plan shows no change (the answers read
    back as terraform wrote them), and post_deploy_check.py passes every backup row."""
    spec = read_spec(DYNAMODB)
    env = next(e for e in spec["environments"] if e.get("dr_replication"))
    with moto_server(env["account_id"], env["region"], tmp_path / "moto.log", backup=True) as server:
        bootstrap_region_settings(server.client("backup"))
        deployment = prepare(DYNAMODB, tmp_path, env["name"], server, {"backup": BACKUP_TAGS_IGNORED})
        apply(deployment, "backup")
        code, text = deployment.plan_exit_code("backup")
        assert code == 0, text
        done = subprocess.run(
            [sys.executable, "scripts/post_deploy_check.py", "--env", env["name"], "--component", "backup"],
            cwd=deployment.repo,
            capture_output=True,
            text=True,
            env={**os.environ, **server.env(), "AWS_MAX_ATTEMPTS": "1"},
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backup selection tables" in done.stdout and "advanced DynamoDB backup" in done.stdout
