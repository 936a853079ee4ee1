"""Least privilege, proven: every AWS request of the pipelines is allowed to the role that makes it.

Each repo is run as its workflows run it, for dev and prod, on a moto server, with every request recorded
(tests/support/iam_record.py) and tagged with the role of the job that makes it: the plan role for init,
plan, the second plan and the post-deployment check; the apply role for apply, a change (a template or a
table setting removed) and destroy (dev). Every request, plus what AWS authorizes on the caller's behalf
and the requests the emulator cannot make (tests/support/iam_proof.py), is evaluated against the role's
generated policy by @cloud-copilot/iam-simulate (tools/iam). The probes, requests no role may make, must
be denied.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from generator.iam_unexercised import UNEXERCISED
from tests.conftest import REPOS, ROOT
from tests.rehearsal.iam import REHEARSED
from tests.support import tf
from tests.support.deploy import Deployment, dynamodb_overrides, prepare, read_spec
from tests.support.iam_authz import Authorization, tag_context
from tests.support.iam_keys import FOREIGN_KEY_ID, policy_document
from tests.support.iam_proof import Role, denied_summary, evaluate, evaluate_recording, probes, roles_of, tool_missing
from tests.support.iam_record import recording_env, tag
from tests.support.moto import moto_server

pytestmark = [pytest.mark.e2e]

S3 = REPOS / "2_1_bbws_s3_schemas"
DYNAMODB = REPOS / "2_1_bbws_dynamodb_schemas"


def _overrides(repo: Path) -> dict[str, str]:
    if repo == DYNAMODB:
        return dynamodb_overrides(read_spec(repo))
    from tests.e2e.test_s3_apply import OVERRIDES

    return dict(OVERRIDES)


class Pipeline:
    """A deployment whose terraform runs and scripts are recorded under the role of their job."""

    def __init__(self, deployment: Deployment, record_dir: Path, repo_name: str) -> None:
        self.deployment = deployment
        self.record_dir = record_dir
        self.repo_name = repo_name

    def env(self, role: str) -> dict[str, str]:
        return {
            **self.deployment.tf_env(),
            **recording_env(self.record_dir, tag(self.repo_name, self.deployment.env, role)),
        }

    def terraform(
        self, role: str, component: str, *args: str, ok: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        root = self.deployment.root(component)
        var_file = f"-var-file=../../environments/{self.deployment.env}.tfvars"
        init = [
            "init",
            f"-backend-config=backend/{self.deployment.env}.tfbackend",
            "-backend-config=use_path_style=true",
            "-reconfigure",
        ]
        tf.run(init, root, self.env(role))
        return tf.run([args[0], *args[1:], var_file], root, self.env(role), ok=ok)

    def script(self, role: str, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *argv],
            cwd=self.deployment.repo,
            env={**os.environ, **self.deployment.server.env(), **self.env(role), "AWS_MAX_ATTEMPTS": "1"},
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )


def _component_lifecycle(pipeline: Pipeline, component: str) -> None:
    pipeline.terraform("plan", component, "plan", "-lock=true")
    pipeline.terraform("apply", component, "apply", "-auto-approve")
    pipeline.terraform("plan", component, "plan", "-detailed-exitcode", ok=(0, 2))


def _lifecycle(pipeline: Pipeline, components: list[str], change: Mapping[str, tuple[str, str, str]]) -> None:
    """Plan, apply and plan again each component (in parallel, as the matrix does), check, change, destroy."""
    with ThreadPoolExecutor(max_workers=len(components)) as pool:
        list(pool.map(lambda c: _component_lifecycle(pipeline, c), components))
    pipeline.script("plan", "scripts/post_deploy_check.py", "--env", pipeline.deployment.env)
    if pipeline.deployment.env != "dev":
        return
    for component, (file, old, new) in change.items():
        path = pipeline.deployment.root(component) / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))
        pipeline.terraform("apply", component, "apply", "-auto-approve")
    # The backup component stays: its vault's access policy denies DeleteBackupVault to the pipeline's
    # roles (and the apply role may not remove that policy); an administrator deletes a vault.
    for component in (c for c in components if c != "backup"):
        result = pipeline.terraform("apply", component, "destroy", "-auto-approve", ok=(0, 1))
        # The access-log bucket keeps the logs S3 wrote into it (no force_destroy): a destroy stops there.
        assert result.returncode == 0 or "BucketNotEmpty" in result.stdout + result.stderr, result.stderr[-3000:]


def _run(repo: Path, env: str, record_dir: Path, workdir: Path) -> None:
    spec = read_spec(repo)
    components = [c["name"] for c in spec["components"]]
    # A template removed: the provider lists the object's versions and deletes each.
    change = (
        {components[0]: ("objects.tf", '    "receipts/receipt.txt"', '    # "receipts/receipt.txt"')}
        if repo == S3
        else {}
    )
    e = next(x for x in spec["environments"] if x["name"] == env)
    with moto_server(e["account_id"], e["region"], workdir / "moto.log") as server:
        deployment = prepare(repo, workdir, env, server, _overrides(repo))
        _lifecycle(Pipeline(deployment, record_dir, repo.name), components, change)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both repos' lifecycles in dev and prod, each on its own moto server, in parallel, recorded."""
    _needs_engine()  # before the runs: without the engine they prove nothing
    # Kept under build/ (ignored by git) for a look after the run: `python -m tests.support.iam_proof DIR REPO...`
    record_dir = ROOT / "build" / "iam-proof" / "recording"
    shutil.rmtree(record_dir, ignore_errors=True)
    record_dir.mkdir(parents=True)
    runs = [(repo, env) for repo in (S3, DYNAMODB) for env in ("dev", "prod")]
    workdirs = [tmp_path_factory.mktemp(f"iam-{repo.name}-{env}") for repo, env in runs]
    with ThreadPoolExecutor(max_workers=len(runs)) as pool:
        list(pool.map(lambda r: _run(r[0][0], r[0][1], record_dir, r[1]), zip(runs, workdirs, strict=True)))
    return record_dir


def _roles() -> dict[str, Role]:
    return {**roles_of(S3), **roles_of(DYNAMODB)}


def _report(authz: list[Authorization], verdicts: list[str], want: str) -> list[str]:
    wrong = Counter(
        f"{a.role}: {a.action} on {a.resource} ({a.why}{'; on behalf: ' + a.on_behalf if a.on_behalf else ''}) -> {v}"
        for a, v in zip(authz, verdicts, strict=True)
        if (v == "Allowed") != (want == "Allowed")
    )
    return [f"{n} x {line}" for line, n in sorted(wrong.items())]


def _needs_engine() -> None:
    reason = tool_missing()
    if reason is not None:
        if os.environ.get("BBWS_REQUIRE_TOOLS"):
            pytest.fail(f"{reason} (BBWS_REQUIRE_TOOLS is set: this machine must have it)")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def evaluated(recorded: Path) -> tuple[list[Authorization], list[str], int]:
    """Every recorded request's authorizations and the emulator's gaps, with the engine's verdicts."""
    _needs_engine()
    return evaluate_recording(recorded, [S3, DYNAMODB])


def test_every_recorded_request_is_allowed_to_its_role(evaluated: tuple[list[Authorization], list[str], int]) -> None:
    authz, verdicts, requests = evaluated
    denied = denied_summary(authz, verdicts)
    count = sum(v != "Allowed" for v in verdicts)
    summary = f"{requests} requests, {len(authz)} authorizations evaluated, {count} denied"
    assert requests > 1000 and not denied, summary + "\n" + "\n".join(denied)


def test_every_allowed_action_is_used_or_has_a_reason(evaluated: tuple[list[Authorization], list[str], int]) -> None:
    """Used by these runs or by the rehearsal's (tests/rehearsal/iam.py REHEARSED: its own run checks each
    claim against its recording), or given a reason; and no reason outlives the last role that needed it."""
    authz, verdicts, _ = evaluated
    used: dict[str, set[str]] = {}
    for a, verdict in zip(authz, verdicts, strict=True):
        if verdict == "Allowed":
            used.setdefault(a.role, set()).add(a.action)
    for role_tag, action in REHEARSED:
        used.setdefault(role_tag, set()).add(action)
    unused = []
    needed: set[str] = set()
    for role_tag, role in _roles().items():
        if role_tag.split("~")[1] not in ("dev", "prod"):
            continue  # sit's policies have dev's shape; the runs are dev and prod
        for statement in role.policy["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            for action in statement["Action"]:
                if action in used.get(role_tag, set()):
                    continue
                needed.add(action)
                if action not in UNEXERCISED:
                    unused.append(f"{role_tag}: {action} ({statement['Sid']})")
    assert not unused, "allowed, never used, no reason in generator.iam_unexercised:\n" + "\n".join(sorted(set(unused)))
    stale = sorted(set(UNEXERCISED) - needed)
    assert not stale, "used by every role allowed it: remove its reason from generator.iam_unexercised:\n" + "\n".join(
        stale
    )


def _probes() -> list[Authorization]:
    roles = _roles()
    authz: list[Authorization] = []
    for repo in (S3, DYNAMODB):
        spec: Mapping[str, Any] = read_spec(repo)
        for env in ("dev", "sit", "prod"):
            authz += probes(repo.name, spec, env, roles)
    return authz


def _assert_denied(authz: list[Authorization]) -> None:
    verdicts = evaluate(_roles(), authz)
    allowed = _report(authz, verdicts, "Denied")
    assert not allowed, f"{len(allowed)} of {len(authz)} probes allowed:\n" + "\n".join(allowed)


def test_no_role_reaches_what_it_does_not_own() -> None:
    """Including a foreign key after the role tagged it as its own (issue 21, finding 3)."""
    _needs_engine()
    authz = _probes()
    assert len(authz) > 100, "the probes name every role"
    assert any(a.why == "a foreign key tagged as ours" for a in authz)
    _assert_denied(authz)


def test_tag_on_create_is_the_only_grant_that_reaches_a_foreign_key() -> None:
    """KMS authorizes tag on create only on "*" (kms/latest/developerguide/tag-permissions.html), so an
    apply role can tag a foreign key whose policy delegates to IAM, with its own tags and no others; the
    tags then gain it nothing (previous test): its keys' policies name it, no IAM statement grants by tag.
    """
    _needs_engine()
    roles = _roles()
    authz, want = [], []
    for role_tag in roles:
        repo, env, kind = role_tag.split("~")
        spec: Mapping[str, Any] = read_spec(S3 if repo == S3.name else DYNAMODB)
        e = next(x for x in spec["environments"] if x["name"] == env)
        foreign = f"arn:aws:kms:{e['region']}:{e['account_id']}:key/{FOREIGN_KEY_ID}"
        first = (spec.get("buckets") or spec["tables"])[0]
        component = (
            str(first["purpose"] if "purpose" in first else first["name"]) if isinstance(first, Mapping) else str(first)
        )
        other_env = "prod" if env != "prod" else "dev"
        for tags, allowed in (
            ({"Environment": env, "Component": component}, kind == "apply"),
            ({"Environment": other_env, "Component": component}, False),
            ({"Environment": env, "Component": "someone-else"}, False),
        ):
            authz.append(Authorization(role_tag, "kms:TagResource", foreign, tag_context(tags), "tag a foreign key"))
            want.append("Allowed" if allowed else "ImplicitlyDenied")
    assert evaluate(roles, authz) == want


def _widened(role: Role, service: str) -> Role:
    """``role`` as if its own policy allowed everything of ``service``: what only a resource policy stops."""
    everything = {"Sid": "Everything", "Effect": "Allow", "Action": [f"{service}:*"], "Resource": ["*"]}
    return replace(role, policy={**role.policy, "Statement": [*role.policy["Statement"], everything]})


def test_vault_policy_holds_even_against_a_role_that_tries_to_remove_it() -> None:
    """The vault access policy (terraform/backup) evaluated as the vault's resource policy."""
    _needs_engine()
    spec: Mapping[str, Any] = read_spec(DYNAMODB)
    roles = _roles()
    authz: list[Authorization] = []
    policies: list[Mapping[str, Any] | None] = []
    want: list[str] = []
    for e in spec["environments"]:
        vault_policy = policy_document(DYNAMODB / "terraform" / "backup", "vault", e["name"], e["account_id"])
        vault = f"arn:aws:backup:{e['region']}:{e['account_id']}:backup-vault:{e['backup']['vault']}"
        point = f"arn:aws:backup:{e['region']}:{e['account_id']}:recovery-point:any"
        for kind in ("plan", "apply"):
            role_tag = f"{DYNAMODB.name}~{e['name']}~{kind}"
            # What the pipelines need from the vault stays allowed under its policy.
            needed = ["backup:DescribeBackupVault", "backup:GetBackupVaultAccessPolicy"]
            for action in needed:
                authz.append(Authorization(role_tag, action, vault, {}, "the pipeline reads the vault"))
                policies.append(vault_policy)
                want.append("Allowed")
            # Removing or replacing the policy is denied, so its Deny holds.
            for action in ("backup:DeleteBackupVaultAccessPolicy", "backup:PutBackupVaultAccessPolicy"):
                authz.append(Authorization(role_tag, action, vault, {}, "removing the vault policy"))
                policies.append(vault_policy)
                want.append("Denied")
            # Whatever the role's own policy said, the vault's Deny stops deletions.
            widened = f"{role_tag}~widened"
            roles = {**roles, widened: _widened(roles[role_tag], "backup")}
            for action, arn in (
                ("backup:DeleteBackupVault", vault),
                ("backup:DeleteRecoveryPoint", point),
                ("backup:UpdateRecoveryPointLifecycle", point),
                ("backup:DeleteBackupVaultAccessPolicy", vault),
                ("backup:PutBackupVaultAccessPolicy", vault),
            ):
                authz.append(Authorization(widened, action, arn, {}, "with backup:* in its own policy"))
                policies.append(vault_policy)
                want.append("ExplicitlyDenied")
    verdicts = evaluate(roles, authz, policies)
    wrong = [
        f"{a.role}: {a.action} ({a.why}) -> {v}, want {w}"
        for a, v, w in zip(authz, verdicts, want, strict=True)
        if v != w and not (w == "Denied" and v.endswith("Denied"))
    ]
    assert not wrong, "\n".join(wrong)


def test_bucket_policies_let_the_pipeline_in_over_tls_only() -> None:
    """Each bucket's policy (terraform/<purpose>) evaluated as the bucket's resource policy."""
    _needs_engine()
    spec: Mapping[str, Any] = read_spec(S3)
    roles = _roles()
    authz: list[Authorization] = []
    policies: list[Mapping[str, Any] | None] = []
    want: list[str] = []
    for e in spec["environments"]:
        for bucket in spec["buckets"]:
            name = bucket["names"][e["name"]]
            policy = policy_document(S3 / "terraform" / bucket["purpose"], "bucket", e["name"], e["account_id"])
            cases = [("plan", "s3:GetObject"), ("apply", "s3:PutObject"), ("apply", "s3:DeleteObjectVersion")]
            for kind, action in cases:
                role_tag = f"{S3.name}~{e['name']}~{kind}"
                for tls, verdict in (("true", "Allowed"), ("false", "ExplicitlyDenied")):
                    context = {"aws:SecureTransport": tls}
                    authz.append(Authorization(role_tag, action, f"arn:aws:s3:::{name}/t.html", context, tls))
                    policies.append(policy)
                    want.append(verdict)
    verdicts = evaluate(roles, authz, policies)
    wrong = [
        f"{a.role}: {a.action} TLS={a.why} -> {v}, want {w}"
        for a, v, w in zip(authz, verdicts, want, strict=True)
        if v != w
    ]
    assert not wrong, "\n".join(wrong)
