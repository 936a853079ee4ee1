"""The bad-input corpus: every broken definition gets its exact message, exit 2, and nothing is written."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import run
from tests.conftest import DEFINITION, DOCS, REPOS

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus" / "bad_definitions.yaml").read_text())
PROBLEM = re.compile(r"^(?P<file>\S+?)(?::(?P<line>\d+))?: (?P<message>.*)$")


def _generated_values(name: str) -> Any:
    """Values too long to spell out in the corpus file."""
    if name == "twenty_one_gsis":
        names = ["name", "description", "billingCycle", "id", "dateCreated", "dateLastUpdated", "lastUpdatedBy"]
        pairs = [(a, b) for a in names for b in names if a != b][:21]
        return [
            {"indexName": f"By{i:02d}", "partitionKey": {"name": a, "type": "S"}, "sortKey": {"name": b, "type": "S"}}
            for i, (a, b) in enumerate(pairs)
        ]
    if name == "six_lsis":
        return [
            {"indexName": f"Local{i}", "partitionKey": {"name": "PK", "type": "S"}, "sortKey": {"name": n, "type": "S"}}
            for i, n in enumerate(["name", "description", "billingCycle", "id", "dateCreated", "lastUpdatedBy"])
        ]
    raise KeyError(name)


def _walk(document: Any, pointer: str) -> tuple[Any, str | int]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    parent = document
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    return parent, int(last) if isinstance(parent, list) else last


def _apply(definition: Path, edit: dict[str, Any]) -> None:
    if "set" in edit or "remove" in edit:
        path = definition / (edit.get("set") or edit["remove"])
        document = json.loads(path.read_text())
        parent, key = _walk(document, edit["pointer"])
        if "remove" in edit:
            del parent[key]
        else:
            parent[key] = _generated_values(edit["value_from"]) if "value_from" in edit else edit["value"]
        path.write_text(json.dumps(document, indent=2) + "\n")
    elif "replace" in edit:
        path = definition / edit["replace"]
        text = path.read_text()
        assert text.count(edit["old"]) == 1, f"corpus edit must match once in {path}: {edit['old']!r}"
        path.write_text(text.replace(edit["old"], edit["new"]))
    elif "write" in edit:
        shutil.copy(definition / edit["from"], definition / edit["write"])
    elif "delete" in edit:
        (definition / edit["delete"]).unlink()
    else:
        raise ValueError(f"unknown corpus edit {edit}")


def _tree(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _problems(stderr: str, definition: Path) -> list[tuple[str, str]]:
    found = []
    for line in stderr.splitlines():
        match = PROBLEM.match(line)
        if match and match["file"].startswith(str(definition)):
            found.append((Path(match["file"]).relative_to(definition).as_posix(), match["message"]))
    return found


def test_the_corpus_is_large_and_every_case_has_its_expected_message() -> None:
    assert len(CORPUS) >= 30
    assert len({case["id"] for case in CORPUS}) == len(CORPUS)
    assert all(case.get("expect") for case in CORPUS), "every case names the exact message(s) it must produce"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, bytes]]:
    """Copies of the committed repos and docs that a failed generate must leave exactly as they are."""
    base = tmp_path_factory.mktemp("outputs")
    shutil.copytree(REPOS, base / "repos")
    shutil.copytree(DOCS, base / "docs")
    return base / "repos", base / "docs", _tree(base)


@pytest.mark.parametrize("case", CORPUS, ids=[case["id"] for case in CORPUS])
def test_bad_definition(
    case: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    outputs: tuple[Path, Path, dict[str, bytes]],
) -> None:
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    for edit in case["edits"]:
        _apply(definition, edit)

    assert run(["validate", "--definition", str(definition)]) == 2
    validate_problems = _problems(capsys.readouterr().err, definition)

    repos, docs, before = outputs
    code = run(["generate", "--definition", str(definition), "--output", str(repos), "--docs", str(docs)])
    err = capsys.readouterr().err
    assert code == 2
    assert "nothing was written" in err
    assert _tree(repos.parent) == before, "a failed generate must not touch the previous output"

    expected = [(e["file"], e["message"]) for e in case["expect"]]
    assert sorted(validate_problems) == sorted(expected)
    assert sorted(_problems(err, definition)) == sorted(expected)
