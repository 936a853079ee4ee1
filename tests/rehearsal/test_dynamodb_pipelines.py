"""The DynamoDB repo's workflows, run by act as committed, against moto and the fake GitHub API.

The scenarios share one rehearsed repo (conftest.dynamodb) and run in this file's order; each says what
it starts from. Assertions read act's JSON output (job and step results) and the emulator's state
(tables, state object versions) and the repo's git (tags), never log text alone.
"""

from __future__ import annotations

import json

import pytest

from tests.rehearsal.conftest import DYNAMODB, account_client
from tests.rehearsal.harness import Rehearsal, Run, git
from tests.support.deploy import read_spec

pytestmark = pytest.mark.rehearsal

DEV = "536580886816"
STATE_BUCKET = "bbws-terraform-state-dev"
REPO = "2_1_bbws_dynamodb_schemas"
# Every job id of terraform-component.yml, by the name act reports (for the component and environment).
COMPONENT_JOBS = (
    "Plan {c} ({e})",
    "Check the approval environments are protected",
    "Apply {c} ({e})",
    "Post-deployment checks {c} ({e})",
    "Record deployment {c} ({e})",
)
TIMINGS: dict[str, dict[str, float]] = {}


def _push(rehearsal: Rehearsal, message: str, edits: dict[str, str | None]) -> Run:
    before = rehearsal.head()
    after = rehearsal.commit(message, edits)
    return rehearsal.run("deploy.yml", "push", {"ref": "refs/heads/main", "before": before, "after": after})


def _touch(rehearsal: Rehearsal, relative: str, line: str) -> dict[str, str | None]:
    """An edit that appends a line to a file of the repo (a README: no infrastructure change)."""
    return {relative: (rehearsal.origin / relative).read_text() + line + "\n"}


def _tables(rehearsal: Rehearsal) -> list[str]:
    names: list[str] = account_client(rehearsal.server, DEV, "dynamodb").list_tables()["TableNames"]
    return names


def _state_versions(rehearsal: Rehearsal, component: str) -> list[str]:
    s3 = account_client(rehearsal.server, DEV, "s3")
    key = f"{REPO}/{component}/terraform.tfstate"
    listed = s3.list_object_versions(Bucket=STATE_BUCKET, Prefix=key).get("Versions", [])
    return [v["VersionId"] for v in listed if v["Key"] == key]


def _tags(rehearsal: Rehearsal, pattern: str) -> dict[str, str]:
    names = git(rehearsal.origin, "tag", "--list", pattern).split()
    return {name: git(rehearsal.origin, "rev-parse", f"{name}^{{commit}}") for name in names}


def _component_jobs(run: Run, component: str, env: str = "dev") -> dict[str, str | None]:
    return {name: run.result(name.format(c=component, e=env)) for name in COMPONENT_JOBS}


def _speed(run: Run, component: str, env: str = "dev") -> dict[str, float]:
    """Push to the end of post-deploy against the component's own terraform init, plan and apply (the
    steps of the plan and apply jobs that run them), for the report; nothing asserts on time."""
    plan, apply = f"Plan {component} ({env})", f"Apply {component} ({env})"
    terraform = sum(
        end - start
        for job, step in (
            (plan, "Terraform init"),
            (plan, "Terraform plan"),
            (apply, "Terraform apply (the approved plan file, nothing else)"),
        )
        for start, end in [run.window(job, step)]
    )
    pipeline = run.window(f"Post-deployment checks {component} ({env})")[1]
    return {
        "push to post-deploy": pipeline,
        "terraform init+plan+apply": terraform,
        "ratio": round(pipeline / terraform, 2) if terraform else 0.0,
    }


def _explain(run: Run) -> str:
    return f"act exited {run.returncode}; jobs {json.dumps(run.results, indent=1)}; log {run.log}"


VALIDATE_JOBS = ("terraform fmt", "Validate table schema files", "checkov (Terraform security scan)")


def _pull_request(rehearsal: Rehearsal, branch: str, edits: dict[str, str | None]) -> Run:
    """Commit ``edits`` on a new branch off main and run validate.yml for a pull request from it."""
    git(rehearsal.origin, "checkout", "-q", "-b", branch, "main")
    try:
        head = rehearsal.commit(f"{branch}: change", edits)
        event = {
            "number": 1,
            "pull_request": {"number": 1, "head": {"ref": branch, "sha": head}, "base": {"ref": "main"}},
        }
        return rehearsal.run("validate.yml", "pull_request", event, ref="refs/pull/1/merge")
    finally:
        git(rehearsal.origin, "checkout", "-q", "main")


def test_pull_request_validates(dynamodb: Rehearsal) -> None:
    """Scenario 1: a pull request with a valid change passes every validation job."""
    run = _pull_request(dynamodb, "docs", _touch(dynamodb, "README.md", "A reviewed line."))
    assert run.returncode == 0, _explain(run)
    for job in VALIDATE_JOBS:
        assert run.result(job) == "success", job
    components = [job for job in run.results if "terraform validate (" in job]
    assert len(components) == 4 and {run.results[j] for j in components} == {"success"}, run.results


def test_pull_request_with_a_broken_table_file_fails_naming_it(dynamodb: Rehearsal) -> None:
    """Scenario 1: a partition key typed BOOL fails the schema job, which names the file and the key."""
    path = dynamodb.origin / "schemas" / "tenants.json"
    table = json.loads(path.read_text())
    table["primaryKey"]["partitionKey"]["type"] = "BOOL"
    run = _pull_request(dynamodb, "broken", {"schemas/tenants.json": json.dumps(table, indent=2) + "\n"})
    assert run.returncode != 0
    assert run.result("Validate table schema files") == "failure", _explain(run)
    assert run.result("terraform fmt") == "success"
    assert "schemas/tenants.json:" in run.output("Validate table schema files")
    assert "/primaryKey/partitionKey/type" in run.output("Validate table schema files")


def test_push_changing_one_table_deploys_exactly_that_component(dynamodb: Rehearsal) -> None:
    """Scenario 2, first push (fresh emulator): only tenants is planned, guarded, checked, applied, tagged."""
    run = _push(dynamodb, "tenants: document the table", _touch(dynamodb, "terraform/tenants/README.md", "Owner: data"))
    TIMINGS["scenario 2, first push"] = run.seconds
    assert run.returncode == 0, _explain(run)
    TIMINGS["scenario 2, first push: speed"] = _speed(run, "tenants")
    assert run.result("Detect changed components") == "success"
    jobs = _component_jobs(run, "tenants")
    assert set(jobs.values()) == {"success"}, jobs
    for other in ("campaigns", "products", "backup"):
        assert [job for job in run.results if f"dev / {other}/" in job] == [], f"{other} was deployed"
    assert run.step("Plan tenants (dev)", "Check the plan for deleted or replaced data") == "success"
    assert run.step("Apply tenants (dev)", "Verify the plan checksum") == "success"
    assert _tables(dynamodb) == ["tenants"]
    assert len(_state_versions(dynamodb, "tenants")) == 1
    assert _tags(dynamodb, "deployed/dev/*") == {f"deployed/dev/tenants/{dynamodb.head()}": dynamodb.head()}


def test_only_jobs_without_credentials_restored_a_pip_cache(dynamodb: Rehearsal) -> None:
    """In the deploy run: validate's two Python jobs used setup-python's pip cache, under a key of the
    file each installs; no job that assumed a role (plan, apply, post-deploy) had one."""
    run_dir = sorted((dynamodb.workdir / "runs").glob("*-deploy"))[-1]
    caches = [json.loads(line) for line in (run_dir / "caches.jsonl").read_text().splitlines()]
    assert {c["job"]: c["files"] for c in caches} == {
        "repository-checks": ["requirements.txt"],
        "checkov": ["requirements-checkov.txt"],
    }
    assert all(c["key"].startswith("setup-python-Linux-x64-python-3.11-pip-") for c in caches)
    roles = [json.loads(line) for line in (run_dir / "assumed-roles.jsonl").read_text().splitlines()]
    assert {r["job"] for r in roles} >= {"plan", "apply", "post-deploy"}
    assert not {r["job"] for r in roles} & {c["job"] for c in caches}


def test_roles_assumed_with_the_claims_github_would_issue(dynamodb: Rehearsal) -> None:
    """The plan role with the branch subject; the apply role only with the dev environment's subject."""
    runs = sorted((dynamodb.workdir / "runs").glob("*-deploy"))
    records = [json.loads(line) for line in (runs[-1] / "assumed-roles.jsonl").read_text().splitlines()]
    by_job = {r["job"]: r for r in records}
    repo = dynamodb.repository
    assert by_job["plan"]["role"] == f"arn:aws:iam::{DEV}:role/{REPO}-plan-dev"
    assert by_job["plan"]["claims"]["sub"] == f"repo:{repo}:ref:refs/heads/main"
    assert by_job["apply"]["role"] == f"arn:aws:iam::{DEV}:role/{REPO}-apply-dev"
    assert by_job["apply"]["claims"]["sub"] == f"repo:{repo}:environment:dev"
    assert by_job["apply"]["claims"]["environment"] == "dev"
    assert by_job["post-deploy"]["role"].endswith(f"{REPO}-plan-dev")
    assert {r["claims"]["aud"] for r in records} == {"sts.amazonaws.com"}
    # Each role was assumed with a subject its generated trust policy lists (bootstrap/, from the spec;
    # the permissions boundary beside the roles is a policy, assumed by nobody).
    trusted = {
        role["arn"]: set(role["subjects"])
        for roles in read_spec(DYNAMODB)["github"]["roles"].values()
        for role in roles.values()
        if "subjects" in role
    }
    for record in records:
        assert record["claims"]["sub"] in trusted[record["role"]], record


def test_second_push_without_changes_skips_apply_and_still_checks(dynamodb: Rehearsal) -> None:
    """Scenario 2, second push: tenants' plan has no changes, so no approval or apply; post-deploy runs."""
    versions = _state_versions(dynamodb, "tenants")
    run = _push(dynamodb, "tenants: more docs", _touch(dynamodb, "terraform/tenants/README.md", "Reviewed."))
    TIMINGS["scenario 2, second push"] = run.seconds
    assert run.returncode == 0, _explain(run)
    jobs = _component_jobs(run, "tenants")
    assert jobs["Plan {c} ({e})"] == "success"
    assert jobs["Check the approval environments are protected"] is None
    assert jobs["Apply {c} ({e})"] is None
    assert jobs["Post-deployment checks {c} ({e})"] == "success"
    assert jobs["Record deployment {c} ({e})"] == "success"
    assert _state_versions(dynamodb, "tenants") == versions
    assert f"deployed/dev/tenants/{dynamodb.head()}" in _tags(dynamodb, "deployed/dev/tenants/*")


def test_a_plan_changed_after_approval_is_not_applied(dynamodb: Rehearsal) -> None:
    """Scenario 2, the saved plan: an artifact altered between plan and apply stops at the checksum."""
    before, after = (
        dynamodb.head(),
        dynamodb.commit("products: first deployment", _touch(dynamodb, "terraform/products/README.md", "Owner: data")),
    )
    run = dynamodb.run(
        "deploy.yml",
        "push",
        {"ref": "refs/heads/main", "before": before, "after": after},
        extra_env={"REHEARSAL_FAULT_TAMPER_ARTIFACT": "tfplan-dev-products-*"},
    )
    assert run.result("Plan products (dev)") == "success", _explain(run)
    assert run.result("Apply products (dev)") == "failure"
    assert run.step("Apply products (dev)", "Verify the plan checksum") == "failure"
    assert run.step("Apply products (dev)", "Terraform apply (the approved plan file, nothing else)") is None
    assert run.result("Post-deployment checks products (dev)") is None
    assert "products" not in _tables(dynamodb)
    assert _tags(dynamodb, "deployed/dev/products/*") == {}


def test_environment_without_reviewers_stops_before_apply(dynamodb: Rehearsal) -> None:
    """Scenario 4: dev loses its required reviewers; products is planned but nothing is applied."""
    saved = dynamodb.github.environments["dev"]
    dynamodb.github.environments["dev"] = {**saved, "reviewers": []}
    try:
        run = _push(dynamodb, "products: again", _touch(dynamodb, "terraform/products/README.md", "Again."))
    finally:
        dynamodb.github.environments["dev"] = saved
    assert run.result("Plan products (dev)") == "success", _explain(run)
    assert run.result("Check the approval environments are protected") == "failure"
    for job in ("Apply products (dev)", "Post-deployment checks products (dev)", "Record deployment products (dev)"):
        assert run.result(job) is None, f"{job} ran"
    assert "products" not in _tables(dynamodb)
    assert _state_versions(dynamodb, "products") == []
    assert _tags(dynamodb, "deployed/dev/products/*") == {}


def test_a_push_failing_validation_applies_and_records_nothing(dynamodb: Rehearsal) -> None:
    """Scenario 2, the validation gate: validation (for products only) runs beside the plan, so products
    is planned, but a file terraform fmt rejects keeps apply, post-deploy and record from running. act
    ends a run at its first failed job, so GitHub's side of this gate (the jobs' `if:`, which GitHub
    evaluates after a failure) is proven by tests/test_job_gates.py."""
    unformatted = "terraform/products/unformatted.tf"
    run = _push(dynamodb, "products: unformatted", {unformatted: 'locals {\n  note   = "fmt rejects this"\n}\n'})
    try:
        assert run.result("terraform fmt") == "failure", _explain(run)
        assert run.result("terraform validate (products)") == "success", "only the deployed root is validated"
        assert run.result("Plan products (dev)") == "success"
        for job in (
            "Apply products (dev)",
            "Post-deployment checks products (dev)",
            "Record deployment products (dev)",
        ):
            assert run.result(job) is None, f"{job} ran"
        assert "products" not in _tables(dynamodb)
        assert _state_versions(dynamodb, "products") == []
        assert _tags(dynamodb, "deployed/dev/products/*") == {}
    finally:
        dynamodb.commit("products: formatted again", {unformatted: None})


def _sort_key_renamed(rehearsal: Rehearsal, back: bool = False) -> dict[str, str | None]:
    path = "terraform/tenants/main.tf"
    text = (rehearsal.origin / path).read_text()
    old, new = ('"SortKey"', '"SK"') if back else ('"SK"', '"SortKey"')
    assert text.count(old) == 2, "the table's range_key and its attribute"
    return {path: text.replace(old, new)}


def test_destructive_change_stops_at_the_plan_guard(dynamodb: Rehearsal) -> None:
    """Scenario 3: renaming tenants' sort key replaces the table; the guard fails the plan job."""
    versions = _state_versions(dynamodb, "tenants")
    run = _push(dynamodb, "tenants: rename the sort key", _sort_key_renamed(dynamodb))
    assert run.result("Plan tenants (dev)") == "failure", _explain(run)
    assert run.step("Plan tenants (dev)", "Check the plan for deleted or replaced data") == "failure"
    assert run.result("Apply tenants (dev)") is None
    assert _state_versions(dynamodb, "tenants") == versions
    described = account_client(dynamodb.server, DEV, "dynamodb").describe_table(TableName="tenants")["Table"]
    assert {k["AttributeName"] for k in described["KeySchema"]} == {"PK", "SK"}


def test_destructive_change_allowed_for_its_address_goes_through(dynamodb: Rehearsal) -> None:
    """Scenario 3: run by hand with allow_replace naming the table, the replacement is applied."""
    run = dynamodb.run(
        "deploy.yml",
        "workflow_dispatch",
        {"ref": "refs/heads/main"},
        inputs={"allow_replace": "tenants:aws_dynamodb_table.this"},
    )
    assert run.result("Apply tenants (dev)") == "success", _explain(run)
    described = account_client(dynamodb.server, DEV, "dynamodb").describe_table(TableName="tenants")["Table"]
    assert {k["AttributeName"] for k in described["KeySchema"]} == {"PK", "SortKey"}


def test_promoting_a_commit_not_deployed_below_is_refused(dynamodb: Rehearsal) -> None:
    """Scenario 5, the tag check: a commit whose campaigns code never reached dev cannot go to sit.

    products is in dev at an equivalent commit (only another component's files changed since), so the
    refusal names campaigns and not products. Nothing runs after the check: no approval, no role assumed.
    This repo's moto lacks AWS Backup selections (emulator_gaps.BACKUP_SELECTION), so backup is never
    tagged as deployed here; the promotion that passes is rehearsed in test_promotion.py, on moto with them.
    """
    deployed = _tags(dynamodb, "deployed/dev/products/*")
    assert deployed, "scenario 3's run by hand deployed products to dev"
    sha = dynamodb.commit("campaigns: not deployed", _touch(dynamodb, "terraform/campaigns/README.md", "New."))
    run = dynamodb.run(
        "promote.yml",
        "workflow_dispatch",
        {"ref": "refs/heads/main"},
        inputs={"target": "sit", "commit": sha},
        call_inputs={"environment": "sit"},
    )
    assert run.result("Verify the commit in the environment before sit") == "failure", _explain(run)
    assert run.result("Check the approval environments are protected") is None
    assert run.result("Approve promotion to sit") is None
    assert [job for job in run.results if job.startswith("sit / ")] == []
    assert run.assumed_roles() == []
    assert _tags(dynamodb, "deployed/sit/*") == {}
    # The step's run summary names each component's state (act sometimes drops the last stdout lines
    # of a step that fails within a second, ::error:: included; the summary file is read after the step).
    (summary,) = run.summaries("Verify the commit in the environment before sit").values()
    assert "| campaigns | **not applied** |" in summary, summary
    assert "| products | `" in summary, summary


def _state_bodies(rehearsal: Rehearsal, component: str) -> list[bytes]:
    """The state object's versions, newest first, as bytes."""
    s3 = account_client(rehearsal.server, DEV, "s3")
    key = f"{REPO}/{component}/terraform.tfstate"
    return [
        s3.get_object(Bucket=STATE_BUCKET, Key=key, VersionId=v)["Body"].read()
        for v in _state_versions(rehearsal, component)
    ]


def test_rollback_restores_the_previous_state_version_and_plans_the_way_back(dynamodb: Rehearsal) -> None:
    """Scenario 6: scenario 3's sort key rename was a bad apply. The rename is reverted on main and
    tenants' state in dev rolled back: the version before the apply is copied over the state object (a new
    newest version, byte for byte the older one) and the rollback's plan of main replaces the table back.

    Starts from scenario 3's allowed replacement (tenants' newest state holds ``SortKey``). terraform
    refreshes before planning, so it is the reverted code, not the restored state alone, that makes the
    plan show the way back (scripts/state_rollback.py says so); the rollback applies nothing.
    """
    bodies = _state_bodies(dynamodb, "tenants")
    assert len(bodies) >= 2 and b'"SortKey"' in bodies[0], "scenario 3 replaced tenants' sort key"
    path = "terraform/tenants/main.tf"
    dynamodb.commit("tenants: revert the sort key rename", {path: _sort_key_renamed(dynamodb, back=True)[path]})
    run = dynamodb.run(
        "rollback.yml",
        "workflow_dispatch",
        {"ref": "refs/heads/main"},
        inputs={"environment": "dev", "component": "tenants", "state_version": "previous", "ignore_lock": "false"},
    )
    TIMINGS["scenario 6, rollback"] = run.seconds
    job = "Roll back tenants state (dev)"
    assert run.returncode == 0, _explain(run)
    assert run.result("Check the approval environments are protected") == "success"
    assert run.result(job) == "success", _explain(run)
    after = _state_bodies(dynamodb, "tenants")
    assert len(after) == len(bodies) + 1
    assert after[0] == bodies[1] and after[1:] == bodies
    (record,) = run.assumed_roles()
    assert record["role"] == f"arn:aws:iam::{DEV}:role/{REPO}-apply-dev"
    assert record["claims"]["sub"] == f"repo:{dynamodb.repository}:environment:rollback-dev"
    pre = account_client(dynamodb.server, DEV, "s3").list_objects_v2(
        Bucket=STATE_BUCKET, Prefix=f"{REPO}/tenants/terraform.tfstate.pre-rollback/"
    )
    assert len(pre.get("Contents", [])) == 1, "the replaced content is kept beside the state"
    plan = run.summaries(job)["Plan the code on main against the restored state"]
    assert "Applying the code on main would make these changes (nothing was applied)" in plan
    assert "# aws_dynamodb_table.this must be replaced" in plan, plan
    assert '~ range_key                   = "SortKey" -> "SK" # forces replacement' in plan, plan
    described = account_client(dynamodb.server, DEV, "dynamodb").describe_table(TableName="tenants")["Table"]
    assert {k["AttributeName"] for k in described["KeySchema"]} == {"PK", "SortKey"}, "nothing was applied"


def test_drift_reports_point_in_time_recovery_turned_off(dynamodb: Rehearsal) -> None:
    """Scenario 7: PITR on products turned off by hand in dev; the scheduled drift run files one issue,
    "Drift: products", naming the table as changed outside Terraform, and its report job fails.

    Only dev's matrix leg runs (act --matrix): sit and prod hold nothing in this rehearsal, so their legs
    would only show every resource as to be created. Their missing results are reported as errors, as
    the workflow promises for a leg that reported nothing. Starts from scenario 3's deployment of products.
    """
    dynamodb_dev = account_client(dynamodb.server, DEV, "dynamodb")
    dynamodb_dev.update_continuous_backups(
        TableName="products", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False}
    )
    run = dynamodb.run("drift.yml", "schedule", {"schedule": "17 5 * * *"}, matrix={"environment": "dev"})
    TIMINGS["scenario 7, drift (dev leg)"] = run.seconds
    assert run.result("Plan every component (dev)") == "success", _explain(run)
    assert run.result("Report drift") == "failure", _explain(run)
    assert run.step("Report drift", "Summarise and file issues") == "failure"
    issues = {i["title"]: i for i in dynamodb.github.issues.values()}
    assert "Drift: products" in issues, issues
    products = issues["Drift: products"]
    assert products["state"] == "open" and products["labels"] == ["drift"]
    assert "`aws_dynamodb_table.this: update`" in products["body"].split("Changed outside Terraform:")[1]
    assert "#### `products` in `dev`: drifted" in products["body"]
    assert "Drift: campaigns" not in issues, "campaigns is in sync"
    plan_roles = {r["role"] for r in run.assumed_roles()}
    assert plan_roles == {f"arn:aws:iam::{DEV}:role/{REPO}-plan-dev"}


def test_report_timings(dynamodb: Rehearsal) -> None:
    """Per-job seconds of scenario 2, written beside the runs for the report (no assertion on time)."""
    out = dynamodb.workdir / "timings.json"
    out.write_text(json.dumps(TIMINGS, indent=1, sort_keys=True))
    print(json.dumps(TIMINGS, indent=1, sort_keys=True))
    assert TIMINGS, "scenario 2 did not run"
