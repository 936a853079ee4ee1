"""The JSON files of a new email template: the contract (JSON Schema of the render context the sending
Lambda's team codes against) and a sample context valid for it, written with the json dumper."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from generator.checks import validate_templates as vt
from generator.onboard.template_rules import Variable

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


def render_contract(
    key: str, audience: str, description: str, variables: Sequence[Variable], environments: Sequence[str]
) -> str:
    """The JSON Schema (Draft 2020-12) of the render context, closed with additionalProperties false."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if audience == "internal":
        properties["environment"] = {
            "enum": list(environments),
            "description": "Environment that sent the notification.",
        }
        required.append("environment")
    for var in variables:
        properties[var.name] = _property(var)
        if var.required:
            required.append(var.name)
    defs: dict[str, Any] = {}
    if any(var.type == "line_items" for var in variables):
        defs["amount"] = AMOUNT
        defs["lineItem"] = LINE_ITEM
    if audience == "customer":
        properties[vt.UNSUBSCRIBE_VARIABLE] = {
            "$ref": "#/$defs/url",
            "description": "Per-recipient unsubscribe link (email preferences page).",
        }
        required.append(vt.UNSUBSCRIBE_VARIABLE)
        defs["url"] = URL
    contract: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"Render context of {key}",
        "description": description,
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


def render_sample(audience: str, variables: Sequence[Variable], environments: Sequence[str], website: str) -> str:
    """Sample render context: every variable (optional ones too, so the sample shows them), valid."""
    sample: dict[str, Any] = {}
    if audience == "internal":
        sample["environment"] = environments[0]
    for var in variables:
        sample[var.name] = _sample_value(var)
    if audience == "customer":
        sample[vt.UNSUBSCRIBE_VARIABLE] = f"{website.rstrip('/')}/account/email-preferences?token=example"
    return json.dumps(sample, indent=2, ensure_ascii=False) + "\n"
