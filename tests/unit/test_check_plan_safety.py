"""check_plan_safety.py on the edges real plans rarely show: bad input, odd actions, allow entries.

Real plans (an LSI, a sort key, a removed table, a renamed bucket, a new GSI, changed tags) are in
tests/e2e/test_dynamodb_apply.py and test_s3_apply.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generator.shipped import check_plan_safety as guard


def _change(address: str, actions: list[str], mode: str = "managed", **extra: Any) -> dict[str, Any]:
    return {"address": address, "mode": mode, "type": address.split(".")[0], "change": {"actions": actions, **extra}}


def _plan(tmp_path: Path, *changes: dict[str, Any]) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"format_version": "1.2", "resource_changes": list(changes)}))
    return path


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the plan"),
        ("{not json", "not JSON"),
        ('{"resources": []}', "not a Terraform plan"),
        ('{"format_version": "1.2", "errored": true}', "the plan errored"),
        ('{"format_version": "1.2", "resource_changes": {}}', "resource_changes is not a list"),
    ],
)
def test_unreadable_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    assert guard.main([str(path)]) == 2
    assert message in capsys.readouterr().err


def test_only_stateful_managed_deletions_count(tmp_path: Path) -> None:
    plan = _plan(
        tmp_path,
        _change("aws_dynamodb_table.this", ["create", "delete"], replace_paths=[["range_key"]]),
        _change("aws_kms_key.table", ["forget"]),  # `removed` block: the key stays in AWS
        _change('aws_s3_object.template["a.html"]', ["delete", "create"]),  # objects come from the repo
        _change("aws_s3_bucket.this", ["read"], mode="data"),
        _change("aws_backup_vault.dr[0]", ["delete"], action_reason="delete_because_count_index"),
    )
    found = guard.destructive_changes(json.loads(plan.read_text()))
    assert [(d.address, d.action, d.forced_by) for d in found] == [
        ("aws_backup_vault.dr[0]", "delete", ()),
        ("aws_dynamodb_table.this", "replace", ("range_key",)),
    ]
    assert guard.main([str(plan), "--allow", "aws_dynamodb_table.this"]) == 1, "the vault is still blocked"
    assert guard.main([str(plan), "--allow", "aws_dynamodb_table.this", "--allow", "aws_backup_vault.dr[0]"]) == 0


@pytest.mark.parametrize(
    "entry",
    [
        "aws_dynamodb_table",
        "aws_dynamodb_table.this extra",
        "aws_s3_bucket.this[$(id)]",
        "x:y:z",
        ":aws_s3_bucket.this",
    ],
)
def test_malformed_allow_entries_exit_2(tmp_path: Path, entry: str) -> None:
    assert guard.main([str(_plan(tmp_path)), "--component", "tenants", "--allow", entry]) == 2


def test_allow_entries_apply_to_their_component_only() -> None:
    entries = [
        "tenants:aws_dynamodb_table.this",
        "products:aws_kms_key.replica[0]",
        'tenants:aws_s3_object.t["a/b.html"]',
    ]
    assert guard.allowed_addresses(entries, "tenants") == {"aws_dynamodb_table.this", 'aws_s3_object.t["a/b.html"]'}
    assert guard.allowed_addresses(entries, "products") == {"aws_kms_key.replica[0]"}


def _imported(address: str, actions: list[str], **extra: Any) -> dict[str, Any]:
    return _change(address, actions, importing={"id": "existing-id"}, **extra)


def test_an_import_then_replaced_or_deleted_is_blocked_whatever_the_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(
        tmp_path,
        _imported("aws_dynamodb_table.this", ["update"]),  # adopted, GSI dropped in place: fine
        _imported("aws_s3_bucket_policy.this", ["create", "delete"]),  # not stateful, but imported
        _imported("aws_kms_alias.table", ["delete"]),
        _imported("aws_s3_bucket.this", ["no-op"]),
        _change("aws_s3_bucket_policy.logs", ["delete", "create"]),  # not imported, not stateful: not listed
    )
    found = guard.destructive_changes(json.loads(plan.read_text()))
    assert [(d.address, d.action, d.imported) for d in found] == [
        ("aws_kms_alias.table", "delete", True),
        ("aws_s3_bucket_policy.this", "replace", True),
    ]
    assert guard.imports(json.loads(plan.read_text())) == [
        "aws_dynamodb_table.this",
        "aws_kms_alias.table",
        "aws_s3_bucket.this",
        "aws_s3_bucket_policy.this",
    ]
    assert guard.main([str(plan)]) == 1
    out = capsys.readouterr().out
    assert "4 resource(s) imported" in out
    assert "BLOCKED aws_s3_bucket_policy.this: imported, then replaced" in out
    assert "adopt-existing-resources.md" in out
    assert guard.main([str(plan), "--allow", "aws_s3_bucket_policy.this", "--allow", "aws_kms_alias.table"]) == 0


def test_an_imported_table_that_is_replaced_names_the_forcing_attribute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path, _imported("aws_dynamodb_table.this", ["delete", "create"], replace_paths=[["hash_key"]]))
    assert guard.main([str(plan), "--component", "tenants"]) == 1
    assert "imported, then replaced: changing hash_key forces a new resource" in capsys.readouterr().out
    assert guard.main([str(plan), "--component", "tenants", "--allow", "tenants:aws_dynamodb_table.this"]) == 0


def test_imports_with_in_place_updates_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(
        tmp_path, _imported("aws_dynamodb_table.this", ["update"]), _imported("aws_kms_alias.table", ["no-op"])
    )
    assert guard.main([str(plan)]) == 0
    assert "No stateful resource is deleted or replaced." in capsys.readouterr().out
