"""The frozen, typed model: everything the blueprints need, computed once from a valid definition.

:mod:`generator.model.records` holds its shapes (plain data for Copier), :mod:`generator.model.build`
decides every derived value; the naming rules themselves live in :mod:`generator.definition.names`.
"""

from __future__ import annotations

from generator.model.build import (
    BACKUP_SCHEDULES,
    BACKUP_WINDOWS,
    approval_environments,
    build_model,
    key_types,
    partition,
    required_version,
)
from generator.model.records import (
    DYNAMODB_REPO,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    REPLICA_STREAM_VIEW_TYPE,
    REPO_KINDS,
    S3_REPO,
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

__all__ = [
    "BACKUP_SCHEDULES",
    "BACKUP_WINDOWS",
    "DYNAMODB_REPO",
    "GITHUB_OIDC_AUDIENCE",
    "GITHUB_OIDC_HOST",
    "REPLICA_STREAM_VIEW_TYPE",
    "REPO_KINDS",
    "S3_REPO",
    "Bucket",
    "CodeOwners",
    "EmailTemplate",
    "Environment",
    "FlagKey",
    "GitHub",
    "Index",
    "Key",
    "Model",
    "Platform",
    "Promotion",
    "RepoAccess",
    "Table",
    "approval_environments",
    "build_model",
    "frozen_map",
    "key_types",
    "partition",
    "required_version",
]
