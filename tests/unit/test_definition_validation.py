"""`bbws-gen validate`: every rule rejects its defect with its own message, exit 2, file and pointer named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.cli import run
from generator.definition import load_definition
from generator.errors import DefinitionError
from generator.model import build_model
from tests.conftest import ROOT

Table = dict[str, Any]


def _edit_table(definition: Path, name: str, change: Callable[[Table], None]) -> Path:
    path = definition / "tables" / f"{name}.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def _validate(definition: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = run(["validate", "--definition", str(definition)])
    return code, capsys.readouterr().err


def _gsi(name: str, pk: tuple[str, str], sk: tuple[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    index: dict[str, Any] = {"indexName": name, "partitionKey": {"name": pk[0], "type": pk[1]}}
    if sk:
        index["sortKey"] = {"name": sk[0], "type": sk[1]}
    index.update(extra)
    return index


def test_the_shipped_definition_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["validate", "--definition", str(ROOT / "definition")]) == 0
    assert "is valid" in capsys.readouterr().out


def test_a_table_using_every_feature_is_accepted(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def change(t: Table) -> None:
        t["attributes"].append({"name": "expiresAt", "type": "N"})
        t["ttl"] = {"enabled": True, "attributeName": "expiresAt"}
        t["localSecondaryIndexes"] = [
            _gsi("ByUpdate", ("PK", "S"), ("dateLastUpdated", "S"), projectionType="KEYS_ONLY")
        ]
        t["globalSecondaryIndexes"].append(
            _gsi("ByOrg", ("organizationName", "S"), projectionType="INCLUDE", nonKeyAttributes=["email"])
        )

    _edit_table(definition_copy, "tenants", change)
    code, err = _validate(definition_copy, capsys)
    assert code == 0, err


# (rule, how to break the tenants table, text the message must contain, JSON pointer it must name)
CASES: list[tuple[str, Callable[[Table], None], str, str]] = [
    (
        "bool-key",
        lambda t: t["globalSecondaryIndexes"][2]["partitionKey"].update(type="BOOL"),
        "GSI 'ActiveIndex' uses attribute 'active' (BOOL) as its partition key; DynamoDB keys must be S, N or B",
        "/globalSecondaryIndexes/2/partitionKey/type",
    ),
    (
        "key-not-declared",
        lambda t: t["globalSecondaryIndexes"].append(_gsi("ByPlan", ("plan", "S"))),
        "GSI 'ByPlan' uses attribute 'plan' as its partition key, which is not declared in attributes",
        "/globalSecondaryIndexes/3/partitionKey/name",
    ),
    (
        "key-type-mismatch",
        lambda t: t["globalSecondaryIndexes"][0]["partitionKey"].update(type="N"),
        "declares 'email' as N, but attributes declare it as S",
        "/globalSecondaryIndexes/0/partitionKey/type",
    ),
    ("table-name-short", lambda t: t.update(tableName="ab"), "is shorter than 3 characters", "/tableName"),
    (
        "index-name-chars",
        lambda t: t["globalSecondaryIndexes"][0].update(indexName="Email Index"),
        "does not match the pattern",
        "/globalSecondaryIndexes/0/indexName",
    ),
    (
        "too-many-gsis",
        lambda t: t["globalSecondaryIndexes"].extend(
            _gsi(f"Extra{i}", ("email", "S"), ("id", "S") if i % 2 else ("dateCreated", "S")) for i in range(18)
        ),
        "items, but at most",
        "/globalSecondaryIndexes",
    ),
    (
        "too-many-lsis",
        lambda t: t.update(
            localSecondaryIndexes=[
                _gsi(f"L{i}x", ("PK", "S"), (n, "S"))
                for i, n in enumerate(["email", "status", "organizationName", "destinationEmail", "id", "dateCreated"])
            ]
        ),
        "items, but at most",
        "/localSecondaryIndexes",
    ),
    (
        "lsi-without-table-sort-key",
        lambda t: (
            t["primaryKey"].pop("sortKey"),
            t.update(localSecondaryIndexes=[_gsi("ByEmail", ("PK", "S"), ("email", "S"))]),
        ),
        "LSI 'ByEmail' needs a table with a sort key",
        "/localSecondaryIndexes/0",
    ),
    (
        "lsi-other-partition-key",
        lambda t: t.update(localSecondaryIndexes=[_gsi("ByEmail", ("status", "S"), ("email", "S"))]),
        "must share the table's partition key 'PK'",
        "/localSecondaryIndexes/0/partitionKey/name",
    ),
    (
        "sort-key-equals-partition-key",
        lambda t: t["primaryKey"]["sortKey"].update(name="PK"),
        "the table's primary key uses attribute 'PK' as both partition key and sort key",
        "/primaryKey/sortKey/name",
    ),
    (
        "duplicate-index-name",
        lambda t: t["globalSecondaryIndexes"].append(_gsi("EmailIndex", ("status", "S"), ("id", "S"))),
        "index name 'EmailIndex' is used twice",
        "/globalSecondaryIndexes/3/indexName",
    ),
    (
        "duplicate-attribute",
        lambda t: t["attributes"].append({"name": "email", "type": "S"}),
        "attribute 'email' is declared twice",
        "/attributes/",
    ),
    (
        "identical-index-keys",
        lambda t: t["globalSecondaryIndexes"].append(_gsi("StatusAgain", ("status", "S"), ("dateCreated", "S"))),
        "GSI 'StatusAgain' has the same keys as GSI 'TenantStatusIndex' (status + dateCreated) and the same "
        "projection (ALL)",
        "/globalSecondaryIndexes/3",
    ),
    (
        "include-without-attributes",
        lambda t: t["globalSecondaryIndexes"][0].update(projectionType="INCLUDE"),
        "projects INCLUDE but lists no nonKeyAttributes",
        "/globalSecondaryIndexes/0/projectionType",
    ),
    (
        "bad-projection",
        lambda t: t["globalSecondaryIndexes"][0].update(projectionType="SOME"),
        'projectionType "SOME" is not allowed',
        "/globalSecondaryIndexes/0/projectionType",
    ),
    (
        "bad-stream-view",
        lambda t: t["streams"].update(viewType="BOTH"),
        'viewType "BOTH" is not allowed',
        "/streams/viewType",
    ),
    (
        "ttl-not-number",
        lambda t: t.update(ttl={"enabled": True, "attributeName": "dateCreated"}),
        "TTL attribute 'dateCreated' is declared as S",
        "/ttl/attributeName",
    ),
    (
        "provisioned",
        lambda t: t.update(capacityMode="PROVISIONED"),
        'capacityMode "PROVISIONED" is not allowed',
        "/capacityMode",
    ),
    (
        "unknown-key",
        lambda t: t.update(globalSecondaryIndex=t.pop("globalSecondaryIndexes")),
        "unknown key 'globalSecondaryIndex'",
        "/globalSecondaryIndex",
    ),
    (
        "unknown-env-in-backup",
        lambda t: t.update(backup={"dev": True, "uat": False}),
        "environment 'uat' is not defined in platform.yaml",
        "/backup/uat",
    ),
]


@pytest.mark.parametrize(("change", "message", "pointer"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_rejects_its_defect(
    definition_copy: Path,
    capsys: pytest.CaptureFixture[str],
    change: Callable[[Table], None],
    message: str,
    pointer: str,
) -> None:
    path = _edit_table(definition_copy, "tenants", change)
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if message in line]
    assert lines, f"expected {message!r} in:\n{err}"
    assert lines[0].startswith(f"{path}:"), lines[0]
    assert f": {pointer}" in lines[0]
    assert "how to fix:" in err


def test_unknown_key_suggests_the_nearest_valid_key(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_table(definition_copy, "tenants", lambda t: t.update(descripton=t.pop("description")))
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert "unknown key 'descripton'" in err
    assert "did you mean 'description'?" in err


def test_invalid_json_is_reported_with_line_and_column(
    definition_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = definition_copy / "tables" / "products.json"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rstrip(",")  # drop a comma on line 4
    path.write_text("\n".join(lines) + "\n")
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert f"{path}:5: invalid JSON at line 5 column" in err


def test_duplicate_table_names_are_rejected(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(definition_copy / "tables" / "tenants.json", definition_copy / "tables" / "tenants2.json")
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert "table name 'tenants' is already used by" in err
    assert "the file is named tenants2.json but holds table 'tenants'" in err


def test_all_errors_are_reported_at_once(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_table(definition_copy, "tenants", lambda t: t.update(capacityMode="PROVISIONED"))
    _edit_table(definition_copy, "products", lambda t: t["primaryKey"]["sortKey"].update(name="PK"))
    platform = definition_copy / "platform.yaml"
    platform.write_text(platform.read_text().replace('"536580886816"', '"5365"'))
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert "tenants.json" in err and "products.json" in err and "platform.yaml" in err
    assert "3 problem(s)" in err


def test_platform_yaml_syntax_error_names_the_line(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform = definition_copy / "platform.yaml"
    platform.write_text(platform.read_text().replace("primary_region: af-south-1", "primary_region: [af-south-1"))
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert f"{platform}:" in err and "invalid YAML at line" in err


def test_platform_rules(definition_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    platform = definition_copy / "platform.yaml"
    text = platform.read_text().replace("Owner: Tebogo", "Owner: Tebogo\n  Environment: shared")
    text = text.replace("dr_replication: true", "dr_replicaton: true")
    platform.write_text(text)
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    assert "/tags/Environment" in err
    assert "unknown key 'dr_replicaton'" in err and "did you mean 'dr_replication'?" in err


BOOL_KEY = "uses attribute 'active' (BOOL) as its partition key; DynamoDB keys must be S, N or B"
# The customer's three hand-written files: five GSIs keyed on the BOOL `active`, and two identical products
# indexes. (file, JSON pointer, message): exactly these, nothing else.
CUSTOMER_ORIGINAL_DEFECTS = {
    ("campaigns.json", "/globalSecondaryIndexes/0/partitionKey/type", f"GSI 'CampaignActiveIndex' {BOOL_KEY}"),
    ("campaigns.json", "/globalSecondaryIndexes/2/partitionKey/type", f"GSI 'ActiveIndex' {BOOL_KEY}"),
    ("products.json", "/globalSecondaryIndexes/0/partitionKey/type", f"GSI 'ProductActiveIndex' {BOOL_KEY}"),
    ("products.json", "/globalSecondaryIndexes/1/partitionKey/type", f"GSI 'ActiveIndex' {BOOL_KEY}"),
    (
        "products.json",
        "/globalSecondaryIndexes/1",
        "GSI 'ActiveIndex' has the same keys as GSI 'ProductActiveIndex' (active + dateCreated) and the same "
        "projection (ALL)",
    ),
    ("tenants.json", "/globalSecondaryIndexes/2/partitionKey/type", f"GSI 'ActiveIndex' {BOOL_KEY}"),
}


def test_customer_original_schema_files_are_rejected_naming_each_defect(definition_copy: Path) -> None:
    """One message per real defect, each naming the index and the attribute, and nothing else."""
    for path in (ROOT / "tests" / "fixtures" / "customer_original").glob("*.json"):
        shutil.copy(path, definition_copy / "tables" / path.name)
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition_copy)
    found = {(Path(p.file).name, p.pointer, p.message) for p in caught.value.problems}
    assert found == CUSTOMER_ORIGINAL_DEFECTS
    assert len(caught.value.problems) == 6
    assert all(p.hint and p.line for p in caught.value.problems), "each says where and how to fix"


def test_bad_definition_exits_2_without_traceback_and_writes_nothing(definition_copy: Path, tmp_path: Path) -> None:
    _edit_table(definition_copy, "tenants", lambda t: t.update(capacityMode="PROVISIONED"))
    output = tmp_path / "out"
    output.mkdir()
    (output / "keep.txt").write_text("previous output")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "generate",
            "--definition",
            str(definition_copy),
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "capacityMode" in result.stderr
    assert sorted(p.name for p in output.iterdir()) == ["keep.txt"]


def test_missing_definition_folder_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _validate(tmp_path / "nowhere", capsys)
    assert code == 2
    assert "not a definition folder" in err


def _customer_style(t: Table) -> None:
    """Everything the customer's own files carry, on a valid table."""
    for index in t["globalSecondaryIndexes"]:
        index["description"] = index.pop("accessPattern", f"Query by {index['partitionKey']['name']}")
    t["globalSecondaryIndexes"][0]["sortKey"] = None  # EmailIndex: no sort key, the customer's way
    t["localSecondaryIndexes"] = [
        _gsi("ByUpdate", ("PK", "S"), ("dateLastUpdated", "S"), description="History of one tenant, newest first")
    ]
    t["pitr"] = {"enabled": True, "description": "Restore to any second of the last 35 days"}
    t["streams"] = {"enabled": True, "viewType": "NEW_AND_OLD_IMAGES", "description": "Audit consumer"}
    t["attributes"].append({"name": "settings", "type": "M", "default": {}})
    t["attributes"].append({"name": "labels", "type": "SS"})
    t["attributes"].append({"name": "scores", "type": "NS"})
    t["attributes"].append({"name": "blobs", "type": "BS"})
    t["attributes"].append({"name": "verified", "type": "BOOL", "default": False})
    t["attributes"].append({"name": "deletedAt", "type": "NULL"})
    t["tags"] = {"Owner": "Tebogo", "DataClassification": "confidential"}
    t["backup"] = {
        "dev": {"frequency": "daily", "retention": 7},
        "sit": False,
        "prod": {"frequency": "hourly", "retention": 90},
    }


def test_the_customers_own_format_is_accepted_as_it_is(definition_copy: Path) -> None:
    _edit_table(definition_copy, "tenants", _customer_style)
    _edit_table(definition_copy, "products", lambda t: t["primaryKey"].update(sortKey=None))
    model = build_model(load_definition(definition_copy))
    tenants = next(t for t in model.tables if t.name == "tenants")
    email = next(i for i in tenants.global_indexes if i.name == "EmailIndex")
    assert email.sort_key is None and email.access_pattern  # description is the access pattern
    assert tenants.local_indexes[0].access_pattern == "History of one tenant, newest first"
    assert dict(tenants.backup) == {"dev": True, "sit": False, "prod": True}
    assert dict(tenants.tags) == {"DataClassification": "confidential", "Owner": "Tebogo"}
    assert next(t for t in model.tables if t.name == "products").sort_key is None


CUSTOMER_FORMAT_DEFECTS: list[tuple[str, Callable[[Table], None], str, str]] = [
    (
        "description-and-access-pattern-differ",
        lambda t: t["globalSecondaryIndexes"][0].update(description="Something else"),
        "GSI 'EmailIndex' has a description and an accessPattern that differ",
        "/globalSecondaryIndexes/0/description",
    ),
    (
        "tag-contradicts-platform",
        lambda t: t.update(tags={"Owner": "Alice"}),
        "tag Owner = 'Alice' contradicts the platform's tag Owner = 'Tebogo'",
        "/tags/Owner",
    ),
    (
        "tag-set-per-environment",
        lambda t: t.update(tags={"Environment": "prod"}),
        "key 'Environment' is not allowed here",
        "/tags/Environment",
    ),
    (
        "backup-differs-from-platform",
        lambda t: t.update(backup={"prod": {"frequency": "daily", "retention": 35}}),
        "backup.prod asks for daily backups kept 35 days, but prod's backup policy in platform.yaml is hourly, "
        "kept 90 days",
        "/backup/prod",
    ),
    (
        "backup-weekly",
        lambda t: t.update(backup={"dev": {"frequency": "weekly", "retention": 7}}),
        'frequency "weekly" is not allowed',
        "/backup/dev/frequency",
    ),
    (
        "index-sort-key-equals-partition-key",
        lambda t: t["globalSecondaryIndexes"][1]["sortKey"].update(name="status"),
        "GSI 'TenantStatusIndex' uses attribute 'status' as both partition key and sort key",
        "/globalSecondaryIndexes/1/sortKey/name",
    ),
    (
        "null-partition-key",
        lambda t: t["globalSecondaryIndexes"][0].update(partitionKey=None),
        "null is not of type",
        "/globalSecondaryIndexes/0/partitionKey",
    ),
]


@pytest.mark.parametrize(
    ("change", "message", "pointer"),
    [c[1:] for c in CUSTOMER_FORMAT_DEFECTS],
    ids=[c[0] for c in CUSTOMER_FORMAT_DEFECTS],
)
def test_the_customers_format_still_rejects_real_defects(
    definition_copy: Path, change: Callable[[Table], None], message: str, pointer: str
) -> None:
    _edit_table(definition_copy, "tenants", change)
    with pytest.raises(DefinitionError) as caught:
        load_definition(definition_copy)
    problems = caught.value.problems
    assert [(p.pointer, message in p.message) for p in problems] == [(pointer, True)], problems


def test_the_customers_format_renders_fmt_clean_terraform(definition_copy: Path, tmp_path: Path) -> None:
    """Tags reach the table, index descriptions the comments, a null sort key means none; fmt-clean."""
    _edit_table(definition_copy, "tenants", _customer_style)
    _edit_table(definition_copy, "products", lambda t: t["primaryKey"].update(sortKey=None))
    output, docs = tmp_path / "repos", tmp_path / "docs"
    assert (
        run(["-q", "generate", "--definition", str(definition_copy), "--output", str(output), "--docs", str(docs)]) == 0
    )
    main = (output / "2_1_bbws_dynamodb_schemas" / "terraform" / "tenants" / "main.tf").read_text()
    assert '    DataClassification = "confidential"\n' in main
    assert "  # History of one tenant, newest first\n  local_secondary_index {" in main
    products = (output / "2_1_bbws_dynamodb_schemas" / "terraform" / "products" / "main.tf").read_text()
    assert "range_key" not in products.split("attribute {")[0]  # "sortKey": null: no sort key
    lld = (docs / "2.1.8_LLD_S3_and_DynamoDB.md").read_text()
    assert "| `products` | table | `PK` = `PRODUCT#{productId}` | none |" in lld
