"""Split-out repos maintain themselves: they pass their own `.pre-commit-config.yaml` offline, the hooks
catch what CI's validate workflow would (unformatted Terraform, a broken schema file), and a Dependabot
bump merged there is a hand edit that `copier update` keeps (the rule their READMEs state).

Reuses the session's released monorepo (tests/test_update.py) and `bbws-gen split`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from generator.split import split
from tests.test_update import (
    BLUEPRINT_README,
    answers_commit,
    commit_all,
    copier_update,
    edit,
    isolated_env,
    release,
    released_monorepo,
)

DYNAMODB = "2_1_bbws_dynamodb_schemas"
S3 = "2_1_bbws_s3_schemas"


@pytest.fixture(scope="module")
def split_repos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both repos split out of a copy of the released monorepo (once per module)."""
    base = tmp_path_factory.mktemp("hooks")
    mono = base / "mono"
    shutil.copytree(released_monorepo(tmp_path_factory), mono, symlinks=True)
    env = isolated_env(base)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        # The library call: raises SplitError when the split cannot go ahead; returns the copier update URL.
        assert split(mono / "repos", base / "split", f"file://{mono}") == f"git+file://{mono}"
    return base / "split"


def _pre_commit(repo: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    """`pre-commit run --all-files` with only the venv's tools and terraform on PATH, and no network."""
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    path = [str(Path(sys.executable).parent), str(Path(terraform).parent), "/usr/bin", "/bin"]
    env = {
        **isolated_env(tmp),
        "PATH": ":".join(path),
        "PRE_COMMIT_HOME": str(tmp / "pre-commit"),
        # Any download would fail: the hooks must need none.
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "TF_CLI_CONFIG_FILE": "/dev/null",
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "pre-commit"), "run", "--all-files", "--color", "never"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("name", [DYNAMODB, S3])
def test_split_repo_passes_its_own_hooks_offline(split_repos: Path, tmp_path: Path, name: str) -> None:
    result = _pre_commit(split_repos / name, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    ran = [line for line in result.stdout.splitlines() if line.endswith("Passed")]
    assert len(ran) == 4, result.stdout  # fmt, the repo's validator, workflow schema, Dependabot schema


def test_hooks_catch_unformatted_terraform_and_a_broken_schema_file(split_repos: Path, tmp_path: Path) -> None:
    repo = tmp_path / DYNAMODB
    shutil.copytree(split_repos / DYNAMODB, repo, symlinks=True)
    main = repo / "terraform" / "tenants" / "main.tf"
    main.write_text(main.read_text(encoding="utf-8").replace("  name ", "      name ", 1), encoding="utf-8")
    schema = repo / "schemas" / "tenants.json"
    data = json.loads(schema.read_text(encoding="utf-8"))
    data["globalSecondaryIndexes"][0]["partitionKey"]["type"] = "BOOL"
    schema.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    commit_all(repo, "break two things", isolated_env(tmp_path))

    result = _pre_commit(repo, tmp_path)
    assert result.returncode == 1
    failed = [line.split(".")[0] for line in result.stdout.splitlines() if line.endswith("Failed")]
    assert failed == ["terraform fmt", "Validate table schema files"], result.stdout
    assert "terraform/tenants/main.tf" in result.stdout
    assert "BOOL" in result.stdout


def test_a_dependabot_bump_is_a_hand_edit_that_copier_update_keeps(split_repos: Path, tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    repo = tmp_path / DYNAMODB
    shutil.copytree(split_repos / DYNAMODB, repo, symlinks=True)
    pins = yaml.safe_load((repo / ".copier-answers.yml").read_text(encoding="utf-8"))["spec"]["pins"]
    old = pins["actions"]["checkout"]["uses"]
    new = f"actions/checkout@{'c' * 40} # v5.9.9"
    workflows = sorted((repo / ".github" / "workflows").glob("*.yml"))
    for path in workflows:  # what Dependabot's pull request changes
        path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    commit_all(repo, "Bump actions/checkout (Dependabot)", env)

    mono = split_repos.parent / "mono"
    edit(mono / BLUEPRINT_README, "## Components\n", "## Components\n\nBlueprint 0.1.1 was here.\n")
    release(mono, "0.1.1", env)
    result = copier_update(repo, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert answers_commit(repo) == "v0.1.1"
    assert "Blueprint 0.1.1 was here." in (repo / "README.md").read_text(encoding="utf-8")
    texts = [path.read_text(encoding="utf-8") for path in workflows]
    assert all(old not in text for text in texts)
    assert sum(text.count(new) for text in texts) > 1
    assert "<<<<<<<" not in "".join(texts)
