"""Reading the generated workflows as GitHub runs them for a push or a pull request."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

# validate.yml's matrix: the component a deployment names, or else (push, pull request: no inputs) every
# component, as the JSON literal after `||`.
_EVERY_COMPONENT = re.compile(r"\|\|\s*fromJSON\('(?P<list>\[[^']*\])'\)\s*\}\}$")


def pull_request_components(matrix_value: Any) -> list[str]:
    """The components validate.yml's matrix expands to on a push or pull request (no workflow inputs)."""
    if isinstance(matrix_value, list):
        return [str(c) for c in matrix_value]
    found = _EVERY_COMPONENT.search(" ".join(str(matrix_value).split()))
    assert found, f"validate.yml's matrix names no list of every component: {matrix_value!r}"
    return [str(c) for c in json.loads(found["list"])]


def validate_check_names(repo: Path) -> list[str]:
    """Check-run names of validate.yml's jobs on a pull request: job names, matrix expanded."""
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "validate.yml").read_text(encoding="utf-8"))
    names: list[str] = []
    for job in workflow["jobs"].values():
        matrix = job.get("strategy", {}).get("matrix", {})
        if "component" in matrix:
            components = pull_request_components(matrix["component"])
            names += [job["name"].replace("${{ matrix.component }}", c) for c in components]
        else:
            names.append(job["name"])
    return names
