"""generate owns exactly the files it generated (each tree's manifest); the user's files are never touched.

Local state, ``*_override.tf`` and saved plans live inside the generated repos in real use; losing a
``terraform.tfstate`` means Terraform loses track of real resources. Crashes at every step are in
tests/test_crash_safety.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from generator.cli import run
from generator.render import manifest
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

DYNAMODB = "2_1_bbws_dynamodb_schemas"
# The user's files, as a platform engineer leaves them in a repo (relative to the DynamoDB repo).
USER_FILES = {
    "terraform/tenants/terraform.tfstate": '{"version": 4, "resources": ["real"]}\n',
    "terraform/tenants/dev_override.tf": 'provider "aws" {}\n',
    "terraform/tenants/plan.json": '{"planned_values": {}}\n',
    "notes/todo.md": "ask about the GSI\n",
}


def _copy(tmp_path: Path) -> tuple[Path, Path]:
    output, docs = tmp_path / "repos", tmp_path / "docs"
    shutil.copytree(REPOS, output)
    shutil.copytree(DOCS, docs)
    return output, docs


def _plant(repo: Path) -> None:
    for name, text in USER_FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)


def _assert_kept(repo: Path) -> None:
    for name, text in USER_FILES.items():
        assert (repo / name).read_text() == text, f"{name}: the user's file was lost or changed"


def _generate(output: Path, docs: Path, *extra: str, definition: Path = DEFINITION) -> int:
    return run(["generate", "--definition", str(definition), "--output", str(output), "--docs", str(docs), *extra])


def test_generate_keeps_user_files_and_removes_only_what_it_generated(tmp_path: Path, definition_copy: Path) -> None:
    output, docs = _copy(tmp_path)
    repo = output / DYNAMODB
    _plant(repo)
    (docs / "my-notes.md").write_text("mine\n")
    # A table leaves the definition: its generated root goes, the user's state file in it stays.
    (definition_copy / "tables" / "products.json").unlink()
    (repo / "terraform" / "products" / "terraform.tfstate").write_text("products state\n")
    assert _generate(output, docs, definition=definition_copy) == 0
    _assert_kept(repo)
    assert (docs / "my-notes.md").read_text() == "mine\n"
    assert not (repo / "terraform" / "products" / "main.tf").exists(), "a file it generated and no longer does goes"
    assert (repo / "terraform" / "products" / "terraform.tfstate").read_text() == "products state\n"
    assert "terraform/products/main.tf" not in (manifest.read(repo) or ())
    assert run(["generate", "--definition", str(definition_copy), "--output", str(output), "--docs", str(docs)]) == 0
    _assert_kept(repo)


def test_check_reports_only_owned_files_and_labels_new_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output, docs = _copy(tmp_path)
    repo = output / DYNAMODB
    _plant(repo)
    listed = (repo / manifest.MANIFEST).read_text()
    (repo / manifest.MANIFEST).write_text(listed.replace("schemas/campaigns.json\n", ""))
    (repo / "schemas" / "campaigns.json").unlink()  # as if an earlier release did not generate it yet
    (repo / "schemas" / "products.json").unlink()  # generated, then deleted by hand
    capsys.readouterr()
    assert _generate(output, docs, "--check") == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert f"{DYNAMODB}/schemas/campaigns.json (new)" in lines
    assert f"{DYNAMODB}/schemas/products.json (missing)" in lines
    assert f"{DYNAMODB}/{manifest.MANIFEST} (changed)" in lines
    assert not [line for line in lines if any(name in line for name in USER_FILES)], lines
    assert "yours stay" in captured.err
    _assert_kept(repo)
    assert _generate(output, docs) == 0
    _assert_kept(repo)
    assert _generate(output, docs, "--check") == 0


def test_a_user_file_where_generate_would_write_one_stops_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output, docs = _copy(tmp_path)
    repo = output / DYNAMODB
    listed = (repo / manifest.MANIFEST).read_text()
    (repo / manifest.MANIFEST).write_text(listed.replace("schemas/campaigns.json\n", ""))
    mine = repo / "schemas" / "campaigns.json"
    mine.write_text("my own draft\n")
    assert _generate(output, docs, "--check") == 1
    assert f"{DYNAMODB}/schemas/campaigns.json (conflict)" in capsys.readouterr().out
    assert _generate(output, docs) == 1
    err = capsys.readouterr().err
    assert "would overwrite files it did not write" in err and str(mine) in err
    assert mine.read_text() == "my own draft\n"


def test_an_output_from_before_manifests_is_adopted_keeping_everything_else(tmp_path: Path) -> None:
    output, docs = _copy(tmp_path)
    repo = output / DYNAMODB
    for tree in (output / DYNAMODB, output / "2_1_bbws_s3_schemas", docs):
        (tree / manifest.MANIFEST).unlink()
    _plant(repo)
    (repo / "terraform" / "old_table").mkdir()
    (repo / "terraform" / "old_table" / "main.tf").write_text("# unknown origin: kept\n")
    assert _generate(output, docs) == 0
    _assert_kept(repo)
    assert (repo / "terraform" / "old_table" / "main.tf").exists()
    assert manifest.read(repo) == manifest.read(REPOS / DYNAMODB)
    assert manifest.read(docs) == manifest.read(DOCS)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("notes", "is not a previous bbws-gen output"),
        ("definition", "overlaps the definition"),
        ("same", "overlap: give two separate folders"),
        ("inside", "overlap: give two separate folders"),
        ("root", "is the project root"),
        ("above-root", "is the project root"),
        ("repo-folder", "is not a previous bbws-gen output"),
        ("output-notes", "holds other files"),
    ],
)
def test_unsafe_output_folders_are_refused_and_nothing_moves(
    tmp_path: Path, definition_copy: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "meeting.md").write_text("mine\n")
    output, docs = tmp_path / "out", tmp_path / "docs"
    if case == "notes":
        docs = notes
    elif case == "definition":
        docs = definition_copy
    elif case == "same":
        docs = output = notes
    elif case == "inside":
        docs = output / "docs"
    elif case == "root":
        docs = ROOT
    elif case == "above-root":
        output = ROOT.parent
    elif case == "repo-folder":
        (output / DYNAMODB).mkdir(parents=True)
        (output / DYNAMODB / "main.tf").write_text("# my own repo\n")
    elif case == "output-notes":
        output = notes
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    definition = definition_copy if case == "definition" else DEFINITION
    capsys.readouterr()
    code = _generate(output, docs, definition=definition)
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
