"""`bbws-gen onboard table|template`: answers files, rejected answers, and the questionnaire on a real pty.

Every test works on a copy of the definition in tmp_path; regeneration writes beside that copy
(tmp_path/repos, tmp_path/docs), never into the checkout's repos/ or docs/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import chevron
import pexpect
import pytest
import yaml

from generator.checks import validate_templates
from generator.cli import run
from generator.onboard.finish import checkout_root, outputs_for
from tests.conftest import DEFINITION, ROOT

DYNAMODB = "2_1_bbws_dynamodb_schemas"
S3 = "2_1_bbws_s3_schemas"

TABLE_ANSWERS: dict[str, Any] = {
    "name": "orders",
    "description": "Customer orders, one item per order.",
    "partition_key": {"name": "PK", "type": "S", "pattern": "ORDER#{orderId}"},
    "attributes": [
        {"name": "status", "type": "S", "required": True, "enum": ["NEW", "PAID"], "description": "Order status."},
        {"name": "total", "type": "N", "required": True, "minimum": 0},
    ],
    "gsis": [
        {
            "name": "OrderStatusIndex",
            "partition_key": "status",
            "sort_key": "dateCreated",
            "access_pattern": "Orders by status, newest first.",
        },
        {
            "name": "OrderCustomerIndex",
            "partition_key": {"name": "customerId", "type": "S"},
            "projection": "INCLUDE",
            "non_key_attributes": ["status", "total"],
        },
    ],
    "lsis": [{"name": "OrderUpdatedIndex", "sort_key": "dateLastUpdated", "projection": "KEYS_ONLY"}],
    "ttl": "expiresAt",
    "backup": {"prod": True},
}

TEMPLATE_ANSWERS: dict[str, Any] = {
    "category": "notifications",
    "audience": "customer",
    "name": "welcome",
    "subject": "Welcome to BBWS, {{customerName}}",
    "description": "Sent to the customer by the tenants Lambda when a tenant registers.",
    "variables": [
        {"name": "organizationName", "type": "string", "description": "The tenant's organisation."},
        {"name": "seats", "type": "number"},
        {"name": "trial", "type": "boolean"},
        {"name": "note", "type": "string", "required": False},
        {"name": "items", "type": "line_items"},
    ],
}


def _answers(tmp_path: Path, data: dict[str, Any], name: str = "answers.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _onboard(kind: str, definition: Path, answers: Path, *extra: str) -> int:
    return run(["onboard", kind, "--definition", str(definition), "--answers", str(answers), *extra])


# ------------------------------------------------------------------------------------------ answers


def test_table_from_answers_validates_and_generates(
    definition_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _onboard("table", definition_copy, _answers(tmp_path, TABLE_ANSWERS), "--no-generate") == 0
    out = capsys.readouterr().out
    path = definition_copy / "tables" / "orders.json"
    table = json.loads(path.read_text())
    assert path.read_text() == json.dumps(table, indent=2) + "\n"
    assert list(table)[:5] == ["$schema", "tableName", "description", "capacityMode", "primaryKey"]
    assert table["$schema"] == "../schema/table.schema.json"
    assert table["backup"] == {"dev": True, "sit": True, "prod": True}
    assert [i["indexName"] for i in table["globalSecondaryIndexes"]] == ["OrderStatusIndex", "OrderCustomerIndex"]
    assert table["localSecondaryIndexes"][0]["partitionKey"] == {"name": "PK", "type": "S"}
    declared = {a["name"]: a["type"] for a in table["attributes"]}
    assert declared["customerId"] == "S" and declared["expiresAt"] == "N" and declared["active"] == "N"
    assert "Next steps" in out and "nox -s check" in out and "one GSI change" in out and "Regenerate" in out
    assert not (tmp_path / "repos").exists()  # --no-generate

    assert run(["validate", "--definition", str(definition_copy)]) == 0
    repos, docs = tmp_path / "repos", tmp_path / "docs"
    assert run(["generate", "--definition", str(definition_copy), "--output", str(repos), "--docs", str(docs)]) == 0
    main_tf = (repos / DYNAMODB / "terraform" / "orders" / "main.tf").read_text()
    for expected in ('"OrderStatusIndex"', '"OrderCustomerIndex"', "local_secondary_index", '"OrderUpdatedIndex"'):
        assert expected in main_tf
    assert 'attribute_name = "expiresAt"' in main_tf
    schemas = repos / DYNAMODB / "schemas"
    result = subprocess.run(
        [sys.executable, str(repos / DYNAMODB / "scripts" / "validate_schemas.py"), str(schemas)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shipped = json.loads((schemas / "orders.json").read_text())
    assert {**shipped, "$schema": table["$schema"]} == table


def test_customer_template_from_answers_validates_and_generates(
    definition_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_before = (definition_copy / "templates" / "catalog.yaml").read_text()
    assert _onboard("template", definition_copy, _answers(tmp_path, TEMPLATE_ANSWERS)) == 0
    out = capsys.readouterr().out
    # The repos carry the wording as written: the steps say to regenerate after writing it.
    assert out.index("Write the wording") < out.index("Regenerate the repos once that is written")
    assert "git add -N" in out
    templates = definition_copy / "templates"
    base = templates / "notifications" / "welcome"
    for suffix in (".html", ".txt", ".contract.json", ".sample.json"):
        assert base.with_name("welcome" + suffix).is_file()
    assert validate_templates.validate(templates) == []
    # Where html-validate is installed (CI), the onboarded template passes what the S3 repo's CI requires.
    report = validate_templates.run_checks(templates, "auto")
    assert report.skipped is not None or report.errors == [], report.errors
    catalog = (templates / "catalog.yaml").read_text()
    assert catalog.startswith(catalog_before)  # appended: the comments and layout stay
    entry = yaml.safe_load(catalog)["templates"][-1]
    assert entry["key"] == "notifications/welcome.html" and entry["version"] == "1.0.0"

    contract = json.loads(base.with_name("welcome.contract.json").read_text())
    assert contract["additionalProperties"] is False
    assert contract["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {"customerName", "unsubscribeUrl", "items", "seats", "trial"} <= set(contract["required"])
    sample = json.loads(base.with_name("welcome.sample.json").read_text())
    html = chevron.render(base.with_name("welcome.html").read_text(), sample)
    address = yaml.safe_load(catalog)["brand"]["address"]
    assert address in html and sample["unsubscribeUrl"] in html and "Example item" in html

    # onboard regenerated beside the copy: tmp_path/repos and tmp_path/docs
    repos = tmp_path / "repos"
    assert (tmp_path / "docs" / "README.md").is_file()
    s3 = repos / S3
    uploaded = s3 / "templates" / "notifications" / "welcome.html"
    assert uploaded.read_text() == base.with_name("welcome.html").read_text()
    assert '"notifications/welcome.html"' in (s3 / "terraform" / "templates" / "objects.tf").read_text()


def test_internal_template_gets_the_suffix_and_the_internal_layout(definition_copy: Path, tmp_path: Path) -> None:
    answers = {
        **TEMPLATE_ANSWERS,
        "audience": "internal",
        "subject": "[BBWS {{environment}}] New tenant {{organizationName}}",
        "version": "2.1.0",
    }
    assert _onboard("template", definition_copy, _answers(tmp_path, answers), "--no-generate") == 0
    templates = definition_copy / "templates"
    assert validate_templates.validate(templates) == []
    html = (templates / "notifications" / "welcome_internal.html").read_text()
    assert "INTERNAL" in html and "{{environment}}" in html and "unsubscribeUrl" not in html
    contract = json.loads((templates / "notifications" / "welcome_internal.contract.json").read_text())
    assert contract["properties"]["environment"]["enum"] == ["dev", "sit", "prod"]
    assert not (tmp_path / "repos").exists()


BAD_ANSWERS = [
    pytest.param(
        "table",
        {"name": "orders", "partition_key": {"name": "PK", "type": "BOOL"}},
        ["partition_key.type: 'BOOL' is not allowed", "S, N or B"],
        id="table-bool-key-type",
    ),
    pytest.param(
        "table",
        {
            "name": "orders",
            "attributes": [{"name": "flag", "type": "BOOL"}],
            "gsis": [{"name": "FlagIdx", "partition_key": "flag"}],
        },
        ["gsis[0].partition_key: attribute 'flag' is declared as BOOL", "S, N or B"],
        id="table-gsi-on-bool-attribute",
    ),
    pytest.param("table", {"name": "tenants"}, ["name: table 'tenants' already exists"], id="table-duplicate-name"),
    pytest.param("table", {"name": "ab"}, ["name: 'ab' is not a valid table name", "3-255"], id="table-short-name"),
    pytest.param(
        "table",
        {
            "name": "orders",
            "gsis": [{"name": "ByActive", "partition_key": "active"}, {"name": "Again", "partition_key": "active"}],
        },
        ["gsis[1]: GSI 'Again' has the same keys as GSI 'ByActive'"],
        id="table-duplicate-index-keys",
    ),
    pytest.param(
        "table", {"name": "orders", "gsi": []}, ["gsi: unknown answer 'gsi'", "did you mean 'gsis'"], id="typo"
    ),
    pytest.param(
        "template",
        {**TEMPLATE_ANSWERS, "category": "marketing"},
        ["category: 'marketing' is not allowed", "receipts, notifications, invoices"],
        id="template-key-outside-categories",
    ),
    pytest.param(
        "template",
        {**TEMPLATE_ANSWERS, "name": "welcome_internal"},
        ["name: 'welcome_internal' ends in _internal but the audience is customer"],
        id="template-internal-suffix-for-customer",
    ),
    pytest.param(
        "template",
        {**TEMPLATE_ANSWERS, "category": "receipts", "name": "receipt"},
        ["name: receipts/receipt.html is already in catalog.yaml"],
        id="template-existing-key",
    ),
    pytest.param(
        "template",
        {**TEMPLATE_ANSWERS, "subject": "Hi {{#items}}x{{/items}}"},
        ["subject:", "only simple {{variable}} placeholders"],
        id="template-section-in-subject",
    ),
]


@pytest.mark.parametrize(("kind", "answers", "expected"), BAD_ANSWERS)
def test_invalid_answers_exit_2_and_write_nothing(
    kind: str,
    answers: dict[str, Any],
    expected: list[str],
    definition_copy: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _answers(tmp_path, answers)
    before = _tree(definition_copy)
    assert _onboard(kind, definition_copy, path) == 2
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, err
    assert "nothing was written" in err and "Traceback" not in err
    assert _tree(definition_copy) == before
    assert not (tmp_path / "repos").exists()


def test_an_unreadable_answers_file_is_bad_usage(
    definition_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "answers.json"
    path.write_text('{"name": "orders",\n  "gsis": [}\n')
    before = _tree(definition_copy)
    assert _onboard("table", definition_copy, path) == 2
    err = capsys.readouterr().err
    assert "answers.json:2" in err and "not valid YAML or JSON" in err
    assert _tree(definition_copy) == before


def test_outputs_go_beside_the_definition_and_never_over_foreign_folders(
    definition_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = outputs_for(DEFINITION)
    assert not isinstance(own, str) and own.own and own.repos == checkout_root() / "repos" == ROOT / "repos"
    mine = outputs_for(definition_copy)
    assert not isinstance(mine, str) and (mine.repos, mine.docs) == (tmp_path / "repos", tmp_path / "docs")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "notes.md").write_text("mine\n")
    assert _onboard("table", definition_copy, _answers(tmp_path, {"name": "orders"})) == 0
    assert "not regenerating" in capsys.readouterr().out
    assert (tmp_path / "docs" / "notes.md").read_text() == "mine\n" and not (tmp_path / "repos").exists()


# ---------------------------------------------------------------------------------------- terminal

DOWN, BACKSPACE = "\x1b[B", "\x7f"


def _spawn(definition: Path, kind: str = "table") -> pexpect.spawn:
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "generator", "onboard", kind, "--definition", str(definition), "--no-generate"],
        env=env,
        cwd=str(definition.parent),
        encoding="utf-8",
        timeout=20,
        dimensions=(50, 200),
    )
    return child


def _answer(child: pexpect.spawn, *steps: tuple[str, str]) -> None:
    for prompt, keys in steps:
        child.expect(prompt)
        child.send(keys)


def test_interactive_table_on_a_pty_with_corrections(definition_copy: Path) -> None:
    child = _spawn(definition_copy)
    _answer(
        child,
        ("Table name", "ab\r"),
        ("'ab' is not a valid table name", BACKSPACE * 2 + "orders\r"),  # second chance, same prompt
        ("Description", "Customer orders.\r"),
        ("Partition key attribute", "\r"),
        ("Type of PK", "\r"),
        (r"How is the value of PK built\?", "\r"),
        ("Description of PK", "\r"),
        (r"sort key\?", "\r"),
        ("Sort key attribute", "\r"),
        ("Type of SK", "\r"),
        (r"How is the value of SK built\?", "\r"),
        ("Description of SK", "\r"),
        ("audit attributes", "\r"),
        ("Add an attribute", "y\r"),
        ("Attribute name", "flag\r"),
        ("Type of flag", "4\r"),  # BOOL
        ("required on every item", "n\r"),
        ("Description of flag", "\r"),
        ("Add another attribute", "n\r"),
        ("Add a global secondary index", "y\r"),
        ("GSI name", "FlagIndex\r"),
        ("Partition key attribute of FlagIndex", "flag\r"),
        ("'flag' is declared as BOOL; DynamoDB index keys must be S, N or B", BACKSPACE * 4 + "status\r"),
        ("status is not declared yet", "\r"),  # no declared name is close: new attribute is the default
        ("Type of new attribute status", "\r"),
        ("Sort key attribute of FlagIndex", "dateCreatd\r"),  # a typo: never a new attribute unasked
        ("dateCreatd is not declared yet: did you mean", "\r"),  # the close declared name is the default
        ("Projection of FlagIndex", "\r"),
        ("Which query does FlagIndex serve", "Orders by status\r"),
        ("Add another GSI", "y\r"),
        ("GSI name", "StatusIndex\r"),
        ("Partition key attribute of StatusIndex", "status\r"),
        ("Sort key attribute of StatusIndex", "dateCreated\r"),
        ("Projection of StatusIndex", "\r"),
        ("Which query does StatusIndex serve", "\r"),
        ("Add another GSI", "n\r"),
        ("Add a local secondary index", "y\r"),
        ("LSI name", "ByUpdate\r"),
        ("Sort key attribute of ByUpdate", "dateLastUpdated\r"),
        ("Projection of ByUpdate", "2\r"),  # KEYS_ONLY
        ("Which query does ByUpdate serve", "\r"),
        ("Add another LSI", "n\r"),
        ("TTL attribute", "y\r"),
        ("TTL attribute", "\r"),
        ("DynamoDB stream", "\r"),
        ("Point-in-time recovery", "\r"),
        ("AWS Backup in every environment", "\r"),
        # validate_documents finds the duplicate index: back to the GSIs, previous answers as defaults
        ("GSI 'StatusIndex' has the same keys as GSI 'FlagIndex'", ""),
        ("Which answers do you want to change", "\r"),
        ("Add a global secondary index", "\r"),
        ("GSI name", "\r"),
        ("Partition key attribute of FlagIndex", "\r"),
        ("status is not declared yet", "\r"),
        ("Type of new attribute status", "\r"),
        ("Sort key attribute of FlagIndex", "\r"),
        ("Projection of FlagIndex", "\r"),
        ("Which query does FlagIndex serve", "\r"),
        ("Add another GSI", "n\r"),
        ("Write it", "\r"),
    )
    child.expect("wrote ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    table = json.loads((definition_copy / "tables" / "orders.json").read_text())
    assert [i["indexName"] for i in table["globalSecondaryIndexes"]] == ["FlagIndex"]
    assert table["globalSecondaryIndexes"][0]["sortKey"]["name"] == "dateCreated"
    assert "dateCreatd" not in json.dumps(table), "the typo became an attribute"
    assert table["localSecondaryIndexes"][0]["projectionType"] == "KEYS_ONLY"
    assert table["ttl"] == {"enabled": True, "attributeName": "expiresAt"}
    assert table["primaryKey"]["partitionKey"]["pattern"] == "ORDER#{orderId}"
    assert run(["validate", "--definition", str(definition_copy)]) == 0


@pytest.mark.parametrize(("keys", "code"), [("\x03", 130), ("\x04", 2)], ids=["ctrl-c", "ctrl-d"])
def test_interactive_abort_writes_nothing(definition_copy: Path, keys: str, code: int) -> None:
    before = _tree(definition_copy)
    child = _spawn(definition_copy, "template")
    _answer(child, ("Category", "\r"), ("Audience", DOWN + "\r"), ("Template name", keys))
    child.expect("nothing was written")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == code
    assert _tree(definition_copy) == before


def test_interactive_template_on_a_pty_with_corrections(definition_copy: Path) -> None:
    child = _spawn(definition_copy, "template")
    _answer(
        child,
        ("Category", "\r"),  # notifications
        ("Audience", "\r"),  # customer
        ("Template name", "Welcome\r"),
        ("template names are lowercase letters", BACKSPACE * 7 + "welcome\r"),
        ("Subject", "Welcome, {{customerName}\r"),
        ("unclosed Mustache tag", "}\r"),
        ("Description", "\r"),
        ("the description is empty", "Sent to the customer by the tenants Lambda on sign-up.\r"),
        ("Version", "\r"),
        (r"Type of \{\{customerName\}\}", "\r"),
        ("Description of customerName", "\r"),
        ("Add a variable", "y\r"),
        ("Variable name", "unsubscribeUrl\r"),
        ("is added by the customer layout", BACKSPACE * 14 + "items\r"),
        ("Type of items", "4\r"),  # line_items
        ("Is items always given", "\r"),
        ("Description of items", "\r"),
        ("Add another variable", "n\r"),
        ("Write it", "\r"),
    )
    child.expect("wrote ")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    templates = definition_copy / "templates"
    assert validate_templates.validate(templates) == []
    entry = yaml.safe_load((templates / "catalog.yaml").read_text())["templates"][-1]
    assert entry["subject"] == "Welcome, {{customerName}}" and entry["key"] == "notifications/welcome.html"
    contract = json.loads((templates / "notifications" / "welcome.contract.json").read_text())
    assert contract["required"] == ["customerName", "items", "unsubscribeUrl"]
