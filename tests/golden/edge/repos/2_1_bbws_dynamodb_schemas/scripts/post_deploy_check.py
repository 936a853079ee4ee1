"""Check that what is deployed in AWS is what this repo specifies, after every apply.

Shipped into both generated repos as ``scripts/post_deploy_check.py``; the ``terraform-component.yml``
workflow runs it after the apply of each component (and when the plan had no changes). It needs only
the standard library, boto3 and PyYAML; credentials, region and endpoint come from the usual boto3
environment (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ...); the region defaults to the environment's.

Usage (from the repo root, or pass ``--repo-root``)::

    python scripts/post_deploy_check.py --env ENV [--component C]

Without ``--component`` every component of the repo is checked. The expected state is read from the
repo itself: ``.copier-answers.yml`` (environments, components, tags, backups, buckets, templates),
``schemas/<table>.json`` (DynamoDB repo) and ``templates/`` (S3 repo). What is checked:

- a table (DynamoDB repo): status, key schema, key attribute types, every GSI and LSI with its keys and
  projection (and no undeclared index), on-demand billing, stream and view type, PITR, SSE with a
  customer managed KMS key, TTL, deletion protection of the environment, and the mandatory tags
  Environment, Project, Owner, CostCenter, ManagedBy, Component and BackupPolicy with their values;
- where the environment replicates (DynamoDB repo): each table's replica in the DR region, ACTIVE, with
  the same GSIs and LSIs;
- ``backup`` (DynamoDB repo): the plan ``bbws-dynamodb-<env>``, its rule, vault, schedule, retention,
  the copy to the DR region where the environment replicates, a selection naming exactly the repo's
  backed-up tables by ARN (with the BackupPolicy tag condition, never a tag alone) and AWS Backup's
  advanced DynamoDB features enabled in the region (the DR copy needs them);
- a bucket (S3 repo): the mandatory tags, versioning, default encryption aws:kms, all four public
  access blocks, BucketOwnerEnforced, the TLS-only Deny in the bucket policy, noncurrent versions
  expiring, access logging; for the templates bucket every template object (HTML and plain text): present, content type,
  ``template-version`` metadata, ``sha256`` metadata and the object's own bytes equal to the local file;
  where the environment replicates, the replication rule to the DR bucket and every template object in
  the DR bucket with the local file's sha256.

Prints one row per check (check, component, expected, actual, OK/FAIL), then every failure in full.
Exit codes: 0 all checks pass, 1 any deviation (or AWS cannot be reached), 2 bad usage (unknown
environment or component, not a generated repo).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

ANSWERS_FILE = ".copier-answers.yml"
MANDATORY_TAGS = ("Environment", "Project", "Owner", "CostCenter", "ManagedBy", "Component", "BackupPolicy")
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
DEFAULT_NONCURRENT_DAYS = 90
MISSING = "(missing)"
# Expected/actual values longer than this are cut in the table; the failure list prints them in full.
CELL = 64


class UsageError(Exception):
    """Bad arguments, or arguments that name nothing in this repo (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints and exits; raising instead lets main() return 2 like every other usage error.
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


@dataclass(frozen=True)
class Result:
    """One check: what the repo specifies, what AWS reports."""

    check: str
    component: str
    expected: str
    actual: str
    ok: bool


@dataclass
class Report:
    """Results of one component, collected in the order they were checked."""

    component: str
    results: list[Result] = field(default_factory=list)

    def expect(self, check: str, expected: object, actual: object, ok: bool | None = None) -> bool:
        """Record a check; it passes when ``ok`` says so or, by default, when the text forms are equal."""
        exp, act = _text(expected), _text(actual)
        passed = exp == act if ok is None else ok
        self.results.append(Result(check, self.component, exp, act, passed))
        return passed

    def error(self, check: str, expected: object, exc: ClientError) -> None:
        """A check AWS would not answer (access denied, throttled, ...): a failure that names the error."""
        # One line, whatever the service sent (an HTML error page would break the table).
        self.expect(check, expected, " ".join(f"error {_code(exc)}: {_message(exc)}".split()), ok=False)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


# ---------------------------------------------------------------------------------------------- spec


def read_spec(root: Path) -> Mapping[str, Any]:
    """The ``spec`` answer bbws-gen recorded in the repo: the expected state of every environment."""
    path = root / ANSWERS_FILE
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror}; run from a generated repo's root or pass --repo-root"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from None
    spec = answers.get("spec") if isinstance(answers, dict) else None
    if not isinstance(spec, dict) or not isinstance(spec.get("repo"), dict):
        raise UsageError(f"{path} has no 'spec' with a 'repo'; is this a repo generated by bbws-gen?")
    return spec


def select(
    spec: Mapping[str, Any], env: str, component: str | None
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """The environment's spec and the components to check; UsageError for names the repo lacks."""
    envs = {str(e["name"]): e for e in spec.get("environments", [])}
    if env not in envs:
        raise UsageError(f"unknown environment '{env}'; this repo has: {', '.join(envs)}")
    components = list(spec.get("components", []))
    if component is None:
        return envs[env], components
    chosen = [c for c in components if c["name"] == component]
    if not chosen:
        names = ", ".join(str(c["name"]) for c in components)
        raise UsageError(f"unknown component '{component}'; this repo has: {names}")
    return envs[env], chosen


def expected_tags(env: Mapping[str, Any], component: str, backup_policy: str) -> dict[str, str]:
    """Tags every resource of ``component`` carries: the environment's, plus Component and BackupPolicy."""
    tags = {str(k): str(v) for k, v in env.get("tags", {}).items()}
    tags["Component"] = component
    tags["BackupPolicy"] = backup_policy
    return tags


# ------------------------------------------------------------------------------------------ DynamoDB


def _key_text(hash_key: str, range_key: str | None) -> str:
    return f"{hash_key} (HASH)" + (f", {range_key} (RANGE)" if range_key else "")


def _schema_index(index: Mapping[str, Any]) -> str:
    projection = index.get("projectionType", "ALL")
    if projection == "INCLUDE":
        projection += " " + ",".join(sorted(index.get("nonKeyAttributes", [])))
    sort = index.get("sortKey", {}).get("name")
    return f"{_key_text(index['partitionKey']['name'], sort)}; projection {projection}"


def _described_index(index: Mapping[str, Any]) -> str:
    keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    projection = index["Projection"].get("ProjectionType", "?")
    if projection == "INCLUDE":
        projection += " " + ",".join(sorted(index["Projection"].get("NonKeyAttributes", [])))
    return f"{_key_text(keys['HASH'], keys.get('RANGE'))}; projection {projection}"


def _check_indexes(report: Report, kind: str, declared: Sequence[Mapping[str, Any]], described: Any) -> None:
    want = {str(i["indexName"]): _schema_index(i) for i in declared}
    have = {str(i["IndexName"]): _described_index(i) for i in described or []}
    for name in sorted(want.keys() | have.keys()):
        report.expect(f"{kind} {name}", want.get(name, "(not declared)"), have.get(name, MISSING))


def _key_types(schema: Mapping[str, Any]) -> dict[str, str]:
    """Every key attribute of the table and its indexes, with the type the schema file declares."""
    types: dict[str, str] = {}
    keys = [schema["primaryKey"]["partitionKey"], schema["primaryKey"].get("sortKey")]
    for index in (*schema.get("globalSecondaryIndexes", []), *schema.get("localSecondaryIndexes", [])):
        keys += [index["partitionKey"], index.get("sortKey")]
    for key in keys:
        if key:
            types.setdefault(str(key["name"]), str(key["type"]))
    return types


def _types_text(types: Mapping[str, str]) -> str:
    return ", ".join(f"{name}:{types[name]}" for name in sorted(types))


def _tags_of_table(dynamodb: Any, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    kwargs: dict[str, str] = {"ResourceArn": arn}
    while True:
        page = dynamodb.list_tags_of_resource(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            return tags
        kwargs["NextToken"] = page["NextToken"]


def _check_tags(report: Report, expected: Mapping[str, str], actual: Mapping[str, str]) -> None:
    for name in sorted(set(MANDATORY_TAGS) | set(expected)):
        report.expect(f"tag {name}", expected.get(name, "(present)"), actual.get(name, MISSING))


def _guarded(report: Report, check: str, expected: object, probe: Callable[[], None]) -> None:
    """Run ``probe``; an AWS error becomes a failed ``check`` instead of ending the whole run."""
    try:
        probe()
    except ClientError as exc:
        report.error(check, expected, exc)


def check_table(clients: Clients, root: Path, env: Mapping[str, Any], name: str) -> Report:
    """One DynamoDB table against ``schemas/<name>.json`` and the environment's settings."""
    report = Report(name)
    schema_path = root / "schemas" / f"{name}.json"
    try:
        schema: dict[str, Any] = json.loads(schema_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.expect("schema file", f"readable JSON at {schema_path}", f"unreadable: {exc}", ok=False)
        return report
    table = str(schema.get("tableName", name))
    dynamodb = clients.get("dynamodb")
    try:
        described = dynamodb.describe_table(TableName=table)["Table"]
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException":
            report.expect("table exists", table, MISSING)
        else:
            report.error("table exists", table, exc)
        return report
    report.expect("table status", "ACTIVE", described.get("TableStatus"))

    primary = schema["primaryKey"]
    keys = {k["KeyType"]: k["AttributeName"] for k in described["KeySchema"]}
    report.expect(
        "key schema",
        _key_text(primary["partitionKey"]["name"], primary.get("sortKey", {}).get("name")),
        _key_text(keys.get("HASH", "?"), keys.get("RANGE")),
    )
    report.expect(
        "key attribute types",
        _types_text(_key_types(schema)),
        _types_text({a["AttributeName"]: a["AttributeType"] for a in described.get("AttributeDefinitions", [])}),
    )
    _check_indexes(report, "GSI", schema.get("globalSecondaryIndexes", []), described.get("GlobalSecondaryIndexes"))
    _check_indexes(report, "LSI", schema.get("localSecondaryIndexes", []), described.get("LocalSecondaryIndexes"))
    # A table created on demand always reports its BillingModeSummary; its absence means provisioned.
    report.expect(
        "billing mode", "PAY_PER_REQUEST", described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    )

    # Defaults below are the customer's rule, the same bbws-gen applies: streams and PITR unless declared off.
    streams = schema.get("streams", {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})
    stream = described.get("StreamSpecification", {})
    report.expect(
        "stream",
        f"enabled, {streams.get('viewType')}" if streams.get("enabled") else "disabled",
        f"enabled, {stream.get('StreamViewType')}" if stream.get("StreamEnabled") else "disabled",
    )

    want_pitr = "ENABLED" if schema.get("pitr", {"enabled": True}).get("enabled") else "DISABLED"

    def pitr() -> None:
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus", "DISABLED")
        report.expect("PITR", want_pitr, status)

    _guarded(report, "PITR", want_pitr, pitr)

    sse = described.get("SSEDescription", {})
    report.expect("SSE", "ENABLED, KMS", f"{sse.get('Status', 'DISABLED (AWS owned key)')}, {sse.get('SSEType', '-')}")
    key_arn = sse.get("KMSMasterKeyArn")
    if key_arn:

        def key_manager() -> None:
            # SSEType KMS is also what the AWS managed key alias/aws/dynamodb reports; the customer asked for
            # their own key, so ask KMS who manages this one.
            manager = clients.get("kms").describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyManager", "?")
            report.expect("SSE KMS key manager", "CUSTOMER", manager)

        _guarded(report, "SSE KMS key manager", "CUSTOMER", key_manager)
    else:
        report.expect("SSE KMS key manager", "CUSTOMER", MISSING)

    ttl_spec = schema.get("ttl", {})
    want_ttl = f"ENABLED on {ttl_spec.get('attributeName')}" if ttl_spec.get("enabled") else "DISABLED"

    def ttl() -> None:
        described_ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        status = described_ttl.get("TimeToLiveStatus", "DISABLED")
        attribute = described_ttl.get("AttributeName")
        report.expect("TTL", want_ttl, f"{status} on {attribute}" if status == "ENABLED" else status)

    _guarded(report, "TTL", want_ttl, ttl)
    report.expect(
        "deletion protection", bool(env.get("deletion_protection")), bool(described.get("DeletionProtectionEnabled"))
    )
    _check_replicas(clients, report, env, table, described)

    # Tables left out of AWS Backup in an environment carry BackupPolicy = "none" there.
    backup_on = bool(schema.get("backup", {}).get(env["name"], True))
    want_tags = expected_tags(env, name, env["backup"]["policy"] if backup_on else "none")
    _guarded(
        report,
        "tags",
        "readable",
        lambda: _check_tags(report, want_tags, _tags_of_table(dynamodb, described["TableArn"])),
    )
    return report


def _index_texts(described: Mapping[str, Any]) -> list[str]:
    return sorted(
        f"{kind} {_described_index(i)}"
        for kind, key in (("GSI", "GlobalSecondaryIndexes"), ("LSI", "LocalSecondaryIndexes"))
        for i in described.get(key) or []
    )


def _check_replicas(
    clients: Clients, report: Report, env: Mapping[str, Any], table: str, described: Mapping[str, Any]
) -> None:
    """Where the environment replicates: the replica in the DR region is ACTIVE with the same indexes."""
    regions = sorted(str(r.get("RegionName")) for r in described.get("Replicas") or [])
    want = [str(env["dr_region"])] if env.get("dr_replication") else []
    report.expect("replica regions", ", ".join(want) or "none", ", ".join(regions) or "none")
    for region in want:
        status = next(
            (r.get("ReplicaStatus") for r in described.get("Replicas") or [] if r.get("RegionName") == region), None
        )
        if not report.expect(f"replica {region} status", "ACTIVE", status or MISSING) and status is None:
            continue
        try:
            replica = clients.get("dynamodb", region).describe_table(TableName=table)["Table"]
        except ClientError as exc:
            report.error(f"replica {region} indexes", "readable", exc)
            continue
        report.expect(f"replica {region} indexes", "; ".join(_index_texts(described)), "; ".join(_index_texts(replica)))


def _backup_plans(backup: Any) -> Iterator[Mapping[str, Any]]:
    kwargs: dict[str, str] = {}
    while True:
        page = backup.list_backup_plans(**kwargs)
        yield from page.get("BackupPlansList", [])
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def check_backup(clients: Clients, env: Mapping[str, Any], name: str, tables: Sequence[str] = ()) -> Report:
    """The AWS Backup plan of the environment: schedule, retention, vault, the DR copy, the selection
    of ``tables`` (the repo's tables backed up in this environment) and the advanced DynamoDB features."""
    report = Report(name)
    plan_name = f"bbws-dynamodb-{env['name']}"
    backup = clients.get("backup")
    try:
        found = [p for p in _backup_plans(backup) if p.get("BackupPlanName") == plan_name]
        if not report.expect("backup plan", plan_name, plan_name if found else MISSING):
            return report
        plan = backup.get_backup_plan(BackupPlanId=found[0]["BackupPlanId"])["BackupPlan"]
    except ClientError as exc:
        report.error("backup plan", plan_name, exc)
        return report
    rules = plan.get("Rules", [])
    want = env["backup"]
    report.expect("backup rule", want["policy"], ", ".join(r.get("RuleName", "?") for r in rules) or MISSING)
    report.expect("backup vault", plan_name, ", ".join(r.get("TargetBackupVaultName", "?") for r in rules) or MISSING)
    report.expect("backup schedule", want["schedule"], ", ".join(r.get("ScheduleExpression", "-") for r in rules))
    report.expect(
        "backup retention days",
        want["retention_days"],
        ", ".join(str(r.get("Lifecycle", {}).get("DeleteAfterDays", "-")) for r in rules),
    )
    copies = [c.get("DestinationBackupVaultArn", "") for r in rules for c in r.get("CopyActions", [])]
    copy_regions = sorted({arn.split(":")[3] for arn in copies if arn.count(":") >= 4})
    report.expect(
        "backup copy to DR region",
        env["dr_region"] if env.get("dr_replication") else "none",
        ", ".join(copy_regions) or "none",
    )
    _check_selection(backup, report, env, found[0]["BackupPlanId"], tables)
    _guarded(report, "advanced DynamoDB backup", "enabled", lambda: _check_region_settings(backup, report))
    return report


def _check_selection(backup: Any, report: Report, env: Mapping[str, Any], plan_id: str, tables: Sequence[str]) -> None:
    """The plan's selection names exactly the repo's backed-up tables by ARN, under the policy tag."""
    want = ", ".join(sorted(tables)) or "none"
    try:
        selections = backup.list_backup_selections(BackupPlanId=plan_id).get("BackupSelectionsList", [])
        got: list[str] = []
        conditions: list[str] = []
        for item in selections:
            selection = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=item["SelectionId"])
            body = selection["BackupSelection"]
            got += [str(arn).rsplit("/", 1)[-1] for arn in body.get("Resources", []) if ":table/" in str(arn)]
            if body.get("ListOfTags") or any(":table/" not in str(a) for a in body.get("Resources", [])):
                conditions.append("selects by tag alone or beyond DynamoDB tables")
            for cond in body.get("Conditions", {}).get("StringEquals", []):
                conditions.append(f"{cond.get('ConditionKey')}={cond.get('ConditionValue')}")
    except ClientError as exc:
        report.error("backup selection", want, exc)
        return
    report.expect("backup selection tables", want, ", ".join(sorted(got)) or "none")
    report.expect(
        "backup selection condition",
        f"aws:ResourceTag/BackupPolicy={env['backup']['policy']}" if tables else "none",
        "; ".join(sorted(conditions)) or "none",
    )


def _check_region_settings(backup: Any, report: Report) -> None:
    settings = backup.describe_region_settings()
    managed = settings.get("ResourceTypeManagementPreference", {}).get("DynamoDB")
    report.expect("advanced DynamoDB backup", "enabled", "enabled" if managed else "disabled")


# ------------------------------------------------------------------------------------------------ S3


def _bucket_spec(spec: Mapping[str, Any], component: str) -> Mapping[str, Any]:
    for bucket in spec.get("buckets", []):
        if bucket.get("purpose") == component:
            return dict(bucket)
    return {}


def _bucket_name(spec: Mapping[str, Any], env: Mapping[str, Any], component: str) -> str:
    names = _bucket_spec(spec, component).get("names", {})
    return str(names.get(env["name"]) or env.get("bucket_name") or f"bbws-{component}-{env['name']}")


def _missing(exc: ClientError, *codes: str) -> bool:
    return _code(exc) in (*codes, "404", "NoSuchKey", "NotFound")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _tls_only(policy: Mapping[str, Any], bucket: str) -> bool:
    """Whether a statement denies everything on the bucket and its objects to anyone without TLS.

    That is: Effect Deny, Principal "*" (or {"AWS": "*"}), Action s3:* (IAM action names are case
    insensitive), Resource the bucket and bucket/*, Condition Bool aws:SecureTransport = false.
    """
    for statement in _as_list(policy.get("Statement", [])):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        anyone = principal == "*" or (isinstance(principal, dict) and "*" in _as_list(principal.get("AWS")))
        actions = {str(a).lower() for a in _as_list(statement.get("Action", []))}
        resources = {str(r).split(":", 2)[-1] for r in _as_list(statement.get("Resource", []))}
        insecure = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
        if (
            anyone
            and actions & {"s3:*", "*"}
            and {f"s3:::{bucket}", f"s3:::{bucket}/*"} <= resources
            and any(str(v).lower() == "false" for v in _as_list(insecure))
        ):
            return True
    return False


def check_bucket(clients: Clients, spec: Mapping[str, Any], env: Mapping[str, Any], name: str) -> Report:
    """One bucket's settings against the contract every BBWS bucket follows."""
    report = Report(name)
    s3 = clients.get("s3")
    bucket = _bucket_name(spec, env, name)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _missing(exc, "NoSuchBucket"):
            report.expect("bucket exists", bucket, MISSING)
        else:
            report.error("bucket exists", bucket, exc)
        return report
    report.expect("bucket exists", bucket, bucket)

    def versioning() -> None:
        report.expect("versioning", "Enabled", s3.get_bucket_versioning(Bucket=bucket).get("Status", "Disabled"))

    def encryption() -> None:
        try:
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as exc:
            if not _missing(exc, "ServerSideEncryptionConfigurationNotFoundError"):
                raise
            rules = []
        algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "-") for r in rules]
        report.expect("default encryption", "aws:kms", ", ".join(algorithms) or MISSING)

    def public_access() -> None:
        try:
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except ClientError as exc:
            if not _missing(exc, "NoSuchPublicAccessBlockConfiguration"):
                raise
            block = {}
        off = [flag for flag in PUBLIC_ACCESS_FLAGS if block.get(flag) is not True]
        report.expect(
            "public access block", "all four true", "all four true" if not off else "false: " + ", ".join(off)
        )

    def ownership() -> None:
        try:
            rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        except ClientError as exc:
            if not _missing(exc, "OwnershipControlsNotFoundError"):
                raise
            rules = []
        report.expect(
            "object ownership", "BucketOwnerEnforced", ", ".join(r["ObjectOwnership"] for r in rules) or MISSING
        )

    def policy() -> None:
        try:
            document = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        except ClientError as exc:
            if not _missing(exc, "NoSuchBucketPolicy"):
                raise
            document = None
        actual = MISSING if document is None else "TLS-only Deny" if _tls_only(document, bucket) else "no TLS-only Deny"
        report.expect("bucket policy", "TLS-only Deny", actual)

    days = int(_bucket_spec(spec, name).get("noncurrent_version_expiration_days") or DEFAULT_NONCURRENT_DAYS)

    def lifecycle() -> None:
        try:
            rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as exc:
            if not _missing(exc, "NoSuchLifecycleConfiguration"):
                raise
            rules = []
        found = sorted(
            {
                int(r["NoncurrentVersionExpiration"]["NoncurrentDays"])
                for r in rules
                if r.get("Status") == "Enabled" and "NoncurrentDays" in r.get("NoncurrentVersionExpiration", {})
            }
        )
        actual = ", ".join(f"after {d} days" for d in found) or "never"
        report.expect("noncurrent versions expire", f"after {days} days", actual)

    log_bucket = _bucket_spec(spec, name).get("log_names", {}).get(env["name"])

    def logging() -> None:
        enabled = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled")
        target = enabled.get("TargetBucket") if enabled else None
        if log_bucket:
            report.expect("access logging", f"to {log_bucket}", f"to {target}" if target else "disabled")
        else:
            report.expect(
                "access logging", "enabled", f"enabled (to {target})" if target else "disabled", ok=bool(target)
            )

    def tags() -> None:
        try:
            tag_set = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        except ClientError as exc:
            if not _missing(exc, "NoSuchTagSet"):
                raise
            tag_set = []
        policy = str(env.get("tags", {}).get("BackupPolicy") or env["backup"]["policy"])
        _check_tags(report, expected_tags(env, name, policy), {t["Key"]: t["Value"] for t in tag_set})

    for check, expected, probe in (
        ("tags", "readable", tags),
        ("versioning", "Enabled", versioning),
        ("default encryption", "aws:kms", encryption),
        ("public access block", "all four true", public_access),
        ("object ownership", "BucketOwnerEnforced", ownership),
        ("bucket policy", "TLS-only Deny", policy),
        ("noncurrent versions expire", f"after {days} days", lifecycle),
        ("access logging", "enabled", logging),
    ):
        _guarded(report, check, expected, probe)
    return report


def backed_up_tables(spec: Mapping[str, Any], env: Mapping[str, Any]) -> list[str]:
    """Tables of the repo that AWS Backup must select in ``env`` (a table may opt out per environment)."""
    return sorted(str(t["name"]) for t in spec.get("tables", []) if dict(t.get("backup") or {}).get(env["name"], True))


def template_objects(spec: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(key, content type, template version) of every template object the templates bucket must hold."""
    objects: list[tuple[str, str, str]] = []
    for template in spec.get("templates", []):
        version = str(template.get("version", ""))
        listed = template.get("objects") or [{"key": template["key"]}, {"key": template["text_key"]}]
        for item in listed:
            key = str(item["key"])
            content_type = item.get("content_type") or CONTENT_TYPES.get(Path(key).suffix, "?")
            objects.append((key, str(content_type), version))
    return objects


def check_templates(clients: Clients, root: Path, report: Report, bucket: str, spec: Mapping[str, Any]) -> None:
    """Every template object: present, content type, template-version, and checksums of the local file."""
    s3 = clients.get("s3")
    for key, content_type, version in template_objects(spec):
        local = root / "templates" / key
        try:
            want_sha = hashlib.sha256(local.read_bytes()).hexdigest()
        except OSError as exc:
            report.expect(f"local file templates/{key}", "readable", f"unreadable: {exc.strerror}", ok=False)
            continue
        try:
            obj = s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                report.expect(f"object {key}", "present", MISSING)
            else:
                report.error(f"object {key}", "present", exc)
            continue
        body = obj["Body"].read()
        metadata = {str(k).lower(): str(v) for k, v in obj.get("Metadata", {}).items()}
        report.expect(f"object {key}", "present", "present")
        report.expect(f"content type {key}", content_type, obj.get("ContentType", MISSING))
        report.expect(f"template-version {key}", version, metadata.get("template-version", MISSING))
        # Both: the metadata is what Lambdas and people read; the bytes are what is really served.
        report.expect(f"checksum (sha256 metadata) {key}", want_sha, metadata.get("sha256", MISSING))
        report.expect(f"checksum (sha256 of content) {key}", want_sha, hashlib.sha256(body).hexdigest())


def check_replication(
    clients: Clients, root: Path, report: Report, spec: Mapping[str, Any], env: Mapping[str, Any], component: str
) -> None:
    """Where the environment replicates: the rule to the DR bucket, and every template object there
    with the same checksum as the local file (S3 replicates only objects written after the rule)."""
    if not env.get("dr_replication"):
        return
    bucket = _bucket_name(spec, env, component)
    dr_bucket = str(_bucket_spec(spec, component).get("dr_names", {}).get(env["name"], f"{bucket}-dr"))
    want_rule = f"Enabled -> arn:aws:s3:::{dr_bucket}"
    try:
        rules = clients.get("s3").get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
        got = ", ".join(f"{r.get('Status')} -> {r.get('Destination', {}).get('Bucket')}" for r in rules)
    except ClientError as exc:
        if not _missing(exc, "ReplicationConfigurationNotFoundError"):
            report.error("replication rule", want_rule, exc)
            return
        got = MISSING
    report.expect("replication rule", want_rule, got)
    if component != spec.get("templates_purpose", "templates"):
        return
    dr = clients.get("s3", str(env["dr_region"]))
    for key, _content_type, _version in template_objects(spec):
        try:
            want_sha = hashlib.sha256((root / "templates" / key).read_bytes()).hexdigest()
        except OSError:
            continue  # reported by check_templates
        try:
            obj = dr.get_object(Bucket=dr_bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                report.expect(f"DR copy {key}", want_sha, MISSING)
            else:
                report.error(f"DR copy {key}", want_sha, exc)
            continue
        report.expect(f"DR copy {key}", want_sha, hashlib.sha256(obj["Body"].read()).hexdigest())


# ------------------------------------------------------------------------------------------- running


class Clients:
    """boto3 clients made once per service, in the environment's region unless boto3 is told otherwise."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._clients: dict[str, Any] = {}

    def get(self, service: str, region: str | None = None) -> Any:
        key = f"{service}@{region or self._region}"
        if key not in self._clients:
            self._clients[key] = boto3.client(service, region_name=region or self._region)
        return self._clients[key]


def run_checks(
    spec: Mapping[str, Any], env: Mapping[str, Any], components: Sequence[Mapping[str, Any]], root: Path
) -> list[Result]:
    """Check each component the way its kind asks for."""
    clients = Clients(str(env["region"]))
    results: list[Result] = []
    templates_purpose = spec.get("templates_purpose", "templates")
    for component in components:
        name, kind = str(component["name"]), component.get("kind")
        if spec["repo"].get("kind") == "s3":
            report = check_bucket(clients, spec, env, name)
            if name == templates_purpose and report.results and report.results[0].ok:
                check_templates(clients, root, report, _bucket_name(spec, env, name), spec)
            if report.results and report.results[0].ok:
                check_replication(clients, root, report, spec, env, name)
        elif kind == "backup" or (kind is None and name == "backup"):
            report = check_backup(clients, env, name, backed_up_tables(spec, env))
        else:
            report = check_table(clients, root, env, name)
        results += report.results
    return results


def _cell(text: str) -> str:
    return text if len(text) <= CELL else text[: CELL - 3] + "..."


def print_results(results: Sequence[Result]) -> None:
    """The table, then each failure in full (cells in the table may be cut)."""
    rows = [("CHECK", "COMPONENT", "EXPECTED", "ACTUAL", "RESULT")] + [
        (r.check, r.component, _cell(r.expected), _cell(r.actual), "OK" if r.ok else "FAIL") for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4])
    failed = [r for r in results if not r.ok]
    print()
    if not failed:
        print(f"All {len(results)} checks passed.")
        return
    print(f"FAILED: {len(failed)} of {len(results)} checks:")
    for r in failed:
        print(f"  {r.component}: {r.check}: expected {r.expected}, actual {r.actual}")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; a UsageError (exit 2) for anything argparse rejects."""
    parser = _Parser(
        prog="post_deploy_check.py",
        description="Check the deployed resources of an environment against this repo.",
    )
    parser.add_argument("--env", required=True, help="environment, e.g. dev")
    parser.add_argument("--component", help="check only this component (default: every component)")
    parser.add_argument("--repo-root", type=Path, default=Path(), help="root of the generated repo (default: .)")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 all checks pass, 1 a deviation or AWS unreachable, 2 bad usage."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        spec = read_spec(args.repo_root)
        env, components = select(spec, args.env, args.component)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"post_deploy_check.py: error: {exc}", file=sys.stderr)
        return 2
    print(f"Post-deployment checks of {spec['repo'].get('name', 'this repo')} in {env['name']}:")
    try:
        results = run_checks(spec, env, components, args.repo_root)
    except (BotoCoreError, ClientError) as exc:
        # Only connection and credential problems get here: per-check AWS errors become failed checks.
        print(f"FAILED: cannot check AWS: {exc} (check credentials, region and endpoint)", file=sys.stderr)
        return 1
    print_results(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
