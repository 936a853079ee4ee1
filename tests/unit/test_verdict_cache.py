"""The memory of passed checks (generator/verdict_cache.py) as the templates check uses it: it saves the
work of a folder that passed, and can never hide a defect."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator import checks, verdict_cache
from generator.render import cache_paths
from generator.render.cache_paths import CACHE_ENV
from tests.conftest import DEFINITION


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    folder = tmp_path / "templates"
    shutil.copytree(DEFINITION / "templates", folder)
    return folder


def _markers(tmp_path: Path) -> list[str]:
    folder = tmp_path / "cache" / verdict_cache.KIND
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _break(folder: Path) -> None:
    page = folder / "receipts" / "receipt.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</body>", "{{notInContract}}</body>"), encoding="utf-8")


def test_a_folder_that_passed_is_remembered_and_an_edit_after_it_is_still_reported(
    templates: Path, tmp_path: Path
) -> None:
    assert checks.template_findings(templates)[0] == []
    assert len(_markers(tmp_path)) == 1
    again, catalog = checks.template_findings(templates)
    assert again == [] and next(t["key"] for t in catalog["templates"]) == "receipts/receipt.html"
    _break(templates)
    found, _ = checks.template_findings(templates)
    assert [f.message for f in found] == ["placeholder {{notInContract}} is not declared in receipt.contract.json"]


def test_a_folder_with_defects_is_never_remembered(templates: Path, tmp_path: Path) -> None:
    _break(templates)
    assert checks.template_findings(templates)[0]
    assert checks.template_findings(templates)[0], "the second run must report it too"
    assert _markers(tmp_path) == []


def test_off_remembers_nothing(templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    assert checks.template_findings(templates)[0] == []
    assert not (tmp_path / "cache").exists()


def test_a_folder_holding_a_symlink_is_checked_every_time(templates: Path, tmp_path: Path) -> None:
    (templates / "receipts" / "link.html").symlink_to(templates / "receipts" / "receipt.html")
    checks.template_findings(templates)
    assert verdict_cache.tree_files(templates) is None
    assert _markers(tmp_path) == []


@pytest.fixture
def fresh_environment() -> Iterator[None]:
    cache_paths.environment.cache_clear()
    yield
    cache_paths.environment.cache_clear()


@pytest.mark.parametrize("change", ["bytes", "name", "distribution"])
def test_the_key_changes_with_each_input(
    tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch, fresh_environment: None
) -> None:
    """Any installed distribution counts, not only the ones the check imports: jsonschema checks formats
    with whichever optional library (rfc3339-validator, ...) is installed (issue 22, defect 4)."""
    (tmp_path / "a.html").write_text("<p>a</p>\n")
    before = verdict_cache.digest([("a.html", tmp_path / "a.html")], ["jsonschema"])
    assert before == verdict_cache.digest([("a.html", tmp_path / "a.html")], ["jsonschema"])
    files, libraries = [("a.html", tmp_path / "a.html")], ["jsonschema"]
    if change == "bytes":
        (tmp_path / "a.html").write_text("<p>b</p>\n")
    elif change == "name":
        files = [("b.html", tmp_path / "a.html")]
    else:
        site = tmp_path / "site"
        (site / "rfc3339_validator-0.1.4.dist-info").mkdir(parents=True)
        monkeypatch.syspath_prepend(str(site))
        cache_paths.environment.cache_clear()
    assert verdict_cache.digest(files, libraries) != before


def test_markers_are_pruned_least_recently_used_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every changed Terraform file leaves a marker: the folder is kept to a bounded size, and a marker that
    was just consulted (a check it spared) outlives older ones."""
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    for number in range(12):
        verdict_cache.remember("fmt", f"{number:02d}")
        marker = tmp_path / "cache" / verdict_cache.KIND / f"fmt-{number:02d}"
        os.utime(marker, (1_000_000 + number, 1_000_000 + number))  # 00 is the oldest
    assert verdict_cache.passed("fmt", "00")  # used now: the newest
    verdict_cache.prune(keep=12)
    assert len(_markers(tmp_path)) == 12, "at the limit, nothing is removed"
    verdict_cache.remember("fmt", "12")
    verdict_cache.prune(keep=12)
    assert _markers(tmp_path) == [f"fmt-{n:02d}" for n in (0, *range(5, 13))], "down to three quarters of the limit"
    assert not verdict_cache.passed("fmt", "01"), "a pruned pass is checked again"
