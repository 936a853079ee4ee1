"""Reading a new table's answers, one part at a time: keys, attributes, indexes, TTL and backup.

Each reader records the problems it finds on the :class:`~generator.onboard.answers.Reader` and returns
None for a part it cannot build, so one run reports every invalid answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from generator.checks import KEY_TYPES
from generator.onboard.answers import Reader
from generator.onboard.table_rules import (
    ATTRIBUTE_EXTRAS,
    AUDIT_NAMES,
    TableRules,
    attribute_name_rule,
    index_name_rule,
    key_attribute_rule,
    ttl_rule,
)


@dataclass
class Declared:
    """Attribute types known so far, and the attributes the answers declare implicitly (index keys, TTL)."""

    types: dict[str, str] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    implicit: list[tuple[dict[str, Any], str]] = field(default_factory=list)

    def add(self, name: str, kind: str, owner: str) -> None:
        self.types.setdefault(name, kind)
        self.owners.setdefault(name, owner)


def read_primary_key(r: Reader, name: str, default: Mapping[str, Any], rules: TableRules) -> dict[str, Any] | None:
    value = r.raw(name)
    if value is None:
        return dict(default)
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, Mapping):
        r.problem(name, "must be a mapping {name, type, pattern, description}", f"e.g. {name}: {{name: PK, type: S}}")
        return None
    k = r.child(name, value)
    key_name = k.text("name", required=True, what="the key attribute's name")
    key_type = k.choice("type", KEY_TYPES, "S", rules.key_type_hint)
    pattern = k.text("pattern")
    description = k.text("description")
    if not key_name or key_type is None:
        return None
    key: dict[str, Any] = {"name": key_name, "type": key_type}
    if pattern:
        key["pattern"] = pattern
    if description:
        key["description"] = description
    return key


def read_attribute(a: Reader, rules: TableRules, declared: Declared, audit: bool) -> dict[str, Any] | None:
    taken = dict(declared.owners)
    if audit:
        taken.update({n: "an audit attribute (audit_attributes: true)" for n in AUDIT_NAMES if n not in taken})
    name = a.text("name", required=True, check=lambda v: attribute_name_rule(v, taken))
    kind = a.choice("type", rules.attribute_types, "S", "use a DynamoDB attribute type")
    required = a.flag("required", False)
    extras = {key: a.raw(key) for key in ATTRIBUTE_EXTRAS if a.raw(key) is not None}
    description = a.text("description")
    if name is None or kind is None:
        return None
    declared.add(name, kind, a.prefix)
    attribute: dict[str, Any] = {"name": name, "type": kind, "required": required, **extras}
    if description:
        attribute["description"] = description
    return attribute


def read_index_key(
    g: Reader, role: str, declared: Declared, index: str, required: bool, rules: TableRules
) -> dict[str, Any] | None:
    value = g.raw(role)
    if value is None or value == "":
        if required:
            g.problem(role, "is required but missing", "name the key attribute, e.g. sort_key: dateCreated")
        return None
    given: str | None = None
    if isinstance(value, str):
        attr: str | None = value.strip()
    elif isinstance(value, Mapping):
        k = g.child(role, value)
        attr = k.text("name", required=True)
        given = k.choice("type", KEY_TYPES, None, rules.key_type_hint) if k.given("type") else None
        if k.given("type") and given is None:
            return None
    else:
        g.problem(role, "must be an attribute name, or {name: ..., type: S|N|B} for a new attribute")
        return None
    if not attr:
        return None
    problem = key_attribute_rule(attr, declared.types)
    if problem:
        g.problem(role, problem)
        return None
    if attr in declared.types:
        if given is not None and given != declared.types[attr]:
            g.problem(
                role,
                f"{attr!r} is declared as {declared.types[attr]} ({declared.owners[attr]}) but given here as {given}",
                "make the two types the same, or leave the type out here",
            )
            return None
        return {"name": attr, "type": declared.types[attr]}
    if given is None:
        g.problem(
            role,
            f"attribute {attr!r} is not declared",
            f"declare it in attributes, or give its type here: {role}: {{name: {attr}, type: S}}",
        )
        return None
    declared.add(attr, given, g.key(role))
    declared.implicit.append(
        (
            {"name": attr, "type": given, "required": False, "description": f"Key attribute of index {index}."},
            g.key(role),
        )
    )
    return {"name": attr, "type": given}


def read_index(
    g: Reader,
    rules: TableRules,
    declared: Declared,
    taken: list[str],
    local_partition: Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    name = g.text("name", required=True, check=lambda v: index_name_rule(rules, v, taken), what="the index name")
    if name:
        taken.append(name)
    label = name or g.prefix
    if local_partition is None:
        partition = read_index_key(g, "partition_key", declared, label, True, rules)
    else:
        if g.given("partition_key"):
            g.problem(
                "partition_key",
                "a local secondary index always uses the table's partition key",
                "remove partition_key here, or make the index a GSI",
            )
        partition = {"name": local_partition["name"], "type": local_partition["type"]}
    sort = read_index_key(g, "sort_key", declared, label, local_partition is not None, rules)
    projection = g.choice(
        "projection", rules.projections, "ALL", "use ALL, KEYS_ONLY or INCLUDE (with non_key_attributes)"
    )
    non_key = g.names("non_key_attributes")
    access = g.text("access_pattern")
    if name is None or partition is None or projection is None or (g.raw("sort_key") and sort is None):
        return None
    index: dict[str, Any] = {"indexName": name, "partitionKey": partition}
    if sort:
        index["sortKey"] = sort
    index["projectionType"] = projection
    if non_key is not None:
        index["nonKeyAttributes"] = non_key
    if access:
        index["accessPattern"] = access
    return index


def read_backup(r: Reader, environments: Sequence[str]) -> dict[str, bool]:
    value = r.raw("backup")
    if value is None or isinstance(value, bool):
        return {env: value is not False for env in environments}
    if not isinstance(value, Mapping):
        r.problem("backup", "must be true, false or a mapping of environment to true/false")
        return {}
    result = {env: True for env in environments}
    for env, enabled in value.items():
        if env not in environments:
            r.problem(
                f"backup.{env}",
                f"environment {env!r} is not defined in platform.yaml",
                f"use one of: {', '.join(environments)}",
            )
        elif not isinstance(enabled, bool):
            r.problem(f"backup.{env}", f"must be true or false, not {enabled!r}")
        else:
            result[str(env)] = enabled
    return result


def read_ttl(r: Reader, declared: Declared) -> str | None:
    """The TTL attribute (declared as N for you when new), or None for no TTL."""
    ttl_value = r.raw("ttl")
    ttl: str | None = None
    if isinstance(ttl_value, str) and ttl_value.strip():
        ttl = ttl_value.strip()
        problem = ttl_rule(ttl, declared.types)
        if problem:
            r.problem("ttl", problem)
        elif ttl not in declared.types:
            declared.add(ttl, "N", "ttl")
            declared.implicit.append(
                (
                    {
                        "name": ttl,
                        "type": "N",
                        "required": False,
                        "description": "Expiry time in epoch seconds: DynamoDB deletes the item after it (TTL).",
                    },
                    "ttl",
                )
            )
    elif ttl_value not in (None, False, ""):
        r.problem(
            "ttl", "must be the name of the expiry attribute (epoch seconds), or null for no TTL", "ttl: expiresAt"
        )
    return ttl
