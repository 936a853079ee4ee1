"""The generated S3 repo, applied for real: terraform + S3 backend + moto server on 127.0.0.1.

The bucket policies apply as generated: the emulator speaks HTTPS and evaluates their TLS-only Deny
(tests/support/emulator.py). Emulator gaps (tests/support/emulator_gaps.py), each worked around only in
the test's copy of the root: ``DELETE_MARKER_REPLICATION_DIFF`` (an override file ignores changes to the
replication rule; the configuration itself is checked through the S3 API) and ``NO_REPLICATION``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPOS
from tests.support import tf
from tests.support.deploy import Deployment, deploy, plan_json, read_spec
from tests.support.moto import moto_server

pytestmark = pytest.mark.e2e

REPO = REPOS / "2_1_bbws_s3_schemas"
SPEC = read_spec(REPO)
COMPONENT = SPEC["templates_purpose"]
BUCKET = next(b for b in SPEC["buckets"] if b["purpose"] == COMPONENT)

REPLICATION_RULE_IGNORED = """resource "aws_s3_bucket_replication_configuration" "this" {
  lifecycle {
    ignore_changes = [rule] # tests/support/emulator_gaps.py: DELETE_MARKER_REPLICATION_DIFF
  }
}
"""
OVERRIDES = {COMPONENT: REPLICATION_RULE_IGNORED}
MANDATORY_TAGS = {"Environment", "Project", "Owner", "CostCenter", "ManagedBy", "Component", "BackupPolicy"}


def _env(name: str) -> dict[str, Any]:
    return next(e for e in SPEC["environments"] if e["name"] == name)


@pytest.fixture(scope="module", params=["dev", "prod"])
def deployed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    env = _env(request.param)
    workdir = tmp_path_factory.mktemp(f"s3-{env['name']}")
    with moto_server(env["account_id"], env["region"], workdir / "moto.log") as server:
        yield deploy(REPO, workdir, env["name"], server, OVERRIDES)


def test_second_plan_shows_no_changes(deployed: Deployment) -> None:
    code, text = deployed.plan_exit_code(COMPONENT)
    assert code == 0, f"{COMPONENT} in {deployed.env} is not idempotent:\n{text[-3000:]}"


def test_bucket_is_private_versioned_encrypted_and_logged(deployed: Deployment) -> None:
    s3 = deployed.server.client("s3")
    bucket = BUCKET["names"][deployed.env]
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert ":key/" in rule["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert ownership == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (lifecycle,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert lifecycle["Status"] == "Enabled"
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == BUCKET["noncurrent_version_expiration_days"]
    logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
    assert logging["TargetBucket"] == BUCKET["log_names"][deployed.env]
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert set(tags) >= MANDATORY_TAGS
    assert tags["Environment"] == deployed.env and tags["Component"] == COMPONENT


def test_every_template_file_is_an_object_with_checksum_type_and_version(deployed: Deployment) -> None:
    s3 = deployed.server.client("s3")
    bucket = BUCKET["names"][deployed.env]
    expected = {o["key"]: (o["content_type"], t["version"]) for t in SPEC["templates"] for o in t["objects"]}
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == set(expected)
    assert len(expected) == 2 * len(SPEC["catalog"]["templates"]), "HTML and plain text for every template"
    for key, (content_type, version) in expected.items():
        local = (REPO / "templates" / key).read_bytes()
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ContentType"] == content_type
        assert head["Metadata"] == {"template-version": version, "sha256": hashlib.sha256(local).hexdigest()}
        assert head["ServerSideEncryption"] == "aws:kms"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == local


def test_replication_to_the_dr_region_only_where_the_environment_says(deployed: Deployment) -> None:
    env = _env(deployed.env)
    s3 = deployed.server.client("s3")
    bucket = BUCKET["names"][deployed.env]
    if not env["dr_replication"]:
        with pytest.raises(s3.exceptions.ClientError):
            s3.get_bucket_replication(Bucket=bucket)
        return
    (rule,) = s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["Destination"]["Bucket"] == f"arn:aws:s3:::{BUCKET['dr_names'][deployed.env]}"
    dr = deployed.server.client("s3", region=env["dr_region"])
    location = dr.get_bucket_location(Bucket=BUCKET["dr_names"][deployed.env])["LocationConstraint"]
    assert location == env["dr_region"]
    assert dr.get_bucket_versioning(Bucket=BUCKET["dr_names"][deployed.env])["Status"] == "Enabled"


def test_applied_policies_are_the_generated_tls_only_ones(deployed: Deployment, tmp_path: Path) -> None:
    """The policies in the emulator are those of the plan, which the shipped check_bucket_policy.py accepts."""
    plan = plan_json(deployed, COMPONENT, tmp_path)
    assert {c["change"]["actions"][0] for c in plan["resource_changes"]} == {"no-op"}
    planned = {r["address"]: r["values"] for r in plan["planned_values"]["root_module"]["resources"]}
    s3 = deployed.server.client("s3")
    bucket = BUCKET["names"][deployed.env]
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy == json.loads(planned["aws_s3_bucket_policy.this"]["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logs = json.loads(s3.get_bucket_policy(Bucket=BUCKET["log_names"][deployed.env])["Policy"])
    assert logs == json.loads(planned["aws_s3_bucket_policy.logs"]["policy"])
    # Template objects wait for the replication rule: S3 never replicates objects written before it.
    (objects,) = [
        r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == "aws_s3_object.template"
    ]
    assert "aws_s3_bucket_replication_configuration.this" in objects["depends_on"]
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "check_bucket_policy.py"), "--plan-json", str(plan_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_applied_policy_denies_object_requests_over_plain_http(deployed: Deployment, tmp_path: Path) -> None:
    """The templates bucket's policy, as applied, copied to a plain-HTTP emulator: objects are refused there.

    Over HTTPS (every other test here) the same policy lets the objects be written and read.
    """
    bucket = BUCKET["names"][deployed.env]
    policy = deployed.server.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
    region = deployed.server.region
    with moto_server(deployed.server.account_id, region, tmp_path / "moto.log", tls=False) as plain:
        s3 = plain.client("s3")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_object(Bucket=bucket, Key="before-the-policy", Body=b"x")
        s3.put_bucket_policy(Bucket=bucket, Policy=policy)
        calls: list[Callable[[], object]] = [
            lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x"),
            lambda: s3.get_object(Bucket=bucket, Key="before-the-policy"),
        ]
        for call in calls:
            with pytest.raises(s3.exceptions.ClientError) as denied:
                call()
            assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_replication_rule_the_emulator_reads_back_otherwise(deployed: Deployment, tmp_path: Path) -> None:
    """emulator_gaps.DELETE_MARKER_REPLICATION_DIFF: without its workaround, only the rule's two blocks differ."""
    override = deployed.root(COMPONENT) / "emulator_override.tf"
    text = override.read_text()
    override.write_text(text.replace(REPLICATION_RULE_IGNORED, ""))
    try:
        plan = plan_json(deployed, COMPONENT, tmp_path)
    finally:
        override.write_text(text)
    changes = {c["address"]: c["change"] for c in plan["resource_changes"] if c["change"]["actions"] != ["no-op"]}
    if not _env(deployed.env)["dr_replication"]:
        assert changes == {}
        return
    (change,) = changes.values()
    assert list(changes) == ["aws_s3_bucket_replication_configuration.this[0]"] and change["actions"] == ["update"]
    (before,), (after,) = change["before"]["rule"], change["after"]["rule"]
    assert before["delete_marker_replication"] == [{"status": "Disabled"}] and before["source_selection_criteria"] == []
    assert after["delete_marker_replication"] == [{"status": "Enabled"}]
    differ = {k for k in after if after[k] != before[k]}
    assert differ == {"delete_marker_replication", "source_selection_criteria"}


def test_replication_role_is_trusted_by_s3_for_this_bucket_only(deployed: Deployment) -> None:
    if not _env(deployed.env)["dr_replication"]:
        pytest.skip(f"{deployed.env} does not replicate: no replication role")
    bucket = BUCKET["names"][deployed.env]
    role = deployed.server.client("iam").get_role(RoleName=f"{bucket}-replication")["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": deployed.server.account_id},
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
    }


def test_guard_blocks_renaming_a_bucket_purpose(deployed: Deployment, tmp_path: Path) -> None:
    """A new purpose is a new bucket name, and a bucket cannot be renamed: the real plan replaces it."""
    if deployed.env != "dev":
        pytest.skip("the guard reads the plan only; dev alone keeps CI time down")
    main = deployed.root(COMPONENT) / "main.tf"
    text = main.read_text()
    old = f'dev  = "{BUCKET["names"]["dev"]}"'
    assert old in text
    main.write_text(text.replace(old, 'dev  = "bbws-emails-dev"', 1))
    try:
        tf.run(
            ["plan", "-refresh=false", "-out=tfplan", "-var-file=../../environments/dev.tfvars"],
            deployed.root(COMPONENT),
            deployed.tf_env(),
        )
        shown = tf.run(["show", "-json", "tfplan"], deployed.root(COMPONENT), deployed.tf_env())
    finally:
        main.write_text(text)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(shown.stdout)
    script = str(REPO / "scripts" / "check_plan_safety.py")
    result = subprocess.run([sys.executable, script, str(plan_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    blocked = [line for line in result.stdout.splitlines() if line.startswith("BLOCKED")]
    assert blocked == [
        "BLOCKED aws_s3_bucket.this: replaced: changing bucket forces a new resource; "
        "runbook: docs/runbooks/destructive-changes.md#an-s3-bucket"
    ]
    allowed = subprocess.run(
        [
            sys.executable,
            script,
            str(plan_file),
            "--component",
            COMPONENT,
            "--allow",
            f"{COMPONENT}:aws_s3_bucket.this",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr


def test_post_deploy_check_passes_but_for_the_dr_copies_the_emulator_never_makes(deployed: Deployment) -> None:
    """The shipped post_deploy_check.py on the deployed environment, under the generated bucket policies.

    Every check passes, except where the environment replicates: emulator_gaps.NO_REPLICATION leaves the
    DR bucket empty, and the check names each template missing there (the same checks pass on recorded AWS
    responses in tests/unit/test_post_deploy_recorded.py).
    """
    env = _env(deployed.env)
    dr = deployed.server.client("s3", region=env["dr_region"])
    if env["dr_replication"]:
        assert dr.list_objects_v2(Bucket=BUCKET["dr_names"][deployed.env])["KeyCount"] == 0, "NO_REPLICATION closed?"
    result = subprocess.run(
        [sys.executable, "scripts/post_deploy_check.py", "--env", deployed.env],
        cwd=deployed.repo,
        env={**os.environ, **deployed.server.env()},
        capture_output=True,
        text=True,
        check=False,
    )
    rows = [re.split(r"\s{2,}", line.strip()) for line in result.stdout.splitlines()]
    rows = [row for row in rows if len(row) >= 3 and row[-1] in ("OK", "FAIL")]
    keys = {o["key"] for t in SPEC["templates"] for o in t["objects"]}
    missing_copies = {f"DR copy {key}" for key in keys} if env["dr_replication"] else set()
    assert {row[0] for row in rows if row[-1] == "FAIL"} == missing_copies, result.stdout + result.stderr
    assert result.returncode == (1 if missing_copies else 0), result.stdout + result.stderr
    passed = [row[0] for row in rows if row[-1] == "OK"]
    assert "bucket policy" in passed, "the templates bucket holds its TLS-only Deny, as the check reads it"
