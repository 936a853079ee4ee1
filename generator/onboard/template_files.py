"""A new email template built from its answers: the four files and the catalog entry, checked together with
the rest of the definition.

Answers (an answers file holds the same keys)::

    category: notifications          # receipts | notifications | invoices: the S3 folder
    audience: customer               # customer (default) | internal
    name: welcome                    # lowercase letters, digits, _; "_internal" is appended for internal mail
    subject: "Welcome to BBWS, {{customerName}}"
    description: Sent to the customer by the tenants Lambda when a tenant registers.
    version: 1.0.0                   # default
    variables:                       # shown in the body, one row each
      - {name: customerName, type: string, required: true, description: First name of the contact}
      - {name: items, type: line_items}          # string | number | boolean | line_items

Placeholders in the subject that ``variables`` does not list are declared as required strings. The layout
adds ``unsubscribeUrl`` to customer mail and ``environment`` to internal mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.checks import validate_templates as vt
from generator.definition.load import TEMPLATES_DIR
from generator.onboard.answers import Reader
from generator.onboard.catalog_entry import append_entry
from generator.onboard.common import check_whole_definition
from generator.onboard.contract import render_contract, render_sample
from generator.onboard.email_layout import render_html, render_text
from generator.onboard.errors import AnswerProblem, InvalidAnswers
from generator.onboard.template_rules import (
    AUDIENCES,
    DEFAULT_VERSION,
    RESERVED,
    SUBJECT_TYPES,
    VARIABLE_TYPES,
    TemplateRules,
    Variable,
    description_rule,
    subject_rule,
    subject_variables,
    variable_name_rule,
    version_rule,
)


@dataclass
class BuiltTemplate:
    """The files a new template consists of (relative to the definition folder), ready to write."""

    key: str
    audience: str
    entry: dict[str, str]
    variables: list[Variable]
    files: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """``templates/<folder>/<name>`` without suffix."""
        return f"{TEMPLATES_DIR}/{self.key.removesuffix('.html')}"


def _variables(r: Reader, subject: str | None, audience: str) -> list[Variable]:
    """The declared variables, after the subject's placeholders that are not declared (required strings)."""
    variables: list[Variable] = []
    taken: dict[str, str] = {}
    for v in r.items("variables"):
        var_name = v.text("name", required=True, check=lambda x: variable_name_rule(x, taken, audience))
        var_type = v.choice("type", list(VARIABLE_TYPES), "string", "use string, number, boolean or line_items")
        required = v.flag("required", True)
        var_description = v.text("description") or ""
        if var_name and var_type:
            variables.append(Variable(var_name, var_type, required, var_description))
            taken[var_name] = v.prefix
    if not subject:
        return variables
    from_subject: list[Variable] = []
    for placeholder in subject_variables(subject):
        if placeholder in RESERVED.get(audience, {}):
            continue
        declared = next((var for var in variables if var.name == placeholder), None)
        if declared is None:
            from_subject.append(Variable(placeholder, "string", True, ""))
        elif declared.type not in SUBJECT_TYPES:
            r.problem(
                "subject",
                f"{{{{{placeholder}}}}} is a {declared.type} variable; a subject shows only string or number variables",
            )
    return from_subject + variables


def build_template(answers: Mapping[str, Any], rules: TemplateRules) -> BuiltTemplate:
    """The template the answers describe; InvalidAnswers names every answer that breaks a rule."""
    problems: list[AnswerProblem] = []
    r = Reader(answers, "", problems)
    category = r.choice("category", vt.FOLDERS, None, "the S3 folder: " + ", ".join(vt.FOLDERS))
    audience = r.choice("audience", AUDIENCES, "customer")
    name = r.text("name", required=True, what="the template name")
    if name and category and audience:
        problem = rules.name(name, category, audience)
        if problem:
            r.problem("name", problem)
            name = None
    subject = r.text("subject", required=True, check=subject_rule, what="the mail's subject")
    description = r.text("description", required=True, check=description_rule, what="who sends the mail and when")
    version = r.text("version", default=DEFAULT_VERSION, check=version_rule)
    variables = _variables(r, subject, audience or "customer")
    r.finish()
    if problems or not (category and audience and name and subject and description and version):
        raise InvalidAnswers(problems)
    key = rules.key_of(category, name, audience)
    entry = {
        "key": key,
        "category": category,
        "audience": audience,
        "version": version,
        "subject": subject,
        "description": description,
    }
    built = BuiltTemplate(key, audience, entry, variables)
    environments = rules.definition.environments
    catalog_path = rules.templates_dir / vt.CATALOG_FILE
    built.files = {
        f"{built.base}.html": render_html(audience, subject, variables, rules.brand),
        f"{built.base}.txt": render_text(audience, subject, variables, rules.brand),
        f"{built.base}.contract.json": render_contract(key, audience, description, variables, environments),
        f"{built.base}.sample.json": render_sample(audience, variables, environments, rules.brand["website"]),
        f"{TEMPLATES_DIR}/{vt.CATALOG_FILE}": append_entry(catalog_path.read_text(encoding="utf-8"), entry),
    }
    return built


def check_template(built: BuiltTemplate, rules: TemplateRules) -> None:
    """Run ``bbws-gen validate`` (validate_templates.py included) on the definition with the new files."""
    findings = check_whole_definition(rules.definition.root, built.files)
    problems = []
    for finding in findings:
        key = "subject" if "subject" in finding.message else "variables"
        if finding.file.endswith(vt.CATALOG_FILE) and key != "subject":
            key = "name"
        problems.append(AnswerProblem(key, str(finding)))
    if problems:
        raise InvalidAnswers(problems)
