"""Apply generated Terraform roots to a moto server, the way the pipelines do, with an S3 backend."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import tf
from tests.support.moto import MotoServer

# The emulator speaks path-style S3 only; real AWS needs no such setting, so it lives in a
# test-only override file (terraform merges *_override.tf into the root), never in shipped code.
PROVIDER_OVERRIDE = """\
provider "aws" {
  s3_use_path_style = true
}

provider "aws" {
  alias             = "dr"
  s3_use_path_style = true
}
"""

# The emulator's gaps in the DynamoDB repo's roots, each an entry of tests/support/emulator_gaps.py
# (tests/e2e/test_dynamodb_apply.py says how each is asserted around): REPLICA_NEVER_ACTIVE, BACKUP_TAGS,
# BACKUP_SELECTION, BACKUP_REGION_SETTINGS_AND_VAULT_POLICY.
NO_REPLICA = "locals {\n  replica_regions = [] # emulator_gaps.REPLICA_NEVER_ACTIVE\n}\n"
BACKUP_TAGS_IGNORED = "".join(
    f'resource "{kind}" "{name}" {{\n  lifecycle {{\n    ignore_changes = [tags, tags_all]\n  }}\n}}\n'
    for kind, name in [("aws_backup_vault", "this"), ("aws_backup_vault", "dr"), ("aws_backup_plan", "this")]
)
NO_SELECTION = 'resource "aws_backup_selection" "tables" {\n  count = 0 # emulator_gaps.BACKUP_SELECTION\n}\n'
# emulator_gaps.BACKUP_REGION_SETTINGS_AND_VAULT_POLICY (the region settings are the bootstrap's, and the
# tests' emulator answers them: tests/support/emulator.py)
_VAULT_POLICY_GAP = "emulator_gaps.BACKUP_REGION_SETTINGS_AND_VAULT_POLICY"
NO_VAULT_POLICY = "".join(
    f'resource "aws_backup_vault_policy" "{name}" {{\n  count = 0 # {_VAULT_POLICY_GAP}\n}}\n'
    for name in ("this", "dr")
)
BACKUP_GAPS = BACKUP_TAGS_IGNORED + NO_SELECTION + NO_VAULT_POLICY


def check_overrides(overrides: Mapping[str, str]) -> None:
    """Refuse emulator overrides that would replace a bucket policy: those apply as generated.

    The emulator evaluates the generated TLS-only Deny (tests/support/emulator.py); a test that needs to
    change a policy is working around a gap that must be listed in tests/support/emulator_gaps.py first.
    """
    for component, text in overrides.items():
        if "aws_s3_bucket_policy" in text:
            raise ValueError(f"override for {component} replaces a bucket policy: policies apply as generated")


def dynamodb_overrides(spec: Mapping[str, Any]) -> dict[str, str]:
    """The emulator override text of every component of the DynamoDB repo, by component kind."""
    return {c["name"]: BACKUP_GAPS if c["kind"] == "backup" else NO_REPLICA for c in spec["components"]}


@dataclass(frozen=True)
class Deployment:
    """A copy of a generated repo applied to one environment of a moto server."""

    repo: Path
    env: str
    server: MotoServer
    spec: Mapping[str, Any]
    cli_config: Path

    def tf_env(self) -> dict[str, str]:
        """Environment for terraform runs against the emulator."""
        return {**self.server.env(), "TF_CLI_CONFIG_FILE": str(self.cli_config)}

    def root(self, component: str) -> Path:
        """The Terraform root of ``component``."""
        return self.repo / "terraform" / component

    def plan_exit_code(self, component: str, extra: Sequence[str] = ()) -> tuple[int, str]:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes; with the plan text."""
        result = tf.run(
            ["plan", "-detailed-exitcode", f"-var-file=../../environments/{self.env}.tfvars", *extra],
            self.root(component),
            self.tf_env(),
            ok=(0, 2),
        )
        return result.returncode, result.stdout


def read_spec(repo: Path) -> Mapping[str, Any]:
    """The ``spec`` answer recorded in a generated repo's .copier-answers.yml."""
    answers = yaml.safe_load((repo / ".copier-answers.yml").read_text())
    spec: Mapping[str, Any] = answers["spec"]
    return spec


def copy_repo(source: Path, target: Path) -> Path:
    """Copy a generated repo, leaving out any local terraform working directories."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return target


def create_state_bucket(server: MotoServer, bucket: str) -> None:
    """The state bucket the platform team creates once per account: versioned, so rollback works."""
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": server.region})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def bootstrap_region_settings(backup: Any) -> None:
    """What the DynamoDB bootstrap sets once per account with an administrator's credentials (AWS Backup's
    advanced DynamoDB features, bootstrap/backup_region_settings.tf; applied for real in
    test_bootstrap_apply.py), for runs that deploy the backup root without applying the bootstrap."""
    backup.update_region_settings(
        ResourceTypeOptInPreference={"DynamoDB": True}, ResourceTypeManagementPreference={"DynamoDB": True}
    )


def init(deployment: Deployment, component: str) -> None:
    """``terraform init`` with the repo's backend file for the environment, pointed at the emulator."""
    tf.run(
        [
            "init",
            f"-backend-config=backend/{deployment.env}.tfbackend",
            "-backend-config=use_path_style=true",
            "-reconfigure",
        ],
        deployment.root(component),
        deployment.tf_env(),
    )


def apply(deployment: Deployment, component: str) -> None:
    """Init and apply one component (tests apply without a saved plan; the pipeline uses one)."""
    init(deployment, component)
    tf.run(
        ["apply", "-auto-approve", f"-var-file=../../environments/{deployment.env}.tfvars"],
        deployment.root(component),
        deployment.tf_env(),
    )


def deploy(
    source: Path,
    workdir: Path,
    env: str,
    server: MotoServer,
    overrides: Mapping[str, str],
) -> Deployment:
    """Copy ``source``, add the emulator overrides, create the state bucket, apply every component.

    ``overrides`` maps a component to extra override-file text (emulator gaps, named by the caller).
    Components apply in parallel, as the pipeline's matrix would.
    """
    check_overrides(overrides)
    repo = copy_repo(source, workdir / "repo")
    spec = read_spec(repo)
    env_spec = next(e for e in spec["environments"] if e["name"] == env)
    create_state_bucket(server, env_spec["state_bucket"])
    deployment = Deployment(repo, env, server, spec, tf.cli_config(workdir))
    components = [c["name"] for c in spec["components"]]
    for component in components:
        text = PROVIDER_OVERRIDE + overrides.get(component, "")
        (deployment.root(component) / "emulator_override.tf").write_text(text)
    with ThreadPoolExecutor(max_workers=len(components)) as pool:
        list(pool.map(lambda c: apply(deployment, c), components))
    return deployment


def prepare(
    source: Path,
    workdir: Path,
    env: str,
    server: MotoServer,
    overrides: Mapping[str, str],
) -> Deployment:
    """Everything ``deploy`` does except applying: for tests that apply only the components they need."""
    check_overrides(overrides)
    repo = copy_repo(source, workdir / "repo")
    spec = read_spec(repo)
    env_spec = next(e for e in spec["environments"] if e["name"] == env)
    create_state_bucket(server, env_spec["state_bucket"])
    deployment = Deployment(repo, env, server, spec, tf.cli_config(workdir))
    for component in (c["name"] for c in spec["components"]):
        (deployment.root(component) / "emulator_override.tf").write_text(
            PROVIDER_OVERRIDE + overrides.get(component, "")
        )
    return deployment


def plan_json(deployment: Deployment, component: str, workdir: Path) -> dict[str, Any]:
    """The saved plan of ``component`` as JSON (``terraform show -json``)."""
    plan_file = workdir / f"{component}.tfplan"
    tf.run(
        ["plan", f"-out={plan_file}", f"-var-file=../../environments/{deployment.env}.tfvars"],
        deployment.root(component),
        deployment.tf_env(),
    )
    shown = tf.run(["show", "-json", str(plan_file)], deployment.root(component), deployment.tf_env())
    result: dict[str, Any] = json.loads(shown.stdout)
    return result
