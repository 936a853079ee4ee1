"""Both repos' bootstrap/ roots applied for real: terraform + moto server on 127.0.0.1, dev and prod.

As the first-deployment runbook does it. dev is an empty account: the DynamoDB repo's bootstrap runs
first with local state, creating the GitHub OIDC provider and the state bucket, then moves its state
into that bucket; the S3 repo's bootstrap then uses the S3 backend directly with both switches off.
prod already has its state bucket: both bootstraps use the S3 backend from the start, the DynamoDB
one creating the OIDC provider. A
second plan of each is empty, and the roles in IAM carry exactly the subjects and policies of
bootstrap/policies/<env>.json (which tests/test_trust.py proves safe against the workflows).

The state bucket's TLS-only policy applies as generated: the emulator speaks HTTPS and evaluates
``aws:SecureTransport`` (tests/support/emulator.py), so the S3 backend works under it as it does in AWS.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPOS
from tests.support import tf
from tests.support.deploy import PROVIDER_OVERRIDE, create_state_bucket, read_spec
from tests.support.emulator import DEFAULT_REGION_SETTINGS
from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

FIRST = REPOS / "2_1_bbws_dynamodb_schemas"
SECOND = REPOS / "2_1_bbws_s3_schemas"
LOCAL_STATE = 'terraform {\n  backend "local" {}\n}\n'
ACCOUNT_PIECES = ["-var=create_github_oidc_provider=true", "-var=create_state_bucket=true"]


def _env(repo: Path, name: str) -> dict[str, Any]:
    return next(e for e in read_spec(repo)["environments"] if e["name"] == name)


class Bootstrap:
    """A copy of one repo's bootstrap root, run against one moto server."""

    def __init__(self, source: Path, workdir: Path, env: str, server: MotoServer) -> None:
        self.root = workdir / source.name / "bootstrap"
        shutil.copytree(source / "bootstrap", self.root)
        shutil.copytree(source / "environments", self.root.parent / "environments")
        (self.root / "emulator_override.tf").write_text(PROVIDER_OVERRIDE.split("\n\n")[0] + "\n")
        self.env = env
        self.server = server
        self.tf_env = {**server.env(), "TF_CLI_CONFIG_FILE": str(tf.cli_config(workdir))}
        self.policies = json.loads((self.root / "policies" / f"{env}.json").read_text())
        self.variables: list[str] = []

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        return tf.run(list(args), self.root, self.tf_env, ok=ok).stdout

    def init_s3(self, *extra: str) -> None:
        self.run("init", f"-backend-config=backend/{self.env}.tfbackend", "-backend-config=use_path_style=true", *extra)

    def apply(self, *variables: str) -> None:
        self.run("apply", "-auto-approve", f"-var-file=../environments/{self.env}.tfvars", *variables)

    def plan_exit_code(self, *variables: str) -> int:
        args = ("plan", "-detailed-exitcode", f"-var-file=../environments/{self.env}.tfvars", *variables)
        return tf.run(list(args), self.root, self.tf_env, ok=(0, 2)).returncode


def _bootstrap_account(workdir: Path, env: str) -> Iterator[tuple[MotoServer, Bootstrap, Bootstrap]]:
    """dev: the empty-account path (local first run creating provider and bucket, state migrated).
    prod: the bucket exists already (as where a platform team made it), only the OIDC provider is new.
    """
    spec = _env(FIRST, env)
    with moto_server(spec["account_id"], spec["region"], workdir / "moto.log") as server:
        first = Bootstrap(FIRST, workdir, env, server)
        second = Bootstrap(SECOND, workdir, env, server)
        if env == "dev":
            first.variables = ACCOUNT_PIECES
            (first.root / "local_backend_override.tf").write_text(LOCAL_STATE)
            first.run("init")
            first.apply(*first.variables)
            (first.root / "local_backend_override.tf").unlink()
            first.init_s3("-migrate-state", "-force-copy")
            second.init_s3()
            second.apply()
        else:
            first.variables = ACCOUNT_PIECES[:1]
            create_state_bucket(server, spec["state_bucket"])
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda b: (b.init_s3(), b.apply(*b.variables)), (first, second)))
        yield server, first, second


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[MotoServer, Bootstrap, Bootstrap]]]:
    """dev and prod bootstrapped in parallel, each in a fresh moto server for its account."""
    contexts = {env: _bootstrap_account(tmp_path_factory.mktemp(f"bootstrap-{env}"), env) for env in ("dev", "prod")}
    with ThreadPoolExecutor(max_workers=2) as pool:
        ready = dict(zip(contexts, pool.map(next, contexts.values()), strict=True))
    yield ready
    for context in contexts.values():
        context.close()


def test_second_plans_are_empty(accounts: dict[str, tuple[MotoServer, Bootstrap, Bootstrap]]) -> None:
    roots = [b for _, first, second in accounts.values() for b in (first, second)]
    with ThreadPoolExecutor(max_workers=len(roots)) as pool:
        codes = dict(
            zip(
                (f"{b.root.parent.name} {b.env}" for b in roots),
                pool.map(lambda b: b.plan_exit_code(*b.variables), roots),
                strict=True,
            )
        )
    assert codes == dict.fromkeys(codes, 0)


def test_state_moved_into_the_bucket_it_created(accounts: dict[str, tuple[MotoServer, Bootstrap, Bootstrap]]) -> None:
    server, first, _ = accounts["dev"]
    s3 = server.client("s3")
    bucket = first.policies["state_bucket"]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert {f"{FIRST.name}/bootstrap/terraform.tfstate", f"{SECOND.name}/bootstrap/terraform.tfstate"} <= keys
    access = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(access.values())
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rules[0]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    state = json.loads(s3.get_object(Bucket=bucket, Key=f"{FIRST.name}/bootstrap/terraform.tfstate")["Body"].read())
    managed = {(r["type"], r["name"]) for r in state["resources"] if r["mode"] == "managed"}
    assert {
        ("aws_s3_bucket", "state"),
        ("aws_iam_openid_connect_provider", "github"),
        ("aws_iam_role", "github"),
    } <= managed


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_roles_in_iam_are_exactly_the_policy_files(
    accounts: dict[str, tuple[MotoServer, Bootstrap, Bootstrap]], env: str
) -> None:
    server, first, second = accounts[env]
    iam = server.client("iam")
    providers = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    provider_arn = f"arn:aws:iam::{server.account_id}:oidc-provider/token.actions.githubusercontent.com"
    assert [p["Arn"] for p in providers] == [provider_arn]
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider_arn)["ClientIDList"] == [
        "sts.amazonaws.com"
    ]
    for bootstrap in (first, second):
        for purpose, role in bootstrap.policies["roles"].items():
            assert role["name"].endswith(f"-{purpose}-{env}")
            found = iam.get_role(RoleName=role["name"])["Role"]
            (statement,) = found["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
            assert statement["Principal"] == {"Federated": provider_arn}
            equals = statement["Condition"]["StringEquals"]
            assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
            subjects = equals["token.actions.githubusercontent.com:sub"]
            assert sorted([subjects] if isinstance(subjects, str) else subjects) == sorted(role["subjects"])
            assert set(statement["Condition"]) == {"StringEquals"}
            inline = iam.get_role_policy(RoleName=role["name"], PolicyName="least-privilege")
            assert inline["PolicyDocument"] == role["policy"]
            tags = {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["name"])["Tags"]}
            assert tags["Component"] == "bootstrap" and tags["Environment"] == env


def test_state_bucket_policy_is_tls_only(accounts: dict[str, tuple[MotoServer, Bootstrap, Bootstrap]]) -> None:
    """The real root's TLS-only Deny, applied to the state bucket the S3 backend then used (over HTTPS)."""
    server, first, _ = accounts["dev"]
    s3 = server.client("s3")
    bucket = first.policies["state_bucket"]
    body = s3.get_object(Bucket=bucket, Key=f"{FIRST.name}/bootstrap/terraform.tfstate")["Body"]
    state = json.loads(body.read())
    (document,) = [r for r in state["resources"] if r["mode"] == "data" and r["name"] == "state"]
    computed = json.loads(document["instances"][0]["attributes"]["json"])
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == computed
    (deny,) = computed["Statement"]
    arn = f"arn:aws:s3:::{bucket}"
    assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
    assert sorted(deny["Resource"]) == [arn, f"{arn}/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_dynamodb_bootstrap_turns_on_advanced_dynamodb_backup(
    accounts: dict[str, tuple[MotoServer, Bootstrap, Bootstrap]], env: str
) -> None:
    """AWS Backup's region settings, an account setting no pipeline role may change, set by the bootstrap:
    DynamoDB opted in and managed by AWS Backup (what the DR copy needs), every other service as it was."""
    server, first, _ = accounts[env]
    settings = server.client("backup").describe_region_settings()
    defaults = DEFAULT_REGION_SETTINGS
    assert settings["ResourceTypeOptInPreference"] == {**defaults["ResourceTypeOptInPreference"], "DynamoDB": True}
    assert settings["ResourceTypeManagementPreference"] == {
        **defaults["ResourceTypeManagementPreference"],
        "DynamoDB": True,
    }
    state = json.loads(first.run("show", "-json"))
    managed = {r["address"] for r in state["values"]["root_module"]["resources"] if r["mode"] == "managed"}
    assert "aws_backup_region_settings.this" in managed
