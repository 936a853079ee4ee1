"""The records of the model: frozen dataclasses holding only plain values, read-only mappings and tuples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from generator.pins import Pins

DYNAMODB_REPO = "2_1_bbws_dynamodb_schemas"
S3_REPO = "2_1_bbws_s3_schemas"
REPO_KINDS = {"dynamodb": DYNAMODB_REPO, "s3": S3_REPO}

# GitHub's OIDC issuer: the audience AWS's configure-aws-credentials action asks for, and the
# approval environments a workflow job must run in to be trusted by an apply role.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_AUDIENCE = "sts.amazonaws.com"


def frozen_map(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A read-only view with the keys in sorted order, so output never depends on input order."""
    return MappingProxyType({k: data[k] for k in sorted(data)})


@dataclass(frozen=True)
class Key:
    """A key attribute (name and S/N/B type) of a table or an index, with how its value is built and what it means."""

    name: str
    type: str
    pattern: str | None = None
    description: str | None = None


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
class FlagKey:
    """A flag stored as N because it keys an index (DynamoDB has no BOOL keys): its values and indexes."""

    name: str
    values: tuple[Any, ...]
    description: str
    indexes: tuple[str, ...]


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
    capacity_mode: str
    flag_keys: tuple[FlagKey, ...]
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
    dr_vault: str | None
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
class Promotion:
    """One step of the promotion order: a commit deployed in ``source`` may be promoted to ``target``."""

    source: str
    target: str


@dataclass(frozen=True)
class Platform:
    """Versions (from the pins) and environments shared by both repos, with what follows from their order.

    ``first_environment`` takes every merge to main; each later one is the ``target`` of one promotion
    from the one before it; ``dr_environments`` replicate to the DR region.
    """

    terraform_version: str
    terraform_required_version: str
    aws_provider_version: str
    primary_region: str
    dr_region: str
    environments: tuple[Environment, ...]
    first_environment: str
    promotions: tuple[Promotion, ...]
    dr_environments: tuple[str, ...]
    tag_names: tuple[str, ...]


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
    key_types: tuple[str, ...]
    max_indexes: Mapping[str, int]
    buckets: tuple[Bucket, ...]
    brand: Mapping[str, str]
    templates: tuple[EmailTemplate, ...]
    template_categories: tuple[str, ...]
    pins: Pins
    codeowners: CodeOwners | None
    github: GitHub
