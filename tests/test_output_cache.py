"""The cache of rendered output: warm and cold runs write the same trees, and the cache never hides drift.

Every test runs the library's generate (the CLI's path) with its own cache folder; a run that used the
cache says so through ``report``, which is how each test knows which path it exercised.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import api
from generator.errors import DriftError, GenerateError
from generator.render import cache_paths, output_cache
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

HIT = "unchanged since a cached run"
DYNAMODB = "2_1_bbws_dynamodb_schemas"


def _tree(path: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under ``path`` with its executable bit (the lock beside the repos is not output)."""
    return {
        p.relative_to(path).as_posix(): (p.read_bytes(), bool(p.stat().st_mode & 0o111))
        for p in sorted(path.rglob("*"))
        if p.is_file() and p.name != ".bbws-gen.lock"
    }


def _generate(out: Path, *, check: bool = False, definition: Path = DEFINITION) -> tuple[api.Changes, list[str]]:
    lines: list[str] = []
    changes = api.generate(definition, out / "repos", out / "docs", check=check, root=ROOT, report=lines.append)
    return changes, lines


def _copy_of_committed(out: Path) -> Path:
    shutil.copytree(REPOS, out / "repos")
    shutil.copytree(DOCS, out / "docs")
    return out


@pytest.fixture(scope="module")
def warm_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache folder holding the entry of the shipped definition (filled by one cold run)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(cache_paths.CACHE_ENV, str(folder))
        _, lines = _generate(tmp_path_factory.mktemp("cold"))
        assert not any(HIT in line for line in lines), "the first run renders"
        yield folder


@pytest.fixture
def cache(warm_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(warm_cache))
    return warm_cache


def _entry(cache: Path) -> Path:
    return cache / "output" / output_cache.input_key(ROOT, DEFINITION)


def test_a_warm_run_writes_exactly_what_a_cold_one_does(cache: Path, tmp_path: Path) -> None:
    changes, lines = _generate(tmp_path)
    assert any(HIT in line for line in lines), lines
    assert _tree(tmp_path / "repos") == _tree(REPOS) and _tree(tmp_path / "docs") == _tree(DOCS)
    assert all(line.endswith("(new)") for line in changes.lines) and changes.lines


def test_a_hand_edit_deletion_and_mode_change_are_reported_and_repaired_with_a_warm_cache(
    cache: Path, tmp_path: Path
) -> None:
    out = _copy_of_committed(tmp_path)
    repo = out / "repos" / DYNAMODB
    (repo / "environments" / "dev.tfvars").write_text("# hand edit\n")
    (repo / "schemas" / "products.json").unlink()
    (repo / "scripts" / "validate_schemas.py").chmod(0o755)  # git keeps the bit: drift too
    (out / "docs" / "README.md").write_text("# mine now\n")
    with pytest.raises(DriftError) as drift:
        _generate(out, check=True)
    assert {f"{DYNAMODB}/environments/dev.tfvars (changed)", f"{DYNAMODB}/schemas/products.json (missing)"} <= set(
        drift.value.changes
    )
    assert f"{DYNAMODB}/scripts/validate_schemas.py (changed)" in drift.value.changes
    assert "docs/README.md (changed)" in drift.value.changes
    changes, lines = _generate(out)
    assert any(HIT in line for line in lines), "the repair came from the cache"
    assert len(changes.lines) == len(drift.value.changes) == 4
    assert _tree(out / "repos") == _tree(REPOS) and _tree(out / "docs") == _tree(DOCS)
    assert _generate(out, check=True)[0].lines == ()


@pytest.mark.parametrize("damage", ["changed file", "missing file", "extra file", "mode", "index", "no index"])
def test_a_damaged_or_partial_entry_is_never_used(cache: Path, tmp_path: Path, damage: str) -> None:
    entry = _entry(cache)
    tfvars = entry / "trees" / DYNAMODB / "environments" / "dev.tfvars"
    if damage == "changed file":
        tfvars.write_text("# not what was rendered\n")
    elif damage == "missing file":
        tfvars.unlink()
    elif damage == "extra file":
        (entry / "trees" / DYNAMODB / "stray.tf").write_text("# stray\n")
    elif damage == "mode":
        tfvars.chmod(0o755)
    elif damage == "index":
        (entry / "index.json").write_text('{"format": 1, "trees": [')
    else:  # a run killed while storing: entries appear whole by rename, so this is only a hand-made mess
        (entry / "index.json").unlink()
    out = _copy_of_committed(tmp_path)
    _, lines = _generate(out, check=True)  # no drift reported: the damaged entry was not compared
    assert not any(HIT in line for line in lines)
    assert any("validating the definition" in line for line in lines), "fell back to a full render"
    assert _tree(out / "repos") == _tree(REPOS)
    assert json.loads((entry / "index.json").read_text())["files"], "the full render stored a whole entry again"
    assert any(HIT in line for line in _generate(out, check=True)[1])


def test_the_definitions_notes_are_kept_in_the_entry(cache: Path, tmp_path: Path) -> None:
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    schema = definition / "schema" / "pins.schema.json"
    schema.write_text(schema.read_text().replace('"description"', '"$comment"', 1))
    cold, cold_lines = _generate(tmp_path / "a", definition=definition)
    warm, warm_lines = _generate(tmp_path / "b", definition=definition)
    assert not any(HIT in line for line in cold_lines) and any(HIT in line for line in warm_lines)
    assert cold.notes and warm.notes == cold.notes
    assert any("pins.schema.json" in note for note in warm.notes)


def test_off_renders_every_time_and_keeps_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache_paths.CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert output_cache.OutputCache.open(ROOT, DEFINITION, print) is None
    _, lines = _generate(tmp_path / "out")
    assert any("validating the definition" in line for line in lines) and not any(HIT in line for line in lines)
    assert not (tmp_path / "xdg").exists()


def test_a_run_without_terraform_warns_and_is_not_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Trees terraform fmt did not check must not become the cached truth a later run compares against."""
    from generator import terraform

    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(terraform, "binary", lambda: None)
    _, lines = _generate(tmp_path / "first")
    assert any(line.startswith("warning: terraform not on PATH") for line in lines)
    _, lines = _generate(tmp_path / "second")
    assert not any(HIT in line for line in lines), "an unchecked render was cached"


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    (root / "blueprints" / "s3").mkdir(parents=True)
    (root / "blueprints" / "s3" / "main.tf.jinja").write_text("{{ x }}\n")
    (root / "copier.yml").write_text("_subdirectory: blueprints\n")
    (root / "pyproject.toml").write_text('[project]\nversion = "0.1.0"\n')
    (root / "definition" / "tables").mkdir(parents=True)
    (root / "definition" / "tables" / "a.json").write_text("{}\n")
    return root, root / "definition"


@pytest.mark.parametrize(
    "change",
    ["definition bytes", "definition file renamed", "definition mode", "blueprint", "copier.yml", "release"],
)
def test_the_key_changes_with_everything_that_decides_the_output(tmp_path: Path, change: str) -> None:
    root, definition = _project(tmp_path)
    before = output_cache.input_key(root, definition)
    assert output_cache.input_key(root, definition) == before, "the key is stable"
    table = definition / "tables" / "a.json"
    if change == "definition bytes":
        table.write_text("{} \n")
    elif change == "definition file renamed":
        table.rename(table.with_name("b.json"))
    elif change == "definition mode":
        table.chmod(0o755)
    elif change == "blueprint":
        (root / "blueprints" / "s3" / "main.tf.jinja").write_text("{{ y }}\n")
    elif change == "copier.yml":
        (root / "copier.yml").write_text("_subdirectory: blueprints2\n")
    else:
        (root / "pyproject.toml").write_text('[project]\nversion = "0.1.1"\n')
    assert output_cache.input_key(root, definition) != before


def test_a_staged_copy_that_differs_from_the_index_is_never_swapped_in(cache: Path, tmp_path: Path) -> None:
    """The entry is checked when looked up, and the copy that generate swaps in is checked again."""
    entry = output_cache.OutputCache(cache / "output", _entry(cache).name, print).lookup()
    assert entry is not None
    copy = tmp_path / "rendered"
    shutil.copytree(entry.folder / "trees", copy, symlinks=True)
    entry.verify(copy)
    (copy / DYNAMODB / "README.md").write_text("changed on the way\n")
    with pytest.raises(GenerateError, match="changed while it was being copied"):
        entry.verify(copy)


@pytest.mark.parametrize("kind", ["fifo", "symlinked file", "symlinked folder", "oversized file"])
def test_a_definition_holding_what_the_loader_refuses_is_never_cached(tmp_path: Path, kind: str) -> None:
    """Never blocks on a FIFO or reads through a link: the run goes the full way and the loader says why."""
    root, definition = _project(tmp_path)
    assert output_cache.input_key(root, definition)
    if kind == "fifo":
        os.mkfifo(definition / "tables" / "b.json")
    elif kind == "symlinked file":
        (definition / "tables" / "b.json").symlink_to(root / "copier.yml")
    elif kind == "symlinked folder":
        (definition / "more").symlink_to(root / "blueprints")
    else:
        (definition / "tables" / "b.json").write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(output_cache._Uncacheable):
        output_cache.input_key(root, definition)
    assert output_cache.OutputCache.open(root, definition, print) is None
