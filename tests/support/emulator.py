"""The tests' moto server: moto's own server, over TLS, with two extensions: S3 bucket-policy conditions
and AWS Backup's region settings; and a retried call whose answer was lost is answered again
(tests/support/emulator_replay.py).

Run as ``python -m tests.support.emulator [moto.server arguments]`` (``--ssl-cert``/``--ssl-key`` for HTTPS);
with ``BBWS_EMULATOR_BACKUP=1`` in its environment it also answers the AWS Backup calls moto lacks
(tests/support/emulator_backup.py, opt-in).

moto 5.2.5 evaluates a bucket policy's ``Condition`` only with ``StringEquals`` against values it never
has for S3 requests, and counts every other operator as met (see tests/support/emulator_gaps.py,
``CONDITIONS``). The generated buckets' TLS-only Deny (``Bool`` ``aws:SecureTransport`` ``false``) would
then deny every object request. This module gives S3 what AWS does for that statement: ``Bool`` on
``aws:SecureTransport``, read from the request (true when it came over TLS), and a statement whose
condition is not met does not apply (moto answers DENIED for it, whatever its effect). Action, principal
and resource matching stay moto's. Only ``FakeBucket.get_permission`` is replaced, the one call through
which moto's S3 consults a bucket policy; nothing of this reaches shipped code.

moto 5.2.5 has no AWS Backup region settings at all (emulator_gaps.BACKUP_REGION_SETTINGS_AND_VAULT_POLICY:
HTTP 404), which the DynamoDB repo's bootstrap sets and adopts. ``RegionSettingsResponse`` answers
DescribeRegionSettings and UpdateRegionSettings (``/account-settings``) from memory, one setting per account
and region as in AWS: an account that predates the advanced DynamoDB features (DynamoDB not managed by AWS
Backup, S3 not opted in), and an update changes the services it names and keeps the others.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from moto.backup.responses import BackupResponse
from moto.iam.access_control import IAMPolicyStatement, PermissionResult

from tests.support import emulator_replay

# Whether the request being served came over TLS; set per request by the WSGI wrapper below (werkzeug's
# threaded server serves each request in its own thread, so each has its own context).
SECURE_TRANSPORT: ContextVar[bool] = ContextVar("secure_transport", default=False)

# Set to "1" in the server's environment: the AWS Backup calls moto lacks (tests/support/emulator_backup.py).
BACKUP_SWITCH = "BBWS_EMULATOR_BACKUP"

# The only condition this extension evaluates; every other one is left as moto 5.2.5 treats it: met.
SECURE_TRANSPORT_KEY = "aws:securetransport"


def _condition_met(operator: str, values: Mapping[str, Any], secure: bool) -> bool:
    """One operator block of a ``Condition``; keys are case-insensitive, as in IAM."""
    for key, expected in values.items():
        if operator != "Bool" or key.lower() != SECURE_TRANSPORT_KEY:
            continue  # not evaluated: met, as moto 5.2.5 counts it (emulator_gaps.CONDITIONS)
        allowed = expected if isinstance(expected, list) else [expected]
        if str(secure).lower() not in {str(value).lower() for value in allowed}:
            return False
    return True


def statement_result(statement: Mapping[str, Any], action: str, resource: str, secure: bool) -> PermissionResult:
    """A statement's verdict: NEUTRAL when its condition is not met, else moto's matching without it."""
    conditions: Mapping[str, Mapping[str, Any]] = statement.get("Condition") or {}
    if not all(_condition_met(operator, values, secure) for operator, values in conditions.items()):
        return PermissionResult.NEUTRAL
    unconditioned = {key: value for key, value in statement.items() if key != "Condition"}
    result: PermissionResult = IAMPolicyStatement(unconditioned).is_action_permitted(action, resource)
    return result


def policy_result(policy: Mapping[str, Any], action: str, resource: str, secure: bool) -> PermissionResult:
    """A bucket policy's verdict: an explicit Deny wins, then any Allow, else NEUTRAL (as moto combines)."""
    statements = policy["Statement"]
    results = [
        statement_result(s, action, resource, secure)
        for s in (statements if isinstance(statements, list) else [statements])
    ]
    if PermissionResult.DENIED in results:
        return PermissionResult.DENIED
    return PermissionResult.PERMITTED if PermissionResult.PERMITTED in results else PermissionResult.NEUTRAL


def _get_permission(bucket: Any, action: str, resource: str) -> PermissionResult:
    """Replacement for ``moto.s3.models.FakeBucket.get_permission``, same signature."""
    if bucket.policy is None:
        return PermissionResult.NEUTRAL
    return policy_result(json.loads(bucket.policy.decode()), action, resource, SECURE_TRANSPORT.get())


# AWS Backup's defaults for an account that began before the advanced DynamoDB features (November 2021).
DEFAULT_REGION_SETTINGS: Mapping[str, Mapping[str, bool]] = {
    "ResourceTypeOptInPreference": {
        "Aurora": True,
        "DynamoDB": True,
        "EBS": True,
        "EC2": True,
        "EFS": True,
        "S3": False,
    },
    "ResourceTypeManagementPreference": {"DynamoDB": False, "EFS": True},
}
_REGION_SETTINGS: dict[tuple[str, str], dict[str, dict[str, bool]]] = {}


class RegionSettingsResponse(BackupResponse):
    """DescribeRegionSettings and UpdateRegionSettings, which moto's BackupResponse lacks (kept unchanged)."""

    def _settings(self) -> dict[str, dict[str, bool]]:
        fresh = {key: dict(value) for key, value in DEFAULT_REGION_SETTINGS.items()}
        return _REGION_SETTINGS.setdefault((self.current_account, self.region), fresh)

    def describe_region_settings(self) -> str:
        return json.dumps(self._settings())

    def update_region_settings(self) -> str:
        request = json.loads(self.body or "{}")
        settings = self._settings()
        for key, current in settings.items():
            current.update(request.get(key) or {})
        return "{}"


def install() -> None:
    """Patch moto's S3 bucket-policy evaluation in this process, and its app to note each request's transport;
    route AWS Backup's region settings to ``RegionSettingsResponse`` (before moto builds its app)."""
    from moto.backup.urls import url_paths
    from moto.s3.models import FakeBucket

    FakeBucket.get_permission = _get_permission  # type: ignore[method-assign,assignment]
    url_paths["{0}/account-settings$"] = RegionSettingsResponse.dispatch
    _install_transport()
    emulator_replay.install()  # outermost: a replayed answer needs nothing below it


def _install_transport() -> None:
    """Make moto's WSGI app set SECURE_TRANSPORT for the request it serves (TLS: ``https`` scheme)."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    serve = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        token = SECURE_TRANSPORT.set(environ.get("wsgi.url_scheme") == "https")
        try:
            answer: Iterable[bytes] = serve(self, environ, start_response)  # moto answers in full here
            return answer
        finally:
            SECURE_TRANSPORT.reset(token)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    """``moto.server``'s own main (same arguments), with the extension installed."""
    import moto.server

    install()
    if os.environ.get(BACKUP_SWITCH) == "1":
        from tests.support import emulator_backup

        emulator_backup.install()
    moto.server.main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
