"""The generated DynamoDB repo, applied for real: terraform + S3 backend + moto server on 127.0.0.1.

Emulator gaps (entries of tests/support/emulator_gaps.py), each worked around only in the test's copy of a
root through an override file, and asserted around:
- REPLICA_NEVER_ACTIVE: the copy sets ``replica_regions = []``;
  ``test_prod_replicates_tables_to_the_dr_region`` checks the real root's plan;
- BACKUP_TAGS: the copy ignores tag changes on Backup vaults and plans only;
- BACKUP_SELECTION, BACKUP_REGION_SETTINGS_AND_VAULT_POLICY: the copy sets ``count = 0`` on them;
  ``test_backup_resources_the_emulator_lacks_as_planned`` checks them in the real root's plan.

The destructive-change guard runs on real plans of the applied dev table, changed in place and restored
(``-refresh=false``: the guard reads the diff, not the emulator): an LSI, a sort key, a destroy (blocked),
a GSI plus changed tags (passes), and the plan job's own step with its ``allow_replace`` input.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPOS
from tests.support import tf
from tests.support.deploy import (
    BACKUP_GAPS,
    BACKUP_TAGS_IGNORED,
    NO_REPLICA,
    NO_SELECTION,
    NO_VAULT_POLICY,
    Deployment,
    deploy,
    plan_json,
    read_spec,
)
from tests.support.moto import moto_server

pytestmark = pytest.mark.e2e

REPO = REPOS / "2_1_bbws_dynamodb_schemas"
SPEC = read_spec(REPO)
TABLES = sorted(p.stem for p in (REPO / "schemas").glob("*.json") if not p.name.endswith(".schema.json"))
COMPONENTS = [c["name"] for c in SPEC["components"]]

OVERRIDES = {**{t: NO_REPLICA for t in TABLES}, "backup": BACKUP_GAPS}

# What the customer asked for on every resource (DESIGN.md, the customer's answers Q7.2).
MANDATORY_TAGS = {"Environment", "Project", "Owner", "CostCenter", "ManagedBy", "Component", "BackupPolicy"}
FIXED_TAGS = {
    "Project": "BBWS WP Containers",
    "Owner": "Tebogo",
    "CostCenter": "AWS",
    "ManagedBy": "Terraform",
}


def _env(name: str) -> dict[str, Any]:
    return next(e for e in SPEC["environments"] if e["name"] == name)


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Every component of the repo applied to one environment of a fresh moto server for its account."""
    env = _env(request.param)
    workdir = tmp_path_factory.mktemp(f"dynamodb-{env['name']}")
    with moto_server(env["account_id"], env["region"], workdir / "moto.log") as server:
        yield deploy(REPO, workdir, env["name"], server, OVERRIDES)


def _schema(table: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((REPO / "schemas" / f"{table}.json").read_text())
    return loaded


def _index_set(indexes: list[dict[str, Any]]) -> set[tuple[str, str, str | None, str]]:
    """(name, hash key, range key, projection) from a schema file's index list."""
    return {
        (
            i["indexName"],
            i["partitionKey"]["name"],
            i.get("sortKey", {}).get("name"),
            i.get("projectionType", "ALL"),
        )
        for i in indexes
    }


def _described_index_set(indexes: list[dict[str, Any]]) -> set[tuple[str, str, str | None, str]]:
    result = set()
    for index in indexes:
        keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
        result.add((index["IndexName"], keys["HASH"], keys.get("RANGE"), index["Projection"]["ProjectionType"]))
    return result


@pytest.mark.parametrize("component", COMPONENTS)
def test_second_plan_shows_no_changes(deployed: Deployment, component: str) -> None:
    code, text = deployed.plan_exit_code(component)
    assert code == 0, f"{component} in {deployed.env} is not idempotent:\n{text[-3000:]}"


@pytest.mark.parametrize("table", TABLES)
def test_table_matches_its_schema_file(deployed: Deployment, table: str) -> None:
    schema = _schema(table)
    dynamodb = deployed.server.client("dynamodb")
    described = dynamodb.describe_table(TableName=table)["Table"]

    keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
    assert keys["HASH"] == schema["primaryKey"]["partitionKey"]["name"]
    assert keys.get("RANGE") == schema["primaryKey"].get("sortKey", {}).get("name")
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
    declared = {a["name"]: a["type"] for a in schema.get("attributes", [])}
    declared.update({k["name"]: k["type"] for k in schema["primaryKey"].values()})
    assert attribute_types == {name: declared[name] for name in attribute_types}
    assert _described_index_set(described.get("GlobalSecondaryIndexes", [])) == _index_set(
        schema.get("globalSecondaryIndexes", [])
    )
    assert _described_index_set(described.get("LocalSecondaryIndexes", [])) == _index_set(
        schema.get("localSecondaryIndexes", [])
    )
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    streams = schema.get("streams", {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})
    assert described["StreamSpecification"]["StreamEnabled"] is streams["enabled"]
    if streams["enabled"]:
        assert described["StreamSpecification"]["StreamViewType"] == streams["viewType"]
    assert described["SSEDescription"]["Status"] == "ENABLED"
    assert described["SSEDescription"]["SSEType"] == "KMS"
    assert ":key/" in described["SSEDescription"]["KMSMasterKeyArn"], "encrypted with the table's own KMS key"
    assert described["DeletionProtectionEnabled"] is _env(deployed.env)["deletion_protection"]

    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    assert pitr == ("ENABLED" if schema.get("pitr", {"enabled": True})["enabled"] else "DISABLED")
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if schema.get("ttl", {}).get("enabled"):
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": schema["ttl"]["attributeName"]}
    else:
        assert ttl["TimeToLiveStatus"] == "DISABLED"

    tags = {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"]}
    assert set(tags) >= MANDATORY_TAGS
    assert {k: tags[k] for k in FIXED_TAGS} == FIXED_TAGS
    assert tags["Environment"] == deployed.env
    assert tags["Component"] == table
    backup_on = schema.get("backup", {}).get(deployed.env, True)
    assert tags["BackupPolicy"] == (_env(deployed.env)["backup"]["policy"] if backup_on else "none")


def test_backup_plan_selects_tables_by_policy_tag(deployed: Deployment) -> None:
    env = _env(deployed.env)
    backup = deployed.server.client("backup")
    plans = {p["BackupPlanName"]: p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]}
    plan = backup.get_backup_plan(BackupPlanId=plans[env["backup"]["vault"]])["BackupPlan"]
    (rule,) = plan["Rules"]
    assert rule["ScheduleExpression"] == env["backup"]["schedule"]
    assert rule["StartWindowMinutes"] == env["backup"]["start_window_minutes"]
    assert rule["CompletionWindowMinutes"] == env["backup"]["completion_window_minutes"]
    assert rule["CompletionWindowMinutes"] < {"hourly": 180, "daily": 24 * 60}[env["backup"]["policy"].split("-")[1]]
    assert rule["Lifecycle"]["DeleteAfterDays"] == env["backup"]["retention_days"]
    copies = rule.get("CopyActions", [])
    if env["dr_replication"]:
        assert len(copies) == 1 and f":{env['dr_region']}:" in copies[0]["DestinationBackupVaultArn"]
    else:
        assert copies == []


def _plan_without(deployed: Deployment, component: str, gap: str, workdir: Path) -> dict[str, Any]:
    """Plan ``component`` with one emulator workaround taken out of its override file."""
    override = deployed.root(component) / "emulator_override.tf"
    text = override.read_text()
    override.write_text(text.replace(gap, ""))
    try:
        return plan_json(deployed, component, workdir)
    finally:
        override.write_text(text)


def _changes(plan: dict[str, Any]) -> dict[str, Any]:
    return {c["address"]: c["change"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}


def test_backup_resources_the_emulator_lacks_as_planned(deployed: Deployment, tmp_path: Path) -> None:
    """Selection and vault policies, from the real root's plan (moto implements neither); the region settings
    are no longer this root's (bootstrap/ owns them: test_region_settings_move.py)."""
    env = _env(deployed.env)
    account = env["account_id"]
    plan = _plan_without(deployed, "backup", NO_SELECTION + NO_VAULT_POLICY, tmp_path)
    changes = _changes(plan)
    vault_policies = {"aws_backup_vault_policy.this"} | (
        {"aws_backup_vault_policy.dr[0]"} if env["dr_replication"] else set()
    )
    assert set(changes) == {"aws_backup_selection.tables[0]"} | vault_policies

    # Exactly this repo's tables, by ARN, and only while they carry the environment's policy tag.
    selection = changes["aws_backup_selection.tables[0]"]["after"]
    backed_up = [t for t in TABLES if _schema(t).get("backup", {}).get(deployed.env, True)]
    assert sorted(selection["resources"]) == [
        f"arn:aws:dynamodb:{env['region']}:{account}:table/{t}" for t in backed_up
    ]
    assert selection["selection_tag"] == []
    (condition,) = selection["condition"]
    assert condition["string_equals"] == [{"key": "aws:ResourceTag/BackupPolicy", "value": env["backup"]["policy"]}]

    for address in vault_policies:
        (deny,) = json.loads(changes[address]["after"]["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Principal"] == {"AWS": "*"}
        assert {"backup:DeleteRecoveryPoint", "backup:UpdateRecoveryPointLifecycle"} <= set(deny["Action"])
        roles = deployed.spec["github"]["roles"][deployed.env]
        assert deny["Condition"] == {"ArnLike": {"aws:PrincipalArn": [roles["plan"]["arn"], roles["apply"]["arn"]]}}


def test_backup_role_is_trusted_by_backup_for_this_account_only(deployed: Deployment) -> None:
    iam = deployed.server.client("iam")
    role = iam.get_role(RoleName=_env(deployed.env)["backup"]["role"])["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": deployed.server.account_id}}
    attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
    assert sorted(p["PolicyName"] for p in attached) == [
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
    ]
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []


def test_each_component_has_its_own_state_file(deployed: Deployment) -> None:
    s3 = deployed.server.client("s3")
    bucket = _env(deployed.env)["state_bucket"]
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    assert keys == {f"2_1_bbws_dynamodb_schemas/{c}/terraform.tfstate" for c in COMPONENTS}


def test_backup_tags_the_emulator_does_not_read_back(deployed: Deployment, tmp_path: Path) -> None:
    """emulator_gaps.BACKUP_TAGS: without its workaround, the second plan only adds back the mandatory tags."""
    env = _env(deployed.env)
    changes = _changes(_plan_without(deployed, "backup", BACKUP_TAGS_IGNORED, tmp_path))
    vaults = {"aws_backup_vault.this"} | ({"aws_backup_vault.dr[0]"} if env["dr_replication"] else set())
    assert set(changes) == {"aws_backup_plan.this"} | vaults
    for change in changes.values():
        assert change["actions"] == ["update"]
        differ = {k for k in change["after"] if change["after"][k] != change["before"].get(k)}
        assert differ == {"tags_all"} and change["before"]["tags_all"] == {}
        assert set(change["after"]["tags_all"]) == MANDATORY_TAGS


def test_prod_replicates_tables_to_the_dr_region(deployed: Deployment, tmp_path: Path) -> None:
    """The replica the emulator cannot create: without the override, the real root plans exactly that."""
    env = _env(deployed.env)
    changes = _changes(_plan_without(deployed, TABLES[0], NO_REPLICA, tmp_path))
    if not env["dr_replication"]:
        assert changes == {}
        return
    assert set(changes) == {"aws_dynamodb_table.this"}
    after = changes["aws_dynamodb_table.this"]["after"]
    assert [r["region_name"] for r in after["replica"]] == [env["dr_region"]]
    assert after["replica"][0]["point_in_time_recovery"] is True


# ------------------------------------------------------------------------ destructive-change guard
# Real plans of the applied dev table, changed the ways that destroy data (and ways that do not), read by
# the shipped scripts/check_plan_safety.py. One environment is enough: the guard reads the plan only.
LSI = """  local_secondary_index {
    name            = "EmailLocalIndex"
    range_key       = "email"
    projection_type = "ALL"
  }

"""
GSI = """  attribute {
    name = "organizationName"
    type = "S"
  }

  global_secondary_index {
    name            = "OrganizationIndex"
    hash_key        = "organizationName"
    projection_type = "ALL"
  }

"""
PITR_ANCHOR = "  point_in_time_recovery {\n"
GUARDED = "tenants"
# The sort key becomes dateCreated; SK, no longer a key, must leave the attribute list.
SORT_KEY_EDIT = [
    ('  range_key                   = "SK"\n', '  range_key                   = "dateCreated"\n'),
    ('  attribute {\n    name = "SK"\n    type = "S"\n  }\n\n', ""),
]


@contextmanager
def _edited(path: Path, edits: list[tuple[str, str]]) -> Iterator[None]:
    text = changed = path.read_text()
    for old, new in edits:
        assert old in changed, f"{old!r} not in {path}"
        changed = changed.replace(old, new, 1)
    path.write_text(changed)
    try:
        yield
    finally:
        path.write_text(text)


def _guard_plan(deployed: Deployment, workdir: Path, *extra: str) -> Path:
    """Save a plan of the guarded table (as the plan job does: tfplan in the root) and its JSON."""
    root = deployed.root(GUARDED)
    tf.run(
        ["plan", "-refresh=false", "-out=tfplan", f"-var-file=../../environments/{deployed.env}.tfvars", *extra],
        root,
        deployed.tf_env(),
    )
    shown = tf.run(["show", "-json", "tfplan"], root, deployed.tf_env())
    path = workdir / "plan.json"
    path.write_text(shown.stdout)
    return path


def _guard(plan: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_plan_safety.py"), str(plan), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def dev_only(deployed: Deployment) -> Deployment:
    if deployed.env != "dev":
        pytest.skip("the guard reads the plan only, whatever the environment; dev alone keeps CI time down")
    return deployed


@pytest.mark.parametrize(
    ("edit", "forced_by"),
    [
        pytest.param([(PITR_ANCHOR, LSI + PITR_ANCHOR)], "local_secondary_index", id="add-lsi"),
    ],
)
def test_guard_blocks_a_replaced_table(
    dev_only: Deployment, tmp_path: Path, edit: list[tuple[str, str]], forced_by: str
) -> None:
    with _edited(dev_only.root(GUARDED) / "main.tf", edit):
        plan = _guard_plan(dev_only, tmp_path)
    result = _guard(plan)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("BLOCKED aws_dynamodb_table.this:"))
    assert f"changing {forced_by}" in line and "docs/runbooks/destructive-changes.md#a-dynamodb-table" in line
    # Allowed by exact address it passes; a near miss or another component's allowance does not.
    assert _guard(plan, "--allow", "aws_dynamodb_table.this").returncode == 0
    assert _guard(plan, "--allow", "aws_dynamodb_table.that").returncode == 1
    assert _guard(plan, "--component", GUARDED, "--allow", "products:aws_dynamodb_table.this").returncode == 1


def test_guard_blocks_removing_a_table(dev_only: Deployment, tmp_path: Path) -> None:
    plan = _guard_plan(dev_only, tmp_path, "-destroy")
    result = _guard(plan)
    assert result.returncode == 1
    blocked = {x.split(":")[0] for x in result.stdout.splitlines() if x.startswith("BLOCKED")}
    assert blocked == {"BLOCKED aws_dynamodb_table.this", "BLOCKED aws_kms_key.table"}


def test_guard_passes_a_new_gsi_and_changed_tags(dev_only: Deployment, tmp_path: Path) -> None:
    tfvars = dev_only.repo / "environments" / "dev.tfvars"
    with (
        _edited(dev_only.root(GUARDED) / "main.tf", [(PITR_ANCHOR, GSI + PITR_ANCHOR)]),
        _edited(tfvars, [('Owner        = "Tebogo"', 'Owner        = "Platform"')]),
    ):
        plan = _guard_plan(dev_only, tmp_path)
    actions = {c["address"]: c["change"]["actions"] for c in json.loads(plan.read_text())["resource_changes"]}
    assert actions["aws_dynamodb_table.this"] == ["update"]
    assert actions["aws_kms_key.table"] == ["update"], "the tag change reaches the key too"
    result = _guard(plan)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No stateful resource is deleted or replaced." in result.stdout


def _workflow_step(name: str) -> str:
    doc = yaml.safe_load((REPO / ".github" / "workflows" / "terraform-component.yml").read_text())
    return str(next(s for s in doc["jobs"]["plan"]["steps"] if s.get("name") == name)["run"])


# (allow_replace input, exit code of the step): exact component-qualified addresses only, never evaluated.
ALLOW_CASES = [
    ("", 1),
    (f"products:aws_dynamodb_table.this, {GUARDED}:aws_dynamodb_table.this", 0),
    ("products:aws_dynamodb_table.this", 1),  # another component's table: not this one
    # Not evaluated by any shell, and refused by the script (malformed entries: unit tests).
    (f"{GUARDED}:aws_dynamodb_table.this;touch${{IFS}}pwned $(touch pwned) `touch pwned`", 2),
]


def test_plan_job_runs_the_guard_with_the_allow_input(dev_only: Deployment, tmp_path: Path) -> None:
    """The plan job's own step, run by bash on a real saved plan; the input never reaches a shell parser."""
    with _edited(dev_only.root(GUARDED) / "main.tf", SORT_KEY_EDIT):
        plan = _guard_plan(dev_only, tmp_path)
    # A changed sort key replaces the table (this plan also serves the step's runs below).
    result = _guard(plan)
    assert result.returncode == 1, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("BLOCKED aws_dynamodb_table.this:"))
    assert "changing range_key forces a new resource" in line
    step = _workflow_step("Check the plan for deleted or replaced data")
    for allow, code in ALLOW_CASES:
        summary = tmp_path / "summary.md"
        summary.write_text("")
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step],
            cwd=dev_only.repo,
            env={
                **os.environ,
                **dev_only.tf_env(),
                "COMPONENT": GUARDED,
                "ALLOW_REPLACE": allow,
                "GITHUB_STEP_SUMMARY": str(summary),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == code, f"{allow!r}: {result.stdout}{result.stderr}"
        assert not (dev_only.repo / "pwned").exists()
        if code != 2:
            text = summary.read_text()
            assert "| `aws_dynamodb_table.this` |" in text
            assert ("| allowed |" if code == 0 else "| blocked |") in text
            assert ("`allow_replace` given to this run: " in text) == bool(allow)
