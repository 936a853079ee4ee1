"""The interface of each kind of Terraform root (inputs, outputs, resources), for the roots' READMEs.

This is what terraform-docs would print, kept as data so the READMEs render with everything else (and
`copier update` keeps them); tests/test_module_docs.py fails when a root's .tf files and this disagree.
"""

from __future__ import annotations

from typing import Any

# The shared variables of every root (blueprints/shared/terraform/variables.tf.jinja); tfvars set them.
INPUTS = (
    ("environment", "string", "Environment name ({envs})."),
    ("account_id", "string", "AWS account of the environment; the provider refuses any other account."),
    ("aws_region", "string", "Primary region."),
    ("dr_region", "string", "Disaster-recovery region."),
    ("dr_replication", "bool", "Replicate to the DR region (tables, bucket, backups)."),
    ("deletion_protection", "bool", "Protect tables and buckets against deletion."),
    ("backup_policy", "string", "Value of the BackupPolicy tag that the AWS Backup selection matches."),
    ("backup_schedule", "string", "AWS Backup schedule (cron expression, UTC)."),
    ("backup_retention_days", "number", "Days AWS Backup keeps each recovery point."),
    ("tags", "map(string)", "Tags on every resource (the provider adds Component)."),
)

OUTPUTS = {
    "table": (
        ("table_name", "Name of the table (Lambdas find it by this name)."),
        ("table_arn", "ARN of the table."),
        ("stream_arn", "ARN of the table's stream (empty when streams are off)."),
        ("kms_key_arn", "ARN of the key that encrypts the table."),
    ),
    "backup": (
        ("vault_name", "Backup vault in the primary region."),
        ("plan_id", "AWS Backup plan."),
        ("dr_vault_arn", "Backup vault in the DR region (null where the environment does not replicate)."),
    ),
    "bucket": (
        ("bucket_name", "Name of the bucket (Lambdas find it by this name)."),
        ("bucket_arn", "ARN of the bucket."),
        ("kms_key_arn", "ARN of the key that encrypts the bucket."),
        ("dr_bucket_arn", "ARN of the DR replica (null where the environment does not replicate)."),
    ),
}

# (address, what it is, created only where the environment replicates to the DR region)
_BUCKET_PARTS = (
    ("ownership_controls", "object ownership enforced (no ACLs)"),
    ("public_access_block", "all public access blocked"),
    ("versioning", "versioning on"),
    ("server_side_encryption_configuration", "default encryption"),
    ("lifecycle_configuration", "expiry of noncurrent versions"),
)
RESOURCES: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "table": (
        ("aws_kms_key.table", "customer-managed key that encrypts the table", False),
        ("aws_kms_alias.table", "alias of that key", False),
        ("aws_kms_key.replica", "key of the replica in the DR region", True),
        ("aws_dynamodb_table.this", "the table: keys, indexes, stream, PITR, SSE, DR replica", False),
    ),
    "backup": (
        ("aws_kms_key.vault", "key of the backup vault", False),
        ("aws_backup_vault.this", "backup vault in the primary region", False),
        ("aws_kms_key.dr_vault", "key of the DR backup vault", True),
        ("aws_backup_vault.dr", "backup vault in the DR region (copy target)", True),
        ("aws_backup_plan.this", "schedule and retention of the environment's backup policy", False),
        ("aws_iam_role.backup", "role AWS Backup assumes", False),
        ("aws_iam_role_policy_attachment.backup", "AWS Backup's managed policies on that role", False),
        ("aws_backup_selection.by_tag", "selects the tables by their BackupPolicy tag", False),
    ),
    "bucket": (
        ("aws_kms_key.bucket", "customer-managed key that encrypts the bucket", False),
        ("aws_kms_alias.bucket", "alias of that key", False),
        ("aws_s3_bucket.this", "the bucket", False),
        *((f"aws_s3_bucket_{part}.this", what, False) for part, what in _BUCKET_PARTS),
        ("aws_s3_bucket_logging.this", "server access logs to the log bucket", False),
        ("aws_s3_bucket_policy.this", "TLS-only bucket policy", False),
        ("aws_s3_bucket.logs", "the access-log bucket", False),
        *((f"aws_s3_bucket_{part}.logs", what, False) for part, what in _BUCKET_PARTS),
        ("aws_s3_bucket_policy.logs", "lets the S3 logging service write, TLS only", False),
        ("aws_kms_key.dr", "key of the DR replica", True),
        ("aws_s3_bucket.dr", "the DR replica in the DR region", True),
        *((f"aws_s3_bucket_{part}.dr", what, True) for part, what in _BUCKET_PARTS),
        ("aws_s3_bucket_policy.dr", "TLS-only policy of the replica", True),
        ("aws_iam_role.replication", "role S3 replication assumes", True),
        ("aws_iam_role_policy.replication", "what that role may read and write", True),
        ("aws_s3_bucket_replication_configuration.this", "replication of every object to the DR replica", True),
    ),
}
# Only the templates bucket holds objects: one per template file, with content type and checksum.
TEMPLATE_OBJECTS = ("aws_s3_object.template", "one object per template file, with content type and checksum", False)


def module_docs(kind: str, env_names: list[str], holds_templates: bool = False) -> dict[str, Any]:
    """Inputs, outputs and resources of one root of ``kind`` (table, backup, bucket), as answer data."""
    resources = RESOURCES[kind] + ((TEMPLATE_OBJECTS,) if holds_templates else ())
    return {
        "inputs": [
            {"name": name, "type": type_, "description": text.format(envs=", ".join(env_names))}
            for name, type_, text in INPUTS
        ],
        "outputs": [{"name": name, "description": text} for name, text in OUTPUTS[kind]],
        "resources": [{"address": address, "what": what, "dr_only": dr} for address, what, dr in resources],
    }
