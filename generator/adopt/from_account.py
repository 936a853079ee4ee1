"""Find existing resources in the environment's AWS account, with read-only calls only.

boto3 takes credentials and the endpoint the standard way (``AWS_PROFILE``, ``AWS_ACCESS_KEY_ID``...,
``AWS_ENDPOINT_URL`` for an emulator). The calls: dynamodb:DescribeTable, kms:ListAliases,
kms:DescribeKey, s3:ListBucket (HeadBucket), s3:GetBucket* / GetEncryptionConfiguration /
GetLifecycleConfiguration / GetReplicationConfiguration, s3:GetObject (HeadObject),
backup:DescribeBackupVault, backup:ListBackupPlans, iam:GetRole. A key is adopted only when it is
customer managed (an AWS managed key such as ``aws/dynamodb`` belongs to no root).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from generator.adopt.facts import table_facts_from_api
from generator.adopt.records import AdoptError, Found, Lookup

# Error codes that mean "there is none" (each service spells it its own way).
_ABSENT = {
    "ResourceNotFoundException",
    "NotFoundException",
    "NotFound",
    "NoSuchBucket",
    "NoSuchKey",
    "404",
    "NoSuchEntity",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
    "OwnershipControlsNotFoundError",
    "NoSuchBucketPolicy",
    "NoSuchLifecycleConfiguration",
    "ReplicationConfigurationNotFoundError",
}

# A bucket part exists when its read call answers (and, for two, says something is configured).
_PART_READS: dict[str, tuple[str, Callable[[dict[str, Any]], bool]]] = {
    "aws_s3_bucket_ownership_controls": ("get_bucket_ownership_controls", lambda r: True),
    "aws_s3_bucket_public_access_block": ("get_public_access_block", lambda r: True),
    "aws_s3_bucket_versioning": ("get_bucket_versioning", lambda r: "Status" in r),
    "aws_s3_bucket_server_side_encryption_configuration": ("get_bucket_encryption", lambda r: True),
    "aws_s3_bucket_lifecycle_configuration": ("get_bucket_lifecycle_configuration", lambda r: True),
    "aws_s3_bucket_logging": ("get_bucket_logging", lambda r: "LoggingEnabled" in r),
    "aws_s3_bucket_policy": ("get_bucket_policy", lambda r: True),
    "aws_s3_bucket_replication_configuration": ("get_bucket_replication", lambda r: True),
}


class AccountSource:
    """Read-only clients for the primary and the DR region of one account."""

    def __init__(self, region: str, dr_region: str) -> None:
        try:
            import boto3
            from botocore.exceptions import BotoCoreError, ClientError
        except ImportError as exc:  # pragma: no cover - boto3 is a dependency
            raise AdoptError("boto3 is not installed", ["pip install boto3, or use --from-state"]) from exc
        self._session = boto3.session.Session()
        self._regions = {False: region, True: dr_region}
        self._client_error, self._boto_error = ClientError, BotoCoreError

    @cache  # noqa: B019 - one source per run
    def _client(self, service: str, dr: bool) -> Any:
        return self._session.client(service, region_name=self._regions[dr])

    def _call(self, service: str, dr: bool, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """The answer, or None when AWS says there is no such thing; AdoptError for anything else."""
        try:
            answer: dict[str, Any] = getattr(self._client(service, dr), operation)(**kwargs)
            return answer
        except self._client_error as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _ABSENT:
                return None
            raise AdoptError(
                f"{service} {operation} {kwargs}: {code}: {exc}",
                [
                    "adoption reads with the credentials of the environment's account; "
                    "see the runbook adopt-existing-resources for the permissions"
                ],
            ) from exc
        except self._boto_error as exc:
            raise AdoptError(f"{service} {operation}: {exc}", ["check the AWS credentials and region"]) from exc

    def _customer_key(self, key: str | None, dr: bool) -> Found | None:
        if not key:
            return None
        described = self._call("kms", dr, "describe_key", KeyId=key)
        if described is None or described["KeyMetadata"].get("KeyManager") != "CUSTOMER":
            return None
        return Found(str(described["KeyMetadata"]["KeyId"]))

    def _alias(self, name: str, dr: bool) -> dict[str, Any] | None:
        for page in self._client("kms", dr).get_paginator("list_aliases").paginate():
            for alias in page["Aliases"]:
                if alias["AliasName"] == name:
                    return dict(alias)
        return None

    def _bucket_key(self, bucket: str, dr: bool) -> str | None:
        answer = self._call("s3", dr, "get_bucket_encryption", Bucket=bucket) or {}
        for rule in answer.get("ServerSideEncryptionConfiguration", {}).get("Rules", []):
            key = rule.get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID")
            if key:
                return str(key)
        return None

    def find(self, lookup: Lookup, dr: bool) -> Found | None:
        """The resource ``lookup`` names, if it exists in the account."""
        kind, name = lookup.kind, lookup.name
        if kind in ("table", "table_key"):
            table = (self._call("dynamodb", dr, "describe_table", TableName=name) or {}).get("Table")
            if table is None:
                return None
            if kind == "table":
                return Found(name, table_facts_from_api(table))
            return self._customer_key(table.get("SSEDescription", {}).get("KMSMasterKeyArn"), dr)
        if kind in ("alias", "alias_key"):
            alias = self._alias(name, dr)
            if alias is None:
                return None
            return Found(name) if kind == "alias" else self._customer_key(alias.get("TargetKeyId"), dr)
        if kind == "bucket":
            return Found(name) if self._call("s3", dr, "head_bucket", Bucket=name) is not None else None
        if kind == "bucket_part":
            operation, configured = _PART_READS[lookup.resource_type]
            answer = self._call("s3", dr, operation, Bucket=name)
            return Found(name) if answer is not None and configured(answer) else None
        if kind == "bucket_key":
            return self._customer_key(self._bucket_key(name, dr), dr)
        if kind == "object":
            bucket, _, key = name.partition("/")
            return Found(name) if self._call("s3", dr, "head_object", Bucket=bucket, Key=key) is not None else None
        if kind in ("vault", "vault_key"):
            vault = self._call("backup", dr, "describe_backup_vault", BackupVaultName=name)
            if vault is None:
                return None
            return Found(name) if kind == "vault" else self._customer_key(vault.get("EncryptionKeyArn"), dr)
        if kind == "plan":
            for page in self._client("backup", dr).get_paginator("list_backup_plans").paginate():
                for plan in page["BackupPlansList"]:
                    if plan["BackupPlanName"] == name:
                        return Found(str(plan["BackupPlanId"]))
            return None
        if kind == "role":
            return Found(name) if self._call("iam", dr, "get_role", RoleName=name) is not None else None
        raise ValueError(f"unknown lookup {kind}")
