"""Least-privilege IAM policies of the plan and apply roles of each generated repo, per environment.

Computed from the model only: resource names come from the definition (tables, buckets, vaults, roles,
KMS aliases, the state bucket and prefix), so the policies name exactly what that repo's roots manage.
The bootstrap/ root of each repo renders them verbatim (``bootstrap/policies/<env>.json``).

Where IAM cannot name a resource in advance the policy says why:
- KMS keys get random ids: keys with an alias are matched by ``kms:ResourceAliases``; keys without one
  (backup vault keys, DR replica keys) and new keys by the Environment and Component tags every root
  sets (``aws:ResourceTag`` / ``aws:RequestTag``);
- AWS Backup plan ARNs carry an id AWS assigns: the plan statement names ``backup-plan:*`` of the
  environment's account and region;
- ``kms:ListAliases``, ``backup:ListBackupPlans``, ``backup:DescribeRegionSettings``,
  ``backup:UpdateRegionSettings`` and ``backup-storage:MountCapsule`` have no resource type at all and are
  granted on ``*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.definition.names import BACKUP_COMPONENT
from generator.model import Environment, Model, RepoAccess

Statement = dict[str, Any]
Policy = dict[str, Any]

# Reads terraform plan and the post-deployment checks make, per resource type.
TABLE_READ = [
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeKinesisStreamingDestination",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
]
TABLE_WRITE = [
    "dynamodb:CreateTable",
    "dynamodb:CreateTableReplica",
    "dynamodb:DeleteTable",
    "dynamodb:DeleteTableReplica",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
]
KEY_READ = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
KEY_WRITE = [
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DisableKeyRotation",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
VAULT_READ = [
    "backup:DescribeBackupVault",
    "backup:GetBackupVaultAccessPolicy",
    "backup:GetBackupVaultNotifications",
    "backup:ListTags",
]
VAULT_WRITE = [
    "backup:CreateBackupVault",
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:PutBackupVaultAccessPolicy",
    "backup:TagResource",
    "backup:UntagResource",
]
PLAN_READ = ["backup:GetBackupPlan", "backup:GetBackupSelection", "backup:ListBackupSelections", "backup:ListTags"]
PLAN_WRITE = [
    "backup:CreateBackupPlan",
    "backup:CreateBackupSelection",
    "backup:DeleteBackupPlan",
    "backup:DeleteBackupSelection",
    "backup:TagResource",
    "backup:UntagResource",
    "backup:UpdateBackupPlan",
]
ROLE_READ = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]
ROLE_WRITE = [
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:ListInstanceProfilesForRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
]
# Adding a replica (a global table) copies the items: DynamoDB asks for item access in both regions.
REPLICA_WRITE = [
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]
BUCKET_READ = [
    "s3:GetAccelerateConfiguration",
    "s3:GetBucketAcl",
    "s3:GetBucketCORS",
    "s3:GetBucketLocation",
    "s3:GetBucketLogging",
    "s3:GetBucketObjectLockConfiguration",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetBucketRequestPayment",
    "s3:GetBucketTagging",
    "s3:GetBucketVersioning",
    "s3:GetBucketWebsite",
    "s3:GetEncryptionConfiguration",
    "s3:GetLifecycleConfiguration",
    "s3:GetReplicationConfiguration",
    "s3:ListBucket",
]
BUCKET_WRITE = [
    "s3:CreateBucket",
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketLogging",
    "s3:PutBucketOwnershipControls",
    "s3:PutBucketPolicy",
    "s3:PutBucketPublicAccessBlock",
    "s3:PutBucketTagging",
    "s3:PutBucketVersioning",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
]
OBJECT_READ = ["s3:GetObject", "s3:GetObjectTagging"]
OBJECT_WRITE = ["s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging"]
BACKUP_MANAGED_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores")


def _statement(
    sid: str, actions: Sequence[str], resources: Sequence[str], condition: Mapping[str, Any] | None = None
) -> Statement:
    statement: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions))}
    statement["Resource"] = list(dict.fromkeys(resources))
    if condition:
        statement["Condition"] = {test: dict(values) for test, values in condition.items()}
    return statement


class _Names:
    """ARNs of one environment's account and regions."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.regions = [env.region, *([env.dr_region] if env.dr_replication else [])]

    def arn(self, service: str, resource: str, region: str = "") -> str:
        account = "" if service == "s3" else self.env.account_id
        return f"arn:{self.env.partition}:{service}:{region}:{account}:{resource}"

    def everywhere(self, service: str, resource: str) -> list[str]:
        return [self.arn(service, resource, region) for region in self.regions]

    def keys(self) -> list[str]:
        return self.everywhere("kms", "key/*")


def _owned_by(env: Environment, components: Sequence[str], prefix: str = "aws:ResourceTag") -> dict[str, Any]:
    return {
        "StringEquals": {f"{prefix}/Environment": env.name, f"{prefix}/Component": list(components)},
    }


def _state(env: Environment, repo_dir: str, write: bool) -> list[Statement]:
    bucket = f"arn:{env.partition}:s3:::{env.state_bucket}"
    objects = f"{bucket}/{repo_dir}/*"
    # The bootstrap state (these roles themselves) belongs to the account administrators.
    keep_out = {
        "Sid": "BootstrapStateIsTheAdministrators",
        "Effect": "Deny",
        "Action": ["s3:DeleteObject", "s3:PutObject"],
        "Resource": [f"{bucket}/{repo_dir}/bootstrap/*"],
    }
    return [*_state_access(bucket, objects, repo_dir, write), keep_out]


def _state_access(bucket: str, objects: str, repo_dir: str, write: bool) -> list[Statement]:
    if not write:
        return [
            _statement("ListStateBucket", ["s3:ListBucket"], [bucket]),
            _statement("ReadOwnState", ["s3:GetObject"], [objects]),
            # Plans lock the state: S3 native locking writes and deletes <key>.tflock, nothing else.
            _statement("LockOwnState", ["s3:DeleteObject", "s3:PutObject"], [f"{bucket}/{repo_dir}/*.tflock"]),
        ]
    return [
        _statement("ListStateBucket", ["s3:ListBucket", "s3:ListBucketVersions"], [bucket]),
        # Rollback (state_rollback.py, in rollback-<env>) copies an earlier version of a state object.
        _statement(
            "WriteOwnState",
            ["s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            [objects],
        ),
    ]


def _keys(env: Environment, aliases: Sequence[str], components: Sequence[str], write: bool) -> list[Statement]:
    names = _Names(env)
    actions = KEY_READ + (KEY_WRITE if write else [])
    statements = [
        _statement("ListKeyAliases", ["kms:ListAliases"], ["*"]),
        _statement(
            "KeysByAlias",
            actions,
            names.keys(),
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": list(aliases)}},
        ),
        _statement("KeysByTag", actions, names.keys(), _owned_by(env, components)),
    ]
    if write:
        statements.append(
            _statement(
                "CreateOwnKeys",
                ["kms:CreateKey", "kms:TagResource"],
                ["*"],
                _owned_by(env, components, "aws:RequestTag"),
            )
        )
        statements.append(
            _statement(
                "OwnAliases",
                ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
                [names.arn("kms", alias, region) for alias in aliases for region in names.regions],
            )
        )
    return statements


def _roles(env: Environment, roles: Mapping[str, str], write: bool) -> list[Statement]:
    """The service roles the repo's roots create (name -> the service they are passed to)."""
    arns = [f"arn:{env.partition}:iam::{env.account_id}:role/{name}" for name in sorted(roles)]
    statements = [_statement("ReadOwnServiceRoles", ROLE_READ, arns)]
    if write:
        statements.append(_statement("WriteOwnServiceRoles", ROLE_WRITE, arns))
        for name, service in sorted(roles.items()):
            sid = "Pass" + "".join(part.capitalize() for part in service.split(".")[0].split("-")) + "Role"
            statements.append(
                _statement(
                    sid,
                    ["iam:PassRole"],
                    [f"arn:{env.partition}:iam::{env.account_id}:role/{name}"],
                    {"StringEquals": {"iam:PassedToService": service}},
                )
            )
    return statements


def _dynamodb(model: Model, env: Environment, write: bool) -> list[Statement]:
    names = _Names(env)
    tables = [t.name for t in model.tables]
    table_arns = [
        arn
        for t in tables
        for arn in (*names.everywhere("dynamodb", f"table/{t}"), *names.everywhere("dynamodb", f"table/{t}/index/*"))
    ]
    components = [*tables, BACKUP_COMPONENT]
    vaults = [names.arn("backup", f"backup-vault:{env.backup_vault}", env.region)]
    if env.dr_vault:
        vaults.append(names.arn("backup", f"backup-vault:{env.dr_vault}", env.dr_region))
    plans = [names.arn("backup", "backup-plan:*", env.region)]
    statements = [
        _statement(
            "Tables",
            TABLE_READ + (TABLE_WRITE + (REPLICA_WRITE if env.dr_replication else []) if write else []),
            table_arns,
        ),
        _statement("BackupVaults", VAULT_READ + (VAULT_WRITE if write else []), vaults),
        _statement("BackupPlans", PLAN_READ + (PLAN_WRITE if write else []), plans),
        _statement("ListBackupPlans", ["backup:ListBackupPlans"], ["*"]),
        # The advanced DynamoDB features the DR copy needs are account settings: no resource type.
        _statement(
            "BackupRegionSettings",
            ["backup:DescribeRegionSettings", *(["backup:UpdateRegionSettings"] if write else [])],
            ["*"],
        ),
        *_keys(env, [t.kms_aliases[env.name] for t in model.tables], components, write),
        *_roles(env, {env.backup_role: "backup.amazonaws.com"}, write),
    ]
    if write:
        managed = [f"arn:{env.partition}:iam::aws:policy/service-role/{p}" for p in BACKUP_MANAGED_POLICIES]
        backup_role = f"arn:{env.partition}:iam::{env.account_id}:role/{env.backup_role}"
        statements += [
            _statement(
                "AttachBackupPolicies",
                ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                [backup_role],
                {"ArnEquals": {"iam:PolicyARN": managed}},
            ),
            # Creating a vault mounts its storage; the action has no resource type.
            _statement("MountVaultStorage", ["backup-storage:MountCapsule"], ["*"]),
        ]
        if env.dr_replication:
            statements.append(
                _statement(
                    "ReplicaServiceRole",
                    ["iam:CreateServiceLinkedRole"],
                    [
                        f"arn:{env.partition}:iam::{env.account_id}:role/aws-service-role/replication.dynamodb.amazonaws.com/*"
                    ],
                    {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}},
                )
            )
    return statements


def _s3(model: Model, env: Environment, write: bool) -> list[Statement]:
    buckets: list[str] = []
    content: list[str] = []
    aliases: list[str] = []
    roles: dict[str, str] = {}
    for bucket in model.buckets:
        name = bucket.names[env.name]
        mine = [name, bucket.log_names[env.name]] + ([bucket.dr_names[env.name]] if env.dr_replication else [])
        buckets += [f"arn:{env.partition}:s3:::{b}" for b in mine]
        content += [f"arn:{env.partition}:s3:::{b}/*" for b in mine]
        aliases.append(f"alias/{name}")
        if env.dr_replication:
            roles[f"{name}-replication"] = "s3.amazonaws.com"
    statements = [
        _statement("Buckets", BUCKET_READ + (BUCKET_WRITE if write else []), buckets),
        _statement("Objects", OBJECT_READ + (OBJECT_WRITE if write else []), content),
        *_keys(env, aliases, [b.purpose for b in model.buckets], write),
    ]
    if not write:
        # The post-deployment check reads the template objects, which the bucket key encrypts.
        statements.append(
            _statement(
                "DecryptOwnObjects",
                ["kms:Decrypt"],
                _Names(env).keys(),
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}},
            )
        )
    if roles:
        statements += _roles(env, roles, write)
    return statements


def role_policy(model: Model, access: RepoAccess, repo_dir: str, env: Environment, write: bool) -> Policy:
    """The permission policy of the plan (``write=False``) or apply role of a repo in ``env``."""
    resources = _dynamodb(model, env, write) if access.kind == "dynamodb" else _s3(model, env, write)
    return {"Version": "2012-10-17", "Statement": [*_state(env, repo_dir, write), *resources]}
