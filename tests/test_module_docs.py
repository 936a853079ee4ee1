"""Each Terraform root's README lists exactly the root's inputs, outputs and resources (terraform-docs
style: the blueprint's interface data, blueprints/shared/terraform/interface.jinja, with per-environment
names from the model), with the types, descriptions and DR-only resources of its .tf files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPOS

ROOTS = sorted(p.parent for p in REPOS.glob("*/terraform/*/versions.tf"))
VARIABLE = re.compile(r'^variable "(\w+)" \{\n  type\s+= (.+)\n  description = "(.*)"', re.M)
OUTPUT = re.compile(r'^output "(\w+)" \{\n  description = "(.*)"', re.M)
RESOURCE = re.compile(r'^resource "(\w+)" "(\w+)" \{\n(?P<body>(?:  .*\n|\n)*?)\}', re.M)
DR_ONLY = re.compile(r"^  count\s+= var\.dr_replication \? 1 : 0$", re.M)


def _tf(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(root.glob("*.tf")))


def _table(readme: str, heading: str) -> list[list[str]]:
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ")][2:]
    return [[cell.strip().strip("`") for cell in row.strip("|").split(" | ")] for row in rows]


@pytest.mark.parametrize("root", ROOTS, ids=lambda p: f"{p.parts[-3]}/{p.name}")
def test_root_readme_matches_the_terraform(root: Path) -> None:
    readme = (root / "README.md").read_text(encoding="utf-8")
    tf = _tf(root)
    assert [tuple(row) for row in _table(readme, "Inputs")] == [
        (name, type_, text) for name, type_, text in VARIABLE.findall(tf)
    ]
    assert sorted(tuple(row) for row in _table(readme, "Outputs")) == sorted(OUTPUT.findall(tf))
    resources = {f"{m[1]}.{m[2]}": bool(DR_ONLY.search(m["body"])) for m in RESOURCE.finditer(tf)}
    assert resources, root  # the patterns still read these files
    listed = {row[0]: row[2].startswith("DR environments") for row in _table(readme, "Resources")}
    assert listed == resources


def test_every_root_has_a_readme_and_the_repo_readmes_point_at_them() -> None:
    assert len(ROOTS) == 5
    for root in ROOTS:
        assert (root / "README.md").read_text(encoding="utf-8").startswith(f"# Terraform root `terraform/{root.name}`")
        repo_readme = (root.parents[1] / "README.md").read_text(encoding="utf-8")
        assert f"(terraform/{root.name}/README.md)" in repo_readme
