"""The frozen, typed model: everything the blueprints need, computed once from a valid definition.

Names per environment, tag sets, backup policies, state keys and which environments replicate to the
DR region are decided here and nowhere else; blueprints only lay them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from generator.definition import RawDefinition
from generator.pins import Pins

DYNAMODB_REPO = "2_1_bbws_dynamodb_schemas"
S3_REPO = "2_1_bbws_s3_schemas"
REPO_KINDS = {"dynamodb": DYNAMODB_REPO, "s3": S3_REPO}

# GitHub's OIDC issuer: the audience AWS's configure-aws-credentials action asks for, and the
# approval environments a workflow job must run in to be trusted by an apply role.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"

# AWS Backup schedules (UTC). Daily at 01:00 keeps the job clear of the working day in SAST (UTC+2).
BACKUP_SCHEDULES = {"hourly": "cron(0 * * * ? *)", "daily": "cron(0 1 * * ? *)"}
# (start, completion) windows in minutes. AWS's defaults (8 h, 7 days) would let hourly jobs pile up;
# an hourly job must start within the hour (60 is AWS's minimum) and finish before the next two run,
# a daily one must start by 02:00 UTC and finish by 06:00 UTC (08:00 SAST), before the working day.
BACKUP_WINDOWS = {"hourly": (60, 120), "daily": (60, 300)}


def frozen_map(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view with the keys in sorted order, so output never depends on input order."""
    return MappingProxyType({k: data[k] for k in sorted(data)})


@dataclass(frozen=True)
class Key:
    """A key attribute (name and S/N/B type) of a table or an index."""

    name: str
    type: str


@dataclass(frozen=True)
class Index:
    """A global or local secondary index."""

    name: str
    partition_key: Key
    sort_key: Key | None
    projection: str
    non_key_attributes: tuple[str, ...]
    access_pattern: str


REPLICA_STREAM_VIEW_TYPE = "NEW_AND_OLD_IMAGES"


@dataclass(frozen=True)
class Table:
    """One DynamoDB table, with its validated table file as the contract Lambdas read."""

    name: str
    description: str
    partition_key: Key
    sort_key: Key | None
    global_indexes: tuple[Index, ...]
    local_indexes: tuple[Index, ...]
    ttl_attribute: str | None
    stream_view_type: str | None
    pitr: bool
    backup: Mapping[str, bool]
    tags: Mapping[str, str]
    kms_aliases: Mapping[str, str]
    document: Mapping[str, Any]

    @property
    def replica_stream_view_type(self) -> str:
        """The stream where the table has a DR replica: DynamoDB global tables need NEW_AND_OLD_IMAGES and
        turn the stream on themselves when a replica is added (terraform-provider-aws#43625), whatever
        the table file says for its unreplicated environments."""
        return REPLICA_STREAM_VIEW_TYPE

    @property
    def stream_differs_with_replica(self) -> bool:
        """True when the table file's stream setting is not what a replicated environment must use."""
        return self.stream_view_type != REPLICA_STREAM_VIEW_TYPE

    @property
    def key_attributes(self) -> tuple[Key, ...]:
        """Every attribute used as a key of the table or an index, once, in first-use order."""
        keys: dict[str, Key] = {}
        for key in (self.partition_key, self.sort_key):
            if key:
                keys.setdefault(key.name, key)
        for index in (*self.global_indexes, *self.local_indexes):
            for key in (index.partition_key, index.sort_key):
                if key:
                    keys.setdefault(key.name, key)
        return tuple(keys.values())


@dataclass(frozen=True)
class Environment:
    """One deployment environment (one AWS account) with everything derived for it."""

    name: str
    account_id: str
    region: str
    dr_region: str
    dr_replication: bool
    deletion_protection: bool
    state_bucket: str
    partition: str
    promotes_from: str | None
    backup_policy: str
    backup_schedule: str
    backup_retention_days: int
    backup_start_window: int
    backup_completion_window: int
    backup_vault: str
    backup_role: str
    tags: Mapping[str, str]


@dataclass(frozen=True)
class RepoAccess:
    """Who may do what with one generated repo's AWS resources: its GitHub name and IAM roles.

    The plan role (read-only plus the state lock file) is trusted by runs on main and by pull
    requests; the apply role only by jobs running inside the approving GitHub environments.
    """

    kind: str
    repository: str
    full_name: str
    plan_roles: Mapping[str, str]
    apply_roles: Mapping[str, str]
    plan_subjects: tuple[str, ...]
    apply_subjects: Mapping[str, tuple[str, ...]]
    approval_environments: tuple[str, ...]


@dataclass(frozen=True)
class GitHub:
    """The GitHub side: owner, the two repos' access, and the required reviewers."""

    owner: str
    reviewer_users: tuple[str, ...]
    reviewer_teams: tuple[str, ...]
    repos: Mapping[str, RepoAccess]


@dataclass(frozen=True)
class Platform:
    """Versions (from the pins) and environments shared by both repos."""

    terraform_version: str
    aws_provider_version: str
    environments: tuple[Environment, ...]


@dataclass(frozen=True)
class Bucket:
    """One S3 bucket purpose, with its names (and its log and DR buckets' names) per environment."""

    purpose: str
    description: str
    noncurrent_version_expiration_days: int
    access_log_retention_days: int
    names: Mapping[str, str]
    log_names: Mapping[str, str]
    dr_names: Mapping[str, str]


@dataclass(frozen=True)
class EmailTemplate:
    """One email template of the catalog, with the contents of its four files."""

    key: str
    text_key: str
    category: str
    audience: str
    version: str
    subject: str
    description: str
    html: str
    text: str
    contract: str
    sample: str


@dataclass(frozen=True)
class CodeOwners:
    """Who reviews what: owners of each repo (by kind: dynamodb, s3) and extra owners per component."""

    repos: Mapping[str, tuple[str, ...]]
    components: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Model:
    """The whole validated definition."""

    platform: Platform
    tables: tuple[Table, ...]
    table_schema: Mapping[str, Any]
    buckets: tuple[Bucket, ...]
    brand: Mapping[str, str]
    templates: tuple[EmailTemplate, ...]
    pins: Pins
    codeowners: CodeOwners | None
    github: GitHub


def _key(raw: Mapping[str, Any] | None) -> Key | None:
    return Key(raw["name"], raw["type"]) if raw else None


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


def _table(doc: Mapping[str, Any], env_names: tuple[str, ...]) -> Table:
    primary = doc["primaryKey"]
    partition = _key(primary["partitionKey"])
    assert partition is not None
    ttl = doc.get("ttl", {})
    # The customer's rule: PITR and NEW_AND_OLD_IMAGES streams on every table unless a file says otherwise.
    streams = doc.get("streams", {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES"})
    backup = doc.get("backup", {})
    return Table(
        name=doc["tableName"],
        description=doc.get("description", ""),
        partition_key=partition,
        sort_key=_key(primary.get("sortKey")),
        global_indexes=tuple(_index(i) for i in doc.get("globalSecondaryIndexes", ())),
        local_indexes=tuple(_index(i) for i in doc.get("localSecondaryIndexes", ())),
        ttl_attribute=ttl.get("attributeName") if ttl.get("enabled") else None,
        stream_view_type=streams.get("viewType") if streams.get("enabled") else None,
        pitr=doc.get("pitr", {"enabled": True})["enabled"],
        # {"frequency", "retention"} (the customer's form, checked against the platform) also means selected.
        backup=frozen_map({env: backup.get(env, True) is not False for env in env_names}),
        tags=frozen_map(doc.get("tags", {})),
        # KMS aliases allow no dots, table names may have them.
        kms_aliases=frozen_map(
            {env: f"alias/bbws-dynamodb-{doc['tableName'].replace('.', '-')}-{env}" for env in env_names}
        ),
        document=doc,
    )


def _environments(platform: Mapping[str, Any]) -> tuple[Environment, ...]:
    envs: list[Environment] = []
    previous: str | None = None
    for name, env in platform["environments"].items():
        backup = env["backup"]
        policy = f"bbws-{backup['frequency']}-{backup['retention_days']}d"
        tags = {**platform["tags"], "Environment": name, "BackupPolicy": policy}
        envs.append(
            Environment(
                name=name,
                account_id=env["account_id"],
                region=platform["primary_region"],
                dr_region=platform["dr_region"],
                dr_replication=env["dr_replication"],
                deletion_protection=env["deletion_protection"],
                state_bucket=platform["state_bucket"].replace("{env}", name),
                partition=partition(platform["primary_region"]),
                promotes_from=previous,
                backup_policy=policy,
                backup_schedule=BACKUP_SCHEDULES[backup["frequency"]],
                backup_retention_days=backup["retention_days"],
                backup_start_window=BACKUP_WINDOWS[backup["frequency"]][0],
                backup_completion_window=BACKUP_WINDOWS[backup["frequency"]][1],
                # AWS Backup vault and plan share this name; the DR vault adds "-dr".
                backup_vault=f"bbws-dynamodb-{name}",
                backup_role=f"bbws-dynamodb-{name}-backup",
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


def role_name(repository: str, purpose: str, env: str) -> str:
    """IAM role of a repo in an environment: ``<repo>-plan-<env>`` or ``<repo>-apply-<env>``."""
    return f"{repository}-{purpose}-{env}"


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
            plan_roles=frozen_map({e: role_name(repository, "plan", e) for e in env_names}),
            apply_roles=frozen_map({e: role_name(repository, "apply", e) for e in env_names}),
            plan_subjects=(f"{subject}:ref:refs/heads/main", f"{subject}:pull_request"),
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
    def names(purpose: str) -> Mapping[str, str]:
        pattern = platform["bucket_name"].replace("{purpose}", purpose)
        return frozen_map({env: pattern.replace("{env}", env) for env in env_names})

    return tuple(
        Bucket(
            purpose=purpose,
            description=bucket["description"],
            noncurrent_version_expiration_days=bucket["noncurrent_version_expiration_days"],
            access_log_retention_days=bucket["access_log_retention_days"],
            names=names(purpose),
            log_names=names(f"{purpose}-logs"),
            dr_names=names(f"{purpose}-dr"),
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


def build_model(raw: RawDefinition) -> Model:
    """Turn a validated definition into the model the blueprints render."""
    environments = _environments(raw.platform.data)
    names = tuple(e.name for e in environments)
    platform = Platform(
        terraform_version=raw.pins.terraform_version,
        aws_provider_version=raw.pins.provider("aws").version,
        environments=environments,
    )
    tables = tuple(sorted((_table(d.data, names) for d in raw.tables), key=lambda t: t.name))
    return Model(
        platform=platform,
        tables=tables,
        table_schema=raw.table_schema,
        buckets=_buckets(raw.platform.data, names),
        brand=frozen_map(raw.catalog["brand"]),
        templates=_templates(raw),
        pins=raw.pins,
        codeowners=_codeowners(raw.platform.data),
        github=_github(raw.platform.data, names),
    )
