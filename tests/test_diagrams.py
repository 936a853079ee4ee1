"""Every Mermaid diagram in the generated docs parses with mermaid's own parser.

tools/mermaid/check-mermaid.mjs runs ``mermaid.parse()`` under jsdom (no browser), from the pinned
node_modules that ``npm ci --prefix tools/mermaid`` installs once; after that it needs no network.
Without Node.js (or without node_modules) these tests skip with the reason (needs_node), except in CI,
where BBWS_REQUIRE_TOOLS=1 makes that a failure.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from generator.cli import run
from tests.conftest import DOCS, REPOS, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.needs_node]

TOOL = ROOT / "tools" / "mermaid"
SCRIPT = TOOL / "check-mermaid.mjs"
LLD = DOCS / "2.1.8_LLD_S3_and_DynamoDB.md"
MERMAID_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*mermaid\s*$", re.MULTILINE)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: install Node.js 20 or later (CI installs it; see tools/mermaid/package.json)")
    if not (TOOL / "node_modules" / "mermaid").is_dir():
        pytest.fail("tools/mermaid/node_modules is missing: run `npm ci --prefix tools/mermaid` (nox -s docs does)")
    return node


def check(files: list[Path]) -> tuple[int, list[dict[str, Any]]]:
    """Exit code and per-block results of the checker over ``files``."""
    result = subprocess.run(
        [_node(), str(SCRIPT), "--json", *map(str, files)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode in (0, 1), f"checker failed to run ({result.returncode}):\n{result.stderr}"
    blocks: list[dict[str, Any]] = json.loads(result.stdout)
    return result.returncode, blocks


def markdown_files(docs: Path, repos: Path) -> list[Path]:
    files = sorted(docs.rglob("*.md"))
    for repo in sorted(p for p in repos.iterdir() if p.is_dir()):
        files += sorted((repo / "docs").rglob("*.md"))
    return files


def _fence_count(files: list[Path]) -> int:
    return sum(len(MERMAID_FENCE.findall(p.read_text(encoding="utf-8"))) for p in files)


def test_every_mermaid_block_in_the_generated_docs_parses() -> None:
    files = markdown_files(DOCS, REPOS)
    code, blocks = check(files)
    failures = [f"{Path(b['file']).relative_to(ROOT)}:{b['line']}: {b['error']}" for b in blocks if not b["ok"]]
    assert code == 0 and not failures, "Mermaid diagrams that do not parse:\n" + "\n".join(failures)
    assert len(blocks) == _fence_count(files), "the checker saw another number of mermaid blocks than the files hold"
    in_lld = [b for b in blocks if Path(b["file"]) == LLD]
    # Table structure, bucket organisation, CI/CD flow, environment promotion.
    assert len(in_lld) >= 4
    assert {"classDiagram", "flowchart-v2"} <= {b["type"] for b in in_lld}


def test_the_checker_rejects_a_broken_diagram(tmp_path: Path) -> None:
    doc = tmp_path / "broken.md"
    doc.write_text(
        '# Broken\n\n```mermaid\nflowchart TD\n  a["ok"] --> b\n```\n\n'
        "```mermaid\nerDiagram\n  tenants {\n    S PK PK\n  }\n```\n",
        encoding="utf-8",
    )
    code, blocks = check([doc])
    assert code == 1
    assert [(b["line"], b["ok"]) for b in blocks] == [(3, True), (8, False)]
    assert "Parse error" in blocks[1]["error"]


def test_diagrams_parse_for_a_definition_with_local_indexes(tmp_path: Path, definition_copy: Path) -> None:
    """The LSI branch of the table diagram, which the shipped definition does not use."""
    table_file = definition_copy / "tables" / "tenants.json"
    table = json.loads(table_file.read_text(encoding="utf-8"))
    table["localSecondaryIndexes"] = [
        {
            "indexName": "TenantByDateCreated",
            "partitionKey": dict(table["primaryKey"]["partitionKey"]),
            "sortKey": {"name": "dateCreated", "type": "S"},
            "projectionType": "KEYS_ONLY",
            "accessPattern": "A tenant's items by creation date.",
        }
    ]
    for key in table["localSecondaryIndexes"][0]["partitionKey"].copy():
        if key not in ("name", "type"):
            del table["localSecondaryIndexes"][0]["partitionKey"][key]
    table_file.write_text(json.dumps(table, indent=2) + "\n", encoding="utf-8")
    docs, repos = tmp_path / "docs", tmp_path / "repos"
    assert run(["generate", "--definition", str(definition_copy), "--output", str(repos), "--docs", str(docs)]) == 0
    lld = docs / LLD.name
    assert "TenantByDateCreated" in lld.read_text(encoding="utf-8")
    code, blocks = check(markdown_files(docs, repos))
    assert code == 0, [b for b in blocks if not b["ok"]]
    assert any("<<LSI" in block for block in re.findall(r"```mermaid\n(.*?)```", lld.read_text(), re.DOTALL))
