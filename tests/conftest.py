"""Shared fixtures: paths of the monorepo and a clean temporary copy of it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFINITION = ROOT / "definition"
REPOS = ROOT / "repos"
DOCS = ROOT / "docs"
# The second golden record (tests/test_golden_edge.py): an edge-case definition and its committed output.
EDGE = ROOT / "tests" / "golden" / "edge"


@pytest.fixture
def definition_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped definition, to break one thing at a time."""
    target = tmp_path / "definition"
    shutil.copytree(DEFINITION, target)
    return target


# Tests marked needs_node / needs_chromium skip, with the reason, on a machine without the tool; CI
# (`.ci/run` installs both) sets BBWS_REQUIRE_TOOLS=1 so there a missing tool fails instead of skipping.
REQUIRE_TOOLS_ENV = "BBWS_REQUIRE_TOOLS"
MERMAID_TOOL = ROOT / "tools" / "mermaid"
GHA_TOOL = ROOT / "tools" / "gha"


def missing_tool(marker: str) -> str | None:
    """Why the tool behind ``marker`` cannot run here, or None when it can."""
    if marker == "needs_node":
        if shutil.which("node") is None:
            return "node is not on PATH: install Node.js 20+ (and `npm ci --prefix tools/mermaid`) to run this"
        if not (MERMAID_TOOL / "node_modules" / "mermaid").is_dir():
            return "tools/mermaid/node_modules is missing: run `npm ci --prefix tools/mermaid` (nox -s docs does)"
    if marker == "needs_gha":
        if shutil.which("node") is None:
            return "node is not on PATH: install Node.js 20+ (and `npm ci --prefix tools/gha`) to run this"
        if not (GHA_TOOL / "node_modules" / "@actions" / "expressions").is_dir():
            return "tools/gha/node_modules is missing: run `npm ci --prefix tools/gha` (nox -s tests does)"
    if marker == "needs_chromium":
        from generator.preview import find_chromium

        if find_chromium(None) is None:
            return "no Chromium: install it (apt-get install -y chromium) or set BBWS_CHROMIUM to take PNG previews"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in ("needs_node", "needs_gha", "needs_chromium"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing_tool(marker)
        if reason is None:
            continue
        if os.environ.get(REQUIRE_TOOLS_ENV):
            pytest.fail(f"{reason} ({REQUIRE_TOOLS_ENV} is set: this machine must have it)")
        pytest.skip(reason)
