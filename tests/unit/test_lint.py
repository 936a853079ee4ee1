"""`bbws-gen lint FILE... [--terraform PATH]`: hand-written table files, every defect in one run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import run
from generator.hcl_reader import Expression, HclError, parse
from generator.lint import lint
from tests.conftest import DEFINITION, REPOS, ROOT
from tests.unit.test_definition_validation import CUSTOMER_ORIGINAL_DEFECTS

ORIGINALS = ROOT / "tests" / "fixtures" / "customer_original"
CUSTOMER_TF = ROOT / "tests" / "fixtures" / "customer_terraform" / "tenants.tf"


def _lint(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, list[str], str]:
    code = run(["lint", *map(str, args)])
    captured = capsys.readouterr()
    findings = [line for line in captured.out.splitlines() if not line.startswith("    how to fix:")]
    return code, findings, captured.err


def test_the_customers_originals_give_exactly_their_six_defects(capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted(ORIGINALS.glob("*.json"))
    result = lint(files)
    assert {(Path(f.file).name, f.pointer, f.message) for f in result.findings} == CUSTOMER_ORIGINAL_DEFECTS
    assert len(result.findings) == 6 and not result.unreadable

    code, findings, err = _lint(capsys, *files)
    assert code == 1
    assert len(findings) == 6 and "6 defect(s) in 3 file(s)" in err
    # file:line: pointer: message, then the fix
    assert findings[0].startswith(f"{ORIGINALS / 'campaigns.json'}:77: /globalSecondaryIndexes/0/partitionKey/type: ")


def test_lint_as_a_user_runs_it() -> None:
    """A real process: exit 1, each defect with its fix, no traceback."""
    files = [str(p) for p in sorted(ORIGINALS.glob("*.json"))]
    result = subprocess.run(
        [sys.executable, "-m", "generator", "lint", *files], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.count("how to fix: store 'active' as N (1/0) or S") == 5


def test_gsis_that_disagree_with_terraform_are_each_reported(capsys: pytest.CaptureFixture[str]) -> None:
    tenants = ORIGINALS / "tenants.json"
    result = lint([tenants], CUSTOMER_TF)
    table = f"aws_dynamodb_table.tenants ({CUSTOMER_TF}:13)"
    assert {(f.pointer, f.message) for f in result.findings} == {
        (
            "/globalSecondaryIndexes/2/partitionKey/type",
            "GSI 'ActiveIndex' uses attribute 'active' (BOOL) as its partition key; DynamoDB keys must be S, N or B",
        ),
        (
            "/globalSecondaryIndexes/0/projectionType",
            f'GSI \'EmailIndex\': projection is "ALL" here but "KEYS_ONLY" in Terraform '
            f"aws_dynamodb_table.tenants ({CUSTOMER_TF}:44)",
        ),
        (
            "/globalSecondaryIndexes/1/sortKey/name",
            f'GSI \'TenantStatusIndex\': sort key (range_key) is "dateCreated" here but "dateLastUpdated" in '
            f"Terraform aws_dynamodb_table.tenants ({CUSTOMER_TF}:50)",
        ),
        (
            "/globalSecondaryIndexes/2/indexName",
            f"GSI 'ActiveIndex' is not in Terraform: {table} has no global_secondary_index of that name",
        ),
        (
            "/globalSecondaryIndexes",
            f"GSI 'OrganizationIndex' is in Terraform aws_dynamodb_table.tenants ({CUSTOMER_TF}:57) but not in "
            "this schema file",
        ),
    }
    assert all(f.hint and f.line for f in result.findings)
    code, findings, _ = _lint(capsys, tenants, "--terraform", CUSTOMER_TF.parent)
    assert code == 1 and len(findings) == 5


def test_the_fixture_terraform_is_real_hcl() -> None:
    """What the reader is tested on is Terraform that terraform itself accepts (and formats as is)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    fmt = subprocess.run([terraform, "fmt", "-check", str(CUSTOMER_TF)], capture_output=True, text=True, check=False)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_the_shipped_tables_agree_with_the_generated_terraform(capsys: pytest.CaptureFixture[str]) -> None:
    tables = sorted((DEFINITION / "tables").glob("*.json"))
    code, findings, err = _lint(capsys, *tables, "--terraform", REPOS / "2_1_bbws_dynamodb_schemas" / "terraform")
    assert (code, findings) == (0, []), err
    assert "3 file(s) clean, GSIs agree with" in err


def test_a_changed_generated_gsi_is_found(tmp_path: Path) -> None:
    """Against the generated Terraform (name = local.table_name): a hand edit of one GSI is reported."""
    main = tmp_path / "main.tf"
    source = REPOS / "2_1_bbws_dynamodb_schemas" / "terraform" / "tenants" / "main.tf"
    main.write_text(source.read_text().replace('hash_key        = "email"', 'hash_key        = "status"'))
    result = lint([DEFINITION / "tables" / "tenants.json"], main)
    assert [(f.pointer, f.message.split(" in Terraform")[0]) for f in result.findings] == [
        (
            "/globalSecondaryIndexes/0/partitionKey/name",
            'GSI \'EmailIndex\': partition key (hash_key) is "email" here but "status"',
        )
    ]


def test_unreadable_files_exit_2_and_the_others_are_still_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"tableName": "broken",\n  "primaryKey": }\n')
    code, findings, _ = _lint(capsys, broken, ORIGINALS / "products.json", tmp_path / "missing.json")
    assert code == 2
    assert any(f"{broken}:2: invalid JSON at line 2" in f for f in findings)
    assert any("missing.json: cannot read the file" in f for f in findings)
    assert sum("products.json" in f for f in findings) == 3  # its three defects, still reported


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terraform", "nowhere.tf"], "nowhere.tf: no such Terraform file or folder"),
        (["--terraform", "tests/fixtures/customer_original"], "no *.tf files in this folder"),
    ],
)
def test_bad_terraform_paths_are_bad_usage(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    code, findings, err = _lint(capsys, ORIGINALS / "tenants.json", *args)
    assert (code, findings) == (2, []) and message in err


def test_unparseable_terraform_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.tf"
    bad.write_text('resource "aws_dynamodb_table" "t" {\n  name = "t\n}\n')
    code, _, err = _lint(capsys, ORIGINALS / "tenants.json", "--terraform", bad)
    assert code == 2 and f"{bad}:2: a string is never closed on its line" in err


def test_no_files_is_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["lint"]) == 2
    assert "FILE" in capsys.readouterr().err


def test_dynamic_gsi_blocks_are_noted_not_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tf = tmp_path / "main.tf"
    tf.write_text(
        'resource "aws_dynamodb_table" "tenants" {\n  name = "tenants"\n'
        '  dynamic "global_secondary_index" {\n    for_each = var.gsis\n'
        "    content {\n      name = global_secondary_index.value.name\n    }\n  }\n}\n"
    )
    table = tmp_path / "tenants.json"
    table.write_text(json.dumps(json.loads((DEFINITION / "tables" / "tenants.json").read_text())))
    code, findings, err = _lint(capsys, table, "--terraform", tf)
    assert (code, findings) == (0, [])
    assert "builds its GSIs with a dynamic block: not compared" in err


def test_the_reader_follows_hcl_lexical_rules() -> None:
    root = parse(CUSTOMER_TF.read_text(), "tenants.tf")
    (table,) = [b for b in root.children("resource") if b.labels == ("aws_dynamodb_table", "tenants")]
    assert table.line == 13
    assert isinstance(table.attributes["name"], Expression)  # a template: not a literal
    assert [b.attributes["name"] for b in table.children("global_secondary_index")] == [
        "EmailIndex",
        "TenantStatusIndex",
        "OrganizationIndex",
    ]
    assert table.children("global_secondary_index")[2].attributes["non_key_attributes"] == ("email", "status")
    assert [b.type for b in root.blocks] == ["variable", "locals", "resource", "output"]
    one_line = parse('a { b = "x" }\nc = "#not a comment" # comment\nd = "\\"${"}"}"\n', "x.tf")
    assert one_line.children("a")[0].attributes == {"b": "x"}
    assert one_line.attributes["c"] == "#not a comment" and isinstance(one_line.attributes["d"], Expression)
    in_call = parse('p = jsonencode(<<EOT\n  {"a": "}"\nEOT\n)\nq = "after"\n', "x.tf")
    assert in_call.attributes["q"] == "after" and isinstance(in_call.attributes["p"], Expression)
    with pytest.raises(HclError, match=r"x.tf:1: the heredoc EOT is never closed"):
        parse("v = <<EOT\nno end\n", "x.tf")


def test_a_clean_file_under_any_name_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Outside a definition the file name is free; two files holding one table are still a defect."""
    mine = tmp_path / "tenants-v2.json"
    shutil.copy(DEFINITION / "tables" / "tenants.json", mine)
    code, findings, err = _lint(capsys, mine)
    assert (code, findings) == (0, []) and "1 file(s) clean" in err
    twin = tmp_path / "copy.json"
    shutil.copy(mine, twin)
    code, findings, _ = _lint(capsys, mine, twin)
    assert code == 1 and len(findings) == 1 and "table name 'tenants' is already used by" in findings[0]


def test_malformed_files_are_reported_not_crashed_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd.json"
    odd.write_text(
        json.dumps(
            {
                "tableName": "tenants",
                "primaryKey": {"partitionKey": {"name": "PK", "type": "S"}},
                "globalSecondaryIndexes": [
                    {"indexName": "EmailIndex", "partitionKey": {"type": "S"}, "nonKeyAttributes": [1, "a"]},
                    "not an index",
                ],
            }
        )
    )
    listed = tmp_path / "list.json"
    listed.write_text("[]")
    code, findings, err = _lint(capsys, odd, listed, "--terraform", CUSTOMER_TF)
    assert code == 1 and "Traceback" not in err
    assert any("odd.json:" in f and "'name' is required but missing" in f for f in findings)
    assert any("list.json:" in f and "is not of type" in f for f in findings)
