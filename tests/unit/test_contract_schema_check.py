"""The templates check's shortcuts give what the plain checks give: check_contract_schema raises exactly
what Draft202012Validator.check_schema raises, and a catalog read twice parses as it did the first time.

The templates check remembers which whole contracts passed (a copied contract is checked once) and calls
jsonschema's own check_schema otherwise. These tests compare it with check_schema on many generated
schemas, valid and invalid, so that remembered verdicts are exercised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from generator.shipped import validate_templates as vt

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = sorted((ROOT / "definition" / "templates").glob("*/*.contract.json"))

# Keywords of every Draft 2020-12 vocabulary, a few the meta-schema checks for history's sake, and a
# few it does not know.
KEYWORDS = [
    "$id",
    "$schema",
    "$ref",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$vocabulary",
    "$comment",
    "$defs",
    "definitions",
    "dependencies",
    "$recursiveRef",
    "$recursiveAnchor",
    "prefixItems",
    "items",
    "contains",
    "additionalProperties",
    "properties",
    "patternProperties",
    "dependentSchemas",
    "propertyNames",
    "if",
    "then",
    "else",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "unevaluatedItems",
    "unevaluatedProperties",
    "type",
    "const",
    "enum",
    "multipleOf",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxContains",
    "minContains",
    "maxProperties",
    "minProperties",
    "required",
    "dependentRequired",
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
    "format",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "x-custom",
    "nullable",
]

# Values that are right for some keywords and wrong for others (a bad regex, a negative count, a
# misspelt type, a relative or odd URI, an empty list, duplicates).
SCALARS = st.one_of(
    st.sampled_from(
        [
            "string",
            "object",
            "strnig",
            "^[a-z]+$",
            "(unclosed",
            "#/$defs/a",
            "#meta",
            "https://example.com/s",
            "not a uri",
            "uri",
            "",
            0,
            1,
            -1,
            2.5,
            -0.0,
            True,
            False,
            None,
        ]
    ),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)
TYPES = st.one_of(
    st.sampled_from(["string", "integer", "number", "object", "array", "boolean", "null", "any"]),
    st.lists(st.sampled_from(["string", "null", "integer", "string", "bogus"]), max_size=3),
)
# Subschemas that recur across examples (as $defs and leaf properties recur across contracts), so that
# later examples meet remembered verdicts.
SHARED = st.sampled_from(
    [
        {"type": "string", "minLength": 1},
        {"type": "string", "format": "uri", "pattern": "^https://"},
        {"type": "integer", "minimum": 1},
        {"type": "strnig"},
        {"minLength": -1},
        {"pattern": "(unclosed"},
        {"enum": []},
        {"required": ["a", "a"]},
        {"$ref": "#/$defs/amount", "description": "x"},
        {"items": {"type": "object", "properties": {"a": {"type": "string"}}}},
        True,
        False,
    ]
)


def _schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(["a", "b", "amount", "item"])
    anything = st.one_of(
        children, st.lists(children, max_size=3), st.dictionaries(names, children, max_size=3), SCALARS, TYPES
    )
    # Mostly the kind of value the keyword takes, so that about half the schemas pass.
    fitting = {
        "type": TYPES,
        "properties": st.dictionaries(names, children, max_size=3),
        "$defs": st.dictionaries(names, children, max_size=3),
        "items": children,
        "additionalProperties": children,
        "allOf": st.lists(children, min_size=1, max_size=3),
        "anyOf": st.lists(children, min_size=1, max_size=3),
        "not": children,
        "required": st.lists(names, max_size=3, unique=True),
        "minLength": st.integers(0, 3),
        "maxItems": st.integers(0, 3),
        "pattern": st.sampled_from(["^[a-z]+$", "\\S", "^https://"]),
        "format": st.sampled_from(["uri", "email", "date"]),
        "enum": st.lists(SCALARS, max_size=3),
        "const": SCALARS,
        "minimum": st.integers(-3, 3),
        "$ref": st.sampled_from(["#/$defs/a", "#", "#/properties/a"]),
        "title": st.text(max_size=4),
        "description": st.text(max_size=4),
        "$comment": st.text(max_size=4),
    }

    @st.composite
    def schema(draw: st.DrawFn) -> dict[str, Any]:
        keys = draw(st.lists(st.sampled_from([*fitting] * 8 + KEYWORDS), max_size=5, unique=True))
        return {key: draw(fitting[key] if key in fitting and draw(st.integers(0, 19)) else anything) for key in keys}

    return schema()


SCHEMAS = st.recursive(st.one_of(SHARED, st.booleans(), st.just({})), _schemas, max_leaves=12)


def _outcome(check: Any, schema: Any) -> tuple[Any, ...] | None:
    """What a check_schema-like function says about ``schema``: None, or the error's every field."""
    try:
        check(schema)
    except SchemaError as exc:
        return (
            exc.message,
            list(exc.path),
            list(exc.schema_path),
            exc.validator,
            json.dumps(exc.validator_value, sort_keys=True, default=repr),
            json.dumps(exc.instance, sort_keys=True),
            [(c.message, list(c.path)) for c in exc.context],
        )
    return None


def _same_as_jsonschema(schema: Any) -> None:
    assert _outcome(vt.check_contract_schema, schema) == _outcome(Draft202012Validator.check_schema, schema)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SCHEMAS, min_size=1, max_size=4))
def test_same_verdict_and_error_as_check_schema(schemas: list[Any]) -> None:
    for schema in schemas:
        _same_as_jsonschema(schema)
        # Asked again: now partly or wholly remembered.
        _same_as_jsonschema(schema)
        # Nested where the first run saw it at the top, and beside a broken sibling.
        _same_as_jsonschema({"type": "object", "properties": {"a": schema, "b": {"minLength": "x"}}})
        _same_as_jsonschema({"$defs": {"a": schema}, "allOf": [schema, schema]})


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda path: path.name)
def test_shipped_contracts_and_their_breakages(contract: Path) -> None:
    schema = json.loads(contract.read_text(encoding="utf-8"))
    _same_as_jsonschema(schema)
    _same_as_jsonschema(schema)
    # One breakage deep inside a contract that otherwise passed (and is remembered) must still be found.
    broken = json.loads(contract.read_text(encoding="utf-8"))
    first = next(iter(broken["properties"]))
    broken["properties"][first]["minLength"] = -1
    assert _outcome(vt.check_contract_schema, broken) is not None
    _same_as_jsonschema(broken)


def test_a_failed_walk_is_not_remembered() -> None:
    bad = {"type": "object", "properties": {"a": {"type": "strnig"}}}
    _same_as_jsonschema(bad)
    with pytest.raises(SchemaError) as raised:
        vt.check_contract_schema(bad)
    assert list(raised.value.path) == ["properties", "a", "type"]


def test_only_jsonschemas_public_api_is_used() -> None:
    """The script runs in the customer's repos, where an update bot bumps jsonschema: no private names."""
    source = Path(vt.__file__).read_text(encoding="utf-8")
    assert "._resolver" not in source and "jsonschema_specifications" not in source


def test_a_catalog_read_again_is_parsed_once_and_given_out_as_a_copy(tmp_path: Path) -> None:
    (tmp_path / "catalog.yaml").write_text("brand: &b {company: X}\nalso: *b\ntemplates: [1, 2]\n", encoding="utf-8")
    first, text = vt.load_catalog(tmp_path)
    assert first == vt.yaml.safe_load(text)
    first["templates"].append(3)  # whoever got the first copy changes it
    second, _ = vt.load_catalog(tmp_path)
    assert second == {"brand": {"company": "X"}, "also": {"company": "X"}, "templates": [1, 2]}
    assert second["brand"] is second["also"]  # an alias stays one object, as PyYAML builds it
    (tmp_path / "catalog.yaml").write_text("templates: [\n", encoding="utf-8")
    with pytest.raises(vt.UsageError, match=r"catalog\.yaml:2: catalog\.yaml is not valid YAML"):
        vt.load_catalog(tmp_path)
