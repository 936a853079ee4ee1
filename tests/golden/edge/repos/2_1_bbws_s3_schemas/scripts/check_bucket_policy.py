"""Check the S3 bucket policies and public access blocks of a saved Terraform plan before anyone applies it.

Shipped verbatim into the generated S3 repo as ``scripts/check_bucket_policy.py``; the plan job runs
``terraform show -json tfplan > plan.json`` and then ``python scripts/check_bucket_policy.py --plan-json
plan.json``. Standard library only.

For every bucket in the plan: a bucket policy exists, parses, denies every request without TLS
(``aws:SecureTransport`` = false) on the bucket and its objects, and allows nothing to a public
principal; a public access block exists with all four switches on. Exit 0 when all hold, 1 listing each
defect, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

PUBLIC_ACCESS_SWITCHES = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")


def _resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from _resources(child)


def _config_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from module.get("resources", [])
    for call in module.get("module_calls", {}).values():
        yield from _config_resources(call.get("module", {}))


def _base(address: str) -> str:
    """``aws_s3_bucket.dr[0]`` -> ``aws_s3_bucket.dr`` (configuration addresses carry no index)."""
    return address.split("[", 1)[0]


def _bucket_of(config: Mapping[str, Any]) -> str | None:
    """The aws_s3_bucket a policy or access block is attached to, from its ``bucket`` expression."""
    for reference in config.get("expressions", {}).get("bucket", {}).get("references", []):
        if reference.startswith("aws_s3_bucket.") and reference.count(".") >= 1:
            return _base(".".join(reference.split(".")[:2]))
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_public(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in _as_list(v) for v in principal.values())
    return False


def _denies_plain_http(statement: Mapping[str, Any]) -> bool:
    condition = statement.get("Condition", {})
    secure = {
        str(v).lower()
        for test in ("Bool", "BoolIfExists")
        for v in _as_list(condition.get(test, {}).get("aws:SecureTransport", []))
    }
    actions = set(_as_list(statement.get("Action", [])))
    return (
        statement.get("Effect") == "Deny"
        and _is_public(statement.get("Principal"))
        and bool(actions & {"s3:*", "*"})
        and "false" in secure
    )


def policy_defects(policy_text: str) -> list[str]:
    """What is wrong with one bucket policy document (empty when it is as required)."""
    try:
        policy = json.loads(policy_text)
    except json.JSONDecodeError as exc:
        return [f"the policy is not JSON ({exc.msg})"]
    statements = _as_list(policy.get("Statement", []))
    defects: list[str] = []
    tls = [s for s in statements if _denies_plain_http(s)]
    if not tls:
        defects.append("no statement denies requests without TLS (Deny s3:* to * when aws:SecureTransport is false)")
    else:
        resources = {r for s in tls for r in _as_list(s.get("Resource", []))}
        if not any(r.endswith("/*") for r in resources) or not any(not r.endswith("/*") for r in resources):
            defects.append("the TLS-only Deny must cover both the bucket and its objects (arn and arn/*)")
    for statement in statements:
        if statement.get("Effect") == "Allow" and _is_public(statement.get("Principal")):
            defects.append(f"statement {statement.get('Sid', '(no Sid)')} allows a public principal (*)")
    return defects


def plan_defects(plan: Mapping[str, Any]) -> list[str]:
    """Every defect of every bucket in a ``terraform show -json`` plan."""
    planned = list(_resources(plan.get("planned_values", {}).get("root_module", {})))
    configs = {c["address"]: c for c in _config_resources(plan.get("configuration", {}).get("root_module", {}))}
    unknown = {
        c["address"]: c["change"].get("after_unknown", {}) for c in plan.get("resource_changes", []) if "change" in c
    }
    buckets = [r["address"] for r in planned if r["type"] == "aws_s3_bucket"]
    attached: dict[str, dict[str, list[Mapping[str, Any]]]] = {b: {} for b in buckets}
    for resource in planned:
        if resource["type"] not in ("aws_s3_bucket_policy", "aws_s3_bucket_public_access_block"):
            continue
        target = _bucket_of(configs.get(_base(resource["address"]), {}))
        index = resource["address"][len(_base(resource["address"])) :]
        bucket = f"{target}{index}" if target else None
        if bucket in attached:
            attached[bucket].setdefault(resource["type"], []).append(resource)
    defects: list[str] = []
    for bucket in buckets:
        parts = attached[bucket]
        policies = parts.get("aws_s3_bucket_policy", [])
        if not policies:
            defects.append(f"{bucket}: has no aws_s3_bucket_policy")
        for policy in policies:
            text = policy.get("values", {}).get("policy")
            if text is None or unknown.get(policy["address"], {}).get("policy"):
                defects.append(f"{policy['address']}: the policy is not known at plan time, so it cannot be checked")
                continue
            defects.extend(f"{policy['address']}: {d}" for d in policy_defects(text))
        blocks = parts.get("aws_s3_bucket_public_access_block", [])
        if not blocks:
            defects.append(f"{bucket}: has no aws_s3_bucket_public_access_block")
        for block in blocks:
            off = [s for s in PUBLIC_ACCESS_SWITCHES if block.get("values", {}).get(s) is not True]
            if off:
                defects.append(f"{block['address']}: public access is not blocked: {', '.join(off)} not true")
    return defects


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: print each defect, exit 1 if any, 2 for bad usage."""
    parser = argparse.ArgumentParser(description="Check bucket policies in a saved Terraform plan.")
    parser.add_argument("--plan-json", type=Path, required=True, help="output of `terraform show -json tfplan`")
    args = parser.parse_args(argv)
    try:
        plan = json.loads(args.plan_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read the plan JSON {args.plan_json}: {exc}", file=sys.stderr)
        return 2
    defects = plan_defects(plan)
    for defect in defects:
        print(f"{args.plan_json}: {defect}")
    if defects:
        print(f"{len(defects)} bucket policy defect(s); fix the Terraform before applying", file=sys.stderr)
        return 1
    buckets = sum(
        1 for r in _resources(plan.get("planned_values", {}).get("root_module", {})) if r["type"] == "aws_s3_bucket"
    )
    print(f"bucket policies of {buckets} bucket(s) are TLS-only, private and block public access", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
