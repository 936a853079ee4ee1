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
        'type "BOOL" is not allowed',
        "/globalSecondaryIndexes/2/partitionKey/type",
    ),
    (
        "key-not-declared",
        lambda t: t["globalSecondaryIndexes"].append(_gsi("ByPlan", ("plan", "S"))),
        "'plan', which is not declared in attributes",
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
        "local index ByEmail needs a table with a sort key",
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
        "the sort key is the same attribute as the partition key",
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
        "index StatusAgain has the same keys as index TenantStatusIndex",
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


def test_customer_original_schema_files_are_rejected_naming_each_defect(
    definition_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hand-written files: BOOL `active` index keys everywhere, and two identical products indexes."""
    for path in (ROOT / "tests" / "fixtures" / "customer_original").glob("*.json"):
        shutil.copy(path, definition_copy / "tables" / path.name)
    code, err = _validate(definition_copy, capsys)
    assert code == 2
    problems = [line for line in err.splitlines() if line.startswith(str(definition_copy))]
    bool_keys = [p for p in problems if 'type "BOOL" is not allowed' in p]
    duplicates = [p for p in problems if "has the same keys as index" in p]
    # tenants: ActiveIndex; products: ProductActiveIndex, ActiveIndex; campaigns: CampaignActiveIndex, ActiveIndex.
    assert len(bool_keys) == 5
    assert len(duplicates) == 1 and "products.json" in duplicates[0] and "ActiveIndex" in duplicates[0]
    assert len(problems) == 6, "one message per real defect, nothing else"


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
