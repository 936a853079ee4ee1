"""Evaluating authorizations against the generated roles' policies with the real engine (tools/iam).

The roles and their policies are read from each repo's ``bootstrap/policies/<env>.json``, exactly what
the bootstrap root gives IAM. KMS authorizations are evaluated with AWS's default key policy (the account
delegates the key to IAM), so the identity policy alone decides, as it does for the generated keys'
administration. ``emulator_gaps`` lists the requests real AWS gets that the emulator cannot make, and
``probes`` the requests that must stay denied (a foreign key, a role without the boundary, items in prod).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.iam_authz import Authorization
from tests.support.iam_keys import FOREIGN_KEY_ID, key_policy

TOOL = Path(__file__).resolve().parents[2] / "tools" / "iam"


def tool_missing() -> str | None:
    """Why the evaluator cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js 20+ and run `npm ci --prefix tools/iam` to evaluate IAM"
    if not (TOOL / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        return "tools/iam/node_modules is missing: run `npm ci --prefix tools/iam` (nox -s e2e does)"
    return None


@dataclass(frozen=True)
class Role:
    """A pipeline role: its tag, name, account and policies."""

    tag: str
    name: str
    account: str
    policy: Mapping[str, Any]
    boundary: Mapping[str, Any] | None
    repo_dir: Path | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.name}"


def roles_of(repo: Path, name: str | None = None) -> dict[str, Role]:
    """Every role of ``repo``'s bootstrap, by tag (``<repo>~<env>~<plan|apply>``; ``name`` instead of the
    folder's name, for a copy such as the rehearsal's git origin)."""
    found = {}
    for path in sorted((repo / "bootstrap" / "policies").glob("*.json")):
        access = json.loads(path.read_text())
        account = access.get("account_id") or _account_of(repo, access["environment"])
        # The bootstrap's boundary caps the service roles the pipelines create, not the pipeline roles.
        boundary = None
        for kind, role in access["roles"].items():
            tag = f"{name or repo.name}~{access['environment']}~{kind}"
            found[tag] = Role(tag, role["name"], account, role["policy"], boundary, repo)
    return found


def _account_of(repo: Path, env: str) -> str:
    for line in (repo / "environments" / f"{env}.tfvars").read_text().splitlines():
        if line.startswith("account_id"):
            return line.split("=", 1)[1].strip().strip('"')
    raise ValueError(f"no account_id in {repo}/environments/{env}.tfvars")


def default_key_policy(account: str) -> dict[str, Any]:
    """AWS's default key policy: the account (and so IAM policies) may use and manage the key."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }


def _key_policy(role: Role, authz: Authorization) -> dict[str, Any]:
    """The policy of the key ``authz`` names: the generated one for keys the roots created (all the
    emulator runs saw, and the DR keys of the gaps), AWS's default for the probes' foreign key and AWS
    managed keys. Which root made it: its Component tag, which every root's provider sets."""
    key_id = authz.resource.rsplit("/", 1)[1]
    component = authz.context.get("aws:ResourceTag/Component")
    if key_id == FOREIGN_KEY_ID or key_id.startswith("alias-") or role.repo_dir is None:
        return default_key_policy(role.account)
    if not isinstance(component, str):
        raise ValueError(f"{authz.resource}: a key of the roots without its Component tag ({authz.why})")
    env = authz.role.split("~")[1]
    partition = authz.resource.split(":")[1]
    return key_policy(role.repo_dir, component, env, role.account, partition)


def run_engine(policies: Mapping[str, Any], requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """tools/iam/evaluate.mjs's answer for ``requests`` (its input format is described in the script)."""
    result = subprocess.run(
        ["node", str(TOOL / "evaluate.mjs")],
        input=json.dumps({"policies": policies, "requests": requests}),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    answer: list[dict[str, Any]] = json.loads(result.stdout)
    return answer


def evaluate(
    roles: Mapping[str, Role],
    authorizations: Sequence[Authorization],
    resource_policies: Sequence[Mapping[str, Any] | None] = (),
) -> list[str]:
    """The engine's verdict on each authorization ("Allowed", "ImplicitlyDenied", ... or "Error: ...").

    ``resource_policies``: the policy of each authorization's resource, where it has one (the generated
    key policy is found for KMS keys).
    """
    policies = {
        tag: {"identity": role.policy, **({"boundary": role.boundary} if role.boundary else {})}
        for tag, role in roles.items()
    }
    requests = []
    for index, authz in enumerate(authorizations):
        role = roles[authz.role]
        request: dict[str, Any] = {
            "id": index,
            "policy": authz.role,
            "action": authz.action,
            "resource": authz.resource,
            "account": role.account,
            "principal": role.arn,
            # AWS puts the caller's ARN in every request's context; resource policies' Deny name it.
            "context": {"aws:PrincipalArn": role.arn, **authz.context},
        }
        if index < len(resource_policies) and resource_policies[index] is not None:
            request["resourcePolicy"] = resource_policies[index]
        elif authz.action.startswith("kms:") and ":key/" in authz.resource:
            request["resourcePolicy"] = _key_policy(role, authz)
        requests.append(request)
    verdicts = []
    for entry in run_engine(policies, requests):
        if entry["result"] == "Error":
            verdicts.append("Error: " + json.dumps(entry["error"])[:300])
        else:
            verdicts.append(entry["result"])
    return verdicts


def _spec_env(spec: Mapping[str, Any], env: str) -> Mapping[str, Any]:
    return next(e for e in spec["environments"] if e["name"] == env)


def emulator_gaps(repo: str, spec: Mapping[str, Any], env: str) -> list[Authorization]:
    """Requests real AWS gets from the pipelines that moto 5.2.5 cannot make, as AWS would authorize them."""
    e = _spec_env(spec, env)
    account, region, dr = e["account_id"], e["region"], e.get("dr_region")
    plan, apply = f"{repo}~{env}~plan", f"{repo}~{env}~apply"
    found: list[Authorization] = []
    if "buckets" in spec and e["dr_replication"]:
        for bucket in spec["buckets"]:
            component = bucket["purpose"]
            dr_key = f"arn:aws:kms:{dr}:{account}:key/00000000-0000-0000-0000-00000000d7d7"
            key_context = {"aws:ResourceTag/Environment": env, "aws:ResourceTag/Component": component}
            why = "post_deploy_check.py reads each DR copy (moto 5.2.5 never replicates)"
            for template in spec["templates"]:
                for obj in template["objects"]:
                    found.append(
                        Authorization(
                            plan, "s3:GetObject", f"arn:aws:s3:::{bucket['dr_names'][env]}/{obj['key']}", {}, why
                        )
                    )
            found.append(
                Authorization(
                    plan,
                    "kms:Decrypt",
                    dr_key,
                    {**key_context, "kms:ViaService": f"s3.{dr}.amazonaws.com"},
                    why,
                    "s3-kms-put",
                )
            )
    if "tables" in spec:
        why = "moto 5.2.5 lacks it (deploy.BACKUP_GAPS)"
        vault = f"arn:aws:backup:{region}:{account}:backup-vault:{e['backup']['vault']}"
        found += [
            Authorization(
                apply, "backup:CreateBackupSelection", f"arn:aws:backup:{region}:{account}:backup-plan:plan-id", {}, why
            ),
            Authorization(
                apply,
                "iam:PassRole",
                f"arn:aws:iam::{account}:role/{e['backup']['role']}",
                {"iam:PassedToService": "backup.amazonaws.com"},
                why,
                "backup-selection",
            ),
            Authorization(apply, "backup:PutBackupVaultAccessPolicy", vault, {}, why),
        ]
        if e["dr_replication"]:
            why = "a DynamoDB replica (moto 5.2.5: never ACTIVE)"
            for table in spec["tables"]:
                name = table["name"] if isinstance(table, Mapping) else table
                source = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
                replica = f"arn:aws:dynamodb:{dr}:{account}:table/{name}"
                found += [
                    Authorization(apply, "dynamodb:UpdateTable", source, {}, why),
                    Authorization(apply, "dynamodb:CreateTableReplica", source, {}, why, "dynamodb-replica"),
                    Authorization(apply, "dynamodb:CreateTable", replica, {}, why, "dynamodb-replica"),
                    Authorization(apply, "dynamodb:DescribeTable", replica, {}, why, "dynamodb-replica"),
                ]
                for item in ("Scan", "Query", "UpdateItem", "PutItem", "GetItem", "DeleteItem", "BatchWriteItem"):
                    found.append(Authorization(apply, f"dynamodb:{item}", replica, {}, why, "dynamodb-replica"))
            found.append(
                Authorization(
                    apply,
                    "iam:CreateServiceLinkedRole",
                    f"arn:aws:iam::{account}:role/aws-service-role/replication.dynamodb.amazonaws.com/*",
                    {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"},
                    why,
                    "dynamodb-replica",
                )
            )
    return found


# Everything the generated key policies grant anyone, and what services do with a key on a role's behalf.
FOREIGN_KEY_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:RetireGrant",
    "kms:ScheduleKeyDeletion",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)


def probes(repo: str, spec: Mapping[str, Any], env: str, roles: Mapping[str, Role]) -> list[Authorization]:
    """Requests no pipeline role may make: each must be denied."""
    e = _spec_env(spec, env)
    account, region = e["account_id"], e["region"]
    components = [b["purpose"] for b in spec.get("buckets", [])] or [
        t["name"] if isinstance(t, Mapping) else t for t in spec.get("tables", [])
    ]
    foreign = f"arn:aws:kms:{region}:{account}:key/{FOREIGN_KEY_ID}"
    found: list[Authorization] = []
    for kind in ("plan", "apply"):
        tag = f"{repo}~{env}~{kind}"
        if tag not in roles:
            continue
        # A foreign key whose policy delegates to IAM, as found and after the role tagged it as its own
        # (AWS authorizes tag on create only on "*", so an apply role can: FOREIGN_KEY_ACTIONS).
        tagged = {f"aws:ResourceTag/{k}": v for k, v in {"Environment": env, "Component": components[0]}.items()}
        for context, why in (({}, "a foreign key"), (tagged, "a foreign key tagged as ours")):
            found += [Authorization(tag, a, foreign, context, why) for a in FOREIGN_KEY_ACTIONS]
        state = f"arn:aws:s3:::{e['state_bucket']}"
        found += [
            Authorization(tag, "s3:DeleteObject", f"{state}/{repo}/x/terraform.tfstate", {}, "deleting a state file"),
            Authorization(tag, "s3:ListBucket", state, {"s3:prefix": "other-repo/"}, "listing another repo's state"),
            Authorization(
                tag, "iam:CreateRole", f"arn:aws:iam::{account}:role/anything", {}, "a role without the boundary"
            ),
        ]
        for name in _service_roles(spec, env):
            role = f"arn:aws:iam::{account}:role/{name}"
            found += [
                Authorization(tag, "iam:CreateRole", role, {}, "its service role without the boundary"),
                Authorization(tag, "iam:PutRolePolicy", role, {}, "its service role without the boundary"),
                Authorization(tag, "iam:DeleteRolePermissionsBoundary", role, {}, "removing the boundary"),
            ]
        for table in spec.get("tables", []):
            name = table["name"] if isinstance(table, Mapping) else table
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            for item in ("GetItem", "Scan", "DeleteItem", "PutItem"):
                found.append(Authorization(tag, f"dynamodb:{item}", arn, {}, "items of a live table"))
        if "tables" in spec:
            # The vault access policy denies deleting the vault and recovery points; removing the policy
            # first must be impossible too, or its Deny would not hold.
            vault = f"arn:aws:backup:{region}:{account}:backup-vault:{e['backup']['vault']}"
            point = f"arn:aws:backup:{region}:{account}:recovery-point:any"
            why = "the vault and its recovery points"
            found += [
                Authorization(tag, "backup:DeleteBackupVaultAccessPolicy", vault, {}, why),
                Authorization(tag, "backup:DeleteBackupVault", vault, {}, why),
                Authorization(tag, "backup:DeleteRecoveryPoint", point, {}, why),
                Authorization(tag, "backup:UpdateRecoveryPointLifecycle", point, {}, why),
                # An account setting for every service AWS Backup protects: bootstrap/ (an administrator) sets it.
                Authorization(tag, "backup:UpdateRegionSettings", "*", {}, "AWS Backup's region settings"),
            ]
    return found


def _service_roles(spec: Mapping[str, Any], env: str) -> list[str]:
    e = _spec_env(spec, env)
    names = [e["backup"]["role"]] if "tables" in spec and e.get("backup", {}).get("role") else []
    if "buckets" in spec and e["dr_replication"]:
        names += [f"{b['names'][env]}-replication" for b in spec["buckets"]]
    return names


def evaluate_recording(
    record_dir: Path, repos: Sequence[Path], envs: Sequence[str] = ("dev", "prod")
) -> tuple[list[Authorization], list[str], int]:
    """The authorizations of every recorded request plus the emulator's gaps, with the engine's verdicts.

    ``repos`` are the generated repos whose bootstrap policies decide (the repos/ tree, or an older one).
    """
    from tests.support.iam_authz import authorizations
    from tests.support.iam_record import read_recording

    roles = {tag: role for repo in repos for tag, role in roles_of(repo).items()}
    accounts = {r.tag.split("~")[1]: r.account for r in roles.values()}
    requests = read_recording(record_dir)
    found = authorizations(requests, accounts)
    for repo in repos:
        spec = _read_spec(repo)
        for env in envs:
            found += emulator_gaps(repo.name, spec, env)
    return found, evaluate(roles, found), len(requests)


def _read_spec(repo: Path) -> Mapping[str, Any]:
    import yaml

    spec: Mapping[str, Any] = yaml.safe_load((repo / ".copier-answers.yml").read_text())["spec"]
    return spec


def denied_summary(authz: Sequence[Authorization], verdicts: Sequence[str]) -> list[str]:
    """One line per kind of denied authorization, with how often it was made."""
    counts: dict[str, int] = {}
    for a, verdict in zip(authz, verdicts, strict=True):
        if verdict != "Allowed":
            behalf = f"; on behalf: {a.on_behalf}" if a.on_behalf else ""
            line = f"{a.role}: {a.action} on {a.resource} ({a.why.split(' (')[0]}{behalf}) -> {verdict}"
            counts[line] = counts.get(line, 0) + 1
    return [f"{n} x {line}" for line, n in sorted(counts.items())]


if __name__ == "__main__":
    import sys

    found, verdicts, count = evaluate_recording(Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]])
    lines = denied_summary(found, verdicts)
    print(f"{count} requests, {len(found)} authorizations, {sum(v != 'Allowed' for v in verdicts)} denied")
    print("\n".join(lines))
