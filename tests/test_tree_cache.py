"""Rendered trees kept one by one: an edit re-renders only the trees whose Copier data changed, a kept tree
is byte for byte what a fresh render writes, and nothing kept (or linked into the output) hides an edit.

Each test runs the library's generate with its own cache folder and reads, through ``report``, which trees
were rendered and which were taken from the cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator import api
from generator.errors import DriftError
from generator.render import cache_paths, tree_cache
from generator.render.targets import Target
from tests.conftest import DEFINITION, ROOT

DYNAMODB, S3 = "2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas"
TAKEN = "taken from the cache"


def _tree(path: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``path`` with its mode (the lock beside the repos is not output)."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes(), p.stat().st_mode & 0o777)
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".bbws-gen.lock"
    }


def _generate(definition: Path, out: Path, *, check: bool = False) -> list[str]:
    lines: list[str] = []
    api.generate(definition, out / "repos", out / "docs", check=check, root=ROOT, report=lines.append)
    return lines


def _rendered(lines: list[str]) -> set[str]:
    return {name for name in (DYNAMODB, S3, "docs") if any(line.startswith(f"rendering {name} ") for line in lines)}


def _edit_a_table(definition: Path, text: str) -> None:
    path = definition / "tables" / "tenants.json"
    data = json.loads(path.read_text())
    data["description"] = text
    path.write_text(json.dumps(data, indent=2) + "\n")


def _fresh(definition: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What generate writes with every cache off."""
    with monkeypatch.context() as patch:
        patch.setenv(cache_paths.CACHE_ENV, "off")
        _generate(definition, out)
    return out


@pytest.fixture
def edited(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped definition whose trees are all kept (one run into ``first``)."""
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    assert _rendered(_generate(definition, tmp_path / "first")) == {DYNAMODB, S3, "docs"}
    return definition


def test_a_table_edit_renders_the_dynamodb_repo_and_docs_and_takes_the_s3_repo(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _edit_a_table(edited, "Tenants, edited.")
    lines = _generate(edited, tmp_path / "second")
    assert _rendered(lines) == {DYNAMODB, "docs"}
    assert any(line.startswith(f"{S3}: ") and TAKEN in line for line in lines), lines
    fresh = _fresh(edited, tmp_path / "fresh", monkeypatch)
    assert _tree(tmp_path / "second") == _tree(fresh)


# Missing files and mode changes are caught by the same index comparison (tests/test_output_cache.py covers
# them for whole entries); these three kinds cover the ways into that comparison.
@pytest.mark.parametrize("damage", ["changed file", "extra file", "index"])
def test_a_kept_tree_that_does_not_match_its_index_is_rendered_afresh(
    edited: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    [entry] = [
        p for p in (tmp_path / "cache" / tree_cache.KIND).iterdir() if (p / tree_cache.TREE / "templates").is_dir()
    ]
    catalog = entry / tree_cache.TREE / "templates" / "catalog.yaml"
    if damage == "changed file":
        catalog.write_text("templates: []\n")  # in place: the output's file (a hard link) changes too
    elif damage == "extra file":
        (entry / tree_cache.TREE / "stray.tf").write_text("# stray\n")
    else:
        (entry / tree_cache.INDEX).write_text("{")
    _edit_a_table(edited, "Tenants, edited.")
    lines = _generate(edited, tmp_path / "second")
    assert _rendered(lines) == {DYNAMODB, S3, "docs"}, "the damaged S3 tree was rendered again"
    assert _tree(tmp_path / "second") == _tree(_fresh(edited, tmp_path / "fresh", monkeypatch))
    _edit_a_table(edited, "Tenants, edited twice.")
    assert _rendered(_generate(edited, tmp_path / "third")) == {DYNAMODB, "docs"}, "a whole entry was kept again"


def test_an_output_file_edited_in_place_is_reported_and_repaired(edited: Path, tmp_path: Path) -> None:
    """The caches' files are hard links to the output's: an edit in place there reaches them, and no cache
    may then stand in for rendering (the edit would be taken for generated output)."""
    catalog = tmp_path / "first" / "repos" / S3 / "templates" / "catalog.yaml"
    expected = catalog.read_bytes()
    with catalog.open("r+b") as handle:  # in place, as some editors and `terraform fmt` write
        handle.write(b"# edited")
    with pytest.raises(DriftError) as drift:
        _generate(edited, tmp_path / "first", check=True)
    assert f"{S3}/templates/catalog.yaml (changed)" in drift.value.changes
    _generate(edited, tmp_path / "first")
    assert catalog.read_bytes() == expected
    _generate(edited, tmp_path / "first", check=True)  # raises DriftError if anything still differs


def test_the_tree_key_covers_the_copier_data_the_tree_name_the_release_and_the_code() -> None:
    target = Target(S3, Path("/out") / S3, "s3", {"buckets": [{"name": "a"}]})
    key = tree_cache.tree_key("code", target, "v1")
    assert tree_cache.tree_key("code", target, "v1") == key, "stable"
    others = [
        tree_cache.tree_key("code", Target(S3, target.destination, "s3", {"buckets": [{"name": "b"}]}), "v1"),
        tree_cache.tree_key("code", Target("other", target.destination, "s3", target.spec), "v1"),
        tree_cache.tree_key("code", Target(S3, target.destination, "docs", target.spec), "v1"),
        tree_cache.tree_key("code", target, "v2"),
        tree_cache.tree_key("other code", target, "v1"),
    ]
    assert len({key, *others}) == 6
    moved = Target(S3, Path("/elsewhere") / S3, "s3", target.spec)
    assert tree_cache.tree_key("code", moved, "v1") == key, "where the output goes does not change the tree"
