"""Shared fixtures: paths of the monorepo and a clean temporary copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "definition"
REPOS = ROOT / "repos"
DOCS = ROOT / "docs"


@pytest.fixture
def definition_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped definition, to break one thing at a time."""
    target = tmp_path / "definition"
    shutil.copytree(DEFINITION, target)
    return target
