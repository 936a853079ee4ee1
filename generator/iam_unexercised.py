"""Allowed actions the emulator runs never use, each with the reason it is granted all the same.

``tests/e2e/test_iam_proof.py`` fails on any action a role's policy allows that no recorded request (nor a
request the emulator cannot make, evaluated as AWS would receive it) used, unless it is named here.
"""

from __future__ import annotations

_TAG_REMOVED = "a tag removed from the definition (the runs only add tags)"
_COMPONENT_REMOVED_IN_PROD = "a component removed from the definition in prod (destroy runs in dev only)"
_EMULATOR = "moto 5.2.5 lacks the resource (deploy.BACKUP_GAPS): read and written only in real AWS"

UNEXERCISED: dict[str, str] = {
    "backup:DeleteBackupPlan": _COMPONENT_REMOVED_IN_PROD,
    "backup:DeleteBackupSelection": _EMULATOR + " (a selection replaced)",
    "backup:GetBackupSelection": _EMULATOR + " (aws_backup_selection)",
    "backup:ListBackupSelections": _EMULATOR + " (aws_backup_selection)",
    "backup:GetBackupVaultAccessPolicy": _EMULATOR + " (aws_backup_vault_policy)",
    "backup:UntagResource": _TAG_REMOVED,
    "backup:UpdateBackupPlan": "a changed schedule or retention (the runs apply each environment's as it is)",
    "dynamodb:DeleteTable": _COMPONENT_REMOVED_IN_PROD,
    "dynamodb:DeleteTableReplica": "prod's DR replication turned off (planned, never exercised)",
    "dynamodb:UntagResource": _TAG_REMOVED,
    "dynamodb:UpdateTable": "a changed index or stream in dev (prod's replica creation uses it)",
    "dynamodb:UpdateTimeToLive": "a TTL attribute added or removed in the definition",
    "iam:DeleteRole": _COMPONENT_REMOVED_IN_PROD,
    "iam:DeleteRolePolicy": "the replication role destroyed with prod's DR replication",
    "iam:DetachRolePolicy": _COMPONENT_REMOVED_IN_PROD,
    "iam:ListInstanceProfilesForRole": _COMPONENT_REMOVED_IN_PROD + " (terraform checks before deleting a role)",
    "iam:PutRolePermissionsBoundary": "a service role created before the boundary existed gets it on the next apply",
    "iam:UntagRole": _TAG_REMOVED,
    "iam:UpdateAssumeRolePolicy": "a changed trust policy of a service role (confused-deputy conditions)",
    "iam:UpdateRole": "a changed description or session duration of a service role",
    "kms:DeleteAlias": _COMPONENT_REMOVED_IN_PROD,
    "kms:ScheduleKeyDeletion": _COMPONENT_REMOVED_IN_PROD,
    "kms:PutKeyPolicy": "a changed key policy (blueprints/shared/terraform/kms.jinja)",
    "kms:UntagResource": _TAG_REMOVED,
    "kms:UpdateAlias": "an alias moved to a replacement key",
    "kms:UpdateKeyDescription": "a changed description of a table or bucket (it names the key's purpose)",
    "s3:DeleteBucket": _COMPONENT_REMOVED_IN_PROD,
    "s3:DeleteBucketPolicy": _COMPONENT_REMOVED_IN_PROD,
    "s3:DeleteObjectVersion": "a template removed in prod (exercised in dev)",
    # Recorded in the rehearsal's rollback for the DynamoDB repo's dev apply role (tests/rehearsal/iam.py
    # REHEARSED); the roles below still need the reason.
    "s3:ListBucketVersions": "state_rollback.py in prod (the rehearsal rolls back dev) and a template removed in "
    "prod (exercised in dev)",
    "s3:GetObjectVersion": "state_rollback.py reads an earlier state version: the S3 repo's rollback and prod's "
    "are not rehearsed (the DynamoDB repo's in dev is)",
    "s3:PutObjectTagging": "a changed tag on the template objects (the runs upload them with their tags)",
}
