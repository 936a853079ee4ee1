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
from generator.errors import DriftError
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
    assert any(line.startswith("warning:") and "cannot be used" in line for line in lines), lines
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


def test_an_entry_is_used_only_through_a_checked_copy(cache: Path, tmp_path: Path) -> None:
    """What generate compares and swaps in is a copy in staging, checked against the index there."""
    entry = output_cache.OutputCache(cache / "output", _entry(cache).name, print).lookup()
    assert entry is not None
    (tmp_path / "one").mkdir()
    copy = entry.produce(tmp_path / "one")
    assert copy == tmp_path / "one" / "rendered" and _tree(copy) == _tree(entry.folder / "trees")
    original = entry.folder / "trees" / DYNAMODB / "README.md"
    assert all(p.stat().st_nlink == 1 for p in copy.rglob("*") if p.is_file()), "a copy, never a link"
    saved = original.read_bytes()
    original.write_text("changed after the lookup\n")
    try:
        (tmp_path / "two").mkdir()
        with pytest.raises(output_cache.Unusable):
            entry.produce(tmp_path / "two")
    finally:
        original.write_bytes(saved)


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


def test_no_output_file_shares_an_inode_with_the_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two clones sharing one cache: an edit made in place in one never reaches the other (issue 22, defect 2)."""
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    first, second = tmp_path / "first", _copy_of_committed(tmp_path / "second")
    _generate(first)  # renders and keeps the answer
    (second / "repos" / DYNAMODB / "README.md").write_text("drift\n")
    _generate(second)  # repaired from the cache
    for out in (first, second):
        linked = [p for p in out.rglob("*") if p.is_file() and p.stat().st_nlink > 1]
        assert not linked, f"hard-linked output files: {linked[:3]}"
    with open(first / "repos" / DYNAMODB / "README.md", "r+b") as handle:
        handle.write(b"#")
    assert _generate(second, check=True)[0].lines == ()


def test_a_new_key_order_is_a_new_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same data with its keys in another order renders another schema file: the cache must not keep the
    old order (issue 22, defect 1)."""
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    out = tmp_path / "out"
    _generate(out, definition=definition)
    table = definition / "tables" / "campaigns.json"
    data = json.loads(table.read_text())
    table.write_text(json.dumps(dict(reversed(list(data.items()))), indent=2) + "\n")
    with pytest.raises(DriftError) as drift:
        _generate(out, check=True, definition=definition)
    assert f"{DYNAMODB}/schemas/campaigns.json (changed)" in drift.value.changes


def test_an_edit_saved_in_place_during_a_run_is_repaired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hand edit saved in place while generate runs (here: once the trees are rendered) is drift like any
    other: that run repairs it and later runs keep it repaired (issue 22, defect 3)."""
    from generator import faults

    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    out = tmp_path / "out"
    _generate(out, definition=definition)
    table = definition / "tables" / "tenants.json"
    table.write_text(table.read_text().replace('"description": "', '"description": "Edited. ', 1))
    victim = out / "repos" / "2_1_bbws_s3_schemas" / "README.md"
    expected = victim.read_bytes()
    original = faults.point

    def edit_at(step: str) -> None:
        if step == "generate:rendered":
            with open(victim, "ab") as handle:
                handle.write(b"hand edit\n")
        original(step)

    monkeypatch.setattr(faults, "point", edit_at)
    _generate(out, definition=definition)
    monkeypatch.setattr(faults, "point", original)
    assert victim.read_bytes() == expected, "the run left the hand edit in place"
    assert _generate(out, check=True, definition=definition)[0].lines == ()


def test_the_key_covers_every_installed_distribution_and_the_terraform_binary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Optional libraries (rfc3339-validator, jinja2-ansible-filters) and terraform (by its bytes, not its
    path or date) change answers, so they change the key (issue 22, defects 4, 5 and 7)."""
    from generator import terraform

    root, _ = _project(tmp_path)
    real = terraform.binary()
    assert real is not None
    fake = tmp_path / "bin" / "terraform"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nexec "{real}" "$@"\n')
    fake.chmod(0o755)
    monkeypatch.setattr(terraform, "binary", lambda: str(fake))
    cache_paths.environment.cache_clear()
    try:
        before = output_cache.code_key(root)
        stamp = fake.stat()
        fake.write_text(f'#!/bin/sh\nexec "{real}"  "$@"\n'[: len(fake.read_text())])  # same size and date
        os.utime(fake, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        upgraded = output_cache.code_key(root)
        assert upgraded != before, "another terraform, same path, size and date"
        site = tmp_path / "site"
        (site / "jinja2_ansible_filters-1.3.2.dist-info").mkdir(parents=True)
        monkeypatch.syspath_prepend(str(site))
        cache_paths.environment.cache_clear()
        assert output_cache.code_key(root) != upgraded, "another installed distribution"
    finally:
        cache_paths.environment.cache_clear()
