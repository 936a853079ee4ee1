"""The IAM policies the LLD and each repo README give the Lambdas: valid policy JSON, explicit actions,
and written from names alone (table ARNs from table names, keys by alias through kms:ResourceAliases)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DOCS, REPOS
from tests.support.deploy import read_spec

LLD = DOCS / "2.1.8_LLD_S3_and_DynamoDB.md"
DYNAMODB = REPOS / "2_1_bbws_dynamodb_schemas"
S3_REPO = REPOS / "2_1_bbws_s3_schemas"
ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z]+$")  # service:Action, no wildcard anywhere
STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}


def _policies(path: Path) -> list[dict[str, Any]]:
    blocks = re.findall(r"^```json\n(.*?)^```$", path.read_text(encoding="utf-8"), re.MULTILINE | re.DOTALL)
    return [json.loads(block) for block in blocks]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("path", [LLD, DYNAMODB / "README.md", S3_REPO / "README.md"], ids=lambda p: p.parent.name)
def test_documented_policies_are_valid_with_explicit_actions(path: Path) -> None:
    policies = _policies(path)
    assert policies, f"no policy documents in {path}"
    for policy in policies:
        assert set(policy) == {"Version", "Statement"} and policy["Version"] == "2012-10-17"
        sids = [s["Sid"] for s in policy["Statement"]]
        assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", s) for s in sids)
        for statement in policy["Statement"]:
            assert set(statement) <= STATEMENT_KEYS and statement["Effect"] == "Allow"
            assert "NotAction" not in statement and "NotResource" not in statement
            actions = _as_list(statement["Action"])
            assert actions and all(ACTION.match(a) for a in actions), f"{path}: {actions}"
            assert "dynamodb:DeleteItem" not in actions, "entities are soft-deleted"
            for resource in _as_list(statement["Resource"]):
                assert resource.startswith("arn:aws:"), resource
            if any(a.startswith("kms:") for a in actions):
                condition = statement["Condition"]
                assert condition["ForAnyValue:StringEquals"]["kms:ResourceAliases"]
                assert condition["StringEquals"]["kms:ViaService"].endswith(".amazonaws.com")


def test_policies_name_every_table_and_bucket_of_every_environment() -> None:
    ddb, s3 = read_spec(DYNAMODB), read_spec(S3_REPO)
    text = json.dumps(_policies(LLD))
    for env in ddb["environments"]:
        for table in ddb["tables"]:
            assert f"arn:aws:dynamodb:{env['region']}:{env['account_id']}:table/{table['name']}" in text
            assert f'"{table["kms_aliases"][env["name"]]}"' in text
        for bucket in s3["buckets"]:
            if bucket["purpose"] == s3["templates_purpose"]:
                assert f"arn:aws:s3:::{bucket['names'][env['name']]}/*" in text
                assert f'"alias/{bucket["names"][env["name"]]}"' in text
    # The READMEs give the very documents the LLD gives.
    readmes = _policies(DYNAMODB / "README.md") + _policies(S3_REPO / "README.md")
    assert sorted(json.dumps(p, sort_keys=True) for p in readmes) == sorted(
        json.dumps(p, sort_keys=True) for p in _policies(LLD)
    )
