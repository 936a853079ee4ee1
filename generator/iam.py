"""Least-privilege IAM policies of the plan and apply roles of each generated repo, per environment.

Computed from the model only: resource names come from the definition (tables, buckets, vaults, roles,
KMS aliases, the state bucket and prefix), so the policies name exactly what that repo's roots manage.
The bootstrap/ root of each repo renders them verbatim (``bootstrap/policies/<env>.json``).

Where IAM cannot name a resource in advance the policy says why:
- KMS keys get random ids: keys with an alias are matched by ``kms:ResourceAliases``; every key the roots
  create names the pipeline roles in its own key policy (``key_actions``), so a new key or one without an
  alias (backup vault keys, DR replica keys) is reached through that, never through tags; new keys must
  carry the Environment and Component tags (``aws:RequestTag``);
- AWS Backup plan ARNs carry an id AWS assigns: the plan statement names ``backup-plan:*`` of the
  environment's account and region;
- ``kms:ListAliases``, ``backup:ListBackupPlans``, ``backup:DescribeRegionSettings`` (plan role only: AWS
  Backup's region settings are an account setting that bootstrap/ owns) and ``backup-storage:MountCapsule``
  have no resource type at all and are granted on ``*``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generator.definition.names import BACKUP_COMPONENT
from generator.iam_boundary import bounded, role_management
from generator.model import Environment, Model, RepoAccess

Statement = dict[str, Any]
Policy = dict[str, Any]

# Reads terraform plan and the post-deployment checks make, per resource type.
TABLE_READ = [
    "dynamodb:DescribeContinuousBackups",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:ListTagsOfResource",
]
TABLE_WRITE = [
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:TagResource",
    "dynamodb:UntagResource",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
]
KEY_READ = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
KEY_WRITE = [
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:EnableKeyRotation",
    "kms:GenerateDataKey",
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
# What AWS services ask of the keys on the apply role's behalf beyond GenerateDataKey: DynamoDB (CreateTable)
# and AWS Backup (CreateBackupVault) use the keys with the caller's permissions.
KEY_USE = {"dynamodb": ["kms:CreateGrant", "kms:Decrypt", "kms:RetireGrant"], "s3": []}


def key_actions(kind: str) -> dict[str, list[str]]:
    """What each pipeline role may do on its repo's keys, granted by the keys' own policies (kms.jinja).

    Not by tags: tag on create needs ``kms:TagResource`` on ``*``, which lets a role tag a foreign key too.
    """
    return {"apply": sorted(KEY_READ + KEY_WRITE + KEY_USE[kind]), "plan": list(KEY_READ)}


VAULT_READ = ["backup:DescribeBackupVault", "backup:GetBackupVaultAccessPolicy", "backup:ListTags"]
# No DeleteBackupVault nor DeleteBackupVaultAccessPolicy: the vault policy's Deny must hold, and a role
# that could remove the policy first could delete the vault (an administrator deletes a vault).
VAULT_WRITE = [
    "backup:CreateBackupVault",
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
ROLE_READ = ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]
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


def _owned_by(env: Environment, components: Sequence[str], prefix: str) -> dict[str, Any]:
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
    # Each role lists only its repo's prefix of the shared state bucket.
    prefix = {"StringLike": {"s3:prefix": [f"{repo_dir}/*"]}}
    if not write:
        return [
            _statement("ListStateBucket", ["s3:ListBucket"], [bucket], prefix),
            _statement("ReadOwnState", ["s3:GetObject"], [objects]),
            # Plans lock the state: S3 native locking writes and deletes <key>.tflock, nothing else.
            _statement("LockOwnState", ["s3:DeleteObject", "s3:PutObject"], [f"{bucket}/{repo_dir}/*.tflock"]),
        ]
    return [
        _statement("ListStateBucket", ["s3:ListBucket", "s3:ListBucketVersions"], [bucket], prefix),
        # Rollback (state_rollback.py, in rollback-<env>) copies an earlier version of a state object.
        _statement("WriteOwnState", ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"], [objects]),
        # S3 native locking deletes <key>.tflock when it unlocks; state files are never deleted.
        _statement("UnlockOwnState", ["s3:DeleteObject"], [f"{bucket}/{repo_dir}/*.tflock"]),
    ]


def _keys(
    env: Environment, aliases: Sequence[str], components: Sequence[str], write: bool, use: Sequence[str] = ()
) -> list[Statement]:
    """``use``: what AWS services ask on the apply role's behalf beyond GenerateDataKey (grants, decrypt)."""
    names = _Names(env)
    actions = KEY_READ + ([*KEY_WRITE, *use] if write else [])
    statements = [
        _statement("ListKeyAliases", ["kms:ListAliases"], ["*"]),
        _statement(
            "KeysByAlias",
            actions,
            names.keys(),
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": list(aliases)}},
        ),
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


def _roles(env: Environment, repo_dir: str, roles: Mapping[str, str], write: bool, inline: bool) -> list[Statement]:
    """The service roles the repo's roots create (name -> the service they are passed to).

    ``inline``: the roles carry an inline policy (replication), not only AWS managed ones (backup).
    """
    arns = [f"arn:{env.partition}:iam::{env.account_id}:role/{name}" for name in sorted(roles)]
    read = ROLE_READ + (["iam:GetRolePolicy"] if inline else [])
    statements = [_statement("ReadOwnServiceRoles", read, arns), *role_management(env, repo_dir, arns, write, inline)]
    if write:
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


def _dynamodb(model: Model, env: Environment, repo_dir: str, write: bool) -> list[Statement]:
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
    replicas = ["dynamodb:CreateTableReplica", "dynamodb:DeleteTableReplica"] if env.dr_replication else []
    statements = [
        _statement("Tables", TABLE_READ + (TABLE_WRITE + replicas if write else []), table_arns),
        _statement("BackupVaults", VAULT_READ + (VAULT_WRITE if write else []), vaults),
        _statement("BackupPlans", PLAN_READ + (PLAN_WRITE if write else []), plans),
        # The post-deployment check finds the plan by name; the action has no resource type.
        *([] if write else [_statement("ListBackupPlans", ["backup:ListBackupPlans"], ["*"])]),
        # The post-deployment check reads the advanced DynamoDB features the DR copy needs: account settings
        # (no resource type) that bootstrap/ sets, applied by an administrator; no pipeline role changes them.
        *([] if write else [_statement("BackupRegionSettings", ["backup:DescribeRegionSettings"], ["*"])]),
        # DynamoDB (CreateTable) and AWS Backup (CreateBackupVault) use the keys with the caller's permissions.
        *_keys(
            env,
            [t.kms_aliases[env.name] for t in model.tables],
            components,
            write,
            KEY_USE["dynamodb"],
        ),
        *_roles(env, repo_dir, {env.backup_role: "backup.amazonaws.com"}, write, inline=False),
        # Every table refresh describes the AWS managed key (the provider's default SSE key lookup).
        _statement(
            "DescribeDynamoDbManagedKey",
            ["kms:DescribeKey"],
            names.keys(),
            {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/aws/dynamodb"]}},
        ),
    ]
    if write and env.dr_replication:
        # Creating a replica copies the items into it: DynamoDB asks for item access on the replica only.
        replicas = [
            arn
            for t in tables
            for arn in (
                names.arn("dynamodb", f"table/{t}", env.dr_region),
                names.arn("dynamodb", f"table/{t}/index/*", env.dr_region),
            )
        ]
        statements.append(_statement("FillNewReplicas", REPLICA_WRITE, replicas))
    if write:
        managed = [f"arn:{env.partition}:iam::aws:policy/service-role/{p}" for p in BACKUP_MANAGED_POLICIES]
        backup_role = f"arn:{env.partition}:iam::{env.account_id}:role/{env.backup_role}"
        statements += [
            _statement(
                "AttachBackupPolicies",
                ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
                [backup_role],
                {"ArnEquals": {"iam:PolicyARN": managed}, "StringEquals": bounded(env, repo_dir)},
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


def _s3(model: Model, env: Environment, repo_dir: str, write: bool) -> list[Statement]:
    buckets: list[str] = []
    content: list[str] = []
    versioned: list[str] = []
    aliases: list[str] = []
    roles: dict[str, str] = {}
    for bucket in model.buckets:
        name = bucket.names[env.name]
        mine = [name, bucket.log_names[env.name]] + ([bucket.dr_names[env.name]] if env.dr_replication else [])
        buckets += [f"arn:{env.partition}:s3:::{b}" for b in mine]
        # Only the template bucket holds objects the pipeline writes or checks (the log bucket is the
        # logging service's, the DR copy S3 replication's).
        content.append(f"arn:{env.partition}:s3:::{name}/*")
        versioned.append(f"arn:{env.partition}:s3:::{name}")
        aliases.append(f"alias/{name}")
        if env.dr_replication:
            roles[f"{name}-replication"] = "s3.amazonaws.com"
    replication = ["s3:PutReplicationConfiguration"] if env.dr_replication else []
    statements = [
        _statement("Buckets", BUCKET_READ + (BUCKET_WRITE + replication if write else []), buckets),
        _statement("Objects", OBJECT_READ + (OBJECT_WRITE if write else []), content),
        *_keys(env, aliases, [b.purpose for b in model.buckets], write),
    ]
    if write:
        # Removing a template (or a destroy) lists the object's versions and deletes each one.
        statements += [
            _statement("ListTemplateVersions", ["s3:ListBucketVersions"], versioned),
            _statement("DeleteTemplateVersions", ["s3:DeleteObjectVersion"], content),
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
        if env.dr_replication:
            statements += _dr_reads(model, env)
    if roles:
        statements += _roles(env, repo_dir, roles, write, inline=True)
    return statements


def _dr_reads(model: Model, env: Environment) -> list[Statement]:
    """The post-deployment check reads each DR copy, which the DR bucket's own key (no alias) encrypts."""
    dr_objects = [f"arn:{env.partition}:s3:::{b.dr_names[env.name]}/*" for b in model.buckets]
    # The DR key (no alias) lets the plan role decrypt through S3 in its own key policy (kms.jinja).
    return [_statement("ReadDrCopies", ["s3:GetObject"], dr_objects)]


def role_policy(model: Model, access: RepoAccess, repo_dir: str, env: Environment, write: bool) -> Policy:
    """The permission policy of the plan (``write=False``) or apply role of a repo in ``env``."""
    build = _dynamodb if access.kind == "dynamodb" else _s3
    resources = build(model, env, repo_dir, write)
    return {"Version": "2012-10-17", "Statement": [*_state(env, repo_dir, write), *resources]}
