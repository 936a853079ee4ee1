"""Which trees generate writes, where, and from which blueprint and Copier data."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the model pulls in the loader and jsonschema; a cached run never needs it
    from generator.model import Model


@dataclass(frozen=True)
class Target:
    """One output directory and the Copier data that renders it."""

    name: str
    destination: Path
    blueprint: str
    spec: Mapping[str, Any]


def release(root: Path) -> str:
    """The blueprint release recorded as ``_commit``: ``v`` + the project version."""
    with (root / "pyproject.toml").open("rb") as handle:
        return "v" + str(tomllib.load(handle)["project"]["version"])


def targets(model: Model, output: Path, docs: Path) -> list[Target]:
    """Every generated tree: the two repos under ``output``, and the docs at ``docs``."""
    from generator.answers import dynamodb_spec, s3_spec
    from generator.model import DYNAMODB_REPO, S3_REPO

    dynamodb = dynamodb_spec(model)
    s3 = s3_spec(model)
    return [
        Target(DYNAMODB_REPO, output / DYNAMODB_REPO, "dynamodb", dynamodb),
        Target(S3_REPO, output / S3_REPO, "s3", s3),
        Target("docs", docs, "docs", {"dynamodb": dynamodb, "s3": s3}),
    ]


def repo_names() -> tuple[str, ...]:
    """The names of the repo trees under ``--output``."""
    from generator.model import DYNAMODB_REPO, S3_REPO

    return (DYNAMODB_REPO, S3_REPO)
