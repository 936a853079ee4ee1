"""The shapes adoption works with: what a generated root manages, what was found, what differs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.errors import EXIT_INVALID, BbwsGenError


class AdoptError(BbwsGenError):
    """Adoption cannot run as asked: an unknown environment, an unreadable state file, a repo that is not
    generated, an ``adopt.tf`` that is not adopt's. Nothing was written (exit code 2)."""

    exit_code = EXIT_INVALID


class AdoptBlocked(BbwsGenError):
    """What exists differs from the definition in a way applying would replace or delete: nothing was
    written (exit code 1); ``differences`` says what and what applying would do."""

    def __init__(self, differences: list[Difference]) -> None:
        self.differences = differences
        super().__init__(
            f"{len(differences)} difference(s) would replace or delete an existing resource; nothing was written",
            [str(d) for d in differences],
        )


@dataclass(frozen=True)
class Lookup:
    """How to find one resource: ``kind`` (``table``, ``alias``, ``alias_key``, ``table_key``, ``bucket``,
    ``bucket_part``, ``bucket_key``, ``object``, ``vault``, ``vault_key``, ``plan``, ``role``) and a name."""

    kind: str
    name: str
    resource_type: str = ""  # for bucket_part: the Terraform type of the part


@dataclass(frozen=True)
class Target:
    """One resource a generated root manages in one environment, and how to find it where it exists."""

    component: str
    address: str
    lookups: tuple[Lookup, ...]
    dr: bool = False  # in the DR region

    @property
    def resource_type(self) -> str:
        """``aws_s3_bucket`` of ``aws_s3_bucket.this``."""
        return self.address.split(".", 1)[0]


@dataclass(frozen=True)
class Found:
    """An existing resource: the ID ``terraform import`` takes, and what was read of it (tables only)."""

    import_id: str
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Difference:
    """What differs between an existing resource and the definition, and what applying would do."""

    address: str
    detail: str
    effect: str  # "replace" (data lost: blocked), "update" (in place)

    def __str__(self) -> str:
        verb = "REPLACE" if self.effect == "replace" else "in place"
        return f"{self.address}: {self.detail} ({verb})"
