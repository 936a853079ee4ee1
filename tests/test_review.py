"""Review files of the generated repos: CODEOWNERS from the definition's `codeowners`, and the PR template."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
import yaml

from generator.answers import dynamodb_spec
from generator.cli import run
from generator.definition import load_definition
from generator.model import build_model
from tests.conftest import REPOS

DYNAMODB = "2_1_bbws_dynamodb_schemas"
S3 = "2_1_bbws_s3_schemas"


def _rules(path: Path) -> list[tuple[str, list[str]]]:
    rules = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            pattern, *owners = line.split()
            rules.append((pattern, owners))
    return rules


def _owners(rules: list[tuple[str, list[str]]], file: str) -> list[str]:
    """GitHub's rule: the last matching pattern decides (anchored paths, directories, `*`)."""
    found: list[str] = []
    for pattern, owners in rules:
        anchored = pattern.lstrip("/")
        if pattern == "*" or (pattern.endswith("/") and file.startswith(anchored)) or fnmatch.fnmatch(file, anchored):
            found = owners
    return found


def _set_codeowners(definition: Path, codeowners: object) -> None:
    path = definition / "platform.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["codeowners"] = codeowners
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_committed_codeowners_give_templates_to_their_team_and_ci_to_the_platform() -> None:
    platform, email = "@BigBeardWebSolutions/platform-engineers", "@BigBeardWebSolutions/email-templates"
    s3 = _rules(REPOS / S3 / ".github" / "CODEOWNERS")
    assert _owners(s3, "templates/receipts/receipt.html") == [email, platform]
    assert _owners(s3, "README.md") == [platform]
    assert _owners(s3, ".github/workflows/deploy.yml") == [platform]
    assert _owners(s3, "requirements.txt") == [platform]
    dynamodb = _rules(REPOS / DYNAMODB / ".github" / "CODEOWNERS")
    assert _owners(dynamodb, "terraform/tenants/main.tf") == [platform]
    assert {owner for _, owners in dynamodb for owner in owners} == {platform}


def test_codeowners_per_repo_and_per_component(
    definition_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_codeowners(
        definition_copy,
        {
            "default": ["@org/platform"],
            "repos": {"s3": ["@org/web", "ops@example.com"]},
            "components": {"tenants": ["@org/identity", "@org/platform"], "backup": ["@dba-lead"]},
        },
    )
    out = tmp_path / "out"
    assert (
        run(
            [
                "-q",
                "generate",
                "--definition",
                str(definition_copy),
                "--output",
                str(out),
                "--docs",
                str(tmp_path / "docs"),
            ]
        )
        == 0
    ), capsys.readouterr().err
    dynamodb = _rules(out / DYNAMODB / ".github" / "CODEOWNERS")
    assert _owners(dynamodb, "terraform/tenants/versions.tf") == ["@org/identity", "@org/platform"]
    assert _owners(dynamodb, "schemas/tenants.json") == ["@org/identity", "@org/platform"]
    assert _owners(dynamodb, "schemas/products.json") == ["@org/platform"]
    assert _owners(dynamodb, "terraform/backup/main.tf") == ["@dba-lead", "@org/platform"]
    assert _owners(dynamodb, "scripts/validate_schemas.py") == ["@org/platform"]
    s3 = _rules(out / S3 / ".github" / "CODEOWNERS")
    assert _owners(s3, "templates/invoices/invoice.html") == ["@org/web", "ops@example.com"]


@pytest.mark.parametrize(
    ("codeowners", "expected"),
    [
        ({"default": ["@org/platform"], "components": {"orders": ["@x"]}}, "component 'orders' does not exist"),
        ({"default": ["@org/platform team"]}, '/codeowners/default/0: "@org/platform team" does not match'),
        ({"default": []}, "/codeowners/default: 0 items, but at least 1 are allowed"),
        ({"default": ["@a"], "repos": {"docs": ["@b"]}}, "/codeowners/repos/docs: unknown key 'docs'"),
    ],
    ids=["unknown-component", "owner-with-space", "no-owner", "unknown-repo"],
)
def test_bad_codeowners_are_refused(
    definition_copy: Path, codeowners: object, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_codeowners(definition_copy, codeowners)
    assert run(["validate", "--definition", str(definition_copy)]) == 2
    err = capsys.readouterr().err
    assert "platform.yaml:" in err and "how to fix:" in err, err
    assert expected in err, err


def test_without_codeowners_no_rules_are_generated(definition_copy: Path) -> None:
    path = definition_copy / "platform.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["codeowners"]
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert dynamodb_spec(build_model(load_definition(definition_copy)))["codeowners"] == []


@pytest.mark.parametrize("repo", [DYNAMODB, S3])
def test_pull_request_template_lists_the_reviewer_checks(repo: str) -> None:
    text = (REPOS / repo / ".github" / "pull_request_template.md").read_text(encoding="utf-8")
    for check in ("**Plan read**", "**Destructive-change guard**", "**Post-deploy plan**", "**Rollback path**"):
        assert check in text
    assert "python scripts/check_plan_safety.py plan.json" in text
    answers = yaml.safe_load((REPOS / repo / ".copier-answers.yml").read_text(encoding="utf-8"))
    for command in answers["spec"]["validate_commands"]:
        assert f"`{command['run']}`" in text
    assert (REPOS / repo / "docs" / "runbooks" / "rollback-state.md").is_file()  # the template's link
