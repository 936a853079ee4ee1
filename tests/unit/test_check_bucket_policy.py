"""scripts/check_bucket_policy.py: a plan's bucket policies must be TLS-only and private, access blocked."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from generator.shipped import check_bucket_policy

TLS_DENY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
BLOCK_ALL = dict.fromkeys(check_bucket_policy.PUBLIC_ACCESS_SWITCHES, True)


def _plan(statements: list[dict[str, Any]], block: dict[str, bool] | None = None) -> dict[str, Any]:
    """A `terraform show -json` plan with one bucket, its policy and its public access block."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": statements})
    refs = {"bucket": {"references": ["aws_s3_bucket.this.id", "aws_s3_bucket.this"]}}
    resources = [
        {"address": "aws_s3_bucket.this", "type": "aws_s3_bucket", "values": {"bucket": "b"}},
        {"address": "aws_s3_bucket_policy.this", "type": "aws_s3_bucket_policy", "values": {"policy": policy}},
        {
            "address": "aws_s3_bucket_public_access_block.this",
            "type": "aws_s3_bucket_public_access_block",
            "values": BLOCK_ALL if block is None else block,
        },
    ]
    return {
        "planned_values": {"root_module": {"resources": resources}},
        "configuration": {
            "root_module": {
                "resources": [
                    {"address": "aws_s3_bucket.this"},
                    {"address": "aws_s3_bucket_policy.this", "expressions": refs},
                    {"address": "aws_s3_bucket_public_access_block.this", "expressions": refs},
                ]
            }
        },
        "resource_changes": [],
    }


def _run(plan: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    code = check_bucket_policy.main(["--plan-json", str(path)])
    return code, capsys.readouterr().out


def test_tls_only_private_bucket_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(_plan([TLS_DENY]), tmp_path, capsys) == (0, "")


def test_missing_tls_deny_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(_plan([]), tmp_path, capsys)
    assert code == 1 and "no statement denies requests without TLS" in out


def test_tls_deny_with_the_wrong_condition_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = copy.deepcopy(TLS_DENY)
    statement["Condition"] = {"Bool": {"aws:SecureTransport": "true"}}
    code, out = _run(_plan([statement]), tmp_path, capsys)
    assert code == 1 and "no statement denies requests without TLS" in out


def test_tls_deny_on_the_bucket_only_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    statement = {**TLS_DENY, "Resource": "arn:aws:s3:::b"}
    code, out = _run(_plan([statement]), tmp_path, capsys)
    assert code == 1 and "must cover both the bucket and its objects" in out


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::1:root", "*"]}])
def test_public_allow_fails(principal: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    public = {"Sid": "Public", "Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "x"}
    code, out = _run(_plan([TLS_DENY, public]), tmp_path, capsys)
    assert code == 1 and "statement Public allows a public principal" in out


def test_public_access_switch_off_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _run(_plan([TLS_DENY], {**BLOCK_ALL, "restrict_public_buckets": False}), tmp_path, capsys)
    assert code == 1 and "restrict_public_buckets not true" in out


def test_bucket_without_policy_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan([TLS_DENY])
    resources = plan["planned_values"]["root_module"]["resources"]
    plan["planned_values"]["root_module"]["resources"] = [r for r in resources if r["type"] != "aws_s3_bucket_policy"]
    code, out = _run(plan, tmp_path, capsys)
    assert code == 1 and "aws_s3_bucket.this: has no aws_s3_bucket_policy" in out


def test_policy_unknown_at_plan_time_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan([TLS_DENY])
    plan["resource_changes"] = [{"address": "aws_s3_bucket_policy.this", "change": {"after_unknown": {"policy": True}}}]
    code, out = _run(plan, tmp_path, capsys)
    assert code == 1 and "not known at plan time" in out


def test_unreadable_plan_is_bad_usage(tmp_path: Path) -> None:
    assert check_bucket_policy.main(["--plan-json", str(tmp_path / "missing.json")]) == 2
