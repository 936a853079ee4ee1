"""generator.locations (the generator's Finding, pointers and lines) and generator.checks, which turns the
shipped scripts' findings into them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import checks
from generator.definition.load import builtin_schema
from generator.locations import Document, Finding, LineIndex, pointer_of
from tests.conftest import DEFINITION


def test_the_empty_path_points_at_the_whole_document() -> None:
    # RFC 6901: "" is the whole document, "/" the member named "" (the templates script says "/" for the
    # root; the generator does not).
    assert pointer_of([]) == ""
    assert pointer_of([""]) == "/"
    assert pointer_of(["a/b", "m~n", 0]) == "/a~1b/m~0n/0"
    assert str(Finding("t.json", 3, pointer_of([]), "not an object")) == "t.json:3: not an object"


def test_a_finding_prints_where_what_and_how_to_fix() -> None:
    assert str(Finding("t.json", 0, "/x", "bad", "fix it")) == "t.json: /x: bad\n    how to fix: fix it"
    assert sorted([Finding("b", 1, "", "m"), Finding("a", 2, "", "m"), Finding("a", 1, "", "m")]) == [
        Finding("a", 1, "", "m"),
        Finding("a", 2, "", "m"),
        Finding("b", 1, "", "m"),
    ]


def test_lines_of_keys_values_and_unknown_paths() -> None:
    text = '{\n  "a": {\n    "b": [\n      1,\n      2\n    ]\n  }\n}\n'
    lines = LineIndex(text)
    assert lines.text == text
    assert lines.line(["a", "b", 1]) == 5
    assert lines.line(["a", "b"], key=True) == 3
    assert lines.line(["a", "missing"]) == 2  # the deepest node that exists
    assert LineIndex("{ not: [ yaml").line(["a"]) == 0  # unreadable: unknown, not a crash
    doc = Document("x.json", json.loads(text), lines)
    assert doc.finding(["a", "b", 0], "odd", "even") == Finding("x.json", 4, "/a/b/0", "odd", "even")


def test_the_adapter_returns_the_generators_findings(tmp_path: Path) -> None:
    text = json.dumps({"tableName": "Orders", "description": 5}, indent=2)
    doc = Document(str(tmp_path / "orders.json"), json.loads(text), LineIndex(text))
    found = checks.validate_documents([doc], builtin_schema("table.schema.json"))
    assert found and all(type(f) is Finding for f in found)
    assert found == sorted(found)
    assert any(f.pointer == "/description" and f.line == 3 for f in found), found
    assert all(type(f) is Finding for f in checks.schema_findings(doc, builtin_schema("table.schema.json")))
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,}', encoding="utf-8")
    loaded = checks.load_json(broken, "broken.json")
    assert type(loaded) is Finding and loaded.line == 1 and loaded.hint
    good = checks.load_json(DEFINITION / "tables" / "tenants.json", "tenants.json")
    assert type(good) is Document and good.data["tableName"] == "tenants"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "catalog entry x has no file y; create it or remove the entry",
            ("catalog entry x has no file y", "create it or remove the entry"),
        ),
        # user text before the hint may hold "; ": the hint is the script's own last clause
        (
            "'{{a; b}}' is left in the output; keep braces out of samples",
            ("'{{a; b}}' is left in the output", "keep braces out of samples"),
        ),
        ("no hint here", ("no hint here", "")),
    ],
)
def test_the_templates_hint_is_the_last_clause(message: str, expected: tuple[str, str]) -> None:
    assert checks.split_hint(message) == expected


def test_template_findings_carry_the_hint_and_the_callers_file_names(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "catalog.yaml").write_text("brand: {}\ntemplates: []\n", encoding="utf-8")
    (folder / "receipts").mkdir()
    (folder / "receipts" / "stray.html").write_text("<p>hi</p>\n", encoding="utf-8")
    found, catalog = checks.template_findings(folder)
    assert isinstance(catalog, dict)
    assert found and all(type(f) is Finding and f.file.startswith(str(tmp_path)) for f in found)
    stray = [f for f in found if f.file.endswith("stray.html")]
    assert stray and stray[0].hint.startswith("add one"), stray
    missing, catalog = checks.template_findings(tmp_path / "nowhere")
    assert catalog == {} and missing[0].hint == "restore the templates folder with its catalog.yaml"
