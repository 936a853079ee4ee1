"""Stop a saved Terraform plan that would delete or replace a resource holding data.

Shipped verbatim into each generated repo as ``scripts/check_plan_safety.py``; the plan job runs
``terraform show -json tfplan > plan-safety.json`` and then ``python3 scripts/check_plan_safety.py
plan-safety.json --component <component> [--allow <component>:<address> ...]``. Standard library only.

A DynamoDB table (or replica), an S3 bucket, a KMS key or an AWS Backup vault (which holds the recovery
points) that the plan deletes or replaces loses data or makes it unreadable: a KMS key scheduled for
deletion takes every object and item encrypted under it along. Each such change is listed with the
attributes that force the replacement (Terraform's ``replace_paths``) and the runbook to follow.

``--allow ADDRESS`` lets one exact address through (an index like ``[0]`` included); with
``--component NAME`` each entry must read ``NAME:ADDRESS`` (the workflow input covers several
components), and entries for other components are ignored. An allowed change is still listed, as
allowed, in the output and in ``$GITHUB_STEP_SUMMARY`` when that is set, so the approval of the plan
covers it.

Imports (``import`` blocks, e.g. the ``adopt.tf`` that ``bbws-gen adopt`` writes) are listed. A resource
the plan imports and then replaces or deletes, of any type, is blocked like a stateful one: adopting
something only to destroy it is never what the import meant (runbook
``docs/runbooks/adopt-existing-resources.md``); ``--allow`` lets it through by address.

Exit 0: nothing destructive (or everything destructive allowed); 1: a blocked change; 2: bad usage or a
plan file that cannot be read.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

RUNBOOK = "docs/runbooks/destructive-changes.md"
ADOPT_RUNBOOK = "docs/runbooks/adopt-existing-resources.md"

# Resource types whose deletion or replacement loses data, and the runbook section for each.
STATEFUL: Mapping[str, str] = {
    "aws_dynamodb_table": "#a-dynamodb-table",
    "aws_dynamodb_table_replica": "#a-dynamodb-table",
    "aws_s3_bucket": "#an-s3-bucket",
    "aws_kms_key": "#a-kms-key",
    "aws_kms_replica_key": "#a-kms-key",
    "aws_backup_vault": "#a-backup-vault",
    "aws_backup_vault_lock_configuration": "#a-backup-vault",
}

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_INDEX = r'(?:\[(?:[0-9]+|"[A-Za-z0-9_./:-]+")\])?'
ADDRESS = re.compile(rf"^(?:module\.{_NAME}{_INDEX}\.)*{_NAME}\.{_NAME}{_INDEX}$")
COMPONENT = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class UsageError(Exception):
    """Bad arguments or an unreadable plan: exit 2."""


@dataclass(frozen=True)
class Destructive:
    """One stateful resource the plan deletes or replaces."""

    address: str
    resource_type: str
    action: str  # "delete" or "replace"
    forced_by: tuple[str, ...]
    reason: str
    imported: bool = False  # the same plan imports it first

    @property
    def runbook(self) -> str:
        """Where the procedure for this kind of resource is written down."""
        if self.imported:
            return ADOPT_RUNBOOK + "#what-the-plan-may-show"
        return RUNBOOK + STATEFUL[self.resource_type]


def _path_text(path: Sequence[Any]) -> str:
    """``["range_key"]`` -> ``range_key``; ``["local_secondary_index"]`` -> ``local_secondary_index``."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        else:
            parts.append(("." if parts else "") + str(step))
    return "".join(parts)


def _changes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    changes = plan.get("resource_changes")
    if changes is None:
        return
    if not isinstance(changes, list):
        raise UsageError("resource_changes is not a list: is this `terraform show -json` of a saved plan?")
    yield from changes


def _importing(change: Mapping[str, Any]) -> bool:
    return isinstance(change.get("change", {}).get("importing"), dict)


def imports(plan: Mapping[str, Any]) -> list[str]:
    """The addresses ``plan`` imports (Terraform 1.5+ ``import`` blocks), in order."""
    return sorted(str(c["address"]) for c in _changes(plan) if c.get("mode") == "managed" and _importing(c))


def destructive_changes(plan: Mapping[str, Any]) -> list[Destructive]:
    """Every stateful managed resource that ``plan`` deletes or replaces, and every resource of any type
    that it imports and then deletes or replaces, in address order."""
    found: list[Destructive] = []
    for change in _changes(plan):
        imported = _importing(change)
        if change.get("mode") != "managed" or (change.get("type") not in STATEFUL and not imported):
            continue
        actions = change.get("change", {}).get("actions", [])
        if "delete" not in actions:
            continue
        replace = "create" in actions
        forced = tuple(_path_text(p) for p in change.get("change", {}).get("replace_paths", []) or [])
        found.append(
            Destructive(
                address=str(change["address"]),
                resource_type=str(change["type"]),
                action="replace" if replace else "delete",
                forced_by=forced,
                reason=str(change.get("action_reason", "")),
                imported=imported,
            )
        )
    return sorted(found, key=lambda d: d.address)


def allowed_addresses(entries: Sequence[str], component: str | None) -> set[str]:
    """The exact addresses ``entries`` let through for ``component``; UsageError for a malformed entry."""
    allowed: set[str] = set()
    for entry in entries:
        target, address = None, entry
        if component is not None:
            target, sep, address = entry.partition(":")
            if not sep or not COMPONENT.match(target):
                raise UsageError(
                    f"--allow {entry!r}: write <component>:<address>, e.g. {component}:aws_dynamodb_table.this"
                )
        if not ADDRESS.match(address):
            raise UsageError(
                f"--allow {entry!r}: {address!r} is not a Terraform resource address "
                '(type.name with an optional [0] or ["key"], as the plan lists it)'
            )
        if target is None or target == component:
            allowed.add(address)
    return allowed


def _describe(item: Destructive) -> str:
    if item.imported:
        return "imported, then " + _describe_change(item) + ": adopting it would destroy what exists"
    return _describe_change(item)


def _describe_change(item: Destructive) -> str:
    if item.action == "delete":
        why = {
            "delete_because_no_resource_config": "its configuration was removed",
            "delete_because_count_index": "the count no longer includes it",
            "delete_because_each_key": "for_each no longer includes it",
            "delete_because_no_module": "its module was removed",
        }.get(item.reason, "the plan destroys it")
        return f"deleted ({why})"
    if item.forced_by:
        return "replaced: changing " + ", ".join(item.forced_by) + " forces a new resource"
    if item.reason == "replace_by_request":
        return "replaced: requested with -replace"
    return "replaced"


def report(items: Sequence[Destructive], allowed: set[str]) -> tuple[list[str], list[str]]:
    """Lines for the console and for the run summary; blocked first, then allowed."""
    console: list[str] = []
    summary: list[str] = []
    for item in items:
        status = "ALLOWED" if item.address in allowed else "BLOCKED"
        console.append(f"{status} {item.address}: {_describe(item)}; runbook: {item.runbook}")
        summary.append(f"| `{item.address}` | {_describe(item)} | {status.lower()} | `{item.runbook}` |")
    return console, summary


def _load(path: Path) -> Mapping[str, Any]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not JSON ({exc}); write it with `terraform show -json tfplan`") from exc
    if not isinstance(loaded, dict) or "format_version" not in loaded:
        raise UsageError(f"{path}: not a Terraform plan in JSON; write it with `terraform show -json tfplan`")
    if loaded.get("errored"):
        raise UsageError(f"{path}: the plan errored; fix the plan first")
    return loaded


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; a UsageError (exit 2) for anything argparse rejects."""
    parser = _Parser(prog="check_plan_safety.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("plan_json", type=Path, help="output of `terraform show -json tfplan`")
    parser.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="an exact resource address the plan may delete or replace (repeatable)",
    )
    parser.add_argument("--component", help="the component planned; --allow entries then read <component>:<address>")
    return parser.parse_args(argv)


def _write_summary(lines: Sequence[str], blocked: int, allowed_entries: Sequence[str]) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    text = ["", "### Destructive-change guard", ""]
    if not lines:
        text.append("No DynamoDB table, S3 bucket, KMS key or backup vault is deleted or replaced by this plan.")
    else:
        text += ["| address | change | status | runbook |", "| --- | --- | --- | --- |", *lines]
        text.append("")
        text.append(
            f"{blocked} blocked: this plan cannot be applied."
            if blocked
            else "Every destructive change was allowed by the run's `allow_replace` input; approving the "
            "deployment approves them."
        )
    if allowed_entries:
        text.append("")
        text.append("`allow_replace` given to this run: " + ", ".join(f"`{e}`" for e in allowed_entries))
    with open(target, "a", encoding="utf-8") as out:
        out.write("\n".join(text) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the guard; return the exit code."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        if args.component is not None and not COMPONENT.match(args.component):
            raise UsageError(f"--component {args.component!r} is not a component name")
        allowed = allowed_addresses(args.allow, args.component)
        plan = _load(args.plan_json)
        items = destructive_changes(plan)
        imported = imports(plan)
    except UsageError as exc:
        print(f"check_plan_safety: error: {exc}", file=sys.stderr)
        return 2
    if imported:
        print(f"{len(imported)} resource(s) imported: " + ", ".join(imported))
    console, summary = report(items, allowed)
    blocked = sum(1 for item in items if item.address not in allowed)
    for line in console:
        print(line)
    unused = sorted(allowed - {item.address for item in items})
    for address in unused:
        print(f"note: --allow {address} matches no deletion or replacement in this plan")
    if blocked:
        print(
            f"{blocked} stateful resource(s) would be deleted or replaced. Follow the runbook; to go ahead "
            "deliberately, re-run with the exact address(es) allowed.",
            file=sys.stderr,
        )
    elif not items:
        print("No stateful resource is deleted or replaced.")
    _write_summary(summary, blocked, args.allow)
    return 1 if blocked else 0


if __name__ == "__main__":
    sys.exit(main())
