"""The fmt check of a rendered tree (generator/render/fmt_check.py) with the real terraform: it reports what
``terraform fmt -recursive`` reports, skips only files whose exact bytes passed before, and never
remembers a failure."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from generator import terraform
from generator.errors import GenerateError
from generator.render import fmt_check
from generator.render.cache_paths import CACHE_ENV

pytestmark = pytest.mark.skipif(terraform.binary() is None, reason="terraform is not on PATH: install Terraform 1.11")

CLEAN = "locals {\n  a = 1\n}\n"
UNFORMATTED = "locals {\na=1\n}\n"


def _write(tree: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    return tree


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The targets of every real terraform fmt run fmt_check makes."""
    seen: list[list[str]] = []
    real = terraform.unformatted_files

    def recording(tree: Path, targets: Sequence[str]) -> list[str]:
        seen.append(list(targets))
        return real(tree, targets)

    monkeypatch.setattr(terraform, "unformatted_files", recording)
    return seen


def test_a_clean_file_is_remembered_and_an_unformatted_one_reported_every_time(
    tmp_path: Path, cache: Path, runs: list[list[str]]
) -> None:
    tree = _write(
        tmp_path / "repo",
        {"main.tf": CLEAN, "environments/dev.tfvars": UNFORMATTED, "terraform/tenants/variables.tf": CLEAN},
    )
    assert fmt_check.unformatted(tree) == ["environments/dev.tfvars"]
    assert fmt_check.unformatted(tree) == ["environments/dev.tfvars"], "a failure is never remembered"
    assert runs == [
        ["environments/dev.tfvars", "main.tf", "terraform/tenants/variables.tf"],
        ["environments/dev.tfvars"],
    ]
    (tree / "environments" / "dev.tfvars").write_text("a = 1\n")
    assert fmt_check.unformatted(tree) == []
    assert fmt_check.unformatted(tree) == []
    assert runs[2:] == [["environments/dev.tfvars"]], "once every file passed, terraform does not run at all"


def test_an_edited_file_is_checked_again(tmp_path: Path, cache: Path, runs: list[list[str]]) -> None:
    tree = _write(tmp_path / "repo", {"main.tf": CLEAN, "outputs.tf": CLEAN})
    assert fmt_check.unformatted(tree) == []
    (tree / "main.tf").write_text(CLEAN + UNFORMATTED)
    assert fmt_check.unformatted(tree) == ["main.tf"]
    assert runs == [["main.tf", "outputs.tf"], ["main.tf"]]


def test_a_pass_is_remembered_by_content_not_by_path(tmp_path: Path, cache: Path, runs: list[list[str]]) -> None:
    """The same bytes in another tree (the next run's staging folder) are not checked again."""
    assert fmt_check.unformatted(_write(tmp_path / "first", {"main.tf": CLEAN})) == []
    assert fmt_check.unformatted(_write(tmp_path / "second", {"component/main.tf": CLEAN})) == []
    assert runs == [["main.tf"]]


def test_a_pass_as_one_kind_of_file_is_not_a_pass_as_another(
    tmp_path: Path, cache: Path, runs: list[list[str]]
) -> None:
    """fmt's verdict depends on the file's kind, so the kind is part of what is remembered."""
    tree = _write(tmp_path / "repo", {"a.tf": CLEAN, "a.tftest.hcl": CLEAN})
    fmt_check.unformatted(tree)
    assert runs == [["a.tf", "a.tftest.hcl"]]


def test_it_reports_what_terraform_fmt_recursive_reports(tmp_path: Path, cache: Path) -> None:
    """Hidden folders and files and editor backups are not Terraform's to format; every kind fmt formats is."""
    tree = _write(
        tmp_path / "repo",
        {
            name: UNFORMATTED
            for name in [
                "main.tf",
                "dev.tfvars",
                "tests/plan.tftest.hcl",
                "tests/aws.tfmock.hcl",
                ".terraform/modules/m/main.tf",
                ".hidden.tf",
                "sub/.hidden.tfvars",
                "backup~/main.tf",
                "#autosave#/main.tf",
                "~home.tf",
            ]
        },
    )
    expected = ["dev.tfvars", "main.tf", "tests/aws.tfmock.hcl", "tests/plan.tftest.hcl", "~home.tf"]
    assert terraform.unformatted_files(tree, ["."]) == expected
    assert fmt_check.unformatted(tree) == expected


def test_a_file_terraform_cannot_parse_raises_naming_it_and_is_not_remembered(
    tmp_path: Path, cache: Path, runs: list[list[str]]
) -> None:
    tree = _write(tmp_path / "repo", {"ok.tf": CLEAN, "terraform/tenants/main.tf": 'locals {\n  a = "${"\n}\n'})
    for _ in range(2):
        with pytest.raises(GenerateError) as raised:
            fmt_check.unformatted(tree)
        assert "repo/terraform/tenants/main.tf:2" in str(raised.value)
    assert len(runs) == 2 and runs[1] == runs[0], "nothing of a run that failed is remembered"


def test_a_tree_without_terraform_is_clean_without_running_it(
    tmp_path: Path, cache: Path, runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _write(tmp_path / "docs", {"README.md": "# docs\n", "main.tf.json": "{}\n"})
    monkeypatch.setattr(terraform, "binary", lambda: None)
    assert fmt_check.unformatted(tree) == []
    assert runs == []


def test_without_terraform_on_path_the_tree_is_not_checked(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = _write(tmp_path / "repo", {"main.tf": UNFORMATTED})
    monkeypatch.setattr(terraform, "binary", lambda: None)
    assert fmt_check.unformatted(tree) is None
    assert not cache.exists()


def test_with_the_cache_off_every_file_is_checked_every_time(
    tmp_path: Path, runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    tree = _write(tmp_path / "repo", {"main.tf": CLEAN})
    assert fmt_check.unformatted(tree) == [] and fmt_check.unformatted(tree) == []
    assert runs == [["main.tf"], ["main.tf"]]
    assert not (tmp_path / "xdg").exists()


def test_another_terraform_binary_judges_again(
    tmp_path: Path, cache: Path, runs: list[list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass is a pass of one terraform: after an upgrade (another binary) the files are checked again."""
    tree = _write(tmp_path / "repo", {"main.tf": CLEAN})
    assert fmt_check.unformatted(tree) == []
    real = terraform.binary()
    assert real is not None
    other = tmp_path / "bin" / "terraform"
    other.parent.mkdir()
    other.symlink_to(Path(real).resolve())
    upgraded = tmp_path / "bin2" / "terraform"  # another executable: what an upgrade looks like to the key
    upgraded.parent.mkdir()
    upgraded.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    upgraded.chmod(0o755)
    monkeypatch.setattr(terraform, "binary", lambda: str(other))
    assert fmt_check.unformatted(tree) == []
    assert len(runs) == 1, "the same binary through a symlink is the same judge"
    monkeypatch.setattr(terraform, "binary", lambda: str(upgraded))
    assert fmt_check.unformatted(tree) == []
    assert len(runs) == 2


def test_unformatted_files_checks_exactly_the_file_targets_given(tmp_path: Path) -> None:
    tree = _write(
        tmp_path / "repo",
        {
            "a/main.tf": UNFORMATTED,
            "a/clean.tf": CLEAN,
            "b/dev.tfvars": UNFORMATTED,
            "c/not-asked.tf": UNFORMATTED,
            "d/t.tftest.hcl": UNFORMATTED,
        },
    )
    assert terraform.unformatted_files(tree, ["d/t.tftest.hcl", "a/main.tf", "a/clean.tf", "b/dev.tfvars"]) == [
        "a/main.tf",
        "b/dev.tfvars",
        "d/t.tftest.hcl",
    ]
    assert terraform.unformatted_files(tree, ["a/clean.tf"]) == []


def test_unformatted_files_splits_long_target_lists_without_losing_any(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(terraform, "_TARGETS_PER_RUN", 2)
    names = [f"m{i}.tf" for i in range(5)]
    tree = _write(tmp_path / "repo", {name: UNFORMATTED if i % 2 == 0 else CLEAN for i, name in enumerate(names)})
    assert terraform.unformatted_files(tree, names) == ["m0.tf", "m2.tf", "m4.tf"]
