"""The generated repos' GitHub protection scripts, run unchanged against a local GitHub API on 127.0.0.1.

- scripts/check_environment_protection.py fails closed (protected, unprotected, missing, API error);
- scripts/configure_github_environments.py plans in a dry run without writing, applies, is idempotent,
  and leaves environments the check accepts, tag rulesets and the main ruleset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPOS
from tests.support.github_api import GitHubState, github_api
from tests.support.workflows import validate_check_names

REPO_DIRS = sorted(p for p in REPOS.iterdir() if (p / "scripts" / "github_protection.json").is_file())


def _config(repo: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((repo / "scripts" / "github_protection.json").read_text())
    return loaded


def _run(repo: Path, script: str, *args: str, token: str = "t0ken") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"}
    if token:
        env["GITHUB_TOKEN"] = token
    return subprocess.run(
        [sys.executable, str(repo / "scripts" / script), *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def _check(repo: Path, api: str, *envs: str) -> subprocess.CompletedProcess[str]:
    config = _config(repo)
    return _run(repo, "check_environment_protection.py", "--api-url", api, "--repository", config["repository"], *envs)


@pytest.fixture(params=REPO_DIRS, ids=lambda p: p.name)
def repo(request: pytest.FixtureRequest) -> Path:
    path: Path = request.param
    return path


def test_check_accepts_a_protected_environment(repo: Path) -> None:
    state = GitHubState()
    state.environment("dev", [("User", 1)])
    with github_api(state) as (api, _):
        result = _check(repo, api, "dev")
    assert result.returncode == 0, result.stdout + result.stderr
    paths = [r.path for r in state.requests]
    assert paths[0] == f"/repos/{_config(repo)['repository']}/environments/dev"
    assert any(p.endswith("/environments/dev/deployment-branch-policies?per_page=100") for p in paths)


@pytest.mark.parametrize(
    ("seed", "expected"),
    [
        (lambda s: s.environment("dev", []), "'dev' has no required reviewers"),
        (lambda s: s.environment("dev", [("User", 1)], branch_policy=None), "'dev' lets every branch deploy"),
        (lambda s: None, "'dev' does not exist"),
    ],
    ids=["no-reviewers", "any-branch", "missing"],
)
def test_check_fails_closed_naming_the_environment_and_the_fix(repo: Path, seed: Any, expected: str) -> None:
    state = GitHubState()
    seed(state)
    with github_api(state) as (api, _):
        result = _check(repo, api, "dev")
    assert result.returncode == 1
    assert expected in result.stdout
    assert "configure_github_environments.py --apply" in result.stdout


def test_check_refuses_a_branch_policy_wider_than_main(repo: Path) -> None:
    state = GitHubState()
    state.environment("prod", [("Team", 7)])
    state.branch_policies["prod"].append({"id": 5, "node_id": "x", "name": "release/*", "type": "branch"})
    with github_api(state) as (api, _):
        result = _check(repo, api, "prod")
    assert result.returncode == 1
    assert "'prod' allows deployments from branch main, branch release/*" in result.stdout


def test_check_fails_closed_when_the_api_errs(repo: Path) -> None:
    state = GitHubState()
    state.environment("dev", [("User", 1)])
    state.fail.add("/environments/dev")
    with github_api(state) as (api, _):
        result = _check(repo, api, "dev")
    assert result.returncode == 1
    assert "cannot verify environment 'dev'" in result.stdout and "HTTP 500" in result.stdout


def test_check_fails_closed_when_the_api_is_unreachable(repo: Path) -> None:
    with github_api() as (api, _):
        pass  # stopped: nothing listens on that port any more
    result = _check(repo, api, "dev")
    assert result.returncode == 1
    assert "cannot verify environment 'dev'" in result.stdout


def test_check_without_a_token_is_a_usage_error(repo: Path) -> None:
    result = _run(repo, "check_environment_protection.py", "--repository", "o/r", "dev", token="")
    assert result.returncode == 2
    assert "GITHUB_TOKEN" in result.stderr


def _seeded() -> GitHubState:
    state = GitHubState()
    state.users["tebogo"] = 42
    return state


def test_configure_dry_run_plans_every_change_and_writes_nothing(repo: Path) -> None:
    config = _config(repo)
    with github_api(_seeded()) as (api, state):
        result = _run(repo, "configure_github_environments.py", "--api-url", api)
    assert result.returncode == 0, result.stderr
    assert {r.method for r in state.requests} == {"GET"}
    assert not state.environments and not state.rulesets
    for env in config["environments"]:
        assert f"would: create environment {env} with 1 reviewer(s), branch main only" in result.stdout
    assert "would: create tag ruleset 'deployment records'" in result.stdout
    assert "would: create tag ruleset 'releases'" in result.stdout
    assert "would: create branch ruleset 'main'" in result.stdout
    assert "run again with --apply" in result.stdout


def test_configure_apply_protects_everything_and_is_idempotent(repo: Path) -> None:
    config = _config(repo)
    with github_api(_seeded()) as (api, state):
        applied = _run(repo, "configure_github_environments.py", "--api-url", api, "--apply")
        assert applied.returncode == 0, applied.stderr
        writes = [r for r in state.requests if r.method != "GET"]
        # The check the pipelines run now accepts every approval environment.
        checked = _check(repo, api, *config["environments"])
        assert checked.returncode == 0, checked.stdout
        state.requests.clear()
        again = _run(repo, "configure_github_environments.py", "--api-url", api)
    assert "already as configured" in again.stdout
    assert {r.method for r in state.requests} == {"GET"}

    puts = {r.path.rsplit("/", 1)[-1]: r.body for r in writes if r.method == "PUT"}
    assert set(puts) == set(config["environments"])
    for body in puts.values():
        assert body["reviewers"] == [{"type": "User", "id": 42}]
        assert body["prevent_self_review"] is True
        assert body["deployment_branch_policy"] == {"protected_branches": False, "custom_branch_policies": True}
    rulesets = {r["name"]: r for r in state.rulesets.values()}
    assert rulesets["deployment records"]["conditions"]["ref_name"]["include"] == ["refs/tags/deployed/**/*"]
    assert rulesets["releases"]["conditions"]["ref_name"]["include"] == ["refs/tags/v*"]
    for name in ("deployment records", "releases"):
        assert {r["type"] for r in rulesets[name]["rules"]} == {"creation", "update", "deletion"}
        assert {a["actor_type"] for a in rulesets[name]["bypass_actors"]} == {"RepositoryRole", "Integration"}
    main = rulesets["main"]
    assert main["target"] == "branch" and main["conditions"]["ref_name"]["include"] == ["refs/heads/main"]
    rules = {r["type"]: r.get("parameters") for r in main["rules"]}
    assert {"non_fast_forward", "required_linear_history", "deletion"} <= set(rules)
    assert rules["pull_request"]["required_approving_review_count"] == 1
    contexts = [c["context"] for c in rules["required_status_checks"]["required_status_checks"]]
    assert contexts == validate_check_names(repo)
    assert main["bypass_actors"] == []


def test_configure_repairs_a_drifted_environment(repo: Path) -> None:
    state = _seeded()
    state.environment("dev", [], branch_policy=None)
    state.branch_policies["dev"] = [{"id": 9, "node_id": "x", "name": "feature/*", "type": "branch"}]
    with github_api(state) as (api, _):
        result = _run(repo, "configure_github_environments.py", "--api-url", api, "--apply")
        assert result.returncode == 0, result.stderr
        assert "apply: update environment dev: reviewers, prevent_self_review, branch policy" in result.stdout
        assert "apply: remove deployment branch policy branch 'feature/*' from dev" in result.stdout
        assert _check(repo, api, "dev").returncode == 0


def test_configure_names_a_reviewer_that_does_not_exist(repo: Path) -> None:
    with github_api(GitHubState()) as (api, state):
        result = _run(repo, "configure_github_environments.py", "--api-url", api, "--apply")
    assert result.returncode == 1
    assert "reviewer user 'tebogo' does not exist" in result.stderr
    assert {r.method for r in state.requests} == {"GET"}


MONOREPO_CONFIG = REPOS.parent / ".github" / "protection.json"
SCRIPT = REPOS.parent / "generator" / "shipped" / "configure_github_environments.py"


def test_monorepo_publish_splits_environment_takes_release_tags_only() -> None:
    """The monorepo's own config: publish-splits deploys from tags v* only, reviewers as the definition's."""
    config = json.loads(MONOREPO_CONFIG.read_text())
    platform = yaml.safe_load((REPOS.parent / "definition" / "platform.yaml").read_text())
    assert config["reviewers"] == platform["github"]["reviewers"]
    assert config["repository"].split("/")[0] == platform["github"]["owner"]
    ci = yaml.safe_load((REPOS.parent / ".github" / "workflows" / "ci.yml").read_text())
    sessions = ci["jobs"]["nox"]["strategy"]["matrix"]["session"]
    assert config["required_status_checks"] == [f"nox -s {s}" for s in sessions]
    state = GitHubState()
    state.users["tebogo"] = 42
    with github_api(state) as (api, _):
        env = {k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"} | {"GITHUB_TOKEN": "t"}
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--api-url", api, "--config", str(MONOREPO_CONFIG), "--apply"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert "apply: allow deployments to publish-splits from tag v*" in result.stdout
    assert state.branch_policies["publish-splits"] == [
        {"id": state.branch_policies["publish-splits"][0]["id"], "node_id": "BP", "name": "v*", "type": "tag"}
    ]
    assert state.environments["publish-splits"]["reviewers"] == [{"type": "User", "id": 42}]
