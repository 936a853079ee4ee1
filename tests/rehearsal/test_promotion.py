"""Scenario 5, the promotion that passes: one commit deployed to dev by deploy.yml, then promoted to sit
and to prod by promote.yml, run by act as committed against moto and the fake GitHub API.

A repo of its own (conftest.dynamodb_promotion: an account per environment; moto with the AWS Backup
calls it lacks, so the backup component passes its post-deploy and is recorded as deployed). The tests run
in this file's order, each from what the previous one left. Main moves on after the dev deployment (a
commit changing sit's and prod's Owner tag, never deployed): the promoted commit, not main's head, is what
reaches sit and prod.
Prod replicates its tables to the DR region, which moto cannot do (emulator_gaps.REPLICA_NEVER_ACTIVE):
the tables apply there without replicas and their post-deploy fails on the replica rows and nothing else,
so only backup is recorded as deployed in prod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from tests.rehearsal.conftest import DYNAMODB
from tests.rehearsal.harness import Rehearsal, Run, git
from tests.support.deploy import read_spec

pytestmark = pytest.mark.rehearsal

SPEC = read_spec(DYNAMODB)
ENVS = {e["name"]: e for e in SPEC["environments"]}
COMPONENTS = [c["name"] for c in SPEC["components"]]
TABLES = sorted(c["name"] for c in SPEC["components"] if c["kind"] != "backup")
JOBS = ("Plan {c} ({e})", "Apply {c} ({e})", "Post-deployment checks {c} ({e})", "Record deployment {c} ({e})")
# What the gap makes post_deploy_check.py find in prod for each table (emulator_gaps.REPLICA_NEVER_ACTIVE).
REPLICA_ROWS = ("replica regions", f"replica {ENVS['prod']['dr_region']} status")
# The sha deployed to dev, shared by the scenarios of this file.
PROMOTED: dict[str, str] = {}


def _explain(run: Run) -> str:
    return f"act exited {run.returncode}; jobs {json.dumps(run.results, indent=1)}; log {run.log}"


def _jobs(run: Run, component: str, env: str) -> dict[str, str | None]:
    return {job.format(c="", e="").strip(" ()"): run.result(job.format(c=component, e=env)) for job in JOBS}


def _tags(rehearsal: Rehearsal, env: str) -> dict[str, str]:
    """deployed/<env>/<component>/<sha> tags of the origin (written through the fake API): name -> commit."""
    names = git(rehearsal.origin, "tag", "--list", f"deployed/{env}/*").split()
    return {name: git(rehearsal.origin, "rev-parse", f"{name}^{{commit}}") for name in names}


def _credentials(rehearsal: Rehearsal, env: str) -> dict[str, str]:
    """Keys of a role in the environment's account (moto routes them to that account)."""
    sts = rehearsal.server.client("sts")
    role = f"arn:aws:iam::{ENVS[env]['account_id']}:role/rehearsal-admin"
    creds = sts.assume_role(RoleArn=role, RoleSessionName="rehearsal")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def _client(rehearsal: Rehearsal, env: str, service: str, region: str | None = None) -> Any:
    """A boto3 client in the environment's account (its primary region unless ``region``)."""
    creds = _credentials(rehearsal, env)
    return boto3.client(
        service,
        endpoint_url=rehearsal.server.endpoint,
        region_name=region or ENVS[env]["region"],
        aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=creds["AWS_SESSION_TOKEN"],
        verify=str(rehearsal.server.ca_bundle),
    )


def _table_tags(rehearsal: Rehearsal, env: str, table: str) -> dict[str, str]:
    dynamodb = _client(rehearsal, env, "dynamodb")
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    return {t["Key"]: t["Value"] for t in dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"]}


def _backup_plan(rehearsal: Rehearsal, env: str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The environment's backup plan and its selections, as AWS Backup answers them."""
    backup = _client(rehearsal, env, "backup")
    (listed,) = [p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"].endswith(env)]
    plan = backup.get_backup_plan(BackupPlanId=listed["BackupPlanId"])["BackupPlan"]
    selections = [
        backup.get_backup_selection(BackupPlanId=listed["BackupPlanId"], SelectionId=s["SelectionId"])[
            "BackupSelection"
        ]
        for s in backup.list_backup_selections(BackupPlanId=listed["BackupPlanId"])["BackupSelectionsList"]
    ]
    return plan, selections


def _promote(rehearsal: Rehearsal, target: str, sha: str) -> Run:
    return rehearsal.run(
        "promote.yml",
        "workflow_dispatch",
        {"ref": "refs/heads/main"},
        inputs={"target": target, "commit": sha},
        call_inputs={"environment": target},
    )


def _post_deploy_failures(rehearsal: Rehearsal, env: str, sha: str) -> set[tuple[str, str]]:
    """(check, component) of every failed row of scripts/post_deploy_check.py, run at ``sha`` against
    ``env`` with the environment's credentials: what the pipeline's post-deploy jobs found there."""
    tree = rehearsal.workdir / f"at-{sha[:12]}"
    if not tree.exists():
        git(rehearsal.origin, "worktree", "add", "-q", "--detach", str(tree), sha)
    done = subprocess.run(
        [sys.executable, "scripts/post_deploy_check.py", "--env", env],
        cwd=tree,
        capture_output=True,
        text=True,
        env={
            **os.environ,
            **rehearsal.server.env(),
            **_credentials(rehearsal, env),
            "AWS_MAX_ATTEMPTS": "1",
        },
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    failed = _failed(done.stdout)
    assert (done.returncode == 1) == bool(failed), done.stdout
    return failed


def _failed(stdout: str) -> set[tuple[str, str]]:
    """(check, component) of each ``FAIL`` in the failure list post_deploy_check.py prints last."""
    tail = stdout.split("FAILED: ", 1)[1].splitlines()[1:] if "FAILED: " in stdout else []
    found = set()
    for line in tail:
        component, rest = line.strip().split(": ", 1)
        found.add((rest.split(": expected ", 1)[0], component))
    return found


def test_push_deploys_every_component_to_dev(dynamodb_promotion: Rehearsal) -> None:
    """The first push to main (GitHub sends no previous commit): every component is planned, applied,
    checked and recorded in dev, backup included (its selection exists on this moto; the region settings
    are the bootstrap's, made by the harness)."""
    sha = dynamodb_promotion.head()
    run = dynamodb_promotion.run("deploy.yml", "push", {"ref": "refs/heads/main", "before": "0" * 40, "after": sha})
    assert run.returncode == 0, _explain(run)
    for component in COMPONENTS:
        assert set(_jobs(run, component, "dev").values()) == {"success"}, (component, _explain(run))
    assert _tags(dynamodb_promotion, "dev") == {f"deployed/dev/{c}/{sha}": sha for c in COMPONENTS}
    PROMOTED["sha"] = sha
    # Main moves on: a change merged after the dev deployment, not deployed anywhere, must not be promoted.
    edits = {}
    for env in ("sit", "prod"):
        path = f"environments/{env}.tfvars"
        text = (dynamodb_promotion.origin / path).read_text()
        assert text.count('Owner        = "Tebogo"') == 1
        edits[path] = text.replace('Owner        = "Tebogo"', 'Owner        = "Not promoted"')
    dynamodb_promotion.commit("sit and prod: a later change, not deployed", edits)


def test_promote_the_dev_commit_to_sit(dynamodb_promotion: Rehearsal) -> None:
    """promote.yml to sit with the commit deployed to dev: the tag check finds every component in dev at
    that commit, each component is planned, applied at that commit with sit's apply role, checked and
    recorded; the tables and the backup plan exist in sit's account, as the promoted commit says."""
    sha = PROMOTED["sha"]
    assert dynamodb_promotion.head() != sha
    run = _promote(dynamodb_promotion, "sit", sha)
    assert run.returncode == 0, _explain(run)
    for job in ("Verify the commit in the environment before sit", "Approve promotion to sit"):
        assert run.result(job) == "success", _explain(run)
    (summary,) = run.summaries("Verify the commit in the environment before sit").values()
    for component in COMPONENTS:
        assert f"| {component} | `{sha}` |" in summary, summary
        assert set(_jobs(run, component, "sit").values()) == {"success"}, (component, _explain(run))
    assert _tags(dynamodb_promotion, "sit") == {f"deployed/sit/{c}/{sha}": sha for c in COMPONENTS}
    applied = {r["role"] for r in run.assumed_roles() if r["job"] == "apply"}
    assert applied == {SPEC["github"]["roles"]["sit"]["apply"]["arn"]}
    assert {r["claims"]["sub"] for r in run.assumed_roles() if r["job"] == "apply"} == {
        f"repo:{dynamodb_promotion.repository}:environment:sit"
    }
    assert sorted(_client(dynamodb_promotion, "sit", "dynamodb").list_tables()["TableNames"]) == TABLES
    for table in TABLES:
        assert _table_tags(dynamodb_promotion, "sit", table)["Owner"] == "Tebogo", "main's head was applied"
    plan, (selection,) = _backup_plan(dynamodb_promotion, "sit")
    assert [r["Lifecycle"]["DeleteAfterDays"] for r in plan["Rules"]] == [ENVS["sit"]["backup"]["retention_days"]]
    assert sorted(arn.rsplit("/", 1)[1] for arn in selection["Resources"]) == TABLES
    assert _post_deploy_failures(dynamodb_promotion, "sit", sha) == set()
    # dev was not touched: no second dev tag, and nothing in prod yet.
    assert len(_tags(dynamodb_promotion, "dev")) == len(COMPONENTS)
    assert _client(dynamodb_promotion, "prod", "dynamodb").list_tables()["TableNames"] == []


def test_promote_the_same_commit_to_prod(dynamodb_promotion: Rehearsal) -> None:
    """promote.yml to prod with the same commit: the tag check reads sit's tags; every component is
    applied in prod's account (deletion protection on, backups copied to the DR region's vault).

    The tables' post-deploy fails on the DR replica rows and on nothing else (emulator_gaps.
    REPLICA_NEVER_ACTIVE: moto never makes the replica), so their record jobs do not run; backup passes
    and is recorded. The replica itself is checked in the real root's plan (test_dynamodb_apply.py)."""
    sha = PROMOTED["sha"]
    run = _promote(dynamodb_promotion, "prod", sha)
    assert run.result("Verify the commit in the environment before prod") == "success", _explain(run)
    (summary,) = run.summaries("Verify the commit in the environment before prod").values()
    assert "from sit to prod" in summary
    for component in COMPONENTS:
        assert f"| {component} | `{sha}` |" in summary, summary
    assert run.result("Approve promotion to prod") == "success"
    assert set(_jobs(run, "backup", "prod").values()) == {"success"}, _explain(run)
    for table in TABLES:
        jobs = _jobs(run, table, "prod")
        assert (jobs["Plan"], jobs["Apply"], jobs["Post-deployment checks"]) == ("success", "success", "failure")
        assert jobs["Record deployment"] is None, f"{table} was recorded in prod"
    assert _post_deploy_failures(dynamodb_promotion, "prod", sha) == {(row, t) for t in TABLES for row in REPLICA_ROWS}
    assert _tags(dynamodb_promotion, "prod") == {f"deployed/prod/backup/{sha}": sha}
    dynamodb = _client(dynamodb_promotion, "prod", "dynamodb")
    assert sorted(dynamodb.list_tables()["TableNames"]) == TABLES
    for table in TABLES:
        assert dynamodb.describe_table(TableName=table)["Table"]["DeletionProtectionEnabled"] is True
        assert _table_tags(dynamodb_promotion, "prod", table)["Owner"] == "Tebogo", "main's head was applied"
    plan, _selections = _backup_plan(dynamodb_promotion, "prod")
    (copy,) = [c for r in plan["Rules"] for c in r.get("CopyActions", [])]
    dr_region = ENVS["prod"]["dr_region"]
    assert copy["DestinationBackupVaultArn"].split(":")[3] == dr_region
    vaults = _client(dynamodb_promotion, "prod", "backup", region=dr_region).list_backup_vaults()["BackupVaultList"]
    assert copy["DestinationBackupVaultArn"] in {v["BackupVaultArn"] for v in vaults}
    applied = {r["role"] for r in run.assumed_roles() if r["job"] == "apply"}
    assert applied == {SPEC["github"]["roles"]["prod"]["apply"]["arn"]}
    assert set(_tags(dynamodb_promotion, "sit")) == {f"deployed/sit/{c}/{sha}" for c in COMPONENTS}
