"""GitHub Actions workflows: the generated repos' (rendered from the blueprints) and the monorepo's CI.

Checks the committed workflows of both generated repos (the golden test proves they are what the
blueprints render) with the same tools CI uses (zizmor
offline, check-jsonschema's GitHub workflow schema, yamllint with blueprints/shared/yamllint.yaml),
checks the job graph and the security rules, and runs the workflows' own shell/Python scripts (change
detection, promotion verification, plan -> checksum -> apply of the saved plan) against throwaway git
repositories and a local Terraform root.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPOS
from tests.support.deploy import read_spec
from tests.support.workflows import pull_request_components

ROOT = Path(__file__).resolve().parents[1]
PINS = yaml.safe_load((ROOT / "definition" / "pins.yaml").read_text(encoding="utf-8"))
YAMLLINT_CONFIG = ROOT / "blueprints" / "shared" / "yamllint.yaml"
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
REUSABLE = "./.github/workflows/terraform-component.yml"
WORKFLOWS = {"validate.yml", "deploy.yml", "promote.yml", "rollback.yml", "terraform-component.yml", "drift.yml"}
PINNED_USES = re.compile(r"^(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # v\d+\.\d+\.\d+$")
EXPRESSION = re.compile(r"\$\{\{\s*(?P<expr>.*?)\s*\}\}", re.DOTALL)

# The workflows under test are the committed, generated ones; their answers give the expected graph.
REPO_OF_KIND = {"dynamodb": REPOS / "2_1_bbws_dynamodb_schemas", "s3": REPOS / "2_1_bbws_s3_schemas"}
SAMPLES: dict[str, dict[str, Any]] = {kind: dict(read_spec(repo)) for kind, repo in REPO_OF_KIND.items()}
KINDS = sorted(SAMPLES)


# --------------------------------------------------------------------------------------------------
# helpers


def _tool(name: str) -> str:
    """A CLI installed next to this interpreter (the project venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; install the lint extra: pip install -e '.[lint]'")
    return found


def _run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def _load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), path
    if True in doc:  # PyYAML reads the `on:` key as the YAML 1.1 boolean
        doc["on"] = doc.pop(True)
    return doc


def _jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    jobs = doc["jobs"]
    assert isinstance(jobs, dict)
    return jobs


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps", []))


def _step(job: dict[str, Any], *, name: str | None = None, id: str | None = None) -> dict[str, Any]:
    for step in _steps(job):
        if (name is not None and step.get("name") == name) or (id is not None and step.get("id") == id):
            return step
    raise AssertionError(f"no step {name or id!r} in job {job.get('name')!r}")


def _uses_action(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(action + "@")


def _assumes_aws_role(job: dict[str, Any]) -> bool:
    return any(_uses_action(s, "aws-actions/configure-aws-credentials") for s in _steps(job))


def _all_run_scripts(doc: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for job_id, job in _jobs(doc).items():
        for step in _steps(job):
            if "run" in step:
                yield f"{job_id}/{step.get('name', step.get('id'))}", step["run"]


def _git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    result = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _run_step(
    step: dict[str, Any], cwd: Path, env: dict[str, str], tmp: Path
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    """Run a `run:` step the way GitHub's `shell: bash` does; return (result, outputs, summary)."""
    output_file, summary_file = tmp / "github_output", tmp / "github_step_summary"
    output_file.write_text("", encoding="utf-8")
    summary_file.write_text("", encoding="utf-8")
    script = tmp / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    full_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(tmp)),
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GITHUB_OUTPUT": str(output_file),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        **env,
    }
    result = _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=cwd, env=full_env)
    outputs = dict(line.split("=", 1) for line in output_file.read_text(encoding="utf-8").splitlines() if "=" in line)
    return result, outputs, summary_file.read_text(encoding="utf-8")


def _literal_env(step: dict[str, Any]) -> dict[str, str]:
    """The step's env values that are not GitHub expressions (those the test supplies itself)."""
    return {k: str(v) for k, v in step.get("env", {}).items() if "${{" not in str(v)}


# --------------------------------------------------------------------------------------------------
# rendering


@pytest.fixture(scope="module")
def rendered() -> dict[str, Path]:
    return {kind: repo / ".github" / "workflows" for kind, repo in REPO_OF_KIND.items()}


@pytest.fixture(scope="module")
def docs(rendered: dict[str, Path]) -> dict[str, dict[str, dict[str, Any]]]:
    return {kind: {p.name: _load(p) for p in folder.glob("*.yml")} for kind, folder in rendered.items()}


def _workflow_files(rendered: dict[str, Path], target: str) -> list[Path]:
    if target == "ci":
        return [CI_WORKFLOW]
    return sorted(rendered[target].glob("*.yml"))


TARGETS = [*KINDS, "ci"]


# --------------------------------------------------------------------------------------------------
# linters (the same ones CI runs)


@pytest.mark.parametrize("kind", KINDS)
def test_blueprint_renders_the_five_workflows(rendered: dict[str, Path], kind: str) -> None:
    assert {p.name for p in rendered[kind].iterdir()} == WORKFLOWS
    for path in rendered[kind].iterdir():
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n"), path.name
        assert "{{ " not in EXPRESSION.sub("", text), f"unrendered Jinja in {path.name}"


@pytest.mark.parametrize("target", TARGETS)
def test_zizmor_offline_finds_nothing(rendered: dict[str, Path], target: str) -> None:
    files = _workflow_files(rendered, target)
    result = _run([_tool("zizmor"), "--offline", "--format", "json", *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize("target", TARGETS)
def test_github_workflow_schema(rendered: dict[str, Path], target: str) -> None:
    files = _workflow_files(rendered, target)
    result = _run([_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_yamllint(rendered: dict[str, Path], target: str) -> None:
    files = _workflow_files(rendered, target)
    result = _run([_tool("yamllint"), "--strict", "-c", str(YAMLLINT_CONFIG), *map(str, files)])
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------------
# security rules


def _all_docs(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], target: str
) -> dict[str, dict[str, Any]]:
    return {CI_WORKFLOW.name: _load(CI_WORKFLOW)} if target == "ci" else docs[target]


@pytest.mark.parametrize("target", TARGETS)
def test_every_uses_is_pinned_to_a_commit_sha(rendered: dict[str, Path], target: str) -> None:
    for path in _workflow_files(rendered, target):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = re.match(r"^\s*(?:-\s+)?uses:\s*(?P<value>.+)$", line)
            if not match:
                continue
            value = match["value"].strip()
            if value.startswith("./.github/workflows/"):
                continue  # this repository's own reusable workflow, at the running commit
            assert PINNED_USES.match(value), f"{path.name}:{number}: {value!r} is not pinned to a SHA"


def test_same_action_pins_everywhere(rendered: dict[str, Path]) -> None:
    pins: dict[str, set[str]] = {}
    for target in TARGETS:
        for path in _workflow_files(rendered, target):
            for match in re.finditer(r"uses:\s*([\w.-]+/[\w./-]+)@([0-9a-f]{40})", path.read_text("utf-8")):
                pins.setdefault(match[1], set()).add(match[2])
    assert pins, "no pinned actions found"
    assert {action: shas for action, shas in pins.items() if len(shas) > 1} == {}


@pytest.mark.parametrize("target", TARGETS)
def test_permissions_are_least_privilege(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], target: str
) -> None:
    for name, doc in _all_docs(docs, rendered, target).items():
        assert doc["permissions"] == {}, f"{name}: top-level permissions must be {{}}"
        for job_id, job in _jobs(doc).items():
            where = f"{name}:{job_id}"
            assert "permissions" in job, f"{where}: no explicit permissions"
            perms = job["permissions"] or {}
            calls_component = job.get("uses") == REUSABLE
            if perms.get("id-token") == "write":
                assert _assumes_aws_role(job) or calls_component, f"{where}: id-token without AWS role"
            if _assumes_aws_role(job):
                assert perms.get("id-token") == "write", f"{where}: assumes a role without id-token: write"
            if perms.get("contents") == "write":
                assert job_id == "record" or calls_component, f"{where}: contents: write"
            if "issues" in perms:
                assert (name, job_id) == ("drift.yml", "report"), f"{where}: only the drift report files issues"
            assert set(perms) <= {"contents", "id-token", "actions", "issues"}, f"{where}: {perms}"
            assert all(v in ("read", "write", "none") for v in perms.values()), where


@pytest.mark.parametrize("target", TARGETS)
def test_checkouts_do_not_persist_credentials(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], target: str
) -> None:
    checkouts = 0
    for name, doc in _all_docs(docs, rendered, target).items():
        for job_id, job in _jobs(doc).items():
            for step in _steps(job):
                if _uses_action(step, "actions/checkout"):
                    checkouts += 1
                    assert step.get("with", {}).get("persist-credentials") is False, f"{name}:{job_id}"
    assert checkouts


@pytest.mark.parametrize("target", TARGETS)
def test_no_expressions_inside_run_scripts(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], target: str
) -> None:
    for name, doc in _all_docs(docs, rendered, target).items():
        for where, script in _all_run_scripts(doc):
            assert "${{" not in script, f"{name}:{where}: pass values through env:, not ${{{{ }}}}"


@pytest.mark.parametrize("target", TARGETS)
def test_no_auto_approve_and_no_secrets(rendered: dict[str, Path], target: str) -> None:
    for path in _workflow_files(rendered, target):
        text = path.read_text(encoding="utf-8")
        assert "auto-approve" not in text, path.name
        assert "secrets." not in text, f"{path.name}: OIDC only, no stored secrets"


@pytest.mark.parametrize("target", TARGETS)
def test_terraform_version_is_pinned(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], target: str
) -> None:
    setups = 0
    for doc in _all_docs(docs, rendered, target).values():
        for job in _jobs(doc).values():
            for step in _steps(job):
                if _uses_action(step, "hashicorp/setup-terraform"):
                    setups += 1
                    assert str(step["with"]["terraform_version"]) == PINS["terraform"]["version"]
                    assert step["with"]["terraform_wrapper"] is False
    assert setups


# --------------------------------------------------------------------------------------------------
# job graphs


@pytest.mark.parametrize("kind", KINDS)
def test_component_workflow_plans_then_applies_the_approved_plan(
    docs: dict[str, dict[str, dict[str, Any]]], kind: str
) -> None:
    doc = docs[kind]["terraform-component.yml"]
    assert set(doc["on"]) == {"workflow_call"}
    inputs = doc["on"]["workflow_call"]["inputs"]
    assert set(inputs) == {"environment", "component", "ref", "allow_replace", "validate"}
    assert inputs["validate"]["default"] is False, "promotions apply commits validated in the first environment"
    jobs = _jobs(doc)
    assert list(jobs) == ["validate", "plan", "environment-protection", "apply", "post-deploy", "record"]
    assert jobs["validate"]["uses"] == "./.github/workflows/validate.yml"
    assert jobs["validate"]["if"] == "inputs.validate"
    assert jobs["validate"]["with"] == {"component": "${{ inputs.component }}"}
    assert 'if [ "${VALIDATE}" = "true" ] && [ "${REF}" != "${GITHUB_SHA}" ]' in _step(jobs["plan"], id="inputs")["run"]
    _assert_protection_job(jobs["environment-protection"], "${{ inputs.environment }}")

    plan, apply = jobs["plan"], jobs["apply"]
    assert "environment" not in plan
    plan_run = _step(plan, id="plan")["run"]
    assert "-out=tfplan" in plan_run and "-detailed-exitcode" in plan_run
    assert "2) has_changes=true" in plan_run
    assert (
        'terraform -chdir="terraform/${COMPONENT}" show -no-color tfplan'
        in _step(plan, name="Show the plan in the run summary")["run"]
    )
    assert "sha256sum tfplan" in _step(plan, id="checksum")["run"]
    upload = next(s for s in _steps(plan) if _uses_action(s, "actions/upload-artifact"))
    assert upload["with"]["name"] == "${{ steps.inputs.outputs.artifact }}"
    assert "tfplan-${TF_ENV}-${COMPONENT}-${RUN_ID}-${RUN_ATTEMPT}" in _step(plan, id="inputs")["run"]
    assert set(upload["with"]["path"].splitlines()) == {
        f"terraform/${{{{ inputs.component }}}}/{f}" for f in ("tfplan", "tfplan.sha256", "tfplan.txt")
    }

    # Apply and record wait for validation when it was asked for; the rehearsal runs both ways.
    validated = "(needs.validate.result == 'success' || (needs.validate.result == 'skipped' && !inputs.validate))"
    assert apply["needs"] == ["validate", "plan", "environment-protection"]
    assert apply["environment"] == "${{ inputs.environment }}"
    assert validated in apply["if"] and "needs.plan.outputs.has_changes == 'true'" in apply["if"]
    names = [s.get("name", "") for s in _steps(apply)]
    download = names.index("Download the approved plan")
    verify = names.index("Verify the plan checksum")
    credentials = names.index("Configure AWS credentials (OIDC)")
    apply_step = next(i for i, n in enumerate(names) if n.startswith("Terraform apply"))
    assert download < verify < credentials < apply_step
    assert _steps(apply)[download]["with"]["name"] == "${{ needs.plan.outputs.artifact }}"
    assert "sha256sum --check" in _steps(apply)[verify]["run"]
    assert _steps(apply)[apply_step]["run"].split()[-2:] == ["-lock-timeout=10m", "tfplan"]
    fresh_plan = re.compile(r"^\s*terraform\s[^\n]*\splan(\s|$)", re.MULTILINE)
    assert not any(fresh_plan.search(s.get("run", "")) for s in _steps(apply)), "apply must not re-plan"

    post = jobs["post-deploy"]
    assert post["needs"] == ["plan", "apply"]
    assert 'python scripts/post_deploy_check.py --env "${TF_ENV}"' in _step(post, name="Post-deployment checks")["run"]
    record = jobs["record"]
    assert record["needs"] == ["validate", "post-deploy"]
    assert validated in record["if"]
    assert record["permissions"] == {"contents": "write"}
    assert "deployed/${TF_ENV}/${COMPONENT}/${REF}" in _step(record, name="Tag the deployed commit")["run"]

    roles = _step(plan, id="target")["run"]
    apply_roles = _step(apply, id="target")["run"]
    for env in SAMPLES[kind]["environments"]:
        assert f"role_arn='{SAMPLES[kind]['github']['roles'][env['name']]['plan']['arn']}'" in roles
        assert f"role_arn='{SAMPLES[kind]['github']['roles'][env['name']]['apply']['arn']}'" in apply_roles

    policy_check = "python scripts/check_bucket_policy.py --plan-json plan.json"
    assert any(policy_check in s.get("run", "") for s in _steps(plan)) == (kind == "s3")


@pytest.mark.parametrize("kind", KINDS)
def test_deploy_detects_changes_then_calls_the_component_workflow_for_dev(
    docs: dict[str, dict[str, dict[str, Any]]], kind: str
) -> None:
    doc = docs[kind]["deploy.yml"]
    assert doc["on"]["push"]["branches"] == ["main"]
    assert set(doc["on"]["push"]["paths"]) == {
        "terraform/**",
        "environments/**",
        "schemas/**",
        "templates/**",
    }
    assert "workflow_dispatch" in doc["on"]
    jobs = _jobs(doc)
    assert list(jobs) == ["changes", "deploy-dev"], "validation runs inside each component's call, beside its plan"
    deploy = jobs["deploy-dev"]
    assert deploy["uses"] == REUSABLE
    assert deploy["needs"] == "changes"
    assert deploy["with"] == {
        "environment": "dev",
        "component": "${{ matrix.component }}",
        "ref": "${{ github.sha }}",
        "allow_replace": "${{ inputs.allow_replace || '' }}",
        "validate": True,
    }
    assert deploy["strategy"]["matrix"]["component"] == "${{ fromJSON(needs.changes.outputs.components) }}"
    assert deploy["concurrency"] == {
        "group": "terraform-dev-${{ matrix.component }}",
        "cancel-in-progress": False,
    }


def _assert_protection_job(job: dict[str, Any], environments: str) -> None:
    """The fail-closed check: no environment of its own, read-only token, the shipped script."""
    assert "environment" not in job
    assert job["permissions"] == {"actions": "read", "contents": "read"}
    step = _step(job, name="Check environment protection")
    assert step["env"]["ENVIRONMENTS"] == environments
    assert step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    assert "python3 scripts/check_environment_protection.py" in step["run"]


@pytest.mark.parametrize("kind", KINDS)
def test_promote_verifies_then_waits_for_approval_then_deploys(
    docs: dict[str, dict[str, dict[str, Any]]], kind: str
) -> None:
    doc = docs[kind]["promote.yml"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["target"]["options"] == ["sit", "prod"]
    assert inputs["commit"]["default"] == ""
    jobs = _jobs(doc)
    approve = jobs["approve-promotion"]
    assert approve["environment"] == "promote-${{ inputs.target }}"
    assert approve["needs"] == ["verify-lower-env", "environment-protection"]
    _assert_protection_job(jobs["environment-protection"], "${{ format('promote-{0} {0}', inputs.target) }}")
    assert approve["permissions"] == {}
    callers = {job_id: job for job_id, job in jobs.items() if job.get("uses") == REUSABLE}
    assert set(callers) == {"deploy"}
    deploy = callers["deploy"]
    assert "approve-promotion" in deploy["needs"] and "verify-lower-env" in deploy["needs"]
    assert deploy["with"]["environment"] == "${{ inputs.target }}"
    assert deploy["with"]["ref"] == "${{ needs.verify-lower-env.outputs.sha }}"
    assert deploy["strategy"]["matrix"]["component"] == [c["name"] for c in SAMPLES[kind]["components"]]
    assert deploy["concurrency"]["cancel-in-progress"] is False
    verify = _step(jobs["verify-lower-env"], id="verify")["run"]
    assert "deployed/${lower}/${component}/*" in verify
    assert "sit) lower=dev ;;" in verify and "prod) lower=sit ;;" in verify


@pytest.mark.parametrize("kind", KINDS)
def test_rollback_restores_state_behind_approval_then_plans(
    docs: dict[str, dict[str, dict[str, Any]]], kind: str
) -> None:
    doc = docs[kind]["rollback.yml"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["dev", "sit", "prod"]
    assert inputs["component"]["options"] == [c["name"] for c in SAMPLES[kind]["components"]]
    assert inputs["state_version"]["default"] == "previous"
    jobs = _jobs(doc)
    assert list(jobs) == ["environment-protection", "rollback"]
    _assert_protection_job(jobs["environment-protection"], "${{ format('rollback-{0}', inputs.environment) }}")
    job = jobs["rollback"]
    assert job["needs"] == "environment-protection"
    assert job["environment"] == "rollback-${{ inputs.environment }}"
    assert job["concurrency"]["group"] == "terraform-${{ inputs.environment }}-${{ inputs.component }}"
    runs = [s.get("run", "") for s in _steps(job)]
    restore = next(i for i, r in enumerate(runs) if "scripts/state_rollback.py" in r)
    plan = next(i for i, r in enumerate(runs) if "plan" in r and "-detailed-exitcode" in r)
    assert restore < plan
    assert '--version-id "${STATE_VERSION}"' in runs[restore]
    assert "GITHUB_STEP_SUMMARY" in runs[plan]


@pytest.mark.parametrize("kind", KINDS)
def test_validate_runs_every_check(docs: dict[str, dict[str, dict[str, Any]]], kind: str) -> None:
    doc = docs[kind]["validate.yml"]
    assert {"push", "pull_request", "workflow_call"} <= set(doc["on"])
    jobs = _jobs(doc)
    assert "terraform fmt -check -recursive" in _steps(jobs["fmt"])[-1]["run"]
    terraform = jobs["terraform"]
    # Every component on push and pull request; only the named one when a deployment calls it.
    matrix = terraform["strategy"]["matrix"]["component"]
    scoped = matrix.removeprefix("${{ ").partition(" || ")[0]
    assert scoped == "inputs.component && fromJSON(format('[{0}]', toJSON(inputs.component)))"
    assert pull_request_components(matrix) == [c["name"] for c in SAMPLES[kind]["components"]]
    runs = "\n".join(s.get("run", "") for s in _steps(terraform))
    assert "init -backend=false -lockfile=readonly" in runs
    assert "validate -no-color" in runs
    assert 'git diff --exit-code -- "terraform/${COMPONENT}/.terraform.lock.hcl"' in runs
    checks = [s.get("run") for s in _steps(jobs["repository-checks"])]
    assert (
        "python -m pip install --disable-pip-version-check --no-input --require-hashes --only-binary :all: "
        "-r requirements.txt"
    ) in checks
    for command in SAMPLES[kind]["validate_commands"]:
        assert command.get("ci_run", command["run"]) in checks
    for tool in SAMPLES[kind].get("node_tools", []):
        # The pinned npm tool (html-validate for the templates) is installed from its lock file.
        assert f"npm ci --prefix {tool} --no-audit --no-fund" in checks
        assert any(str(s.get("uses", "")).startswith("actions/setup-node@") for s in _steps(jobs["repository-checks"]))
    checkov = "\n".join(s.get("run", "") for s in _steps(jobs["checkov"]))
    assert "--require-hashes --only-binary :all: -r requirements-checkov.txt" in checkov
    assert "checkov --directory terraform" in checkov


def _ci_steps_of_the_noxfile() -> list[str]:
    """The step names of the `ci` session (what `.ci/run` runs), read from noxfile.py without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "CI_STEPS":
            return [ast.literal_eval(pair.elts[0]) for pair in node.value.elts]  # type: ignore[union-attr]
    raise AssertionError("noxfile.py has no CI_STEPS")


def test_monorepo_ci_runs_every_nox_session() -> None:
    doc = _load(CI_WORKFLOW)
    assert {"push", "pull_request"} <= set(doc["on"])
    (job,) = _jobs(doc).values()
    assert job["strategy"]["matrix"]["session"] == _ci_steps_of_the_noxfile()
    runs = [s.get("run", "") for s in _steps(job)]
    assert any("nox==2026.10.20" in r for r in runs)
    assert 'nox -s "${SESSION}"' in runs


# --------------------------------------------------------------------------------------------------
# the workflows' own scripts, run for real


DYNAMODB_COMPONENTS = [c["name"] for c in SAMPLES["dynamodb"]["components"]]
COMPONENT_FILES = {f"terraform/{c}/main.tf": f"# {c}\n" for c in DYNAMODB_COMPONENTS}


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    return path


def _detect(docs: dict[str, dict[str, dict[str, Any]]], repo: Path, tmp: Path, **env: str) -> dict[str, str]:
    step = _step(_jobs(docs["dynamodb"]["deploy.yml"])["changes"], id="detect")
    result, outputs, _ = _run_step(
        step, repo, {**_literal_env(step), "EVENT_NAME": "push", "GIT_REF": "refs/heads/main", **env}, tmp
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return outputs


def test_change_detection(docs: dict[str, dict[str, dict[str, Any]]], repo: Path, tmp_path: Path) -> None:
    base = _commit(repo, {**COMPONENT_FILES, "environments/dev.tfvars": "x = 1\n"}, "base")
    tenants = _commit(repo, {"terraform/tenants/main.tf": "# changed\n"}, "tenants")
    assert _detect(docs, repo, tmp_path, BEFORE=base, AFTER=tenants) == {
        "components": '["tenants"]',
        "any": "true",
    }
    two = _commit(repo, {"terraform/backup/main.tf": "# b\n", "terraform/products/main.tf": "# p\n"}, "two")
    assert _detect(docs, repo, tmp_path, BEFORE=tenants, AFTER=two)["components"] == '["products", "backup"]'
    every = json.dumps(DYNAMODB_COMPONENTS)
    tfvars = _commit(repo, {"environments/dev.tfvars": "x = 2\n"}, "tfvars")
    assert _detect(docs, repo, tmp_path, BEFORE=two, AFTER=tfvars)["components"] == every
    module = _commit(repo, {"terraform/modules/table/main.tf": "# m\n"}, "module")
    assert _detect(docs, repo, tmp_path, BEFORE=tfvars, AFTER=module)["components"] == every
    docs_only = _commit(repo, {"README.md": "hi\n"}, "docs")
    assert _detect(docs, repo, tmp_path, BEFORE=module, AFTER=docs_only) == {
        "components": "[]",
        "any": "false",
    }
    assert _detect(docs, repo, tmp_path, BEFORE="0" * 40, AFTER=docs_only)["components"] == every
    assert _detect(docs, repo, tmp_path, BEFORE="f" * 40, AFTER=docs_only)["components"] == every
    dispatch = _detect(docs, repo, tmp_path, EVENT_NAME="workflow_dispatch", BEFORE="", AFTER=docs_only)
    assert dispatch["components"] == every

    step = _step(_jobs(docs["dynamodb"]["deploy.yml"])["changes"], id="detect")
    result, _, _ = _run_step(
        step,
        repo,
        {**_literal_env(step), "EVENT_NAME": "workflow_dispatch", "GIT_REF": "refs/heads/x", "AFTER": base},
        tmp_path,
    )
    assert result.returncode != 0 and "main only" in result.stdout


def _verify(
    docs: dict[str, dict[str, dict[str, Any]]], repo: Path, tmp: Path, target: str, commit: str = ""
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    step = _step(_jobs(docs["dynamodb"]["promote.yml"])["verify-lower-env"], id="verify")
    env = {
        **_literal_env(step),
        "TARGET": target,
        "COMMIT": commit,
        "DEFAULT_SHA": _git(repo, "rev-parse", "HEAD"),
        "GIT_REF": "refs/heads/main",
    }
    return _run_step(step, repo, env, tmp)


def test_promotion_verification(docs: dict[str, dict[str, dict[str, Any]]], repo: Path, tmp_path: Path) -> None:
    base = _commit(repo, {**COMPONENT_FILES, "environments/dev.tfvars": "x = 1\n"}, "base")
    for component in DYNAMODB_COMPONENTS:
        _git(repo, "tag", f"deployed/dev/{component}/{base}", base)
    tenants = _commit(repo, {"terraform/tenants/main.tf": "# changed\n"}, "tenants")

    # tenants changed after base and is not applied in dev yet
    result, _, summary = _verify(docs, repo, tmp_path, "sit")
    assert result.returncode != 0
    assert "::error::Not applied in dev" in result.stdout and "tenants" in result.stdout
    assert "| products | `" + base + "` |" in summary

    _git(repo, "tag", f"deployed/dev/tenants/{tenants}", tenants)
    result, outputs, summary = _verify(docs, repo, tmp_path, "sit")
    assert result.returncode == 0, result.stdout + result.stderr
    assert outputs == {"sha": tenants, "lower": "dev"}
    assert f"| tenants | `{tenants}` |" in summary and f"| campaigns | `{base}` |" in summary

    # a short SHA resolves to the full one; prod needs sit, where nothing is applied
    result, outputs, _ = _verify(docs, repo, tmp_path, "sit", tenants[:10])
    assert result.returncode == 0 and outputs["sha"] == tenants
    result, _, _ = _verify(docs, repo, tmp_path, "prod", tenants)
    assert result.returncode != 0 and "Not applied in sit" in result.stdout

    # a shared input (tfvars) changed: every component must be applied again first
    shared = _commit(repo, {"environments/dev.tfvars": "x = 2\n"}, "tfvars")
    result, _, _ = _verify(docs, repo, tmp_path, "sit", shared)
    assert result.returncode != 0 and " ".join(DYNAMODB_COMPONENTS) in result.stdout

    # a tag whose name does not match the commit it points at is ignored
    products = _commit(repo, {"terraform/products/main.tf": "# p\n"}, "products")
    _git(repo, "tag", f"deployed/dev/products/{products}", base)
    result, _, summary = _verify(docs, repo, tmp_path, "sit", products)
    assert result.returncode != 0 and "| products | **not applied** |" in summary

    # commits off main, unknown commits, unknown targets and runs off main are refused
    _git(repo, "checkout", "-q", "-b", "side", base)
    side = _commit(repo, {"terraform/tenants/main.tf": "# changed\n"}, "side")
    _git(repo, "checkout", "-q", "main")
    result, _, _ = _verify(docs, repo, tmp_path, "sit", side)
    assert result.returncode != 0 and "is not on main" in result.stdout
    result, _, _ = _verify(docs, repo, tmp_path, "sit", "ab" * 20)
    assert result.returncode != 0 and "not found" in result.stdout
    result, _, _ = _verify(docs, repo, tmp_path, "dev")
    assert result.returncode != 0 and "Unknown promotion target" in result.stdout
    result, _, _ = _verify(docs, repo, tmp_path, "sit", "$(touch pwned)")
    assert result.returncode != 0 and not (repo / "pwned").exists()


def _expand(value: str, context: dict[str, str]) -> str:
    return EXPRESSION.sub(lambda m: context[m["expr"]], value)


@pytest.mark.parametrize("kind", KINDS)
def test_a_validated_deployment_plans_only_the_commit_validation_checked(
    docs: dict[str, dict[str, dict[str, Any]]], kind: str, tmp_path: Path
) -> None:
    """validate.yml checks out the run's commit: with ``validate`` set, the plan refuses another ref."""
    step = _step(_jobs(docs[kind]["terraform-component.yml"])["plan"], id="inputs")
    env = {"TF_ENV": "dev", "COMPONENT": SAMPLES[kind]["components"][0]["name"], "RUN_ID": "7", "RUN_ATTEMPT": "1"}
    run, head = "a" * 40, "b" * 40
    for validate, ref, ok in (("true", run, True), ("true", head, False), ("false", head, True)):
        result, _, _ = _run_step(step, tmp_path, {**env, "VALIDATE": validate, "REF": ref, "GITHUB_SHA": run}, tmp_path)
        assert (result.returncode == 0) == ok, (validate, ref, result.stdout)
        if not ok:
            assert f"validate checks the run's commit {run}, not ref {head}" in result.stdout


def test_plan_checksum_and_apply_of_the_saved_plan(docs: dict[str, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    """Plan -> summary -> checksum -> verify -> apply, with a local backend and the built-in provider."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    doc = docs["dynamodb"]["terraform-component.yml"]
    jobs = _jobs(doc)
    work = tmp_path / "work"
    root = work / "terraform" / "tenants"
    (root / "backend").mkdir(parents=True)
    (root / "main.tf").write_text(
        'terraform {\n  backend "local" {}\n}\n\nvariable "name" {\n  type = string\n}\n\n'
        'resource "terraform_data" "table" {\n  input = var.name\n}\n',
        encoding="utf-8",
    )
    (root / "backend" / "dev.tfbackend").write_text('path = "dev.tfstate"\n', encoding="utf-8")
    (work / "environments").mkdir()
    (work / "environments" / "dev.tfvars").write_text('name = "tenants"\n', encoding="utf-8")
    ref = "a" * 40
    base_env = {
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "TF_ENV": "dev",
        "COMPONENT": "tenants",
        "REF": ref,
    }
    context = {"github.run_id": "42", "github.run_attempt": "1", "inputs.validate": "false"}

    def run_job(job_id: str, names: list[str]) -> dict[str, str]:
        outputs: dict[str, str] = {}
        for name in names:
            step = _step(jobs[job_id], name=name)
            env = {k: _expand(str(v), context) for k, v in step.get("env", {}).items()}
            result, step_outputs, summary = _run_step(step, work, {**base_env, **env}, tmp_path)
            assert result.returncode == 0, f"{job_id}/{name}:\n{result.stdout}\n{result.stderr}"
            for key, value in step_outputs.items():
                context[f"steps.{step.get('id')}.outputs.{key}"] = value
            outputs.update(step_outputs)
            outputs["summary"] = outputs.get("summary", "") + summary
        return outputs

    plan_steps = [
        "Check inputs",
        "Terraform init",
        "Terraform plan",
        "Show the plan in the run summary",
        "Checksum the plan",
    ]
    plan = run_job("plan", plan_steps)
    assert plan["has_changes"] == "true"
    assert plan["artifact"] == "tfplan-dev-tenants-42-1"
    assert "terraform_data.table will be created" in plan["summary"]
    for key in ("has_changes", "artifact", "plan_sha256"):
        context[f"needs.plan.outputs.{key}"] = _expand(jobs["plan"]["outputs"][key], context)

    # The apply job re-checks the downloaded plan against the checksum the plan job reported.
    tfplan = root / "tfplan"
    original = tfplan.read_bytes()
    tfplan.write_bytes(original + b"tampered")
    step = _step(jobs["apply"], name="Verify the plan checksum")
    result, _, _ = _run_step(
        step, work, {**base_env, "EXPECTED_SHA256": context["needs.plan.outputs.plan_sha256"]}, tmp_path
    )
    assert result.returncode != 0
    tfplan.write_bytes(original)

    apply_name = next(s["name"] for s in _steps(jobs["apply"]) if s.get("name", "").startswith("Terraform apply"))
    run_job("apply", ["Verify the plan checksum", "Terraform init", apply_name])
    state = json.loads((root / "dev.tfstate").read_text(encoding="utf-8"))
    assert state["resources"][0]["instances"][0]["attributes"]["input"]["value"] == "tenants"

    # The saved plan is single-use: applying it again is refused as stale.
    result, _, _ = _run_step(_step(jobs["apply"], name=apply_name), work, base_env, tmp_path)
    assert result.returncode != 0

    # Nothing left to change: the next plan reports no changes, so no approval is requested.
    assert run_job("plan", ["Terraform plan"])["has_changes"] == "false"
    (work / "environments" / "dev.tfvars").write_text("name = \n", encoding="utf-8")
    result, _, _ = _run_step(_step(jobs["plan"], name="Terraform plan"), work, base_env, tmp_path)
    assert result.returncode == 1 and "terraform plan failed with exit code 1" in result.stdout


def test_record_creates_the_deployment_tag(docs: dict[str, dict[str, dict[str, Any]]], tmp_path: Path) -> None:
    """The record job creates deployed/<env>/<component>/<sha> once, and accepts it if it exists."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    calls = tmp_path / "calls"
    (fake_bin / "gh").write_text(
        "#!/usr/bin/env bash\n"
        f'echo "$*" >> "{calls}"\n'
        'if [ "$1" = api ] && [ "$2" != --method ]; then\n'
        '  if [ -n "${EXISTING:-}" ]; then echo "${EXISTING}"; exit 0; fi\n'
        "  exit 1\n"
        "fi\n",
        encoding="utf-8",
    )
    (fake_bin / "gh").chmod(0o755)
    step = _step(_jobs(docs["dynamodb"]["terraform-component.yml"])["record"], name="Tag the deployed commit")
    sha = "c" * 40
    env = {
        "PATH": f"{fake_bin}:{os.environ['PATH']}",
        "GH_TOKEN": "x",
        "REPOSITORY": "BigBeardWebSolutions/2_1_bbws_dynamodb_schemas",
        "TF_ENV": "dev",
        "COMPONENT": "tenants",
        "REF": sha,
    }
    result, _, summary = _run_step(step, tmp_path, env, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    posted = calls.read_text(encoding="utf-8").splitlines()[-1]
    assert posted == (
        "api --method POST repos/BigBeardWebSolutions/2_1_bbws_dynamodb_schemas/git/refs "
        f"-f ref=refs/tags/deployed/dev/tenants/{sha} -f sha={sha}"
    )
    assert f"deployed/dev/tenants/{sha}" in summary

    result, _, _ = _run_step(step, tmp_path, {**env, "EXISTING": sha}, tmp_path)
    assert result.returncode == 0 and "already recorded" in result.stdout
    result, _, _ = _run_step(step, tmp_path, {**env, "EXISTING": "d" * 40}, tmp_path)
    assert result.returncode != 0


@pytest.mark.parametrize("kind", KINDS)
def test_plan_job_guards_against_destructive_changes(docs: dict[str, dict[str, dict[str, Any]]], kind: str) -> None:
    doc = docs[kind]["terraform-component.yml"]
    assert doc["on"]["workflow_call"]["inputs"]["allow_replace"]["default"] == ""
    plan = _jobs(doc)["plan"]
    names = [s.get("name") for s in _steps(plan)]
    guard = _step(plan, name="Check the plan for deleted or replaced data")
    assert names.index("Terraform plan") < names.index(guard["name"]) < names.index("Upload the plan")
    # The input reaches the script through the environment only, never through an expression in the script.
    assert guard["env"] == {"ALLOW_REPLACE": "${{ inputs.allow_replace }}"}
    assert "${{" not in guard["run"]
    assert 'python3 scripts/check_plan_safety.py plan-safety.json --component "${COMPONENT}"' in guard["run"]
    for caller in ("deploy.yml", "promote.yml"):
        inputs = docs[kind][caller]["on"]["workflow_dispatch"]["inputs"]
        assert inputs["allow_replace"]["type"] == "string" and inputs["allow_replace"]["default"] == ""


@pytest.mark.parametrize("kind", KINDS)
def test_drift_workflow_plans_everything_daily_and_never_applies(
    docs: dict[str, dict[str, dict[str, Any]]], rendered: dict[str, Path], kind: str
) -> None:
    doc = docs[kind]["drift.yml"]
    assert set(doc["on"]) == {"schedule", "workflow_dispatch"}
    (cron,) = doc["on"]["schedule"]
    assert len(cron["cron"].split()) == 5 and cron["cron"].split()[2:] == ["*", "*", "*"], "daily"
    jobs = _jobs(doc)
    assert list(jobs) == ["plan", "report"]
    envs = [e["name"] for e in SAMPLES["dynamodb"]["environments"]]
    assert jobs["plan"]["strategy"]["matrix"]["environment"] == envs
    assert "Configure AWS credentials (OIDC)" in [s.get("name") for s in _steps(jobs["plan"])]
    run = _step(jobs["plan"], name="Plan every component")["run"]
    assert run == 'python scripts/drift_check.py plan --env "${TF_ENV}" --json "drift-${TF_ENV}.json"'
    assert (
        "drift_check.py report drift-results/*.json --issues"
        in _step(jobs["report"], name="Summarise and file issues")["run"]
    )
    assert jobs["report"]["permissions"] == {"contents": "read", "actions": "read", "issues": "write"}
    text = (rendered[kind] / "drift.yml").read_text()
    assert not re.search(r"terraform\s[^\n]*\bapply\b", text), "drift detection never applies"
