"""``bbws-gen adopt`` without an emulator: the import file, the state source, the comparison, the CLI's exits,
and generate's contract with the adopt file. The whole story on moto is tests/e2e/test_adopt.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.adopt import AdoptBlocked, AdoptError, adopt, clean, imports_file
from generator.adopt.from_state import StateSource
from generator.adopt.records import Found, Lookup
from generator.cli import run
from tests.conftest import DEFINITION, DOCS, REPOS

DYNAMODB = "2_1_bbws_dynamodb_schemas"
S3 = "2_1_bbws_s3_schemas"


def _resource(kind: str, label: str, **attributes: Any) -> dict[str, Any]:
    return {"mode": "managed", "type": kind, "name": label, "instances": [{"attributes": attributes}]}


def _table(name: str, hash_key: str = "PK", range_key: str = "SK", **extra: Any) -> dict[str, Any]:
    return _resource(
        "aws_dynamodb_table",
        name,
        name=name,
        hash_key=hash_key,
        range_key=range_key,
        attribute=[{"name": "PK", "type": "S"}, {"name": "SK", "type": "S"}],
        **extra,
    )


def _state(tmp_path: Path, *resources: dict[str, Any]) -> Path:
    path = tmp_path / "old.tfstate"
    path.write_text(json.dumps({"version": 4, "resources": list(resources)}))
    return path


@pytest.fixture
def repos(tmp_path: Path) -> Path:
    copy = tmp_path / "repos"
    shutil.copytree(REPOS, copy, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return copy


class _Dict:
    """A source that answers from a mapping of lookups, for what the state source does not cover."""

    def __init__(self, answers: dict[tuple[str, str], Found]) -> None:
        self.answers = answers

    def find(self, lookup: Lookup, dr: bool) -> Found | None:
        return self.answers.get((lookup.kind, lookup.name))


def test_import_file_round_trips_merges_environments_and_cleans(tmp_path: Path) -> None:
    imports = {'aws_s3_object.template["a/b.html"]': {"prod": "bkt/a/b.html"}, "aws_dynamodb_table.this": {"dev": "t"}}
    path = imports_file.write(tmp_path, imports)
    assert path is not None and imports_file.read(tmp_path) == imports
    fmt = subprocess.run(["terraform", "fmt", "-check", "-"], input=path.read_text(), text=True, check=False)
    assert fmt.returncode == 0, "adopt.tf is not terraform fmt clean"
    assert path.read_text().count("import {") == 2
    assert "if env == var.environment" in path.read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('# my own imports\nimport {\n  to = aws_s3_bucket.this\n  id = "b"\n}\n', "a file of yours"),
        (imports_file.HEADER + '\nimport {\n  to = aws_s3_bucket.this\n  id = "b"\n}\n', "edited by hand"),
    ],
)
def test_an_adopt_file_adopt_did_not_write_is_refused(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "adopt.tf").write_text(text)
    with pytest.raises(AdoptError, match=message):
        imports_file.read(tmp_path)


def test_ids_that_would_need_escaping_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AdoptError, match="characters adopt does not write"):
        imports_file.write(tmp_path, {"aws_s3_bucket.this": {"dev": 'b"${x}'}})
    assert not (tmp_path / "adopt.tf").exists()


def test_state_source_finds_tables_their_keys_and_aliases(tmp_path: Path) -> None:
    arn = "arn:aws:kms:af-south-1:1:key/k-1"
    state = StateSource(
        _state(
            tmp_path,
            _table("tenants", server_side_encryption=[{"enabled": True, "kms_key_arn": arn}]),
            _table(
                "products", server_side_encryption=[{"enabled": True, "kms_key_arn": "arn:aws:kms:r:1:key/aws-managed"}]
            ),
            _resource("aws_kms_key", "k", key_id="k-1", arn=arn),
            _resource("aws_kms_alias", "a", name="alias/bbws-dynamodb-campaigns-dev", target_key_id="k-2"),
            _resource("aws_backup_plan", "p", name="bbws-dynamodb-dev", id="plan-id"),
        )
    )
    tenants = state.find(Lookup("table", "tenants"), False)
    assert tenants is not None and tenants.import_id == "tenants" and tenants.facts["hash_key"] == "PK"
    assert state.find(Lookup("table_key", "tenants"), False) == Found("k-1")
    assert state.find(Lookup("table_key", "products"), False) is None, "a key the state does not manage is AWS's"
    assert state.find(Lookup("alias_key", "alias/bbws-dynamodb-campaigns-dev"), False) == Found("k-2")
    assert state.find(Lookup("plan", "bbws-dynamodb-dev"), False) == Found("plan-id")
    assert state.find(Lookup("table", "users"), False) is None


def test_adopt_from_state_writes_imports_reports_differences_and_unclaimed_tables(repos: Path, tmp_path: Path) -> None:
    gsi = {"name": "ProductActiveIndex", "hash_key": "active", "range_key": "dateCreated", "projection_type": "ALL"}
    sse = [{"enabled": True, "kms_key_arn": "arn:aws:kms:af-south-1:1:key/k-9"}]
    state = _state(
        tmp_path,
        _table("products", global_secondary_index=[gsi], server_side_encryption=sse),
        _resource("aws_kms_key", "k", key_id="k-9"),
        _table("dev-tenants"),
    )
    done = adopt([repos / DYNAMODB], "dev", state)
    products = next(c for c in done.components if c.component == "products")
    assert products.imports == {"aws_dynamodb_table.this": "products", "aws_kms_key.table": "k-9"}
    details = [d.detail for d in products.differences]
    assert any("ProductActiveIndex (active, dateCreated) ALL is not in the definition" in d for d in details), details
    assert any("ActiveIndex" in d and "is missing; applying creates it" in d for d in details), details
    assert {d.effect for d in products.differences} == {"update"}
    assert [p.parent.name for p in done.written] == ["products"]
    assert any("'dev-tenants'" in note for note in done.notes)
    key_notes = [n for n in done.notes if "aws kms tag-resource --key-id k-9" in n]
    assert len(key_notes) == 1 and "TagKey=Component,TagValue=products" in key_notes[0], done.notes
    # A second environment merges into the same blocks; cleaning one leaves the other.
    adopt([repos / DYNAMODB], "prod", state)
    assert imports_file.read(repos / DYNAMODB / "terraform" / "products") == {
        "aws_dynamodb_table.this": {"dev": "products", "prod": "products"},
        "aws_kms_key.table": {"dev": "k-9", "prod": "k-9"},
    }
    assert clean([repos / DYNAMODB], "dev") == [repos / DYNAMODB / "terraform" / "products" / "adopt.tf"]
    assert imports_file.read(repos / DYNAMODB / "terraform" / "products") == {
        "aws_dynamodb_table.this": {"prod": "products"},
        "aws_kms_key.table": {"prod": "k-9"},
    }
    clean([repos / DYNAMODB], None)
    assert not (repos / DYNAMODB / "terraform" / "products" / "adopt.tf").exists()


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (_table("tenants", range_key="dateCreated"), "range_key is 'dateCreated' there, 'SK' in the definition"),
        (
            _table(
                "tenants",
                local_secondary_index=[{"name": "ByDate", "range_key": "dateCreated", "projection_type": "ALL"}],
            ),
            "local secondary index ByDate exists",
        ),
    ],
)
def test_a_difference_that_would_replace_a_table_writes_nothing_and_exits_1(
    repos: Path, tmp_path: Path, table: dict[str, Any], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    state = _state(tmp_path, table, _table("products"))
    with pytest.raises(AdoptBlocked):
        adopt([repos / DYNAMODB], "dev", state)
    assert run(["adopt", str(repos / DYNAMODB), "--env", "dev", "--from-state", str(state)]) == 1
    err = capsys.readouterr().err
    assert expected in err and "(REPLACE)" in err and "nothing was written" in err
    assert not list((repos / DYNAMODB).glob("terraform/*/adopt.tf")), "nothing is written when adoption is blocked"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--env", "qa"], "unknown environment 'qa'"),
        ([], "adopt needs --env"),
        (["--env", "dev", "--from-state", "missing.tfstate"], "cannot read the state file"),
        (["--env", "dev", "--from-state", "{bad"], "not JSON"),
        (["--env", "dev", "--from-state", '{"version": 3}'], "not a Terraform state file"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    repos: Path, tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if "--from-state" in args and not args[-1].endswith(".tfstate"):
        (tmp_path / "given.tfstate").write_text(args[-1])
        args = [*args[:-1], str(tmp_path / "given.tfstate")]
    elif "--from-state" in args:
        args = [*args[:-1], str(tmp_path / args[-1])]
    assert run(["adopt", str(repos / DYNAMODB), *args]) == 2
    assert message in capsys.readouterr().err
    assert not list(repos.glob("*/terraform/*/adopt.tf"))
    assert run(["adopt", str(tmp_path), "--env", "dev"]) == 2, "a folder that is not a generated repo"


def test_generate_keeps_the_adopt_file_and_check_does_not_report_it(repos: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    source = _Dict(
        {
            ("bucket", "bbws-templates-dev"): Found("bbws-templates-dev"),
            ("bucket_part", "bbws-templates-dev"): Found("bbws-templates-dev"),
        }
    )
    done = adopt([repos / S3], "dev", source=source)
    written = repos / S3 / "terraform" / "templates" / "adopt.tf"
    assert done.written == (written,)
    text = written.read_text()
    assert "to = aws_s3_bucket_versioning.this" in text
    generate = ["generate", "--definition", str(DEFINITION), "--output", str(repos), "--docs", str(docs)]
    assert run([*generate, "--check"]) == 0, "the adopt file is not generate's: --check must not report it"
    assert run(generate) == 0
    assert written.read_text() == text, "generate must keep the adopt file"
