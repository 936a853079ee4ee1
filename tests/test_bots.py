"""Update bots: the monorepo's Renovate config and the generated repos' Dependabot configs.

Both validate against the schemas check-jsonschema vendors (offline). Renovate's schema accepts unknown
keys, so a misspelt option is caught here; its regex managers are run on the pins file to prove they
find every pin.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import check_jsonschema
import pytest
import yaml

from tests.conftest import REPOS, ROOT

RENOVATE = ROOT / ".github" / "renovate.json"
PINS = ROOT / "definition" / "pins.yaml"
DEPENDABOT = sorted(REPOS.glob("*/.github/dependabot.yml"))
VENDORED = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor"


def _tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    found = str(candidate) if candidate.exists() else shutil.which(name)
    assert found, f"{name} is not installed (pip install -e '.[lint]')"
    return found


def _renovate() -> dict[str, Any]:
    data = json.loads(RENOVATE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("schema", "files"),
    [("vendor.renovate", [RENOVATE]), ("vendor.dependabot", DEPENDABOT)],
    ids=["renovate", "dependabot"],
)
def test_bot_configs_match_their_published_schemas(schema: str, files: list[Path]) -> None:
    assert files
    result = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_renovate_uses_only_known_options() -> None:
    schema = json.loads((VENDORED / "renovate.json").read_text(encoding="utf-8"))
    definitions = schema["definitions"]

    def known(name: str) -> set[str]:
        return set(definitions[name]["items"]["allOf"][0]["properties"])

    config = _renovate()
    assert set(config) - {"$schema"} <= set(schema["properties"])
    for rule in config["packageRules"]:
        assert set(rule) <= known("packageRules"), rule
    for manager in config["customManagers"]:
        assert set(manager) <= known("customManagers"), manager


def _python_regex(js: str) -> re.Pattern[str]:
    return re.compile(js.replace("(?<", "(?P<"))


def _extracted(path: Path, text: str | None = None) -> list[dict[str, str]]:
    """What Renovate's custom regex managers extract from ``path`` (relative to the repo root)."""
    relative = path.relative_to(ROOT).as_posix()
    text = path.read_text(encoding="utf-8") if text is None else text
    found: list[dict[str, str]] = []
    for manager in _renovate()["customManagers"]:
        if not any(re.search(p.strip("/"), relative) for p in manager["managerFilePatterns"]):
            continue
        patterns = [_python_regex(p) for p in manager["matchStrings"]]
        if manager.get("matchStringsStrategy") == "recursive":
            # Each pattern searches inside the matches of the one before; the last one extracts.
            chunks = [text]
            for pattern in patterns[:-1]:
                chunks = [m[0] for chunk in chunks for m in pattern.finditer(chunk)]
            matches = [m for chunk in chunks for m in patterns[-1].finditer(chunk)]
        else:
            matches = [m for pattern in patterns for m in pattern.finditer(text)]
        for match in matches:
            dep = {k: v for k, v in match.groupdict().items() if v is not None}
            dep.setdefault("depName", manager.get("depNameTemplate", ""))
            dep.setdefault("datasource", manager.get("datasourceTemplate", ""))
            found.append(dep)
    return found


def test_renovate_finds_every_pin_of_the_pins_file() -> None:
    pins = yaml.safe_load(PINS.read_text(encoding="utf-8"))
    found = sorted(_extracted(PINS), key=lambda d: d["depName"])
    expected = [
        {"depName": a["action"], "currentDigest": a["sha"], "currentValue": a["tag"], "datasource": "github-tags"}
        for a in pins["actions"].values()
    ]
    expected.append(
        {
            "depName": "hashicorp/terraform",
            "currentValue": pins["terraform"]["version"],
            "datasource": "github-releases",
        }
    )
    expected += [
        {"depName": p["source"], "currentValue": p["version"], "datasource": "terraform-provider"}
        for p in pins["providers"].values()
    ]
    assert found == sorted(expected, key=lambda d: d["depName"])


def test_renovate_finds_npm_pins_once_there_are_some() -> None:
    text = PINS.read_text(encoding="utf-8").replace(
        "\nnpm: {}\n", '\nnpm:\n  html-validate: 10.2.1\n  "@jsx-email/doiuse-email": "1.0.4"\n'
    )
    assert "html-validate" in text
    npm = [dep for dep in _extracted(PINS, text) if dep["datasource"] == "npm"]
    assert sorted(npm, key=lambda d: d["depName"]) == [
        {"depName": "@jsx-email/doiuse-email", "currentValue": "1.0.4", "datasource": "npm"},
        {"depName": "html-validate", "currentValue": "10.2.1", "datasource": "npm"},
    ]


def test_renovate_finds_the_terraform_version_of_the_monorepo_ci() -> None:
    pins = yaml.safe_load(PINS.read_text(encoding="utf-8"))
    found = _extracted(ROOT / ".github" / "workflows" / "ci.yml")
    assert found == [
        {
            "currentValue": pins["terraform"]["version"],
            "depName": "hashicorp/terraform",
            "datasource": "github-releases",
        }
    ]


def test_renovate_leaves_generated_output_to_the_generator() -> None:
    ignored = _renovate()["ignorePaths"]
    assert {"repos/**", "docs/**", "blueprints/**"} <= set(ignored)


@pytest.mark.parametrize("config", DEPENDABOT, ids=lambda p: p.parts[-3])
def test_dependabot_covers_every_ecosystem_of_the_split_repo(config: Path) -> None:
    repo = config.parents[1]
    updates = {u["package-ecosystem"]: u for u in yaml.safe_load(config.read_text(encoding="utf-8"))["updates"]}
    assert set(updates) == {"github-actions", "pip", "terraform"}
    assert updates["github-actions"]["directory"] == "/" and (repo / ".github" / "workflows").is_dir()
    assert (repo / updates["pip"]["directory"].lstrip("/") / "requirements.txt").is_file()
    roots = sorted("/" + p.parent.relative_to(repo).as_posix() for p in repo.rglob("versions.tf"))
    assert sorted(updates["terraform"]["directories"]) == roots
