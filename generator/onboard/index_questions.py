"""The index questions of a new table: GSIs and LSIs, their key attributes (with a "did you mean" for a
name that is not declared yet, never a new attribute silently) and projections."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from generator.checks import KEY_TYPES
from generator.onboard.answers import split_names
from generator.onboard.prompts import Prompter
from generator.onboard.table_rules import (
    AUDIT_ATTRIBUTES,
    PROJECTION_DESCRIPTIONS,
    TYPE_DESCRIPTIONS,
    TableRules,
    index_name_rule,
    key_attribute_rule,
)


class IndexQuestions:
    """The GSI and LSI sections of :class:`~generator.onboard.table_questions.TableQuestionnaire`."""

    p: Prompter
    rules: TableRules
    answers: dict[str, Any]
    prev: dict[str, Any]

    def _key_choices(self) -> list[tuple[str, str]]:
        return [(t, TYPE_DESCRIPTIONS[t]) for t in KEY_TYPES]

    def _declared(self, upto: str) -> dict[str, str]:
        """Attribute types as build_table knows them when it reaches section ``upto`` (gsis, lsis, ttl)."""
        types: dict[str, str] = {}
        for role in ("partition_key", "sort_key"):
            key = self.answers.get(role)
            if isinstance(key, Mapping):
                types.setdefault(str(key["name"]), str(key["type"]))
        for attribute in self.answers.get("attributes", []):
            types.setdefault(str(attribute["name"]), str(attribute["type"]))
        if self.answers.get("audit_attributes", True):
            for attribute in AUDIT_ATTRIBUTES:
                types.setdefault(str(attribute["name"]), str(attribute["type"]))
        kinds = {"gsis": ("gsis",), "lsis": ("gsis", "lsis"), "ttl": ("gsis", "lsis")}[upto]
        for kind in kinds:
            for index in self.answers.get(kind, []):
                for role in ("partition_key", "sort_key"):
                    key = index.get(role)
                    if isinstance(key, Mapping):
                        types.setdefault(str(key["name"]), str(key["type"]))
        return types

    def _ask_key_attribute(self, message: str, previous: Any, required: bool, upto: str) -> Any:
        declared = self._declared(upto)
        prev_name = previous if isinstance(previous, str) else (previous or {}).get("name", "")

        def check(value: str) -> str | None:
            if not value:
                return "a key attribute is required here" if required else None
            return key_attribute_rule(value, declared)

        name = self.p.text(
            message,
            default=str(prev_name),
            check=check,
            instruction="(an attribute name)" if required else "(an attribute name; blank for none)",
        )
        if not name:
            return None
        if name in declared:
            return name
        # An undeclared name may be a typo of a declared one: ask, never add a new attribute silently.
        close = difflib.get_close_matches(name, [n for n, t in declared.items() if t in KEY_TYPES], n=3, cutoff=0.75)
        new, retype = f"new attribute {name}", "type the name again"
        choices = [(match, f"the declared attribute {match}") for match in close]
        choices += [(new, "declare it as a new key attribute of this table"), (retype, "")]
        picked = self.p.choose(f"{name} is not declared yet: did you mean", choices, close[0] if close else new)
        if picked == retype:
            return self._ask_key_attribute(message, previous, required, upto)
        if picked != new:
            return picked
        prev_type = previous.get("type", "S") if isinstance(previous, Mapping) else "S"
        kind = self.p.choose(f"Type of new attribute {name}", self._key_choices(), str(prev_type))
        return {"name": name, "type": kind}

    def _ask_index(self, d: Mapping[str, Any], taken: list[str], local: bool) -> dict[str, Any]:
        label = "LSI" if local else "GSI"
        upto = "lsis" if local else "gsis"
        name = self.p.text(
            f"{label} name",
            default=str(d.get("name", "")),
            check=lambda v: index_name_rule(self.rules, v, taken),
            instruction="(e.g. StatusIndex)",
        )
        taken.append(name)
        index: dict[str, Any] = {"name": name}
        if not local:
            index["partition_key"] = self._ask_key_attribute(
                f"Partition key attribute of {name}", d.get("partition_key"), True, upto
            )
        sort = self._ask_key_attribute(f"Sort key attribute of {name}", d.get("sort_key"), local, upto)
        if sort is not None:
            index["sort_key"] = sort
        choices = [(p, PROJECTION_DESCRIPTIONS.get(p, "")) for p in self.rules.projections]
        index["projection"] = self.p.choose(f"Projection of {name}", choices, str(d.get("projection", "ALL")))
        if index["projection"] == "INCLUDE":
            previous = d.get("non_key_attributes") or []
            index["non_key_attributes"] = split_names(
                self.p.text(
                    f"Attributes to copy into {name}",
                    default=", ".join(previous),
                    check=lambda v: None if split_names(v) else "list at least one attribute",
                    instruction="(comma-separated)",
                )
            )
        access = self.p.text(
            f"Which query does {name} serve?",
            default=str(d.get("access_pattern", "")),
            instruction="(the access pattern in words; blank to skip)",
        )
        if access:
            index["access_pattern"] = access
        return index

    def _ask_indexes(self, kind: str, first: str, another: str) -> None:
        previous: list[Mapping[str, Any]] = list(self.prev.get(kind, []))
        items: list[dict[str, Any]] = []
        self.answers[kind] = items
        other = "lsis" if kind == "gsis" else "gsis"
        taken = [str(i["name"]) for i in self.answers.get(other, []) if isinstance(i, Mapping) and "name" in i]
        more = self.p.confirm(first, default=bool(previous))
        while more:
            d = previous[len(items)] if len(items) < len(previous) else {}
            items.append(self._ask_index(d, taken, local=kind == "lsis"))
            more = self.p.confirm(another, default=len(items) < len(previous))

    def ask_gsis(self) -> None:
        """Global secondary indexes, in a loop."""
        self._ask_indexes("gsis", "Add a global secondary index (GSI)?", "Add another GSI?")

    def ask_lsis(self) -> None:
        """Local secondary indexes (only with a sort key), in a loop."""
        if self.answers.get("sort_key") is None:
            self.answers["lsis"] = []
            self.p.say("  (no local secondary indexes: they need a table with a sort key)")
            return
        self._ask_indexes(
            "lsis",
            "Add a local secondary index (LSI)? They can only be created with the table",
            "Add another LSI?",
        )
