"""The rules of a new email template, one answer at a time: the catalog's rules (validate_templates.py),
the S3 key, the subject's Mustache placeholders and the variables the layouts add themselves."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.checks import validate_templates as vt
from generator.definition.load import TEMPLATES_DIR
from generator.onboard.common import Definition, display

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


def describe_variables(variables: Sequence[Variable], audience: str) -> str:
    """One line for the summary."""
    parts = [f"{v.name} {v.type}{'*' if v.required else ''}" for v in variables]
    parts += [f"{name} (from the layout)" for name in RESERVED[audience]]
    return ", ".join(parts)
