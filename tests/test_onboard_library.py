"""Onboarding as a library: typed errors instead of printing, no CLI import, escaped HTML scaffolds, packaged
layouts, and questionary loaded only when a question is asked."""

from __future__ import annotations

import ast
import fnmatch
import html
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import api
from generator.errors import EXIT_ABORTED, EXIT_DEFECT, EXIT_INVALID, BbwsGenError, DefinitionError, GenerateError
from generator.onboard import Onboarded, onboard
from generator.onboard.catalog_entry import CATALOG_WIDTH
from generator.onboard.email_layout import render_html, render_text
from generator.onboard.errors import Cancelled, InvalidAnswers, OnboardError
from generator.onboard.template_rules import Variable
from tests.conftest import ROOT

ONBOARD = ROOT / "generator" / "onboard"

TEMPLATE: dict[str, Any] = {
    "category": "notifications",
    "name": "deal",
    "subject": 'Tom & Jerry\'s "<b>deal</b>" for {{customerName}}',
    "description": "Sent by the <script>alert(1)</script> Lambda: " + "who sends it, " * 8 + "end",
    "variables": [{"name": "note", "type": "string", "required": False}, {"name": "items", "type": "line_items"}],
}


def _answers(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def test_errors_carry_their_exit_codes() -> None:
    for error, code in ((InvalidAnswers([]), EXIT_INVALID), (OnboardError("x"), EXIT_INVALID), (Cancelled(), 130)):
        assert isinstance(error, BbwsGenError) and error.exit_code == code
    assert EXIT_ABORTED == 130


def test_invalid_answers_raise_named_by_file_and_key(definition_copy: Path, tmp_path: Path) -> None:
    path = _answers(tmp_path, {"name": "orders", "partition_key": {"name": "PK", "type": "BOOL"}, "gsi": []})
    with pytest.raises(InvalidAnswers) as caught:
        onboard("table", definition_copy, path, generate=False)
    keys = [problem.key for problem in caught.value.problems]
    assert keys == ["partition_key.type", "gsi"]
    assert all(detail.startswith(f"{path}: ") or "answers.yaml: " in detail for detail in caught.value.details)
    assert "nothing was written" in str(caught.value)
    assert not (definition_copy / "tables" / "orders.json").exists()


def test_an_invalid_definition_raises_its_findings(definition_copy: Path, tmp_path: Path) -> None:
    (definition_copy / "tables" / "tenants.json").write_text("{", encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        onboard("table", definition_copy, _answers(tmp_path, {"name": "orders"}), generate=False)
    assert any("tenants.json" in problem.file for problem in caught.value.problems)


def test_a_failed_regeneration_keeps_the_files_and_says_how_to_retry(
    definition_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> api.Changes:
        raise GenerateError("terraform fmt failed", ["terraform/orders/main.tf: bad"])

    monkeypatch.setattr(api, "generate", broken)
    with pytest.raises(GenerateError) as caught:
        onboard("table", definition_copy, _answers(tmp_path, {"name": "orders"}))
    assert caught.value.exit_code == EXIT_DEFECT
    assert "written" in str(caught.value) and "terraform fmt failed" in str(caught.value)
    assert "terraform/orders/main.tf: bad" in caught.value.details
    assert any("bbws-gen generate --definition" in detail for detail in caught.value.details)
    assert (definition_copy / "tables" / "orders.json").is_file()


def test_the_result_lists_what_was_written_and_the_next_steps(definition_copy: Path, tmp_path: Path) -> None:
    done = onboard("template", definition_copy, _answers(tmp_path, TEMPLATE), generate=False)
    assert isinstance(done, Onboarded) and done.regenerated is None
    assert [path.name for path in done.written] == [
        "deal.html",
        "deal.txt",
        "deal.contract.json",
        "deal.sample.json",
        "catalog.yaml",
    ]
    text = "\n".join(done.lines())
    assert "Next steps" in text and "bbws-templates-dev, then bbws-templates-sit, then bbws-templates-prod" in text


def test_user_text_is_escaped_in_html_and_kept_in_text_and_yaml(definition_copy: Path, tmp_path: Path) -> None:
    onboard("template", definition_copy, _answers(tmp_path, TEMPLATE), generate=False)
    base = definition_copy / "templates" / "notifications" / "deal"
    page = base.with_suffix(".html").read_text(encoding="utf-8")
    assert "<b>deal</b>" not in page and "&lt;b&gt;deal&lt;/b&gt;" in page
    assert f"<title>{html.escape(TEMPLATE['subject'], quote=False)}</title>" in page
    assert "{{#note}}" in page and "{{^items}}" not in page  # optional string wrapped; required items: no "None" row
    assert TEMPLATE["subject"] in base.with_suffix(".txt").read_text(encoding="utf-8")
    catalog = (definition_copy / "templates" / "catalog.yaml").read_text(encoding="utf-8")
    entry = yaml.safe_load(catalog)["templates"][-1]
    assert entry["subject"] == TEMPLATE["subject"] and entry["description"] == TEMPLATE["description"]
    assert max(len(line) for line in catalog.splitlines()) <= CATALOG_WIDTH
    contract = json.loads(base.with_suffix(".contract.json").read_text(encoding="utf-8"))
    assert contract["description"] == TEMPLATE["description"]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_onboarding_modules_are_small_and_import_neither_the_cli_nor_the_shipped_scripts() -> None:
    for path in sorted(ONBOARD.glob("*.py")):
        imports = _imports(path)
        assert not {name for name in imports if name.startswith(("generator.cli", "generator.shipped"))}, path
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path
        if path.name != "prompts.py":
            assert not {name for name in imports if name.startswith(("questionary", "prompt_toolkit"))}, path


def test_questionary_loads_only_when_a_question_is_asked(definition_copy: Path, tmp_path: Path) -> None:
    path = _answers(tmp_path, {"name": "orders"})
    script = (
        "import sys; from pathlib import Path; from generator.onboard import onboard; "
        f"onboard('table', Path({str(definition_copy)!r}), Path({str(path)!r}), generate=False); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('questionary', 'prompt_toolkit')))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert result.stdout.strip() == "[]"


def test_the_layouts_are_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["generator"]
    layouts = [p.relative_to(ROOT / "generator").as_posix() for p in (ONBOARD / "layouts").rglob("*") if p.is_file()]
    assert layouts and all(any(fnmatch.fnmatch(name, pattern) for pattern in patterns) for name in layouts)


BRAND = {
    "company": "Big Beard Web Solutions",
    "address": "Cape Town, South Africa",
    "support_email": "support@example.co.za",
    "website": "https://www.example.co.za/",
    "logo_url": "https://www.example.co.za/logo.png?size=40&theme=dark",
}
SCAFFOLD_VARIABLES = [
    Variable("orderNumber", "string", True, ""),
    Variable("note", "string", False, ""),
    Variable("total", "number", True, ""),
    Variable("paid", "boolean", True, ""),
    Variable("items", "line_items", True, ""),
    Variable("extras", "line_items", False, ""),
]
SCAFFOLDS = ROOT / "tests" / "fixtures" / "onboard"


@pytest.mark.parametrize("audience", ["customer", "internal"])
@pytest.mark.parametrize(("suffix", "render"), [(".html", render_html), (".txt", render_text)], ids=["html", "txt"])
def test_scaffolds_match_their_golden_files(audience: str, suffix: str, render: Any) -> None:
    """The layouts' output, byte for byte: a layout edit shows here as a diff to review (and commit with
    BBWS_UPDATE_ONBOARD_GOLDEN=1)."""
    subject = "[BBWS {{environment}}] Order {{orderNumber}}" if audience == "internal" else "Order {{orderNumber}}"
    text = render(audience, subject, SCAFFOLD_VARIABLES, BRAND)
    golden = SCAFFOLDS / f"{audience}{suffix}"
    if os.environ.get("BBWS_UPDATE_ONBOARD_GOLDEN") == "1":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")
