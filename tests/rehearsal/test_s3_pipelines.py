"""The S3 repo's deploy workflow, run by act as committed, under the generated TLS-only bucket policy.

moto speaks HTTPS and evaluates ``Bool`` on ``aws:SecureTransport`` in the tests' emulator
(tests/support/emulator.py), so the policy is applied as generated and the objects are written through it.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.rehearsal.conftest import S3, account_client
from tests.rehearsal.harness import ROOT, Rehearsal, git
from tests.support.deploy import read_spec

pytestmark = pytest.mark.rehearsal

SPEC = read_spec(S3)
DEV = next(e for e in SPEC["environments"] if e["name"] == "dev")
COMPONENT = SPEC["templates_purpose"]
BUCKET = next(b for b in SPEC["buckets"] if b["purpose"] == COMPONENT)["names"]["dev"]


# What the generator committed (a deliberately broken copy under BBWS_REHEARSAL_S3 must not move it).
COMMITTED = ROOT / "repos" / "2_1_bbws_s3_schemas"


def _template_objects() -> dict[str, str]:
    """Key -> content type, as the committed terraform/templates/objects.tf declares them."""
    text = (COMMITTED / "terraform" / COMPONENT / "objects.tf").read_text()
    return dict(re.findall(r'"([a-z_/]+\.(?:html|txt))"\s*=\s*\{[^}]*content_type = "([^"]+)"', text))


def test_push_deploys_the_templates_under_the_generated_bucket_policy(s3_repo: Rehearsal) -> None:
    """Scenario 8: keys, content types and bytes in the bucket; post-deploy passes; the tag is recorded."""
    before = s3_repo.head()
    readme = f"terraform/{COMPONENT}/README.md"
    after = s3_repo.commit("templates: docs", {readme: (s3_repo.origin / readme).read_text() + "Owner: mail\n"})
    run = s3_repo.run("deploy.yml", "push", {"ref": "refs/heads/main", "before": before, "after": after})
    assert run.returncode == 0, f"jobs {json.dumps(run.results, indent=1)}; log {run.log}"
    for job in (
        f"Apply {COMPONENT} (dev)",
        f"Post-deployment checks {COMPONENT} (dev)",
        f"Record deployment {COMPONENT} (dev)",
    ):
        assert run.result(job) == "success", job
    s3 = account_client(s3_repo.server, DEV["account_id"], "s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    assert any(
        st["Effect"] == "Deny" and st.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
        for st in policy["Statement"]
    ), policy
    expected = _template_objects()
    assert len(expected) == 24
    listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert listed == set(expected)
    for key, content_type in expected.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)
        assert got["ContentType"] == content_type, key
        assert got["Body"].read() == (COMMITTED / "templates" / key).read_bytes(), key
    assert git(s3_repo.origin, "tag", "--list", "deployed/dev/*").split() == [f"deployed/dev/{COMPONENT}/{after}"]


def test_drift_reports_versioning_suspended(s3_repo: Rehearsal) -> None:
    """Scenario 7: versioning of the templates bucket suspended by hand in dev; the scheduled drift run
    files "Drift: <component>" naming the versioning resource as changed outside Terraform.

    Starts from scenario 8's deployment. Only dev's matrix leg runs (act --matrix): sit and prod hold
    nothing here; the report counts their missing results as errors, as it promises for a silent leg.
    """
    s3 = account_client(s3_repo.server, DEV["account_id"], "s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    run = s3_repo.run("drift.yml", "schedule", {"schedule": "17 5 * * *"}, matrix={"environment": "dev"})
    assert run.result("Plan every component (dev)") == "success", f"jobs {run.results}; log {run.log}"
    assert run.result("Report drift") == "failure", f"jobs {run.results}; log {run.log}"
    issues = {i["title"]: i for i in s3_repo.github.issues.values()}
    assert list(issues) == [f"Drift: {COMPONENT}"], issues
    (issue,) = issues.values()
    assert issue["state"] == "open" and issue["labels"] == ["drift"]
    outside = issue["body"].split("Changed outside Terraform:")[1].split("Applying the code")[0]
    assert "`aws_s3_bucket_versioning.this: update`" in outside, issue["body"]
    assert f"#### `{COMPONENT}` in `dev`: drifted" in issue["body"]
    assert {r["role"] for r in run.assumed_roles()} == {SPEC["github"]["roles"]["dev"]["plan"]["arn"]}
