"""Definition -> model: every name, tag set, backup policy, state key, promotion step and DR environment
is decided here and nowhere else; blueprints only lay them out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.definition import RawDefinition, names
from generator.model.records import (
    Bucket,
    CodeOwners,
    EmailTemplate,
    Environment,
    FlagKey,
    GitHub,
    Index,
    Key,
    Model,
    Platform,
    Promotion,
    RepoAccess,
    Table,
    frozen_map,
)

# AWS Backup schedules (UTC). Daily at 01:00 keeps the job clear of the working day in SAST (UTC+2).
BACKUP_SCHEDULES = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 1 * * ? *)"}
# (start, completion) windows in minutes. AWS's defaults (8 h, 7 days) would let hourly jobs pile up;
# an hourly job must start within the hour (60 is AWS's minimum) and finish before the next two run,
# a daily one must start by 02:00 UTC and finish by 06:00 UTC (08:00 SAST), before the working day.
BACKUP_WINDOWS = {"hourly": (60, 120), "daily": (60, 300)}

# What a table file leaves out: on-demand capacity, and (the customer's rule) PITR and NEW_AND_OLD_IMAGES
# streams on every table.
DEFAULT_CAPACITY_MODE = "ON_DEMAND"
DEFAULT_STREAMS = {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"}


def _key(raw: Mapping[str, Any] | None) -> Key | None:
    return Key(raw["name"], raw["type"], raw.get("pattern"), raw.get("description")) if raw else None


def _index(raw: Mapping[str, Any]) -> Index:
    partition = _key(raw["partitionKey"])
    assert partition is not None  # required by the schema
    return Index(
        name=raw["indexName"],
        partition_key=partition,
        sort_key=_key(raw.get("sortKey")),
        projection=raw.get("projectionType", "ALL"),
        non_key_attributes=tuple(raw.get("nonKeyAttributes", ())),
        # The customer's files describe the access pattern in "description" (the validator refuses both
        # differing).
        access_pattern=raw.get("accessPattern") or raw.get("description") or "",
    )


def _flag_keys(doc: Mapping[str, Any], keys: set[str], indexes: tuple[Index, ...]) -> tuple[FlagKey, ...]:
    """Key attributes of type N with an enum: the customer's BOOL flags, stored as N, with the indexes they key."""
    flags = []
    for attribute in doc.get("attributes", ()):
        name = attribute["name"]
        if attribute["type"] == "N" and "enum" in attribute and name in keys:
            keyed = tuple(i.name for i in indexes if name in {i.partition_key.name, i.sort_key and i.sort_key.name})
            flags.append(FlagKey(name, tuple(attribute["enum"]), attribute.get("description", ""), keyed))
    return tuple(flags)


def _table(doc: Mapping[str, Any], env_names: tuple[str, ...]) -> Table:
    primary = doc["primaryKey"]
    partition = _key(primary["partitionKey"])
    assert partition is not None
    ttl = doc.get("ttl", {})
    streams = doc.get("streams", DEFAULT_STREAMS)
    backup = doc.get("backup", {})
    global_indexes = tuple(_index(i) for i in doc.get("globalSecondaryIndexes", ()))
    local_indexes = tuple(_index(i) for i in doc.get("localSecondaryIndexes", ()))
    indexes = global_indexes + local_indexes
    keys = {k.name for i in indexes for k in (i.partition_key, i.sort_key) if k}
    keys |= {k["name"] for k in (primary["partitionKey"], primary.get("sortKey")) if k}
    return Table(
        name=doc["tableName"],
        description=doc.get("description", ""),
        partition_key=partition,
        sort_key=_key(primary.get("sortKey")),
        global_indexes=global_indexes,
        local_indexes=local_indexes,
        ttl_attribute=ttl.get("attributeName") if ttl.get("enabled") else None,
        stream_view_type=streams.get("viewType") if streams.get("enabled") else None,
        pitr=doc.get("pitr", {"enabled": True})["enabled"],
        capacity_mode=doc.get("capacityMode", DEFAULT_CAPACITY_MODE),
        flag_keys=_flag_keys(doc, keys, indexes),
        # {"frequency", "retention"} (the customer's form, checked against the platform) also means selected.
        backup=frozen_map({env: backup.get(env, True) is not False for env in env_names}),
        tags=frozen_map(doc.get("tags", {})),
        kms_aliases=frozen_map({env: names.kms_alias(doc["tableName"], env) for env in env_names}),
        document=doc,
    )


def _environments(platform: Mapping[str, Any]) -> tuple[Environment, ...]:
    envs: list[Environment] = []
    previous: str | None = None
    for name, env in platform["environments"].items():
        backup = env["backup"]
        policy = names.backup_policy(backup["frequency"], backup["retention_days"])
        tags = {**platform["tags"], "Environment": name, "BackupPolicy": policy}
        envs.append(
            Environment(
                name=name,
                account_id=env["account_id"],
                region=platform["primary_region"],
                dr_region=platform["dr_region"],
                dr_replication=env["dr_replication"],
                deletion_protection=env["deletion_protection"],
                state_bucket=names.state_bucket(platform["state_bucket"], name),
                partition=partition(platform["primary_region"]),
                promotes_from=previous,
                backup_policy=policy,
                backup_schedule=BACKUP_SCHEDULES[backup["frequency"]],
                backup_retention_days=backup["retention_days"],
                backup_start_window=BACKUP_WINDOWS[backup["frequency"]][0],
                backup_completion_window=BACKUP_WINDOWS[backup["frequency"]][1],
                # AWS Backup vault and plan share this name; recovery points are copied to the DR vault
                # only where the environment replicates.
                backup_vault=names.backup_vault(name),
                dr_vault=names.dr_vault(name) if env["dr_replication"] else None,
                backup_role=names.backup_role(name),
                tags=frozen_map(tags),
            )
        )
        previous = name
    return tuple(envs)


def partition(region: str) -> str:
    """The AWS partition a region belongs to (ARNs name it)."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if "-gov-" in region else "aws"


def required_version(terraform_version: str) -> str:
    """The ``required_version`` constraint: any patch of the pinned minor (S3 native locking needs 1.10+)."""
    return "~> " + ".".join(terraform_version.split(".")[:2]) + ".0"


def _platform(raw: RawDefinition) -> Platform:
    environments = _environments(raw.platform.data)
    return Platform(
        terraform_version=raw.pins.terraform_version,
        terraform_required_version=required_version(raw.pins.terraform_version),
        aws_provider_version=raw.pins.provider("aws").version,
        primary_region=raw.platform.data["primary_region"],
        dr_region=raw.platform.data["dr_region"],
        environments=environments,
        first_environment=environments[0].name,
        promotions=tuple(Promotion(e.promotes_from, e.name) for e in environments if e.promotes_from),
        dr_environments=tuple(e.name for e in environments if e.dr_replication),
        tag_names=tuple(sorted({name for e in environments for name in e.tags})),
    )


def approval_environments(kind: str, env_names: tuple[str, ...]) -> tuple[str, ...]:
    """GitHub environments whose reviewers approve a change of the repo: deploy, promote-*, rollback-*."""
    promote = tuple(f"promote-{e}" for e in env_names[1:])
    return (*env_names, *promote, *(f"rollback-{e}" for e in env_names))


def _github(platform: Mapping[str, Any], env_names: tuple[str, ...]) -> GitHub:
    github = platform["github"]
    owner = github["owner"]
    repos: dict[str, RepoAccess] = {}
    for kind, repository in sorted(github["repositories"].items()):
        subject = f"repo:{owner}/{repository}"
        repos[kind] = RepoAccess(
            kind=kind,
            repository=repository,
            full_name=f"{owner}/{repository}",
            plan_roles=frozen_map({e: names.role_name(repository, "plan", e) for e in env_names}),
            apply_roles=frozen_map({e: names.role_name(repository, "apply", e) for e in env_names}),
            # Only main: no job runs with credentials for a pull request (tests/test_trust.py proves each
            # subject a role trusts is one a job presents to use it).
            plan_subjects=(f"{subject}:ref:refs/heads/main",),
            apply_subjects=frozen_map(
                {e: (f"{subject}:environment:{e}", f"{subject}:environment:rollback-{e}") for e in env_names}
            ),
            approval_environments=approval_environments(kind, env_names),
        )
    return GitHub(
        owner=owner,
        reviewer_users=tuple(github["reviewers"]["users"]),
        reviewer_teams=tuple(github["reviewers"]["teams"]),
        repos=frozen_map(repos),
    )


def _buckets(platform: Mapping[str, Any], env_names: tuple[str, ...]) -> tuple[Bucket, ...]:
    def named(purpose: str, kind: str) -> Mapping[str, str]:
        return frozen_map({env: names.bucket_names(platform["bucket_name"], purpose, env)[kind] for env in env_names})

    return tuple(
        Bucket(
            purpose=purpose,
            description=bucket["description"],
            noncurrent_version_expiration_days=bucket["noncurrent_version_expiration_days"],
            access_log_retention_days=bucket["access_log_retention_days"],
            names=named(purpose, "bucket"),
            log_names=named(purpose, "logs"),
            dr_names=named(purpose, "dr"),
        )
        for purpose, bucket in sorted(platform["buckets"].items())
    )


def _templates(raw: RawDefinition) -> tuple[EmailTemplate, ...]:
    directory = raw.templates_dir

    def read(key: str, suffix: str) -> str:
        return (directory / key).with_suffix(suffix).read_text(encoding="utf-8")

    return tuple(
        EmailTemplate(
            key=entry["key"],
            text_key=entry["key"].removesuffix(".html") + ".txt",
            category=entry["category"],
            audience=entry["audience"],
            version=str(entry["version"]),
            subject=entry["subject"],
            description=entry["description"],
            html=read(entry["key"], ".html"),
            text=read(entry["key"], ".txt"),
            contract=read(entry["key"], ".contract.json"),
            sample=read(entry["key"], ".sample.json"),
        )
        for entry in raw.catalog["templates"]
    )


def _codeowners(platform: Mapping[str, Any]) -> CodeOwners | None:
    raw = platform.get("codeowners")
    if raw is None:
        return None
    repos = raw.get("repos", {})
    return CodeOwners(
        repos=frozen_map({kind: tuple(repos.get(kind, raw["default"])) for kind in ("dynamodb", "s3")}),
        components=frozen_map({name: tuple(owners) for name, owners in raw.get("components", {}).items()}),
    )


def key_types(table_schema: Mapping[str, Any]) -> tuple[str, ...]:
    """The attribute types a key may have (S, N, B), as the table schema's ``$defs/key`` allows them."""
    return tuple(table_schema["$defs"]["key"]["properties"]["type"]["enum"])


def max_indexes(table_schema: Mapping[str, Any]) -> Mapping[str, int]:
    """How many global and local secondary indexes the table schema allows per table."""
    properties = table_schema["properties"]
    return frozen_map(
        {
            "global": properties["globalSecondaryIndexes"]["maxItems"],
            "local": properties["localSecondaryIndexes"]["maxItems"],
        }
    )


def build_model(raw: RawDefinition) -> Model:
    """Turn a validated definition into the model the blueprints render."""
    platform = _platform(raw)
    env_names = tuple(e.name for e in platform.environments)
    tables = tuple(sorted((_table(d.data, env_names) for d in raw.tables), key=lambda t: t.name))
    templates = _templates(raw)
    return Model(
        platform=platform,
        tables=tables,
        table_schema=raw.table_schema,
        key_types=key_types(raw.table_schema),
        max_indexes=max_indexes(raw.table_schema),
        buckets=_buckets(raw.platform.data, env_names),
        brand=frozen_map(raw.catalog["brand"]),
        templates=templates,
        # The catalog's folders, in first-use order.
        template_categories=tuple(dict.fromkeys(t.category for t in templates)),
        pins=raw.pins,
        codeowners=_codeowners(raw.platform.data),
        github=_github(raw.platform.data, env_names),
    )
