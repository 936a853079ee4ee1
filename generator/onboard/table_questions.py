"""The questions for a new DynamoDB table (the index questions are in :mod:`.index_questions`)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from generator.onboard.answers import split_names
from generator.onboard.common import display
from generator.onboard.index_questions import IndexQuestions
from generator.onboard.prompts import Prompter
from generator.onboard.questionnaire import Questionnaire
from generator.onboard.table_file import BuiltTable, build_table, check_table
from generator.onboard.table_rules import (
    AUDIT_NAMES,
    DEFAULT_PARTITION_KEY,
    DEFAULT_SORT_KEY,
    DEFAULT_STREAM,
    STREAM_DESCRIPTIONS,
    TYPE_DESCRIPTIONS,
    TableRules,
    attribute_name_rule,
    ttl_rule,
)


def _camel(text: str) -> str:
    parts = [p for p in text.replace("-", "_").replace(".", "_").split("_") if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:]) if parts else text


class TableQuestionnaire(IndexQuestions, Questionnaire[BuiltTable]):
    """Questions for a new DynamoDB table."""

    sections: ClassVar[Sequence[tuple[str, str]]] = (
        ("name", "Table name"),
        ("description", "Description"),
        ("keys", "Primary key (partition and sort key)"),
        ("attributes", "Attributes"),
        ("gsis", "Global secondary indexes"),
        ("lsis", "Local secondary indexes"),
        ("ttl", "TTL"),
        ("streams", "Stream and point-in-time recovery"),
        ("backup", "AWS Backup"),
    )
    section_of: ClassVar[Mapping[str, str]] = {
        "name": "name",
        "description": "description",
        "partition_key": "keys",
        "sort_key": "keys",
        "audit_attributes": "attributes",
        "attributes": "attributes",
        "gsis": "gsis",
        "lsis": "lsis",
        "ttl": "ttl",
        "streams": "streams",
        "pitr": "streams",
        "backup": "backup",
        "definition": "name",
    }

    def __init__(self, prompter: Prompter, rules: TableRules) -> None:
        super().__init__(prompter)
        self.rules = rules

    def build(self) -> BuiltTable:
        built = build_table(self.answers, self.rules)
        check_table(built, self.rules)
        return built

    def target(self, built: BuiltTable) -> str:
        return f"write {display(self.rules.definition.root / built.rel)}"

    def files(self, built: BuiltTable) -> Mapping[str, str]:
        return {display(self.rules.definition.root / built.rel): built.text()}

    # ------------------------------------------------------------------------------------ sections

    def ask_name(self) -> None:
        """The table name."""
        self.answers["name"] = self.p.text(
            "Table name",
            default=self.prev.get("name", ""),
            check=self.rules.table_name,
            instruction="(the domain, e.g. orders; 3-255 of A-Z a-z 0-9 _ - .)",
        )

    def ask_description(self) -> None:
        """What the table stores."""
        text = self.p.text(
            "Description",
            default=self.prev.get("description", ""),
            instruction="(what the table stores, and modelling decisions a reader needs)",
        )
        self._set("description", text or None)

    def _ask_primary(self, role: str, default: Mapping[str, Any], taken: Mapping[str, str]) -> dict[str, Any]:
        prev = self.prev.get(role)
        previous = prev if isinstance(prev, Mapping) else default
        what = role.replace("_", " ")
        name = self.p.text(
            f"{what.capitalize()} attribute",
            default=str(previous.get("name", default["name"])),
            check=lambda v: attribute_name_rule(v, taken),
        )
        kind = self.p.choose(f"Type of {name}", self._key_choices(), str(previous.get("type", "S")))
        suggestion = str(default.get("pattern", ""))
        if role == "partition_key" and name == default["name"]:
            stem = self.answers.get("name", "item")
            stem = stem[:-1] if stem.endswith("s") and len(stem) > 3 else stem
            suggestion = f"{stem.upper().replace('-', '_').replace('.', '_')}#{{{_camel(stem)}Id}}"
        pattern = self.p.text(
            f"How is the value of {name} built?",
            default=str(previous.get("pattern", suggestion)) if previous.get("name") == name else suggestion,
            instruction="(a pattern such as ORDER#{orderId}; blank for none)",
        )
        description = self.p.text(
            f"Description of {name}",
            default=str(previous.get("description", "")),
            instruction="(blank for none)",
        )
        key: dict[str, Any] = {"name": name, "type": kind}
        if pattern:
            key["pattern"] = pattern
        if description:
            key["description"] = description
        return key

    def ask_keys(self) -> None:
        """Partition key and (optional) sort key."""
        partition = self._ask_primary("partition_key", DEFAULT_PARTITION_KEY, {})
        self.answers["partition_key"] = partition
        has_sort = self.p.confirm(
            "Does the table have a sort key?", default=self.prev.get("sort_key", DEFAULT_SORT_KEY) is not None
        )
        if has_sort:
            taken = {partition["name"]: "the partition key"}
            self.answers["sort_key"] = self._ask_primary("sort_key", DEFAULT_SORT_KEY, taken)
        else:
            self.answers["sort_key"] = None

    def _key_owners(self) -> dict[str, str]:
        owners: dict[str, str] = {}
        for role in ("partition_key", "sort_key"):
            key = self.answers.get(role)
            if isinstance(key, Mapping):
                owners[str(key["name"])] = f"the table's {role.replace('_', ' ')}"
        return owners

    def ask_attributes(self) -> None:
        """Audit attributes, then the table's own attributes in a loop."""
        audit = self.p.confirm(
            "Add the audit attributes id, dateCreated, dateLastUpdated, lastUpdatedBy and active (soft delete, N 1/0)?",
            default=bool(self.prev.get("audit_attributes", True)),
        )
        self.answers["audit_attributes"] = audit
        previous: list[Mapping[str, Any]] = list(self.prev.get("attributes", []))
        attributes: list[dict[str, Any]] = []
        self.answers["attributes"] = attributes
        more = self.p.confirm("Add an attribute (besides the keys and audit attributes)?", default=bool(previous))
        while more:
            d = previous[len(attributes)] if len(attributes) < len(previous) else {}
            taken = self._key_owners()
            if audit:
                taken.update({n: "an audit attribute" for n in AUDIT_NAMES if n not in taken})
            taken.update({str(a["name"]): f"attributes[{i}]" for i, a in enumerate(attributes)})
            name = self.p.text(
                "Attribute name",
                default=str(d.get("name", "")),
                check=partial(attribute_name_rule, taken=taken),
            )
            choices = [(t, TYPE_DESCRIPTIONS.get(t, "")) for t in self.rules.attribute_types]
            kind = self.p.choose(f"Type of {name}", choices, str(d.get("type", "S")))
            required = self.p.confirm(f"Is {name} required on every item?", default=bool(d.get("required", False)))
            attribute: dict[str, Any] = {"name": name, "type": kind, "required": required}
            if kind in ("S", "N"):
                values = self._ask_enum(name, kind, d.get("enum"))
                if values:
                    attribute["enum"] = values
            description = self.p.text(
                f"Description of {name}", default=str(d.get("description", "")), instruction="(blank for none)"
            )
            if description:
                attribute["description"] = description
            attributes.append(attribute)
            more = self.p.confirm("Add another attribute?", default=len(attributes) < len(previous))

    def _ask_enum(self, name: str, kind: str, previous: Any) -> list[Any]:
        def parse(text: str) -> list[Any] | str:
            values: list[Any] = []
            for part in split_names(text):
                if kind == "N":
                    try:
                        values.append(int(part))
                    except ValueError:
                        try:
                            values.append(float(part))
                        except ValueError:
                            return f"{part!r} is not a number; {name} is N"
                else:
                    values.append(part)
            if len(set(map(str, values))) != len(values):
                return "a value is listed twice"
            return values

        def check(text: str) -> str | None:
            result = parse(text)
            return result if isinstance(result, str) else None

        default = ", ".join(str(v) for v in previous) if isinstance(previous, list) else ""
        text = self.p.text(
            f"Allowed values of {name}", default=default, check=check, instruction="(comma-separated; blank for any)"
        )
        result = parse(text)
        return result if isinstance(result, list) else []

    def ask_ttl(self) -> None:
        """TTL attribute, if items expire."""
        previous = self.prev.get("ttl")
        if not self.p.confirm("Expire items automatically with a TTL attribute?", default=bool(previous)):
            self.answers["ttl"] = None
            return
        declared = self._declared("ttl")
        self.answers["ttl"] = self.p.text(
            "TTL attribute",
            default=str(previous or "expiresAt"),
            check=lambda v: ttl_rule(v, declared),
            instruction="(epoch seconds, type N; declared for you if new)",
        )

    def ask_streams(self) -> None:
        """Stream view type and PITR."""
        choices = [(v, STREAM_DESCRIPTIONS.get(v, "")) for v in self.rules.stream_views]
        self.answers["streams"] = self.p.choose(
            "DynamoDB stream", choices, str(self.prev.get("streams", DEFAULT_STREAM))
        )
        self.answers["pitr"] = self.p.confirm(
            "Point-in-time recovery (PITR)?", default=bool(self.prev.get("pitr", True))
        )

    def ask_backup(self) -> None:
        """AWS Backup per environment."""
        envs = self.rules.definition.environments
        previous = self.prev.get("backup", True)
        everywhere = previous is True or (isinstance(previous, Mapping) and all(previous.values()))
        if self.p.confirm(
            f"Include the table in AWS Backup in every environment ({', '.join(envs)})?", default=everywhere
        ):
            self.answers["backup"] = True
            return
        per_env = previous if isinstance(previous, Mapping) else {}
        self.answers["backup"] = {
            env: self.p.confirm(f"AWS Backup in {env}?", default=bool(per_env.get(env, env != envs[0]))) for env in envs
        }

    def _set(self, key: str, value: Any) -> None:
        if value is None:
            self.answers.pop(key, None)
        else:
            self.answers[key] = value

    # -------------------------------------------------------------------------------------- summary

    def summary(self, built: BuiltTable) -> str:
        data = built.data

        def key(k: Mapping[str, Any]) -> str:
            return f"{k['name']} ({k['type']}{', ' + k['pattern'] if k.get('pattern') else ''})"

        primary = data["primaryKey"]
        keys = key(primary["partitionKey"]) + (f" + {key(primary['sortKey'])}" if "sortKey" in primary else "")
        lines = [f"Table {data['tableName']} -> {display(self.rules.definition.root / built.rel)}"]
        rows: list[tuple[str, str]] = []
        if data.get("description"):
            rows.append(("description", str(data["description"])))
        rows.append(("primary key", keys))
        attributes = ", ".join(f"{a['name']} {a['type']}{'*' if a.get('required') else ''}" for a in data["attributes"])
        rows.append(("attributes", f"{attributes}  (* required)"))
        for kind, label in (("globalSecondaryIndexes", "GSI"), ("localSecondaryIndexes", "LSI")):
            for index in data.get(kind, []):
                sort = f" + {index['sortKey']['name']}" if "sortKey" in index else ""
                extra = f" ({', '.join(index['nonKeyAttributes'])})" if index.get("nonKeyAttributes") else ""
                keys = f"{index['partitionKey']['name']}{sort}"
                rows.append((label, f"{index['indexName']}: {keys}, {index['projectionType']}{extra}"))
        rows.append(("TTL", data["ttl"].get("attributeName", "off")))
        stream = data["streams"].get("viewType", "off")
        rows.append(("stream", f"{stream}; PITR {'on' if data['pitr']['enabled'] else 'off'}; on-demand capacity"))
        backup = [env for env, on in data["backup"].items() if on]
        rows.append(("AWS Backup", ", ".join(backup) or "none"))
        for label, text in rows:
            lines.append(textwrap.fill(text, width=110, initial_indent=f"  {label:<12} ", subsequent_indent=" " * 15))
        return "\n".join(lines)
