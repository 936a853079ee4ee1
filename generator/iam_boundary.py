"""The permissions boundary of the service roles a repo's roots create, and the apply role's role management.

An apply role that may write another role's inline policy and trust policy could make that role an
administrator and assume it. AWS's answer is a permissions boundary: the bootstrap (run by an account
administrator) defines one managed policy per repo and environment, every role the pipeline creates must
carry it (``iam:PermissionsBoundary`` on every role-writing action, https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html),
and nothing the pipeline can do removes or changes it. The boundary allows only what the service roles
need, on this repo's resources: S3 replication of the template buckets, AWS Backup of the tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.model import Environment, Model

Statement = dict[str, Any]

# Role writes whose IAM authorization carries the role's boundary as ``iam:PermissionsBoundary``
# (Service Authorization Reference, IAM): each is allowed only on a role bounded by this repo's boundary.
BOUNDED_ROLE_WRITE = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
]
# Harmless without the boundary key: tags and the description, the instance-profile check of a delete.
ROLE_UPKEEP = ["iam:ListInstanceProfilesForRole", "iam:TagRole", "iam:UntagRole", "iam:UpdateRole"]
REPLICATION_READ = ["s3:GetObjectVersionAcl", "s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging"]
REPLICATION_WRITE = ["s3:ReplicateDelete", "s3:ReplicateObject", "s3:ReplicateTags"]
SERVICE_KEY_USE = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
]


def boundary_name(repo_dir: str, env: Environment) -> str:
    """The boundary's policy name (the roots derive the same name from the repo and ``var.environment``)."""
    return f"{repo_dir}-boundary-{env.name}"


def boundary_arn(repo_dir: str, env: Environment) -> str:
    """The ARN of the boundary policy in ``env``'s account."""
    return f"arn:{env.partition}:iam::{env.account_id}:policy/{boundary_name(repo_dir, env)}"


def _allow(
    sid: str, actions: Sequence[str], resources: Sequence[str], condition: Mapping[str, Any] | None = None
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": list(resources)}
    if condition:
        statement["Condition"] = {k: dict(v) for k, v in condition.items()}
    return statement


def _regions(env: Environment) -> list[str]:
    return [env.region, *([env.dr_region] if env.dr_replication else [])]


def _keys_via(env: Environment, services: Sequence[str]) -> Statement:
    keys = [f"arn:{env.partition}:kms:{r}:{env.account_id}:key/*" for r in _regions(env)]
    via = [f"{s}.{r}.amazonaws.com" for s in services for r in _regions(env)]
    return _allow("UseKeysThroughTheService", SERVICE_KEY_USE, keys, {"StringEquals": {"kms:ViaService": via}})


def boundary_policy(model: Model, kind: str, env: Environment) -> dict[str, Any]:
    """The most any role the repo's roots create may do in ``env``."""
    if kind == "s3":
        buckets = [b.names[env.name] for b in model.buckets]
        dr = [b.dr_names[env.name] for b in model.buckets]
        statements = [
            _allow(
                "ReadSourceConfiguration",
                ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                [f"arn:{env.partition}:s3:::{b}" for b in buckets],
            ),
            _allow("ReadSourceVersions", REPLICATION_READ, [f"arn:{env.partition}:s3:::{b}/*" for b in buckets]),
            _allow("WriteReplicas", REPLICATION_WRITE, [f"arn:{env.partition}:s3:::{b}/*" for b in dr]),
            _keys_via(env, ["s3"]),
        ]
    else:
        arn = f"arn:{env.partition}:{{service}}:{{region}}:{env.account_id}:{{resource}}"
        tables = [
            arn.format(service="dynamodb", region=r, resource=f"table/{t.name}{suffix}")
            for t in model.tables
            for r in _regions(env)
            for suffix in ("", "/*")
        ]
        vaults = [arn.format(service="backup", region=env.region, resource=f"backup-vault:{env.backup_vault}")]
        if env.dr_vault:
            vaults.append(arn.format(service="backup", region=env.dr_region, resource=f"backup-vault:{env.dr_vault}"))
        points = [arn.format(service="backup", region=r, resource="recovery-point:*") for r in _regions(env)]
        statements = [
            # What AWSBackupServiceRolePolicyForBackup / ForRestores use, cut down to this repo's tables.
            _allow("BackUpAndRestoreOwnTables", ["dynamodb:*"], tables),
            _allow("OwnVaultsAndRecoveryPoints", ["backup:*"], vaults + points),
            _allow(
                "ReadBackupSettings", ["backup:Describe*", "backup:Get*", "backup:List*", "tag:GetResources"], ["*"]
            ),
            _keys_via(env, ["dynamodb", "backup"]),
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def role_management(
    env: Environment, repo_dir: str, role_arns: Sequence[str], write: bool, inline: bool
) -> list[Statement]:
    """The apply role's writes to its service roles: only on roles bounded by the repo's boundary.

    ``inline``: the roles carry an inline policy the apply role writes (else only AWS managed ones).
    """
    if not write:
        return []
    bounded = {"StringEquals": {"iam:PermissionsBoundary": boundary_arn(repo_dir, env)}}
    writes = [a for a in BOUNDED_ROLE_WRITE if inline or "RolePolicy" not in a]
    return [
        _allow("WriteOwnServiceRolesUnderTheBoundary", writes, role_arns, bounded),
        _allow("TagOwnServiceRoles", ROLE_UPKEEP, role_arns),
        {
            "Sid": "KeepTheBoundary",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:DeleteRolePermissionsBoundary",
                "iam:SetDefaultPolicyVersion",
            ],
            "Resource": [boundary_arn(repo_dir, env), *role_arns],
        },
    ]


def bounded(env: Environment, repo_dir: str) -> dict[str, Any]:
    """The condition that a role-policy attachment is on a role under the boundary."""
    return {"iam:PermissionsBoundary": boundary_arn(repo_dir, env)}
