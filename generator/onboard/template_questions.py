"""The questions for a new email template."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from generator.checks import validate_templates as vt
from generator.onboard.common import display
from generator.onboard.prompts import Prompter
from generator.onboard.questionnaire import Questionnaire
from generator.onboard.template_files import BuiltTemplate, build_template, check_template
from generator.onboard.template_rules import (
    AUDIENCE_DESCRIPTIONS,
    CATEGORY_DESCRIPTIONS,
    DEFAULT_VERSION,
    RESERVED,
    SUBJECT_TYPES,
    VARIABLE_TYPES,
    TemplateRules,
    describe_variables,
    description_rule,
    subject_rule,
    subject_variables,
    variable_name_rule,
    version_rule,
)


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
        return f"write {display(self.rules.definition.root / built.base)}.* and append to {vt.CATALOG_FILE}"

    def files(self, built: BuiltTemplate) -> Mapping[str, str]:
        root = self.rules.definition.root
        return {display(root / rel): text for rel, text in built.files.items() if not rel.endswith(vt.CATALOG_FILE)}

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
