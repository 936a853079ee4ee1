"""AWS Backup's region settings move from terraform/backup to bootstrap/ with no change in AWS.

Earlier releases' backup root created ``aws_backup_region_settings.this`` with the apply role; now the
DynamoDB repo's bootstrap owns it (an account setting no pipeline role may change). An account deployed
before the move, on the emulator (tests/support/emulator.py answers the region settings, which moto lacks:
emulator_gaps.BACKUP_REGION_SETTINGS_AND_VAULT_POLICY), upgraded in the order of the first-deployment
runbook ("Upgrading"):

1. the backup root as it was (the resource where its ``removed`` block now is) is applied: DynamoDB is
   turned on;
2. the bootstrap, with ``adopt_backup_region_settings``, plans an import and nothing else for it;
3. the new backup root plans to forget the settings (``removed``, ``destroy = false``), destroys nothing,
   passes scripts/check_plan_safety.py, and is applied;

the settings in AWS stay as step 1 left them, and each root's next plan is empty.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPOS
from tests.e2e.test_bootstrap_apply import ACCOUNT_PIECES, Bootstrap
from tests.support import tf
from tests.support.deploy import Deployment, apply, dynamodb_overrides, prepare, read_spec
from tests.support.moto import moto_server

pytestmark = pytest.mark.e2e

REPO = REPOS / "2_1_bbws_dynamodb_schemas"
ENV = "dev"
ADDRESS = "aws_backup_region_settings.this"
# What terraform/backup/main.tf holds now, and what it held before the move (the previous release, verbatim).
REMOVED = """removed {
  from = aws_backup_region_settings.this

  lifecycle {
    destroy = false
  }
}
"""
BEFORE = """resource "aws_backup_region_settings" "this" {
  resource_type_opt_in_preference = {
    DynamoDB = true
  }

  resource_type_management_preference = {
    DynamoDB = true
  }

  lifecycle {
    ignore_changes = [resource_type_opt_in_preference, resource_type_management_preference]
  }
}
"""
ADOPT = "-var=adopt_backup_region_settings=true"


def _settings(deployment: Deployment) -> dict[str, Any]:
    answer = deployment.server.client("backup").describe_region_settings()
    return {k: v for k, v in answer.items() if k != "ResponseMetadata"}


def _saved_plan(root: Path, env: dict[str, str], out: Path, *args: str) -> dict[str, Any]:
    tf.run(["plan", f"-out={out}", *args], root, env)
    shown: dict[str, Any] = json.loads(tf.run(["show", "-json", str(out)], root, env).stdout)
    return shown


def _change(plan: dict[str, Any], address: str) -> dict[str, Any]:
    (change,) = [c for c in plan["resource_changes"] if c["address"] == address]
    found: dict[str, Any] = change
    return found


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The three steps on one emulated dev account, with what each step saw."""
    workdir = tmp_path_factory.mktemp("region-settings")
    env = next(e for e in read_spec(REPO)["environments"] if e["name"] == ENV)
    seen: dict[str, Any] = {}
    with moto_server(env["account_id"], env["region"], workdir / "moto.log") as server:
        deployment = prepare(REPO, workdir, ENV, server, dynamodb_overrides(read_spec(REPO)))
        main = deployment.root("backup") / "main.tf"
        now = main.read_text()
        assert now.count(REMOVED) == 1, "terraform/backup forgets the region settings"
        seen["defaults"] = _settings(deployment)

        main.write_text(now.replace(REMOVED, BEFORE))  # step 1: the release before the move
        apply(deployment, "backup")
        seen["before"] = _settings(deployment)
        main.write_text(now)

        (workdir / "bootstrap").mkdir()
        bootstrap = Bootstrap(REPO, workdir / "bootstrap", ENV, server)  # step 2: an administrator
        bootstrap.init_s3()
        variables = [f"-var-file=../environments/{ENV}.tfvars", ACCOUNT_PIECES[0]]
        seen["bootstrap_plan"] = _saved_plan(bootstrap.root, bootstrap.tf_env, workdir / "b.tfplan", *variables, ADOPT)
        bootstrap.run("apply", str(workdir / "b.tfplan"))
        seen["after_bootstrap"] = _settings(deployment)
        seen["bootstrap_replans"] = [bootstrap.plan_exit_code(ACCOUNT_PIECES[0], *extra) for extra in ((), (ADOPT,))]

        root, tf_env = deployment.root("backup"), deployment.tf_env()  # step 3: the pipeline
        var_file = f"-var-file=../../environments/{ENV}.tfvars"
        seen["backup_plan"] = _saved_plan(root, tf_env, workdir / "backup.tfplan", var_file)
        (workdir / "backup-plan.json").write_text(json.dumps(seen["backup_plan"]))
        seen["safety"] = subprocess.run(
            [sys.executable, "scripts/check_plan_safety.py", str(workdir / "backup-plan.json")],
            cwd=deployment.repo,
            capture_output=True,
            text=True,
            check=False,
        )
        tf.run(["apply", str(workdir / "backup.tfplan")], root, tf_env)
        state = json.loads(tf.run(["show", "-json"], root, tf_env).stdout)["values"]["root_module"]["resources"]
        seen["backup_state"] = [r["address"] for r in state]
        seen["backup_replan"] = deployment.plan_exit_code("backup")[0]
        seen["after"] = _settings(deployment)
        yield seen


def test_the_release_before_turned_dynamodb_on(upgrade: dict[str, Any]) -> None:
    assert upgrade["defaults"]["ResourceTypeManagementPreference"]["DynamoDB"] is False
    assert upgrade["before"]["ResourceTypeManagementPreference"]["DynamoDB"] is True
    assert upgrade["before"]["ResourceTypeOptInPreference"]["DynamoDB"] is True


def test_the_bootstrap_adopts_them_without_a_write(upgrade: dict[str, Any]) -> None:
    change = _change(upgrade["bootstrap_plan"], ADDRESS)
    assert change["change"]["actions"] == ["no-op"], "imported as they are: no create, no update"
    assert change["change"]["importing"] == {"id": read_spec(REPO)["environments"][0]["region"]}
    assert upgrade["after_bootstrap"] == upgrade["before"]
    assert upgrade["bootstrap_replans"] == [0, 0], "adopted: the variable no longer makes a difference"


def test_the_backup_root_forgets_them_and_destroys_nothing(upgrade: dict[str, Any]) -> None:
    plan = upgrade["backup_plan"]
    assert _change(plan, ADDRESS)["change"]["actions"] == ["forget"]
    destroyed = [c["address"] for c in plan["resource_changes"] if "delete" in c["change"]["actions"]]
    assert destroyed == []
    assert upgrade["safety"].returncode == 0, upgrade["safety"].stdout + upgrade["safety"].stderr
    assert ADDRESS not in upgrade["backup_state"]
    assert upgrade["backup_replan"] == 0
    assert upgrade["after"] == upgrade["before"], "the settings in AWS never changed"
