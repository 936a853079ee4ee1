"""The committed repos are the golden output: they must be exactly what the definition and blueprints give."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import run
from generator.definition import load_definition
from generator.errors import GenerateError
from generator.model import build_model
from generator.render import manifest, pipeline, staging
from generator.render.lock import LOCK_FILE
from generator.render.targets import Target
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT


def _bbws_gen(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args], capture_output=True, text=True, check=False, cwd=ROOT
    )


def _tree(path: Path) -> dict[str, bytes]:
    """Every generated file under ``path`` (the lock file beside the repos is not output)."""
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != LOCK_FILE
    }


def test_committed_repos_match_the_blueprints() -> None:
    result = _bbws_gen("generate", "--check")
    assert result.returncode == 0, f"regenerate with `nox -s generate` and commit:\n{result.stdout}{result.stderr}"


def test_check_names_each_differing_file_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "repos"
    shutil.copytree(REPOS, output)
    tfvars = output / "2_1_bbws_dynamodb_schemas" / "environments" / "dev.tfvars"
    tfvars.write_text(tfvars.read_text() + "# hand edit\n")
    (output / "2_1_bbws_dynamodb_schemas" / "schemas" / "products.json").unlink()
    script = output / "2_1_bbws_s3_schemas" / "scripts" / "check_bucket_policy.py"
    script.chmod(0o755)  # git keeps the executable bit: a mode change is drift too
    before = _tree(output)
    result = _bbws_gen("generate", "--check", "--output", str(output))
    assert result.returncode == 1
    assert "2_1_bbws_dynamodb_schemas/environments/dev.tfvars (changed)" in result.stdout
    assert "2_1_bbws_dynamodb_schemas/schemas/products.json (missing)" in result.stdout
    assert "2_1_bbws_s3_schemas/scripts/check_bucket_policy.py (changed)" in result.stdout
    assert _tree(output) == before
    assert script.stat().st_mode & 0o111


def test_generate_is_deterministic_and_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert run(["generate", "--output", str(first), "--docs", str(tmp_path / "docs-a")]) == 0
    assert run(["generate", "--output", str(second), "--docs", str(tmp_path / "docs-b")]) == 0
    assert _tree(first) == _tree(second)
    assert _tree(tmp_path / "docs-a") == _tree(tmp_path / "docs-b") == _tree(DOCS)
    capsys.readouterr()
    assert run(["generate", "--output", str(first), "--docs", str(tmp_path / "docs-a")]) == 0
    assert "(0 file(s) changed)" in capsys.readouterr().out
    assert _tree(first) == _tree(REPOS), "the committed repos are what generate writes"


def test_generate_replaces_stale_files_and_keeps_terraform_working_dirs(tmp_path: Path) -> None:
    output = tmp_path / "repos"
    shutil.copytree(REPOS, output)
    repo = output / "2_1_bbws_dynamodb_schemas"
    (repo / "terraform" / "old_table").mkdir()
    (repo / "terraform" / "old_table" / "main.tf").write_text("# removed from the definition\n")
    with (repo / manifest.MANIFEST).open("a") as listed:  # an earlier generate wrote it
        listed.write("terraform/old_table/main.tf\n")
    (repo / "terraform" / "tenants" / ".terraform").mkdir()
    (repo / "terraform" / "tenants" / ".terraform" / "marker").write_text("provider cache")
    assert run(["generate", "--output", str(output), "--docs", str(tmp_path / "docs")]) == 0
    assert not (repo / "terraform" / "old_table").exists()
    assert (repo / "terraform" / "tenants" / ".terraform" / "marker").read_text() == "provider cache"
    assert not [p for p in output.iterdir() if p.name.startswith(".bbws-gen-")], "no staging left behind"


def test_a_failed_generate_leaves_the_previous_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = tmp_path / "repos"
    shutil.copytree(REPOS, output)
    (output / "2_1_bbws_dynamodb_schemas" / "README.md").write_text("previous output\n")
    before = _tree(output)

    def broken_check(tree: Path) -> list[str]:
        raise GenerateError("validator crashed")

    monkeypatch.setattr(staging.fmt_check, "unformatted", broken_check)
    with pytest.raises(GenerateError):
        pipeline.generate(build_model(load_definition(DEFINITION)), output, tmp_path / "docs")
    assert _tree(output) == before
    assert not [p for p in output.iterdir() if p.name.startswith(".bbws-gen-")]


def test_terraform_that_fmt_would_change_fails_the_run_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "repos"
    shutil.copytree(REPOS, output)
    before = _tree(output)
    original = staging.render_target

    def sloppy(template: Path, target: Target, destination: Path, tag: str) -> None:
        original(template, target, destination, tag)
        if target.blueprint == "s3":
            (destination / "terraform" / "templates" / "extra.tf").write_text("locals {\nx=1\n}\n")

    monkeypatch.setattr(staging, "render_target", sloppy)
    with pytest.raises(GenerateError, match="terraform fmt would change") as raised:
        pipeline.generate(build_model(load_definition(DEFINITION)), output, tmp_path / "docs")
    assert (
        raised.value.details[0]
        == "2_1_bbws_s3_schemas/terraform/templates/extra.tf: not fmt-clean (fix the blueprint's layout)"
    )
    assert any(line.startswith("+") and "x = 1" in line for line in raised.value.details), raised.value.details
    assert _tree(output) == before


def test_output_has_no_timestamps_or_absolute_paths() -> None:
    for name, content in _tree(REPOS).items():
        text = content.decode("utf-8", errors="replace")
        assert str(ROOT) not in text, f"{name} contains the absolute path of this checkout"
        assert "/tmp/" not in text, f"{name} contains a temporary path"


def test_shipped_scripts_are_the_generators_own_modules() -> None:
    """Scripts in the generated repos are byte-for-byte the modules the generator itself runs."""
    scripts = sorted(REPOS.glob("*/scripts/*.py"))
    assert {p.name for p in scripts} >= {"validate_schemas.py", "validate_templates.py", "check_bucket_policy.py"}
    for script in scripts:
        assert filecmp.cmp(script, ROOT / "generator" / "shipped" / script.name, shallow=False), script


def test_template_files_are_copied_verbatim_from_the_definition() -> None:
    source = DEFINITION / "templates"
    copied = REPOS / "2_1_bbws_s3_schemas" / "templates"
    names = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()} - {"catalog.yaml"}
    assert names == {p.relative_to(copied).as_posix() for p in copied.rglob("*") if p.is_file()} - {"catalog.yaml"}
    for name in names:
        assert (source / name).read_bytes() == (copied / name).read_bytes(), name


def test_every_generated_text_file_ends_with_exactly_one_newline() -> None:
    for name, content in _tree(REPOS).items():
        assert content.endswith(b"\n") and not content.endswith(b"\n\n"), name


def test_readme_installs_the_nox_pinned_in_pyproject() -> None:
    """The README's first command and CI install the same nox (pinned once, in pyproject.toml)."""
    import tomllib

    pin = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"][0]
    assert f'"{pin}"' in (ROOT / "README.md").read_text()


def test_a_blueprint_that_fails_in_a_render_worker_fails_the_run_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trees render in forked worker processes: a failure there comes back as the run's error."""
    output = tmp_path / "repos"
    shutil.copytree(REPOS, output)
    before = _tree(output)

    def failing(template: Path, target: Target, destination: Path, tag: str) -> None:
        if target.blueprint == "s3":
            raise GenerateError("blueprint 's3' failed to render: boom")
        destination.mkdir(parents=True)  # the other trees "render" (empty)

    monkeypatch.setattr(staging, "render_target", failing)
    with pytest.raises(GenerateError, match="blueprint 's3' failed to render: boom"):
        pipeline.generate(build_model(load_definition(DEFINITION)), output, tmp_path / "docs")
    assert _tree(output) == before
    assert not [p for p in output.iterdir() if p.name.startswith(".bbws-gen-")]
