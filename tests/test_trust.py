"""Proof that no workflow job outside a protected GitHub environment can obtain AWS write credentials.

Reads, for each generated repo, the committed workflows and the bootstrap roles' trust and permission
policies (bootstrap/policies/<env>.json, which the bootstrap root applies verbatim; the e2e test
checks that the applied roles carry exactly them), then follows job -> role -> subjects that may
assume it:

- a job's OIDC token carries ``environment:<name>`` only when the job runs in that environment, and
  otherwise a ``ref:`` or ``pull_request`` subject;
- every role that can write (anything beyond reading and the state lock file) trusts only
  ``environment:`` subjects, each one an approval environment the environment script protects;
- every job that resolves a write role runs in an environment whose subject that role trusts, so the
  apply works, and no job without an environment resolves one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPOS, REQUIRE_TOOLS_ENV
from tests.support.iam_proof import tool_missing
from tests.support.iam_trust import Token, assumable, job_environments, jobs, resolved_roles, tokens, trust_roles

REPO_DIRS = sorted(p for p in REPOS.iterdir() if (p / "bootstrap").is_dir())
READ_VERBS = ("Get", "List", "Describe")
# Reads that do not start with a read verb: decrypting what the role may already read.
READ_ACTIONS = {"kms:Decrypt"}


def _role_arn(repo: Path, env: str, name: str) -> str:
    tfvars = (repo / "environments" / f"{env}.tfvars").read_text()
    account = re.search(r'^account_id\s*=\s*"(\d{12})"', tfvars, re.MULTILINE)
    assert account, f"no account_id in {env}.tfvars"
    return f"arn:aws:iam::{account[1]}:role/{name}"


def _roles(repo: Path) -> dict[str, dict[str, Any]]:
    """Role ARN -> {subjects, writes} from every environment's bootstrap policy file."""
    roles: dict[str, dict[str, Any]] = {}
    for path in sorted((repo / "bootstrap" / "policies").glob("*.json")):
        data = json.loads(path.read_text())
        for role in data["roles"].values():
            roles[_role_arn(repo, data["environment"], role["name"])] = {
                "name": role["name"],
                "subjects": role["subjects"],
                "writes": _writes(role["policy"]),
            }
    return roles


def _writes(policy: dict[str, Any]) -> list[str]:
    """Allowed actions that change something, except writing the state lock file."""
    found = []
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if all(r.endswith(".tflock") for r in statement["Resource"]):
            continue
        found += [
            a for a in statement["Action"] if a not in READ_ACTIONS and not a.split(":", 1)[1].startswith(READ_VERBS)
        ]
    return found


def _protected(repo: Path) -> set[str]:
    config = json.loads((repo / "scripts" / "github_protection.json").read_text())
    return set(config["environments"])


_jobs = jobs
_resolved_roles = resolved_roles
_environments = job_environments


@pytest.fixture(params=REPO_DIRS, ids=lambda p: p.name)
def repo(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_plan_roles_only_read_and_apply_roles_write(repo: Path) -> None:
    for arn, role in _roles(repo).items():
        if role["name"].rsplit("-", 2)[-2] == "plan":
            assert role["writes"] == [], f"{arn} can write: {role['writes']}"
        else:
            assert role["writes"], f"{arn} cannot write anything"


def test_write_roles_trust_only_protected_environments(repo: Path) -> None:
    protected = _protected(repo)
    owner_repo = json.loads((repo / "scripts" / "github_protection.json").read_text())["repository"]
    for arn, role in _roles(repo).items():
        for subject in role["subjects"]:
            assert "*" not in subject and "?" not in subject, f"{arn} trusts a pattern: {subject}"
            assert subject.startswith(f"repo:{owner_repo}:"), f"{arn} trusts another repo: {subject}"
        if not role["writes"]:
            continue
        kinds = {s.split(":", 3)[2] for s in role["subjects"]}
        assert kinds == {"environment"}, f"write role {arn} trusts non-environment subjects {role['subjects']}"
        environments = {s.rsplit(":", 1)[1] for s in role["subjects"]}
        assert environments <= protected, f"{arn} trusts unprotected environments {environments - protected}"


def test_no_job_outside_a_protected_environment_gets_write_credentials(repo: Path) -> None:
    roles = _roles(repo)
    protected = _protected(repo)
    owner_repo = json.loads((repo / "scripts" / "github_protection.json").read_text())["repository"]
    env_names = sorted(p.stem for p in (repo / "environments").glob("*.tfvars"))
    checked = 0
    for workflow, job_id, job in _jobs(repo):
        resolved = _resolved_roles(job)
        where = f"{workflow}:{job_id}"
        if not resolved:
            continue
        assert job.get("permissions", {}).get("id-token") == "write", f"{where} resolves a role without OIDC"
        assert set(resolved.values()) <= set(roles), f"{where} names a role bootstrap/ does not create"
        writes = {env: bool(roles[arn]["writes"]) for env, arn in resolved.items()}
        runs_in = _environments(job, env_names)
        if not runs_in:
            # Its token says ref:... or pull_request: no write role trusts those (previous test), and
            # it must not even name one.
            assert not any(writes.values()), f"{where} has no environment but resolves a write role"
            subject = f"repo:{owner_repo}:ref:refs/heads/main"
            assert all(subject in roles[arn]["subjects"] for arn in resolved.values()), where
            continue
        for target, github_env in runs_in:
            assert github_env in protected, f"{where} runs in {github_env}, which the script does not protect"
            role = roles[resolved[target]]
            subject = f"repo:{owner_repo}:environment:{github_env}"
            assert subject in role["subjects"], f"{where} in {github_env} cannot assume {role['name']}"
            checked += 1
    # Apply in every environment and rollback in every environment at least.
    assert checked >= 2 * len(env_names)


def test_workflow_jobs_that_write_to_aws_wait_in_an_environment(repo: Path) -> None:
    """The reverse direction: every job that resolves an apply role is one GitHub makes wait for approval."""
    roles = _roles(repo)
    for workflow, job_id, job in _jobs(repo):
        resolved = _resolved_roles(job)
        if any(roles[arn]["writes"] for arn in resolved.values()):
            assert "environment" in job, f"{workflow}:{job_id}"
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            assert "environment-protection" in needs, f"{workflow}:{job_id} runs before the protection check"


def test_role_policies_fit_the_iam_limit(repo: Path) -> None:
    """IAM allows 10,240 characters of inline policy per role (whitespace not counted)."""
    for path in (repo / "bootstrap" / "policies").glob("*.json"):
        for role in json.loads(path.read_text())["roles"].values():
            size = len(json.dumps(role["policy"], separators=(",", ":")))
            assert size < 10240, f"{role['name']}: {size} characters"


# Actions IAM cannot scope to a resource, each granted on "*" with the reason in generator/iam.py.
UNSCOPED = {
    "kms:ListAliases",
    "backup:ListBackupPlans",
    "backup:DescribeRegionSettings",
    "backup-storage:MountCapsule",
}
# Granted on "*" only under a condition that pins the new resource's Environment and Component tags.
TAG_CONDITIONED = {"kms:CreateKey", "kms:TagResource"}


def test_policies_name_this_repos_resources_and_nothing_wider(repo: Path) -> None:
    spec = yaml.safe_load((repo / ".copier-answers.yml").read_text())["spec"]
    components = [c["name"] for c in spec["components"]]
    for path in sorted((repo / "bootstrap" / "policies").glob("*.json")):
        data = json.loads(path.read_text())
        env = data["environment"]
        for purpose, role in data["roles"].items():
            statements = role["policy"]["Statement"]
            resources = [r for s in statements for r in s["Resource"]]
            for statement in statements:
                if statement["Resource"] == ["*"]:
                    unscoped = set(statement["Action"]) - UNSCOPED
                    assert unscoped <= TAG_CONDITIONED, f"{role['name']}: {unscoped} on *"
                    if unscoped:
                        tags = statement["Condition"]["StringEquals"]
                        assert tags["aws:RequestTag/Environment"] == env
                        assert tags["aws:RequestTag/Component"] == components
                for resource in statement["Resource"]:
                    assert (":*:" not in resource and not resource.endswith(":*")) or "backup-plan:*" in resource
            state = f"arn:aws:s3:::{data['state_bucket']}/{spec['repo']['name']}/*"
            assert state in resources or f"{state[:-1]}*.tflock" in resources, role["name"]
            if spec["repo"]["kind"] == "dynamodb":
                for table in spec["tables"]:
                    assert any(r.endswith(f":table/{table['name']}") for r in resources), (role["name"], table)
            else:
                for bucket in spec["buckets"]:
                    assert f"arn:aws:s3:::{bucket['names'][env]}" in resources, (role["name"], bucket)
            deny = [s for s in statements if s["Effect"] == "Deny"]
            assert deny and deny[0]["Resource"] == [
                f"arn:aws:s3:::{data['state_bucket']}/{spec['repo']['name']}/bootstrap/*"
            ]
            assert purpose in ("plan", "apply")


# Settings of a whole account or region, for every service and team in it: the bootstrap (an administrator)
# owns the one the repos need (bootstrap/backup_region_settings.tf); no pipeline role may change one.
ACCOUNT_SETTINGS = {"backup:UpdateRegionSettings", "backup:UpdateGlobalSettings"}


def test_no_pipeline_role_changes_an_account_setting(repo: Path) -> None:
    for path in sorted((repo / "bootstrap" / "policies").glob("*.json")):
        for role in json.loads(path.read_text())["roles"].values():
            for statement in role["policy"]["Statement"]:
                if statement["Effect"] != "Allow":
                    continue
                for action in statement["Action"]:
                    pattern = re.compile(re.escape(action).replace(r"\*", ".*").replace(r"\?", "."), re.IGNORECASE)
                    reached = {setting for setting in ACCOUNT_SETTINGS if pattern.fullmatch(setting)}
                    assert not reached, f"{path.name} {role['name']} ({statement['Sid']}): {action} allows {reached}"


def test_only_the_record_job_may_push_tags(repo: Path) -> None:
    """Tag rulesets let GitHub Actions bypass them, so only one job's token may write contents."""
    writers = []
    for workflow, job_id, job in _jobs(repo):
        if job.get("permissions", {}).get("contents") == "write":
            writers.append(f"{workflow}:{job_id}")
            if "uses" in job:  # a caller's ceiling for the reusable workflow's jobs
                assert job["uses"].endswith("/terraform-component.yml"), f"{workflow}:{job_id}"
    record = [w for w in writers if not w.startswith(("deploy.yml:", "promote.yml:"))]
    assert record == ["terraform-component.yml:record"]


def _needs_engine() -> None:
    reason = tool_missing()
    if reason is not None:
        if os.environ.get(REQUIRE_TOOLS_ENV):
            pytest.fail(f"{reason} ({REQUIRE_TOOLS_ENV} is set: this machine must have it)")
        pytest.skip(reason)


def _short(arns: set[str] | frozenset[str]) -> list[str]:
    return sorted(a.rsplit("/", 1)[1] for a in arns)


def test_each_job_token_assumes_exactly_the_roles_the_job_uses(repo: Path) -> None:
    """The IAM engine evaluates every job's OIDC token against every role's trust policy (all environments)."""
    _needs_engine()
    access, roles = trust_roles(repo)
    found = tokens(repo)
    got, ignored = assumable(access, roles, found)
    wrong = [
        f"{t.where} ({t.claims['sub']}): assumes {_short(g)}, uses {_short(t.uses)}"
        for t, g in zip(found, got, strict=True)
        if g != t.uses
    ]
    assert not wrong, "\n".join(wrong)
    # Every subject a role trusts is one a job presents to use that role: no trust is left unused.
    presented = {(t.claims["sub"], arn) for t in found for arn in t.uses}
    unused = [
        f"{role.arn.rsplit('/', 1)[1]} trusts {sub}, which no job presents to use it"
        for role in roles
        for sub in role.trust["Statement"][0]["Condition"]["StringEquals"][f"{access['oidc']['host']}:sub"]
        if (sub, role.arn) not in presented
    ]
    assert not unused, "\n".join(unused)
    # The checked engine entry point drops exactly the two claims iam-data does not list (why tools/iam
    # evaluates trust policies through the unchecked one); any other dropped claim would go unevaluated.
    host = access["oidc"]["host"]
    assert ignored == {f"{host}:sub", f"{host}:aud"}


def test_tokens_of_another_repo_or_audience_assume_nothing(repo: Path) -> None:
    """The engine really evaluates sub and aud: the apply job's token, altered in one claim, gets no role."""
    _needs_engine()
    access, roles = trust_roles(repo)
    apply = next(t for t in tokens(repo) if "environment" in t.claims and t.uses)
    owner_repo = apply.claims["repository"]
    forged = [
        replace(apply, claims={**apply.claims, "aud": "sigstore"}),
        replace(apply, claims={**apply.claims, "sub": apply.claims["sub"].replace(owner_repo, owner_repo + "-fork")}),
        replace(apply, claims={k: v for k, v in apply.claims.items() if k != "sub"}),
        Token("a pull request", {**apply.claims, "sub": f"repo:{owner_repo}:pull_request"}),
    ]
    got, _ = assumable(access, roles, forged)
    assert [_short(g) for g in got] == [[]] * len(forged)
    assert assumable(access, roles, [apply])[0] == [set(apply.uses)], "the unaltered token must work"
