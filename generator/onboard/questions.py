"""The interactive questionnaires: they fill the same answers an answers file holds, one checked answer at a time.

After the last question the answers go through the same build and checks as ``--answers``; if the whole
table or template still breaks a rule (two indexes with the same keys, say), the findings are shown and
the user picks the part to answer again (previous answers are the defaults), then confirms a summary.
"""

from __future__ import annotations

import copy
import difflib
import textwrap
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from generator.onboard.answers import split_names
from generator.onboard.common import display
from generator.onboard.errors import AnswerProblem, Cancelled, InvalidAnswers
from generator.onboard.prompts import Prompter
from generator.onboard.table import AUDIT_ATTRIBUTES as AUDIT
from generator.onboard.table import (
    AUDIT_NAMES,
    DEFAULT_PARTITION_KEY,
    DEFAULT_SORT_KEY,
    DEFAULT_STREAM,
    PROJECTION_DESCRIPTIONS,
    STREAM_DESCRIPTIONS,
    TYPE_DESCRIPTIONS,
    BuiltTable,
    TableRules,
    attribute_name_rule,
    build_table,
    check_table,
    index_name_rule,
    key_attribute_rule,
    ttl_rule,
)
from generator.onboard.template import (
    AUDIENCE_DESCRIPTIONS,
    CATEGORY_DESCRIPTIONS,
    DEFAULT_VERSION,
    RESERVED,
    SUBJECT_TYPES,
    VARIABLE_TYPES,
    BuiltTemplate,
    TemplateRules,
    build_template,
    check_template,
    describe_variables,
    description_rule,
    subject_rule,
    subject_variables,
    variable_name_rule,
    version_rule,
)
from generator.shipped.validate_schemas import KEY_TYPES

Built = TypeVar("Built", BuiltTable, BuiltTemplate)
WRITE, CHANGE, SHOW, ABORT = "Write the files", "Change an answer", "Show the files", "Abort: write nothing"


def _camel(text: str) -> str:
    parts = [p for p in text.replace("-", "_").replace(".", "_").split("_") if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:].lower() for p in parts[1:]) if parts else text


class Questionnaire(Generic[Built]):
    """Sections of questions, then review: fix what the whole-file checks find, confirm, or abort."""

    sections: ClassVar[Sequence[tuple[str, str]]] = ()
    section_of: ClassVar[Mapping[str, str]] = {}

    def __init__(self, prompter: Prompter) -> None:
        self.p = prompter
        self.answers: dict[str, Any] = {}
        self.prev: dict[str, Any] = {}

    def ask(self, section: str) -> None:
        """Ask the questions of one section."""
        handler: Callable[[], None] = getattr(self, f"ask_{section}")
        handler()

    def redo(self, section: str) -> None:
        """Ask a section again, with the previous answers as defaults."""
        self.prev = copy.deepcopy(self.answers)
        self.ask(section)

    def build(self) -> Built:
        """Build and check the answers (raises InvalidAnswers)."""
        raise NotImplementedError

    def summary(self, built: Built) -> str:
        """What will be written, in a few lines."""
        raise NotImplementedError

    def files(self, built: Built) -> Mapping[str, str]:
        """The files (relative path -> text) for "Show the files"."""
        raise NotImplementedError

    def target(self, built: Built) -> str:
        """What the write choice writes, for its label."""
        raise NotImplementedError

    def pick_section(self, default: str) -> str:
        """Which part to answer again."""
        choices = [(key, title) for key, title in self.sections]
        return self.p.choose("Which answers do you want to change?", choices, default)

    def run(self) -> Built:
        """Every section, then the review loop; returns what to write, or raises Cancelled."""
        for section, _ in self.sections:
            self.ask(section)
        while True:
            try:
                built = self.build()
            except InvalidAnswers as error:
                self.show_problems(error.problems)
                self.redo(self.pick_section(self.section_of.get(error.problems[0].section, self.sections[0][0])))
                continue
            self.p.say("")
            self.p.say(self.summary(built))
            action = self.p.choose(
                "Write it?",
                [(WRITE, self.target(built)), (CHANGE, ""), (SHOW, ""), (ABORT, "")],
                WRITE,
            )
            if action == WRITE:
                return built
            if action == ABORT:
                raise Cancelled()
            if action == SHOW:
                for rel, text in self.files(built).items():
                    self.p.say(f"----- {rel}")
                    self.p.say(text.rstrip("\n"))
                continue
            self.redo(self.pick_section(self.sections[0][0]))

    def show_problems(self, problems: Sequence[AnswerProblem]) -> None:
        """The rules the answers break, as `bbws-gen validate` words them."""
        self.p.say("")
        self.p.say("These answers break a rule of `bbws-gen validate`; nothing was written:")
        for problem in problems:
            self.p.say(textwrap.indent(str(problem), "  "))


# ----------------------------------------------------------------------------------------------- table


class TableQuestionnaire(Questionnaire[BuiltTable]):
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

    def _key_choices(self) -> list[tuple[str, str]]:
        return [(t, TYPE_DESCRIPTIONS[t]) for t in KEY_TYPES]

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
            for attribute in AUDIT:
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


# -------------------------------------------------------------------------------------------- template


class TemplateQuestionnaire(Questionnaire[BuiltTemplate]):
    """Questions for a new email template."""

    sections: ClassVar[Sequence[tuple[str, str]]] = (
        ("key", "Category, audience and name (the S3 key)"),
        ("subject", "Subject"),
        ("description", "Description"),
        ("version", "Version"),
        ("variables", "Variables"),
    )
    section_of: ClassVar[Mapping[str, str]] = {
        "category": "key",
        "audience": "key",
        "name": "key",
        "subject": "subject",
        "description": "description",
        "version": "version",
        "variables": "variables",
    }

    def __init__(self, prompter: Prompter, rules: TemplateRules) -> None:
        super().__init__(prompter)
        self.rules = rules

    def build(self) -> BuiltTemplate:
        built = build_template(self.answers, self.rules)
        check_template(built, self.rules)
        return built

    def target(self, built: BuiltTemplate) -> str:
        return f"write {display(self.rules.definition.root / built.base)}.* and append to catalog.yaml"

    def files(self, built: BuiltTemplate) -> Mapping[str, str]:
        root = self.rules.definition.root
        return {display(root / rel): text for rel, text in built.files.items() if not rel.endswith("catalog.yaml")}

    def redo(self, section: str) -> None:
        super().redo(section)
        if section in ("subject", "key"):  # placeholders or reserved names may have changed
            self.ask("variables")

    def ask_key(self) -> None:
        """Category, audience and name."""
        category = self.p.choose(
            "Category (the S3 folder)",
            list(CATEGORY_DESCRIPTIONS.items()),
            str(self.prev.get("category", "notifications")),
        )
        audience = self.p.choose(
            "Audience", list(AUDIENCE_DESCRIPTIONS.items()), str(self.prev.get("audience", "customer"))
        )
        name = self.p.text(
            "Template name",
            default=str(self.prev.get("name", "")),
            check=lambda v: self.rules.name(v, category, audience),
            instruction="(lowercase letters, digits, _; e.g. welcome"
            + ("; _internal is added)" if audience == "internal" else ")"),
        )
        self.answers.update(category=category, audience=audience, name=name)
        self.p.say(f"  S3 key: {self.rules.key_of(category, name, audience)}")

    def ask_subject(self) -> None:
        """The subject line (Mustache)."""
        internal = self.answers.get("audience") == "internal"
        self.answers["subject"] = self.p.text(
            "Subject",
            default=str(self.prev.get("subject", "[BBWS {{environment}}] " if internal else "")),
            check=subject_rule,
            instruction="({{variable}} placeholders allowed)",
        )

    def ask_description(self) -> None:
        """Who sends the mail and when."""
        self.answers["description"] = self.p.text(
            "Description",
            default=str(self.prev.get("description", "")),
            check=description_rule,
            instruction="(who sends it and when, e.g. Sent to the customer by the orders Lambda when ...)",
        )

    def ask_version(self) -> None:
        """The template version."""
        self.answers["version"] = self.p.text(
            "Version", default=str(self.prev.get("version", DEFAULT_VERSION)), check=version_rule
        )

    def ask_variables(self) -> None:
        """The subject's placeholders first, then more variables in a loop."""
        audience = str(self.answers.get("audience", "customer"))
        previous = {str(v["name"]): v for v in self.prev.get("variables", []) if isinstance(v, Mapping)}
        variables: list[dict[str, Any]] = []
        self.answers["variables"] = variables
        in_subject = [n for n in subject_variables(str(self.answers.get("subject", ""))) if n not in RESERVED[audience]]
        for name in in_subject:
            d = previous.get(name, {})
            choices = [(t, VARIABLE_TYPES[t]) for t in SUBJECT_TYPES]
            kind = self.p.choose(f"Type of {{{{{name}}}}} (used in the subject)", choices, str(d.get("type", "string")))
            variable: dict[str, Any] = {"name": name, "type": kind, "required": True}
            description = self.p.text(
                f"Description of {name}", default=str(d.get("description", "")), instruction="(blank for none)"
            )
            if description:
                variable["description"] = description
            variables.append(variable)
        extra = [v for n, v in previous.items() if n not in in_subject]
        self.p.say(f"  The {audience} layout adds {', '.join(RESERVED[audience])} itself.")
        more = self.p.confirm("Add a variable (shown in the body)?", default=bool(extra))
        count = 0
        while more:
            d = extra[count] if count < len(extra) else {}
            taken = {str(v["name"]): f"variables[{i}]" for i, v in enumerate(variables)}
            name = self.p.text(
                "Variable name",
                default=str(d.get("name", "")),
                check=partial(variable_name_rule, taken=taken, audience=audience),
                instruction="(camelCase, e.g. orderNumber)",
            )
            kind = self.p.choose(f"Type of {name}", list(VARIABLE_TYPES.items()), str(d.get("type", "string")))
            required = self.p.confirm(f"Is {name} always given?", default=bool(d.get("required", True)))
            variable = {"name": name, "type": kind, "required": required}
            description = self.p.text(
                f"Description of {name}", default=str(d.get("description", "")), instruction="(blank for none)"
            )
            if description:
                variable["description"] = description
            variables.append(variable)
            count += 1
            more = self.p.confirm("Add another variable?", default=count < len(extra))

    def summary(self, built: BuiltTemplate) -> str:
        entry = built.entry
        root = self.rules.definition.root
        rows = [
            ("subject", entry["subject"]),
            ("description", entry["description"]),
            ("variables", describe_variables(built.variables, built.audience) + "  (* required)"),
            ("files", f"{display(root / built.base)}.html, .txt, .contract.json, .sample.json + catalog.yaml entry"),
        ]
        lines = [f"Template {entry['key']} ({entry['audience']}, version {entry['version']})"]
        for label, text in rows:
            lines.append(textwrap.fill(text, width=110, initial_indent=f"  {label:<12} ", subsequent_indent=" " * 15))
        return "\n".join(lines)


__all__ = ["TableQuestionnaire", "TemplateQuestionnaire"]
