"""Security gates on the generated Terraform that checkov does not state as plainly.

No IAM statement grants a wildcard action or a wildcard principal (Deny statements may: the TLS-only
policies deny everything to everyone without TLS); every table, bucket and vault is encrypted with KMS
or SSE; nothing is left publicly reachable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPOS

TF_FILES = sorted(REPOS.glob("*/terraform/*/*.tf"))


def _blocks(text: str, keyword: str) -> Iterator[str]:
    """The bodies of every ``keyword {`` block (brace-matched, strings ignored for braces)."""
    for match in re.finditer(rf"^\s*{keyword}\s*\{{", text, flags=re.M):
        depth, i = 1, match.end()
        in_string = False
        while depth and i < len(text):
            char = text[i]
            if char == '"' and text[i - 1] != "\\":
                in_string = not in_string
            elif not in_string and char == "{":
                depth += 1
            elif not in_string and char == "}":
                depth -= 1
            i += 1
        yield text[match.end() : i - 1]


def _list(body: str, name: str) -> list[str]:
    match = re.search(rf"^\s*{name}\s*=\s*\[(.*?)\]", body, flags=re.M | re.S)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else []


@pytest.mark.parametrize("path", TF_FILES, ids=[f"{p.parents[2].name}/{p.parent.name}/{p.name}" for p in TF_FILES])
def test_no_allow_statement_grants_wildcards(path: Path) -> None:
    for statement in _blocks(path.read_text(), "statement"):
        if re.search(r'^\s*effect\s*=\s*"Deny"', statement, flags=re.M):
            continue
        actions = _list(statement, "actions")
        assert actions, f"{path}: an Allow statement without actions"
        assert not [a for a in actions if a == "*" or a.endswith(":*")], f"{path}: wildcard action in {actions}"
        for principal in _blocks(statement, "principals"):
            assert "*" not in _list(principal, "identifiers"), f"{path}: Allow to a wildcard principal"


def test_gates_catch_a_wildcard(tmp_path: Path) -> None:
    """The scanner itself: a wildcard Allow is found, a Deny is not."""
    bad = 'statement {\n  actions = ["s3:*"]\n  principals {\n    identifiers = ["*"]\n  }\n}\n'
    (tmp_path / "x.tf").write_text(bad)
    with pytest.raises(AssertionError, match="wildcard action"):
        test_no_allow_statement_grants_wildcards(tmp_path / "x.tf")
    (tmp_path / "y.tf").write_text(bad.replace("{\n  actions", '{\n  effect  = "Deny"\n  actions'))
    test_no_allow_statement_grants_wildcards(tmp_path / "y.tf")


def test_everything_that_stores_data_is_encrypted() -> None:
    text = {p: p.read_text() for p in TF_FILES}
    tables = [t for body in text.values() for t in _blocks(body, r'resource "aws_dynamodb_table" "\w+"')]
    assert len(tables) == len(list(REPOS.glob("*/schemas/*.json"))) - 1, "one table per schema file"
    for path, body in text.items():
        for table in _blocks(body, r'resource "aws_dynamodb_table" "\w+"'):
            assert re.search(r"server_side_encryption \{\s*enabled\s*=\s*true\s*kms_key_arn", table), path
        for vault in _blocks(body, r'resource "aws_backup_vault" "\w+"'):
            assert "kms_key_arn" in vault, path
        for key in _blocks(body, r'resource "aws_kms_key" "\w+"'):
            assert re.search(r"enable_key_rotation\s*=\s*true", key), path
    buckets = [m for body in text.values() for m in re.findall(r'resource "aws_s3_bucket" "(\w+)"', body)]
    encrypted = [
        m
        for body in text.values()
        for m in re.findall(r'resource "aws_s3_bucket_server_side_encryption_configuration" "(\w+)"', body)
    ]
    blocked = [
        m for body in text.values() for m in re.findall(r'resource "aws_s3_bucket_public_access_block" "(\w+)"', body)
    ]
    assert buckets and sorted(buckets) == sorted(encrypted) == sorted(blocked)
