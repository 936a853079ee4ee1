"""Roll a component's Terraform state back to an earlier version of its state object in S3.

Shipped into both generated repos as ``scripts/state_rollback.py``; the ``rollback.yml`` workflow runs it
after approval, then plans the code on main against the restored state. It needs only the standard
library, boto3 and PyYAML; AWS credentials, region overrides and endpoint come from the usual boto3
environment (``AWS_PROFILE``, ``AWS_ENDPOINT_URL``, ...).

Usage (from the repo root, or pass ``--repo-root``)::

    python scripts/state_rollback.py --env ENV --component C --version-id (ID|previous)
                                     [--ignore-lock] [--dry-run] [--history N]

What it does, in order:

1. reads bucket, key and region from ``terraform/C/backend/ENV.tfbackend``;
2. lists the versions of the state object, newest first, with each version's serial and lineage
   (``*`` marks the current version, ``>`` the one to restore);
3. refuses while Terraform's S3 lock object ``<key>.tflock`` exists (naming who holds it), unless
   ``--ignore-lock`` (which leaves that lock in place: release it with ``terraform force-unlock``);
   otherwise takes that lock itself (create-if-absent, as Terraform does) for the duration of the
   restore, and checks the current version did not change meanwhile, so no apply interleaves;
4. resolves ``previous`` to the version just before the current one, and refuses a version whose
   lineage differs from the current state's: that is another state, not an older one of this state;
5. prints the current version id and copies the current content to
   ``<key>.pre-rollback/<UTC timestamp>-<version id>.tfstate`` in the same bucket;
6. copies the chosen version over the key (CopyObject with a source VersionId), so it becomes the
   newest version, byte for byte; older versions, including the replaced one, stay in the history;
7. prints the next step, ``terraform plan``, which the workflow runs.

``--dry-run`` does steps 1-4 and prints what 5-6 would do, changing nothing.
Exit codes: 0 done (or nothing to do), 1 refused or failed (the message says why), 2 bad usage.

What Terraform does after a rollback (observed with Terraform 1.11, AWS provider 5.100, the S3
backend with ``use_lockfile``, tested end to end against a moto server):

- the S3 backend has no serial check: it reads the newest object version, so the restored state, whose
  serial is lower than the replaced one's, is accepted by ``init``, ``plan`` and ``apply`` without
  complaint. The next apply writes serial = restored serial + 1 with the same lineage, so serials can
  repeat within the history (one version per apply here): order versions by time, not by serial;
- ``plan`` refreshes the restored state from the real resources before comparing, so attributes the
  rolled-back apply changed (a GSI it added) come back into the refreshed state. Against the code that
  made them (v2) plan shows "No changes"; ``plan -refresh-only`` shows them as "Objects have changed
  outside of Terraform"; against the earlier code (v1, i.e. after reverting the commit) plan shows them
  as changes to make (the GSI is planned for removal), and applying that works;
- (by Terraform's design, not exercised in the test) resources the rolled-back apply created are not in
  the restored state at all: plan proposes to create them again, and that apply fails because they
  already exist, until they are imported (``terraform import``) or deleted;
- rolling the state back changes nothing in AWS; only the reviewed plan/apply that follows does.

A backend configured with ``dynamodb_table`` (the legacy lock) also keeps an MD5 digest of the state in
DynamoDB, which a restored version no longer matches; this script does not update that digest, so use
it with ``use_lockfile = true`` backends (what bbws-gen generates).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import json
import socket
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

ANSWERS_FILE = ".copier-answers.yml"
PREVIOUS = "previous"
LOCK_SUFFIX = ".tflock"
BACKUP_SUFFIX = ".pre-rollback"
DEFAULT_HISTORY = 10
_MISSING = ("NoSuchKey", "404", "NotFound")


class UsageError(Exception):
    """Bad arguments, or arguments that name nothing in this repo (exit 2)."""


class Refused(Exception):
    """The rollback must not or cannot happen; the message says why and what to do (exit 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse prints and exits; raising instead lets main() return 2 like every other usage error.
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


@dataclass(frozen=True)
class Backend:
    """Where a component's state lives in one environment (from its .tfbackend file)."""

    bucket: str
    key: str
    region: str
    encrypt: bool
    kms_key_id: str | None
    file: Path

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @property
    def lock_key(self) -> str:
        return self.key + LOCK_SUFFIX

    def sse(self) -> dict[str, str]:
        """Encryption arguments for objects written next to the state, matching the backend's own."""
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        return {"ServerSideEncryption": "AES256"} if self.encrypt else {}


@dataclass(frozen=True)
class Version:
    """One version of the state object; ``serial``/``lineage`` are read from its JSON when needed."""

    version_id: str
    last_modified: dt.datetime
    size: int
    is_latest: bool


@dataclass(frozen=True)
class StateContent:
    """What identifies a Terraform state: lineage (which state) and serial (which revision of it)."""

    serial: int | None
    lineage: str | None
    sha256: str


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; a UsageError (exit 2) for anything argparse rejects."""
    parser = _Parser(
        prog="state_rollback.py",
        description="Restore an earlier version of a component's Terraform state object (S3 versioning).",
    )
    parser.add_argument("--env", required=True, help="environment, e.g. dev")
    parser.add_argument("--component", required=True, help="component, i.e. the root terraform/<component>")
    parser.add_argument(
        "--version-id",
        required=True,
        help=f'S3 version id of the state object to restore, or "{PREVIOUS}" (the one before the current)',
    )
    parser.add_argument(
        "--ignore-lock",
        action="store_true",
        help="proceed although the state lock object exists (only when its holder is known to be gone)",
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would happen; change nothing")
    parser.add_argument(
        "--history", type=int, default=DEFAULT_HISTORY, help=f"versions to list (default {DEFAULT_HISTORY})"
    )
    parser.add_argument("--repo-root", type=Path, default=Path(), help="root of the generated repo (default: .)")
    args = parser.parse_args(list(argv))
    if args.history < 1:
        parser.error("--history must be at least 1")
    if not args.version_id.strip():
        parser.error("--version-id must not be empty")
    return args


def read_spec(root: Path) -> Mapping[str, Any]:
    """The ``spec`` answer bbws-gen recorded in the repo: which environments and components exist."""
    path = root / ANSWERS_FILE
    try:
        answers = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror}; run from a generated repo's root or pass --repo-root"
        ) from None
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from None
    spec = answers.get("spec") if isinstance(answers, dict) else None
    if not isinstance(spec, dict):
        raise UsageError(f"{path} has no 'spec' mapping; is this a repo generated by bbws-gen?")
    return spec


def _names(spec: Mapping[str, Any], section: str) -> list[str]:
    return [str(item["name"]) for item in spec.get(section, [])]


def check_target(spec: Mapping[str, Any], env: str, component: str) -> None:
    """Reject an environment or component this repo does not have (a usage error)."""
    envs, components = _names(spec, "environments"), _names(spec, "components")
    if env not in envs:
        raise UsageError(f"unknown environment '{env}'; this repo has: {', '.join(envs)}")
    if component not in components:
        raise UsageError(f"unknown component '{component}'; this repo has: {', '.join(components)}")


def _hcl_value(raw: str) -> str | bool:
    raw = raw.strip()
    if raw.startswith('"'):
        # HCL string escapes are a superset of what .tfbackend files use; JSON's cover those.
        value = json.loads(raw)
        if not isinstance(value, str):
            raise ValueError(raw)
        return value
    if raw in ("true", "false"):
        return raw == "true"
    return raw


def read_backend(root: Path, env: str, component: str) -> Backend:
    """Bucket, key, region and encryption of the state, from ``terraform/C/backend/ENV.tfbackend``."""
    path = root / "terraform" / component / "backend" / f"{env}.tfbackend"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Refused(f"cannot read the backend file {path}: {exc.strerror}") from None
    values: dict[str, str | bool] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "//")):
            continue
        name, sep, raw = stripped.partition("=")
        if not sep:
            raise Refused(f"{path}:{number}: expected 'name = value', got {stripped!r}")
        try:
            values[name.strip()] = _hcl_value(raw)
        except ValueError:
            raise Refused(f"{path}:{number}: cannot read the value {raw.strip()!r}") from None
    missing = [n for n in ("bucket", "key", "region") if not isinstance(values.get(n), str)]
    if missing:
        raise Refused(f"{path}: missing {', '.join(missing)}")
    kms = values.get("kms_key_id")
    return Backend(
        bucket=str(values["bucket"]),
        key=str(values["key"]),
        region=str(values["region"]),
        encrypt=values.get("encrypt") is True,
        kms_key_id=kms if isinstance(kms, str) else None,
        file=path,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def list_versions(s3: Any, backend: Backend) -> tuple[list[Version], bool]:
    """Versions of the state object, newest first, and whether a delete marker is the newest entry."""
    versions: list[Version] = []
    deleted = False
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=backend.bucket, Prefix=backend.key):
        # The prefix also matches <key>.tflock and <key>.pre-rollback/...; only the key itself counts.
        for item in page.get("Versions", []):
            if item["Key"] == backend.key:
                versions.append(
                    Version(item["VersionId"], item["LastModified"], int(item["Size"]), bool(item["IsLatest"]))
                )
        deleted = deleted or any(m["Key"] == backend.key and m["IsLatest"] for m in page.get("DeleteMarkers", []))
    # S3 lists the versions of one key newest first; the stable sort keeps that order for equal times.
    versions.sort(key=lambda v: v.last_modified, reverse=True)
    latest = [v for v in versions if v.is_latest]
    if latest and versions[0] is not latest[0]:
        # Same-second timestamps can tie; the IsLatest flag is authoritative for the current one.
        versions.remove(latest[0])
        versions.insert(0, latest[0])
    return versions, deleted


def read_content(s3: Any, backend: Backend, version_id: str) -> tuple[bytes, StateContent]:
    """The bytes of one version and the serial and lineage in them (None where not a Terraform state)."""
    body: bytes = s3.get_object(Bucket=backend.bucket, Key=backend.key, VersionId=version_id)["Body"].read()
    serial: int | None = None
    lineage: str | None = None
    try:
        state = json.loads(body)
    except ValueError:
        state = None
    if isinstance(state, dict):
        serial = state["serial"] if isinstance(state.get("serial"), int) else None
        lineage = state["lineage"] if isinstance(state.get("lineage"), str) else None
    return body, StateContent(serial, lineage, hashlib.sha256(body).hexdigest())


def read_lock(s3: Any, backend: Backend) -> dict[str, Any] | None:
    """Terraform's lock info (ID, Operation, Who, Created, ...) when the lock object exists, else None."""
    try:
        body = s3.get_object(Bucket=backend.bucket, Key=backend.lock_key)["Body"].read()
    except ClientError as exc:
        if _code(exc) in _MISSING:
            return None
        raise
    try:
        info = json.loads(body)
    except ValueError:
        info = None
    # A lock we cannot parse is still a lock: report what is known rather than ignoring it.
    return info if isinstance(info, dict) else {"ID": "?", "Who": "unknown (unreadable lock file)"}


def describe_lock(backend: Backend, info: Mapping[str, Any]) -> str:
    """One line saying which lock object exists and who holds it."""
    return (
        f"s3://{backend.bucket}/{backend.lock_key} is held by {info.get('Who', 'unknown')} "
        f"(operation {info.get('Operation', 'unknown')}, created {info.get('Created', 'unknown')}, "
        f"lock id {info.get('ID', 'unknown')})"
    )


def acquire_lock(s3: Any, backend: Backend, target: str) -> str:
    """Take Terraform's S3 lock the way Terraform does (create-if-absent), so no apply runs meanwhile."""
    lock_id = str(uuid.uuid4())
    info = {
        "ID": lock_id,
        "Operation": "state_rollback",
        "Info": f"scripts/state_rollback.py restoring version {target}",
        "Who": f"{getpass.getuser()}@{socket.gethostname()}",
        "Version": "",
        "Created": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "Path": f"{backend.bucket}/{backend.key}",
    }
    try:
        s3.put_object(
            Bucket=backend.bucket,
            Key=backend.lock_key,
            Body=json.dumps(info).encode(),
            ContentType="application/json",
            IfNoneMatch="*",
            **backend.sse(),
        )
    except ClientError as exc:
        if _code(exc) in ("PreconditionFailed", "412", "ConditionalRequestConflict"):
            holder = read_lock(s3, backend) or {}
            raise Refused(f"the state was locked meanwhile: {describe_lock(backend, holder)}") from None
        raise
    return lock_id


def release_lock(s3: Any, backend: Backend, lock_id: str) -> None:
    """Delete the lock object, but only while it is still ours."""
    info = read_lock(s3, backend)
    if info is not None and info.get("ID") == lock_id:
        s3.delete_object(Bucket=backend.bucket, Key=backend.lock_key)


def _short(value: str | None, width: int) -> str:
    if value is None:
        return "-"
    return value if len(value) <= width else value[: width - 1] + "~"


def print_table(versions: Sequence[Version], contents: Mapping[str, StateContent], target: str | None) -> None:
    """The version history: id, time, size, serial and lineage; current and target marked."""
    header = f"   {'VERSION ID':<36} {'LAST MODIFIED (UTC)':<20} {'SIZE':>8} {'SERIAL':>6}  LINEAGE"
    print(header)
    for v in versions:
        content = contents.get(v.version_id)
        mark = ("*" if v.is_latest else " ") + (">" if v.version_id == target else " ")
        when = v.last_modified.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        serial = "-" if content is None or content.serial is None else str(content.serial)
        lineage = "-" if content is None else _short(content.lineage, 36)
        print(f"{mark} {_short(v.version_id, 36):<36} {when:<20} {v.size:>8} {serial:>6}  {lineage}")
    print("   (* current version, > version to restore)")


def choose(versions: Sequence[Version], wanted: str, backend: Backend) -> Version:
    """The version named by ``--version-id``: an exact id, or the one just before the current one."""
    if wanted == PREVIOUS:
        if not versions or not versions[0].is_latest:
            raise Refused(f"{backend.url} has no current version, so 'previous' means nothing; name a version id")
        if len(versions) < 2:
            raise Refused(f"{backend.url} has only one version; there is nothing older to restore")
        return versions[1]
    for v in versions:
        if v.version_id == wanted:
            return v
    raise Refused(f"{backend.url} has no version '{wanted}'; pick one from the list above")


def rollback(args: argparse.Namespace) -> int:
    """Everything after argument parsing; raises Refused/UsageError or returns the exit code."""
    root: Path = args.repo_root
    spec = read_spec(root)
    check_target(spec, args.env, args.component)
    backend = read_backend(root, args.env, args.component)
    s3 = boto3.client("s3", region_name=backend.region)

    versions, deleted = list_versions(s3, backend)
    if not versions:
        raise Refused(f"{backend.url} has no versions: is the bucket versioned and the component deployed?")
    current = versions[0] if versions[0].is_latest and not deleted else None
    target = choose(versions, args.version_id, backend)

    shown = list(versions[: args.history])
    contents: dict[str, StateContent] = {}
    for v in {*shown, target, *([current] if current else [])}:
        contents[v.version_id] = read_content(s3, backend, v.version_id)[1]
    print(f"Versions of {backend.url} (newest first, from {backend.file}):")
    print_table(shown, contents, target.version_id)
    if len(versions) > len(shown):
        print(f"   ... {len(versions) - len(shown)} older versions not shown (--history N shows more)")
    if target not in shown:
        print_table([target], contents, target.version_id)

    lock = read_lock(s3, backend)
    if lock is not None and not args.ignore_lock:
        raise Refused(
            f"the state is locked: {describe_lock(backend, lock)}. Wait until that run ends. Only if it died "
            f"and nothing runs, rerun with --ignore-lock (workflow input ignore_lock), then release the lock "
            f"with: terraform -chdir=terraform/{args.component} force-unlock {lock.get('ID', '<ID>')}"
        )
    if lock is not None:
        print(f"WARNING: ignoring the lock: {describe_lock(backend, lock)}")

    if current is None:
        print(f"WARNING: {backend.url} is deleted (a delete marker is its newest version); no lineage check.")
    elif target.version_id == current.version_id:
        print(f"Version {target.version_id} is already the current state; nothing to do.")
        return 0
    else:
        want, have = contents[target.version_id], contents[current.version_id]
        if want.lineage is None or want.lineage != have.lineage:
            raise Refused(
                f"version {target.version_id} has lineage {want.lineage or '(none)'} but the current state has "
                f"{have.lineage or '(none)'}: that is a different state, not an earlier version of this one"
            )

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    backup_key = f"{backend.key}{BACKUP_SUFFIX}/{stamp}-{current.version_id}.tfstate" if current else None
    serial_note = ""
    if current is not None:
        serial_note = f" (serial {contents[current.version_id].serial} -> {contents[target.version_id].serial})"
    print(f"Current version: {current.version_id if current else '(deleted)'}")
    print(f"Restore version: {target.version_id}{serial_note}")

    if args.dry_run:
        if backup_key:
            print(f"DRY RUN: would copy the current version to s3://{backend.bucket}/{backup_key}")
        print(f"DRY RUN: would copy version {target.version_id} over {backend.url}; nothing was changed.")
        return 0

    lock_id = None if lock is not None else acquire_lock(s3, backend, target.version_id)
    try:
        if current is not None and backup_key is not None:
            # An apply may have written the state between the listing above and taking the lock.
            latest = str(s3.head_object(Bucket=backend.bucket, Key=backend.key).get("VersionId"))
            if latest != current.version_id:
                raise Refused(f"{backend.url} changed while this ran (now version {latest}); run it again")
            s3.copy_object(
                Bucket=backend.bucket,
                Key=backup_key,
                CopySource={"Bucket": backend.bucket, "Key": backend.key, "VersionId": current.version_id},
                **backend.sse(),
            )
            print(f"Saved the current state to s3://{backend.bucket}/{backup_key}")
        copied = s3.copy_object(
            Bucket=backend.bucket,
            Key=backend.key,
            CopySource={"Bucket": backend.bucket, "Key": backend.key, "VersionId": target.version_id},
            **backend.sse(),
        )
        # Read back what is now current: the rollback only counts if it is exactly the chosen bytes.
        _, now = read_content(s3, backend, str(copied.get("VersionId") or "null"))
        if now.sha256 != contents[target.version_id].sha256:
            raise Refused(f"the copy of version {target.version_id} differs from it (sha256 {now.sha256})")
    finally:
        if lock_id is not None:
            release_lock(s3, backend, lock_id)

    print(f"Restored version {target.version_id} as the new current version {copied.get('VersionId')}.")
    if current is not None:
        print(
            f"To undo: python scripts/state_rollback.py --env {args.env} --component {args.component} "
            f"--version-id {current.version_id}"
        )
    if lock is not None:
        print(
            f"The ignored lock is still there; release it: terraform -chdir=terraform/{args.component} "
            f"force-unlock {lock.get('ID', '<ID>')}"
        )
    print("Next step (the rollback workflow runs it): review what the code now changes against this state:")
    print(f"  terraform -chdir=terraform/{args.component} init -backend-config=backend/{args.env}.tfbackend")
    print(f"  terraform -chdir=terraform/{args.component} plan -var-file=../../environments/{args.env}.tfvars")
    print("  (add -refresh-only to see what the real resources have that the restored state does not)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: 0 done, 1 refused or failed, 2 bad usage."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return rollback(args)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"state_rollback.py: error: {exc}", file=sys.stderr)
        return 2
    except Refused as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return 1
    except ClientError as exc:
        print(f"FAILED: AWS said {_code(exc)}: {exc}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"FAILED: {exc} (check AWS credentials, region and endpoint)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
