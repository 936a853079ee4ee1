"""The tests' emulator itself (tests/support/emulator.py): moto's server over HTTPS, with ``Bool`` on
``aws:SecureTransport`` in bucket policies, read from the request.

Two real servers, one plain HTTP and one HTTPS, each given the same bucket policies; object requests
through boto3 show what each lets through.
"""

from __future__ import annotations

import itertools
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPOS
from tests.support import emulator_gaps
from tests.support.deploy import prepare
from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
REGION = "af-south-1"
_names = itertools.count()


def _deny(condition: dict[str, Any] | None, action: str = "s3:*", effect: str = "Deny") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Principal": "*", "Action": action, "Resource": "BUCKET"}
    if condition is not None:
        statement["Condition"] = condition
    return statement


# The generated buckets' statement, as terraform renders aws_iam_policy_document (terraform/templates/main.tf).
TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["BUCKET_ARN", "BUCKET"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


@pytest.fixture(scope="module", params=["https", "http"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    log = tmp_path_factory.mktemp(f"emulator-{request.param}") / "moto.log"
    with moto_server(ACCOUNT, REGION, log, tls=request.param == "https") as started:
        assert started.endpoint.startswith(f"{request.param}://")
        yield started


def _bucket_with(server: MotoServer, *statements: dict[str, Any]) -> tuple[Any, str]:
    """A new bucket holding object ``k``, then given a policy of ``statements``; (client, bucket)."""
    s3 = server.client("s3")
    bucket = f"emulator-test-{next(_names)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket=bucket, Key="k", Body=b"before the policy")
    arn = f"arn:aws:s3:::{bucket}"
    document = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    document = document.replace('"BUCKET_ARN"', f'"{arn}"').replace('"BUCKET"', f'"{arn}/*"')
    s3.put_bucket_policy(Bucket=bucket, Policy=document)
    return s3, bucket


def _allowed(s3: Any, bucket: str) -> dict[str, bool]:
    """Which of PutObject and GetObject the server lets through (a 403 is a no)."""
    outcome = {}
    calls: list[tuple[str, Callable[[], object]]] = [
        ("put", lambda: s3.put_object(Bucket=bucket, Key="new", Body=b"x")),
        ("get", lambda: s3.get_object(Bucket=bucket, Key="k")),
    ]
    for name, call in calls:
        try:
            call()
            outcome[name] = True
        except s3.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403, error.response
            outcome[name] = False
    return outcome


def _tls(server: MotoServer) -> bool:
    return server.endpoint.startswith("https://")


def test_tls_only_deny_refuses_plain_http_and_lets_https_through(server: MotoServer) -> None:
    s3, bucket = _bucket_with(server, TLS_ONLY)
    secure = _tls(server)
    assert _allowed(s3, bucket) == {"put": secure, "get": secure}


def test_the_transport_is_read_from_the_request(server: MotoServer) -> None:
    """A Deny on ``aws:SecureTransport`` true refuses HTTPS only: the value is the request's, not a constant."""
    s3, bucket = _bucket_with(server, _deny({"Bool": {"aws:SecureTransport": ["true"]}}))
    secure = _tls(server)
    assert _allowed(s3, bucket) == {"put": not secure, "get": not secure}


def test_an_unconditional_deny_still_denies(server: MotoServer) -> None:
    s3, bucket = _bucket_with(server, TLS_ONLY, _deny(None, action="s3:GetObject"))
    assert _allowed(s3, bucket) == {"put": _tls(server), "get": False}


def test_a_statement_whose_condition_is_not_met_does_not_apply(server: MotoServer) -> None:
    """An Allow for plain HTTP only does not deny HTTPS requests (stock moto 5.2.5 answers DENIED for it)."""
    s3, bucket = _bucket_with(server, _deny({"Bool": {"aws:SecureTransport": "false"}}, effect="Allow"))
    assert _allowed(s3, bucket) == {"put": True, "get": True}


def test_other_conditions_count_as_met(server: MotoServer) -> None:
    """The gap the extension leaves (emulator_gaps.CONDITIONS): a Deny on a key moto cannot know applies."""
    assert "aws:SecureTransport" in emulator_gaps.CONDITIONS.what
    s3, bucket = _bucket_with(server, _deny({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}, "s3:PutObject"))
    assert _allowed(s3, bucket) == {"put": False, "get": True}


def test_server_certificate_is_trusted_only_through_the_bundle(server: MotoServer) -> None:
    """Clients trust the server through MotoServer.env()'s bundle, never by turning verification off."""
    env = server.env()
    if not _tls(server):
        assert server.ca_bundle is None and "AWS_CA_BUNDLE" not in env
        return
    assert {env[name] for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")} == {str(server.ca_bundle)}
    trusted = ssl.create_default_context(cafile=env["AWS_CA_BUNDLE"])
    urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=5, context=trusted).close()
    # The system's CAs alone do not trust it.
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(f"{server.endpoint}/moto-api/", timeout=5, context=ssl.create_default_context())


def test_no_override_may_replace_a_bucket_policy(tmp_path: Path) -> None:
    """The e2e tests' override files cannot swap a generated bucket policy (it applies as generated)."""
    nowhere = MotoServer("https://127.0.0.1:9", ACCOUNT, REGION)
    placeholder = 'resource "aws_s3_bucket_policy" "this" {\n  count = 0\n}\n'
    with pytest.raises(ValueError, match="templates replaces a bucket policy"):
        prepare(REPOS / "2_1_bbws_s3_schemas", tmp_path, "dev", nowhere, {"templates": placeholder})
    assert not (tmp_path / "repo").exists(), "refused before anything is copied"


def test_backup_region_settings_as_aws_keeps_them(server: MotoServer) -> None:
    """emulator_gaps.BACKUP_REGION_SETTINGS_AND_VAULT_POLICY: the emulator answers AWS Backup's region settings,
    one per account and region, starting from an account's defaults; an update changes only what it names."""
    backup = server.client("backup", region="eu-central-1")  # a region no other test of this server uses
    before = backup.describe_region_settings()
    assert before["ResourceTypeManagementPreference"] == {"DynamoDB": False, "EFS": True}
    backup.update_region_settings(ResourceTypeManagementPreference={"DynamoDB": True})
    after = backup.describe_region_settings()
    assert after["ResourceTypeManagementPreference"] == {"DynamoDB": True, "EFS": True}
    assert after["ResourceTypeOptInPreference"] == before["ResourceTypeOptInPreference"]
    other = server.client("backup", region="eu-north-1").describe_region_settings()
    assert other["ResourceTypeManagementPreference"]["DynamoDB"] is False, "another region keeps its own"


def _as_attempt(client: Any, invocation: str, attempt: int) -> None:
    """Make ``client``'s next calls attempt ``attempt`` of the SDK call ``invocation`` (as a retry sends them)."""

    def headers(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = invocation
        request.headers["amz-sdk-request"] = f"attempt={attempt}; max=5"

    client.meta.events.register_first("before-send.dynamodb.*", headers)


def test_a_retried_call_whose_answer_was_lost_gets_that_answer(server: MotoServer) -> None:
    # The promotion rehearsal's prod apply failed once: moto made the table, its answer was lost with the
    # connection, and the SDK's retry of the same call met ResourceInUseException.
    table = {
        "TableName": "replayed",
        "KeySchema": [{"AttributeName": "PK", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "PK", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST",
    }
    first, retry, other = (server.client("dynamodb") for _ in range(3))
    _as_attempt(first, "call-1", 1)
    _as_attempt(retry, "call-1", 2)
    _as_attempt(other, "call-2", 1)
    made = first.create_table(**table)["TableDescription"]
    assert retry.create_table(**table)["TableDescription"] == made, "the retry gets the first attempt's answer"
    with pytest.raises(Exception, match="ResourceInUseException"):
        other.create_table(**table)  # another call is served as moto serves it
    assert server.client("dynamodb").list_tables()["TableNames"].count("replayed") == 1
    server.client("dynamodb").delete_table(TableName="replayed")
