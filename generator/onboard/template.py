"""Onboarding an email template: the rules per answer and the four files plus catalog entry built from them.

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

import html
import json
import re
import string
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from generator.definition.load import TEMPLATES_DIR
from generator.onboard.answers import Reader
from generator.onboard.common import Definition, check_whole_definition, display
from generator.onboard.errors import AnswerProblem, InvalidAnswers, OnboardError
from generator.shipped import validate_templates as vt

AUDIENCES = ("customer", "internal")
CATEGORY_DESCRIPTIONS = {
    "receipts": "receipts and order summaries",
    "notifications": "event notifications (order placed, payment received, site ready, ...)",
    "invoices": "invoices",
}
AUDIENCE_DESCRIPTIONS = {
    "customer": "mail to a customer: unsubscribe link and company address in the footer",
    "internal": "mail to BBWS staff: key ends in _internal, environment banner",
}
VARIABLE_TYPES = {
    "string": "text",
    "number": "a number",
    "boolean": "a yes/no flag, shown as Yes or No",
    "line_items": "an array of line items (name, quantity, unitPrice, lineTotal), shown as a table",
}
SUBJECT_TYPES = ("string", "number")
RESERVED = {
    "customer": {vt.UNSUBSCRIBE_VARIABLE: "the customer layout's unsubscribe link"},
    "internal": {"environment": "the internal layout's environment banner"},
}
_ENTRY = vt.CATALOG_SCHEMA["properties"]["templates"]["items"]["properties"]
KEY_PATTERN = re.compile(_ENTRY["key"]["pattern"])
VERSION_PATTERN = re.compile(_ENTRY["version"]["pattern"])
NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
INTERNAL_SUFFIX = "_internal"
DEFAULT_VERSION = "1.0.0"
LAYOUTS = "layouts"
CATALOG_WIDTH = 120  # yamllint line-length of the monorepo


# ----------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class TemplateRules:
    """The catalog's rules (validate_templates.py), asked one answer at a time."""

    definition: Definition

    @property
    def templates_dir(self) -> Path:
        """definition/templates."""
        return self.definition.root / TEMPLATES_DIR

    @property
    def catalog(self) -> Mapping[str, Any]:
        """catalog.yaml as loaded by the definition."""
        return self.definition.raw.catalog

    @property
    def brand(self) -> Mapping[str, str]:
        """The brand literals every template carries."""
        return {str(k): str(v) for k, v in self.catalog["brand"].items()}

    @property
    def keys(self) -> set[str]:
        """Keys already in the catalog."""
        return {str(entry["key"]) for entry in self.catalog["templates"]}

    @staticmethod
    def key_of(category: str, name: str, audience: str) -> str:
        """The S3 key: category folder, name, ``_internal`` for internal mail."""
        stem = name if audience != "internal" or name.endswith(INTERNAL_SUFFIX) else name + INTERNAL_SUFFIX
        return f"{category}/{stem}.html"

    def name(self, value: str, category: str, audience: str) -> str | None:
        """A template name: the S3 key rules of the catalog, and not taken."""
        if not NAME_PATTERN.match(value):
            return f"{value!r}: template names are lowercase letters, digits and underscores (the S3 key rule)"
        if audience == "customer" and value.endswith(INTERNAL_SUFFIX):
            return (
                f"{value!r} ends in {INTERNAL_SUFFIX} but the audience is customer; choose audience internal, "
                "or another name"
            )
        key = self.key_of(category, value, audience)
        if not KEY_PATTERN.match(key):
            return f"{key} does not follow the key rule {KEY_PATTERN.pattern}"
        if key in self.keys:
            return f"{key} is already in catalog.yaml; pick another name (or edit that template and bump its version)"
        if (self.templates_dir / key).exists():
            return f"{display(self.templates_dir / key)} already exists; pick another name or remove the file"
        return None


def subject_rule(value: str) -> str | None:
    """A subject: not empty, well-formed Mustache with simple ``{{variable}}`` placeholders only."""
    if not value.strip():
        return "the subject is empty"
    tags, errors = vt.mustache_errors(value)
    if errors:
        return errors[0][1]
    for tag in tags:
        if tag.kind != "variable" or not VARIABLE_NAME.match(tag.name):
            return f"{tag.text()}: a subject takes only simple {{{{variable}}}} placeholders"
    return None


def subject_variables(subject: str) -> list[str]:
    """Placeholder names of a (valid) subject, first use first."""
    tags, _ = vt.mustache_errors(subject)
    return list(dict.fromkeys(tag.name for tag in tags))


def version_rule(value: str) -> str | None:
    """MAJOR.MINOR.PATCH, as the catalog schema requires."""
    return (
        None if VERSION_PATTERN.match(value) else f"{value!r} is not a semantic version MAJOR.MINOR.PATCH such as 1.0.0"
    )


def description_rule(value: str) -> str | None:
    """The catalog needs a description (who sends the mail and when)."""
    return None if value.strip() else "the description is empty; say who sends the mail and when"


def variable_name_rule(value: str, taken: Mapping[str, str], audience: str) -> str | None:
    """A variable name: a Mustache name of one part, not reserved by the layout, declared once."""
    if not VARIABLE_NAME.match(value):
        return f"{value!r}: variable names are a letter or _ then letters, digits, _ or - (camelCase, e.g. orderNumber)"
    reserved = RESERVED.get(audience, {})
    if value in reserved:
        return f"{value!r} is added by {reserved[value]}; do not declare it"
    if value in taken:
        return f"variable {value!r} is declared twice ({taken[value]})"
    return None


def label_of(name: str) -> str:
    """``orderNumber`` -> ``Order number``: how a variable is labelled in the body."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").replace("-", " ").split()
    text = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in words)
    return text[:1].upper() + text[1:]


# ---------------------------------------------------------------------------------------------- build


@dataclass(frozen=True)
class Variable:
    """One variable of the render context."""

    name: str
    type: str
    required: bool
    description: str = ""

    @property
    def label(self) -> str:
        """The label shown next to the value."""
        return label_of(self.name)


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
    variables: list[Variable] = []
    taken: dict[str, str] = {}
    for v in r.items("variables"):
        var_name = v.text("name", required=True, check=lambda x: variable_name_rule(x, taken, audience or "customer"))
        var_type = v.choice("type", list(VARIABLE_TYPES), "string", "use string, number, boolean or line_items")
        required = v.flag("required", True)
        var_description = v.text("description") or ""
        if var_name and var_type:
            variables.append(Variable(var_name, var_type, required, var_description))
            taken[var_name] = v.prefix
    if subject:
        from_subject: list[Variable] = []
        for placeholder in subject_variables(subject):
            if placeholder in RESERVED.get(audience or "customer", {}):
                continue
            declared = next((var for var in variables if var.name == placeholder), None)
            if declared is None:
                from_subject.append(Variable(placeholder, "string", True, ""))
            elif declared.type not in SUBJECT_TYPES:
                r.problem(
                    "subject",
                    f"{{{{{placeholder}}}}} is a {declared.type} variable; a subject shows only string or number "
                    "variables",
                )
        variables = from_subject + variables
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
    catalog_path = rules.templates_dir / vt.CATALOG_FILE
    built.files = {
        f"{built.base}.html": render_html(built, rules),
        f"{built.base}.txt": render_text(built, rules),
        f"{built.base}.contract.json": render_contract(built, rules),
        f"{built.base}.sample.json": render_sample(built, rules),
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


# -------------------------------------------------------------------------------------------- catalog


def _quoted(name: str, value: str, indent: str, wrap: bool) -> list[str]:
    """``name: "value"``, folded onto more lines (as YAML reads them back) to stay within yamllint's width."""
    text = json.dumps(value, ensure_ascii=False)
    first = f"{indent}{name}: "
    if not wrap or len(first) + len(text) <= CATALOG_WIDTH:
        return [first + text]
    lines = textwrap.wrap(
        text,
        width=CATALOG_WIDTH,
        initial_indent=first,
        subsequent_indent=indent + "  ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return lines


def append_entry(text: str, entry: Mapping[str, str]) -> str:
    """catalog.yaml with ``entry`` appended as text, so its comments and layout stay as they are."""
    indents = re.findall(r"^( *)- key:", text, flags=re.MULTILINE)
    indent = indents[-1] if indents else "  "
    head = text if text.endswith("\n") or not text else text + "\n"
    lines: list[str] = []
    for wrap in (True, False):
        lines = [f"{indent}- key: {entry['key']}"]
        lines += [f"{indent}  {name}: {entry[name]}" for name in ("category", "audience", "version")]
        for name in ("subject", "description"):
            lines += _quoted(name, entry[name], indent + "  ", wrap)
        result = head + "\n".join(lines) + "\n"
        loaded = yaml.safe_load(result)
        last = loaded.get("templates", [])[-1:] if isinstance(loaded, Mapping) else []
        if last == [dict(entry)]:
            return result
    raise OnboardError(
        f"{vt.CATALOG_FILE} does not end with its templates list, so the entry cannot be appended safely",
        ["add this entry at the end of templates: by hand, then run bbws-gen validate:", *lines],
    )


# ------------------------------------------------------------------------------------------- rendering

FONT = "font-family:'Segoe UI',Helvetica,Arial,sans-serif;"
TABLE = (
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
    f'style="border-collapse:collapse;{FONT}font-size:14px;line-height:20px;color:#1f2937;">'
)
DETAIL_ROW = """                <tr>
                  <td class="stack" width="40%" style="padding:8px 12px 8px 0;border-bottom:1px solid #e5e7eb;\
color:#6b7280;vertical-align:top;">{label}</td>
                  <td class="stack" style="padding:8px 0;border-bottom:1px solid #e5e7eb;font-weight:600;\
vertical-align:top;">{value}</td>
                </tr>"""
HEADING_ROW = """          <tr>
            <td class="px" style="padding:0 32px 8px;">
              <h2 style="margin:8px 0 12px;{font}font-size:13px;line-height:18px;font-weight:700;letter-spacing:1px;\
text-transform:uppercase;color:#6b7280;">{label}</h2>
            </td>
          </tr>"""
TH = (
    "padding:8px 0;border-bottom:2px solid #1b2a41;font-size:12px;line-height:16px;text-transform:uppercase;"
    "color:#6b7280;"
)
TD = "padding:12px 0;border-bottom:1px solid #e5e7eb;vertical-align:top;"
# Line-item tables; the @TOKENS@ are replaced (Mustache braces make str.format awkward).
ITEMS_TABLE = """          <tr>
            <td class="px" style="padding:0 32px 24px;">
              @TABLE@
                <tr>
                  <th scope="col" align="left" style="@TH@">Item</th>
                  <th scope="col" align="center" width="48" style="@TH@">Qty</th>
                  <th scope="col" align="right" width="96" class="hide-sm" style="@TH@">Price</th>
                  <th scope="col" align="right" width="110" style="@TH@">Amount</th>
                </tr>
                {{#@NAME@}}
                <tr>
                  <td style="@TD@"><strong>{{name}}</strong></td>
                  <td align="center" style="@TD@">{{quantity}}</td>
                  <td align="right" class="hide-sm" style="@TD@white-space:nowrap;">R&nbsp;{{unitPrice}}</td>
                  <td align="right" style="@TD@white-space:nowrap;">R&nbsp;{{lineTotal}}</td>
                </tr>
                {{/@NAME@}}@NONE@
              </table>
            </td>
          </tr>"""
NO_ITEMS_ROW = """
                {{^@NAME@}}
                <tr>
                  <td colspan="4" style="@TD@color:#6b7280;">None</td>
                </tr>
                {{/@NAME@}}"""


def _items_table(name: str, required: bool) -> str:
    none = "" if required else NO_ITEMS_ROW
    text = ITEMS_TABLE.replace("@NONE@", none).replace("@TABLE@", TABLE).replace("@TH@", TH).replace("@TD@", TD)
    return text.replace("@NAME@", name)


def _layout(name: str) -> string.Template:
    return string.Template((resources.files("generator.onboard") / LAYOUTS / name).read_text(encoding="utf-8"))


def _tag(name: str) -> str:
    return "{{" + name + "}}"


def _html_value(var: Variable) -> str:
    if var.type == "boolean":
        return f"{{{{#{var.name}}}}}Yes{{{{/{var.name}}}}}{{{{^{var.name}}}}}No{{{{/{var.name}}}}}"
    return _tag(var.name)


def _brand_values(rules: TemplateRules, built: BuiltTemplate, escape: bool) -> dict[str, str]:
    brand = rules.brand
    company, address = brand["company"], brand["address"]
    copyright_line = address if address.startswith(company) else f"{company}, {address}"
    subject = built.entry["subject"]
    # "[BBWS {{environment}}] Order ..." -> "Order ...": the banner already shows the tag (as the shipped ones do)
    heading = re.sub(r"^\[[^\]]*\]\s*", "", subject) or subject
    text = (lambda s: html.escape(s, quote=False)) if escape else (lambda s: s)
    words = company.split()
    top, rest = " ".join(words[:2]).upper(), " ".join(words[2:]).upper()
    wordmark = (
        '<span style="font-size:20px;line-height:22px;font-weight:800;letter-spacing:2px;color:#ffffff;">'
        f"{html.escape(top)}</span>"
    )
    if rest:
        wordmark += (
            '<br><span style="font-size:11px;line-height:14px;font-weight:600;letter-spacing:4px;color:#f0a202;">'
            f"{html.escape(rest)}</span>"
        )
    return {
        "title": text(subject),
        "preheader": text(heading),
        "heading": text(heading),
        "company": text(company),
        "company_upper": text(company.upper()),
        "copyright": text(copyright_line),
        "support_email": html.escape(brand["support_email"]) if escape else brand["support_email"],
        "website": html.escape(brand["website"]) if escape else brand["website"],
        "website_label": text(brand["website"].removeprefix("https://").rstrip("/")),
        "logo_url": html.escape(brand["logo_url"]),
        "logo_alt": html.escape(f"{company} logo"),
        "wordmark": wordmark,
    }


def render_html(built: BuiltTemplate, rules: TemplateRules) -> str:
    """The HTML body: the audience's layout, with a details table and a table per line-item variable."""
    blocks: list[str] = []
    rows: list[str] = []
    for var in built.variables:
        if var.type == "line_items":
            continue
        row = DETAIL_ROW.format(label=html.escape(var.label), value=_html_value(var))
        if not var.required and var.type == "string":
            row = f"                {{{{#{var.name}}}}}\n{row}\n                {{{{/{var.name}}}}}"
        rows.append(row)
    if rows:
        blocks.append(
            '          <tr>\n            <td class="px" style="padding:0 32px 24px;">\n'
            f"              {TABLE}\n"
            + "\n".join(rows)
            + "\n              </table>\n            </td>\n          </tr>"
        )
    for var in built.variables:
        if var.type != "line_items":
            continue
        blocks.append(HEADING_ROW.format(font=FONT, label=html.escape(var.label)))
        blocks.append(_items_table(var.name, var.required))
    values = _brand_values(rules, built, escape=True)
    return _layout(f"{built.audience}.html").substitute(values, body="\n".join(blocks))


def render_text(built: BuiltTemplate, rules: TemplateRules) -> str:
    """The plain-text alternative: the same variables, in the same order, as the HTML."""
    lines: list[str] = []
    for var in built.variables:
        if var.type == "line_items":
            continue
        if var.type == "boolean":
            lines.append(f"{var.label}: {_html_value(var)}")
        elif not var.required and var.type == "string":
            lines += [f"{{{{#{var.name}}}}}", f"{var.label}: {_tag(var.name)}", f"{{{{/{var.name}}}}}"]
        else:
            lines.append(f"{var.label}: {_tag(var.name)}")
    body = "\n".join(lines) + "\n\n" if lines else ""
    for var in built.variables:
        if var.type != "line_items":
            continue
        heading = var.label.upper()
        items = [
            heading,
            "-" * len(heading),
            f"{{{{#{var.name}}}}}",
            "- {{name}}: {{quantity}} x R {{unitPrice}} = R {{lineTotal}}",
            f"{{{{/{var.name}}}}}",
        ]
        if not var.required:
            items += [f"{{{{^{var.name}}}}}", "- none", f"{{{{/{var.name}}}}}"]
        body += "\n".join(items) + "\n\n"
    values = _brand_values(rules, built, escape=False)
    return _layout(f"{built.audience}.txt").substitute(values, body=body)


AMOUNT = {
    "type": "string",
    "pattern": "^[0-9]{1,3}( [0-9]{3})*\\.[0-9]{2}$",
    "description": "ZAR amount formatted by the Lambda without the currency symbol: space as thousands separator, "
    'two decimals, e.g. "1 299.00".',
}
URL = {"type": "string", "format": "uri", "pattern": "^https://", "description": "Absolute https URL."}
LINE_ITEM = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "quantity", "unitPrice", "lineTotal"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "description": "Item name, e.g. products.name."},
        "quantity": {"type": "integer", "minimum": 1},
        "unitPrice": {"$ref": "#/$defs/amount", "description": "Price of one unit."},
        "lineTotal": {"$ref": "#/$defs/amount", "description": "quantity x unit price."},
    },
}


def _property(var: Variable) -> dict[str, Any]:
    description = var.description or f"{var.label}."
    if var.type == "string":
        return {"type": "string", "minLength": 1, "description": description}
    if var.type == "number":
        return {"type": "number", "description": description}
    if var.type == "boolean":
        return {"type": "boolean", "description": description}
    return {"type": "array", "minItems": 1, "description": description, "items": {"$ref": "#/$defs/lineItem"}}


def render_contract(built: BuiltTemplate, rules: TemplateRules) -> str:
    """The JSON Schema (Draft 2020-12) of the render context, closed with additionalProperties false."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if built.audience == "internal":
        properties["environment"] = {
            "enum": list(rules.definition.environments),
            "description": "Environment that sent the notification.",
        }
        required.append("environment")
    for var in built.variables:
        properties[var.name] = _property(var)
        if var.required:
            required.append(var.name)
    defs: dict[str, Any] = {}
    if any(var.type == "line_items" for var in built.variables):
        defs["amount"] = AMOUNT
        defs["lineItem"] = LINE_ITEM
    if built.audience == "customer":
        properties[vt.UNSUBSCRIBE_VARIABLE] = {
            "$ref": "#/$defs/url",
            "description": "Per-recipient unsubscribe link (email preferences page).",
        }
        required.append(vt.UNSUBSCRIBE_VARIABLE)
        defs["url"] = URL
    contract: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Render context of {built.key}",
        "description": built.entry["description"],
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }
    if defs:
        contract["$defs"] = defs
    return json.dumps(contract, indent=2) + "\n"


def _sample_value(var: Variable) -> Any:
    if var.type == "string":
        return f"Example {var.label[:1].lower() + var.label[1:]}"
    if var.type == "number":
        return 42
    if var.type == "boolean":
        return True
    return [
        {"name": "Example item", "quantity": 1, "unitPrice": "1 299.00", "lineTotal": "1 299.00"},
        {"name": "Another item", "quantity": 2, "unitPrice": "250.00", "lineTotal": "500.00"},
    ]


def render_sample(built: BuiltTemplate, rules: TemplateRules) -> str:
    """Sample render context: every variable (optional ones too, so the sample shows them), valid."""
    sample: dict[str, Any] = {}
    if built.audience == "internal":
        sample["environment"] = rules.definition.environments[0]
    for var in built.variables:
        sample[var.name] = _sample_value(var)
    if built.audience == "customer":
        website = rules.brand["website"].rstrip("/")
        sample[vt.UNSUBSCRIBE_VARIABLE] = f"{website}/account/email-preferences?token=example"
    return json.dumps(sample, indent=2, ensure_ascii=False) + "\n"


def describe_variables(variables: Sequence[Variable], audience: str) -> str:
    """One line for the summary."""
    parts = [f"{v.name} {v.type}{'*' if v.required else ''}" for v in variables]
    parts += [f"{name} (from the layout)" for name in RESERVED[audience]]
    return ", ".join(parts)
