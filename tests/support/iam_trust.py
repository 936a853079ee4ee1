"""The trust side of least privilege: which roles each workflow job's OIDC token can assume.

For every job of a generated repo's workflows, the tokens GitHub would issue it (one per way it can run:
on main, for a pull request, on another branch, inside each environment its ``environment:`` expression
can name) are evaluated by the IAM engine (tools/iam) with ``sts:AssumeRoleWithWebIdentity`` against
the trust policy of every role the repo's bootstrap creates, in every environment. The trust policies
are built from ``bootstrap/policies/<env>.json`` exactly as ``bootstrap/main.tf`` builds them (its
``aws_iam_policy_document.trust``); the claims follow GitHub's documented formats:
https://docs.github.com/en/actions/reference/security/oidc#example-subject-claims
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.iam_proof import run_engine

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
OTHER_BRANCH = "refs/heads/feature"


@dataclass(frozen=True)
class TrustRole:
    """A bootstrap role as STS sees it: its ARN and trust policy."""

    arn: str
    trust: Mapping[str, Any]


@dataclass(frozen=True)
class Token:
    """One OIDC token a job can get: its claims, and the role ARNs the job uses with it."""

    where: str
    claims: Mapping[str, str]
    uses: frozenset[str] = field(default_factory=frozenset)


def trust_policy(access: Mapping[str, Any], subjects: Sequence[str], account: str) -> dict[str, Any]:
    """The trust policy bootstrap/main.tf gives a role (data.aws_iam_policy_document.trust)."""
    host = access["oidc"]["host"]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOidc",
                "Effect": "Allow",
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{host}"},
                "Condition": {
                    "StringEquals": {f"{host}:aud": access["oidc"]["audience"], f"{host}:sub": list(subjects)}
                },
            }
        ],
    }


def _account(repo: Path, env: str) -> str:
    tfvars = (repo / "environments" / f"{env}.tfvars").read_text()
    found = re.search(r'^account_id\s*=\s*"(\d{12})"', tfvars, re.MULTILINE)
    if not found:
        raise ValueError(f"no account_id in {repo}/environments/{env}.tfvars")
    return found[1]


def trust_roles(repo: Path) -> tuple[dict[str, Any], list[TrustRole]]:
    """The repo's OIDC settings and every role of every environment, with its trust policy."""
    roles, access = [], {}
    for path in sorted((repo / "bootstrap" / "policies").glob("*.json")):
        access = json.loads(path.read_text())
        account = _account(repo, access["environment"])
        for role in access["roles"].values():
            policy = trust_policy(access, role["subjects"], account)
            roles.append(TrustRole(f"arn:aws:iam::{account}:role/{role['name']}", policy))
    return access, roles


def jobs(repo: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """(workflow file, job id, job) of every workflow of the repo."""
    found = []
    for path in sorted((repo / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        found += [(path.name, job_id, job) for job_id, job in workflow["jobs"].items()]
    return found


def resolved_roles(job: Mapping[str, Any]) -> dict[str, str]:
    """Environment name -> role ARN, from the job's 'Resolve target environment' case statement."""
    for step in job.get("steps", []):
        if step.get("id") == "target":
            pairs = re.findall(r"^\s*(\w+)\)\n\s*role_arn='([^']+)'", step["run"], re.MULTILINE)
            return dict(pairs)
    return {}


def job_environments(job: Mapping[str, Any], env_names: Sequence[str]) -> list[tuple[str, str]]:
    """(target environment, GitHub environment the job runs in) for each value its inputs may take."""
    environment = job.get("environment")
    if environment is None:
        return []
    name = environment if isinstance(environment, str) else environment["name"]
    return [(env, EXPRESSION.sub(env, name)) for env in env_names]


def _refs(repo: Path) -> dict[str, set[str]]:
    """Workflow file -> the refs its jobs' tokens can carry ("pull_request" for a pull request's)."""
    own: dict[str, set[str]] = {}
    callers: dict[str, set[str]] = {}
    for path in sorted((repo / ".github" / "workflows").glob("*.yml")):
        workflow = yaml.safe_load(path.read_text())
        events = workflow.get("on") or workflow.get(True) or {}  # PyYAML reads a bare `on` as True
        refs: set[str] = set()
        for event, config in (events if isinstance(events, dict) else dict.fromkeys(events)).items():
            if event == "pull_request":
                refs.add("pull_request")
            elif event == "push":
                branches = (config or {}).get("branches", ["**"])
                refs |= {"refs/heads/main"} | ({OTHER_BRANCH} if branches != ["main"] else set())
            elif event == "workflow_dispatch":
                refs |= {"refs/heads/main", OTHER_BRANCH}  # anyone with write access picks the branch
            elif event == "schedule":
                refs.add("refs/heads/main")  # the default branch
        own[path.name] = refs
        for job in workflow["jobs"].values():
            called = str(job.get("uses", ""))
            if called.startswith("./.github/workflows/"):
                callers.setdefault(called.rsplit("/", 1)[1], set()).add(path.name)
    # A reusable workflow's jobs get the caller's token (one level of calls: the generated workflows).
    return {name: refs | {r for c in callers.get(name, set()) for r in own[c]} for name, refs in own.items()}


def tokens(repo: Path) -> list[Token]:
    """Every OIDC token any job of the repo can get, with the roles it uses under that token."""
    owner_repo = json.loads((repo / "scripts" / "github_protection.json").read_text())["repository"]
    env_names = sorted(p.stem for p in (repo / "environments").glob("*.tfvars"))
    refs = _refs(repo)
    found = []
    for workflow, job_id, job in jobs(repo):
        if job.get("permissions", {}).get("id-token") != "write" or "uses" in job:
            # GitHub issues no token to it: a caller's permissions are only the called jobs' ceiling.
            continue
        resolved = resolved_roles(job)
        base = {"aud": "sts.amazonaws.com", "repository": owner_repo}
        runs_in = job_environments(job, env_names)
        for target, github_env in runs_in:
            claims = {**base, "sub": f"repo:{owner_repo}:environment:{github_env}", "environment": github_env}
            claims["ref"] = "refs/heads/main"
            uses = frozenset([resolved[target]] if target in resolved else [])
            found.append(Token(f"{workflow}:{job_id} in {github_env}", claims, uses))
        if runs_in:
            continue
        for ref in sorted(refs[workflow]):
            if ref == "pull_request":
                claims = {**base, "sub": f"repo:{owner_repo}:pull_request", "ref": "refs/pull/1/merge"}
            else:
                claims = {**base, "sub": f"repo:{owner_repo}:ref:{ref}", "ref": ref}
            # Off main, a job has no business with AWS: the roles trust only main and pull requests.
            uses = frozenset(resolved.values()) if ref != OTHER_BRANCH else frozenset()
            found.append(Token(f"{workflow}:{job_id} on {ref}", claims, uses))
    return found


def assumable(
    access: Mapping[str, Any], roles: Sequence[TrustRole], found: Sequence[Token]
) -> tuple[list[set[str]], set[str]]:
    """For each token, the role ARNs the engine lets it assume; and every context key the checked run dropped."""
    host = access["oidc"]["host"]
    requests = []
    for t_index, token in enumerate(found):
        context = {f"{host}:{claim}": value for claim, value in token.claims.items()}
        for role in roles:
            account = role.arn.split(":")[4]
            requests.append(
                {
                    "id": [t_index, role.arn],
                    "trust": True,
                    "policy": "",
                    "action": "sts:AssumeRoleWithWebIdentity",
                    "resource": role.arn,
                    "account": account,
                    "principal": f"arn:aws:iam::{account}:oidc-provider/{host}",
                    "context": context,
                    "resourcePolicy": role.trust,
                }
            )
    result: list[set[str]] = [set() for _ in found]
    ignored: set[str] = set()
    for entry in run_engine({}, requests):
        if entry["result"] == "Error":
            raise AssertionError(f"the engine rejected {entry['id']}: {entry['error']}")
        ignored |= set(entry["ignored"])
        if entry["result"] == "Allowed":
            result[entry["id"][0]].add(entry["id"][1])
    return result, ignored
