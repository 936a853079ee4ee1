"""Find existing resources in a Terraform state file (format version 4), e.g. the customer's old root's.

Only managed resources count. A key is adopted only when the state manages it (a customer managed key):
the key a table names may be AWS managed (``aws/dynamodb``), which no root can own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from generator.adopt.facts import table_facts_from_state
from generator.adopt.records import AdoptError, Found, Lookup


def _key_id(arn_or_id: str) -> str:
    """``arn:aws:kms:r:a:key/ID`` -> ``ID``."""
    return arn_or_id.rsplit("key/", 1)[-1] if "key/" in arn_or_id else arn_or_id


class StateSource:
    """What one state file holds, by resource type."""

    def __init__(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise AdoptError(f"{path}: cannot read the state file: {exc.strerror}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AdoptError(
                f"{path}: not JSON ({exc})", ["write it with `terraform state pull > FILE` in the old root"]
            ) from exc
        if not isinstance(state, dict) or state.get("version") != 4 or not isinstance(state.get("resources"), list):
            raise AdoptError(
                f"{path}: not a Terraform state file (format version 4 with resources)",
                ["write it with `terraform state pull > FILE` in the old root (Terraform 0.12 or later)"],
            )
        self.path = path
        self._resources: list[Mapping[str, Any]] = [r for r in state["resources"] if isinstance(r, dict)]

    def _attributes(self, resource_type: str) -> Iterator[Mapping[str, Any]]:
        for resource in self._resources:
            if resource.get("mode") == "managed" and resource.get("type") == resource_type:
                for instance in resource.get("instances", []):
                    attributes = instance.get("attributes")
                    if isinstance(attributes, dict):
                        yield attributes

    def _one(self, resource_type: str, attribute: str, value: str) -> Mapping[str, Any] | None:
        return next((a for a in self._attributes(resource_type) if a.get(attribute) == value), None)

    def _managed_key(self, arn_or_id: str | None) -> Found | None:
        if not arn_or_id:
            return None
        key_id = _key_id(arn_or_id)
        key = self._one("aws_kms_key", "key_id", key_id)
        return Found(key_id) if key is not None else None

    def _bucket_sse_key(self, bucket: str) -> str | None:
        sse = self._one("aws_s3_bucket_server_side_encryption_configuration", "bucket", bucket)
        for rule in (sse or {}).get("rule", []):
            for default in rule.get("apply_server_side_encryption_by_default", []):
                key = default.get("kms_master_key_id")
                if key and str(key).startswith("alias/"):
                    alias = self._one("aws_kms_alias", "name", key)
                    return str(alias["target_key_id"]) if alias else None
                return str(key) if key else None
        return None

    def find(self, lookup: Lookup, dr: bool) -> Found | None:
        """The resource ``lookup`` names, if the state manages it."""
        kind, name = lookup.kind, lookup.name
        if kind == "table":
            table = self._one("aws_dynamodb_table", "name", name)
            return Found(name, table_facts_from_state(table)) if table else None
        if kind in ("alias", "alias_key"):
            alias = self._one("aws_kms_alias", "name", name)
            if alias is None:
                return None
            return Found(name) if kind == "alias" else Found(_key_id(str(alias["target_key_id"])))
        if kind == "table_key":
            table = self._one("aws_dynamodb_table", "name", name)
            sse = (table or {}).get("server_side_encryption") or [{}]
            return self._managed_key(sse[0].get("kms_key_arn"))
        if kind == "bucket":
            return Found(name) if self._one("aws_s3_bucket", "bucket", name) else None
        if kind == "bucket_part":
            return Found(name) if self._one(lookup.resource_type, "bucket", name) else None
        if kind == "bucket_key":
            return self._managed_key(self._bucket_sse_key(name))
        if kind == "object":
            bucket, _, key = name.partition("/")
            found = any(a.get("bucket") == bucket and a.get("key") == key for a in self._attributes("aws_s3_object"))
            return Found(name) if found else None
        if kind == "vault":
            return Found(name) if self._one("aws_backup_vault", "name", name) else None
        if kind == "vault_key":
            return self._managed_key((self._one("aws_backup_vault", "name", name) or {}).get("kms_key_arn"))
        if kind == "plan":
            plan = self._one("aws_backup_plan", "name", name)
            return Found(str(plan["id"])) if plan else None
        if kind == "role":
            return Found(name) if self._one("aws_iam_role", "name", name) else None
        raise ValueError(f"unknown lookup {kind}")

    def table_names(self) -> list[str]:
        """Every table the state manages (to name the ones no generated root claims)."""
        return sorted(str(a.get("name")) for a in self._attributes("aws_dynamodb_table"))
