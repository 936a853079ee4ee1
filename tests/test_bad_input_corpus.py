"""The bad-input corpus: every hostile definition gets its exact message and exit 2 with nothing written,
or (``accept: true``) is valid and renders inert: no Terraform block, workflow step or Markdown structure
that the definition did not ask for.

Validation runs in-process (fast); a sample runs ``bbws-gen`` as a subprocess to prove the exit code,
the absence of a traceback and that nothing hangs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import run
from generator.shipped import validate_templates
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus" / "bad_definitions.yaml").read_text())
REJECTED = [case for case in CORPUS if not case.get("accept")]
ACCEPTED = [case for case in CORPUS if case.get("accept")]
PROBLEM = re.compile(r"^(?P<file>\S+?)(?::(?P<line>\d+))?: (?P<message>.*)$")
# Run as a real process: the cases that used to crash or hang, plus one of each other kind.
SUBPROCESS_SAMPLE = {
    "yaml-bomb-in-catalog",
    "yaml-recursive-alias",
    "json-integer-of-5000-digits",
    "fifo-as-table-file",
    "symlink-to-dev-zero",
    "yaml-integer-key",
    "json-deep-nesting",
}


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


def _table(definition: Path, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((definition / "tables" / f"{name}.json").read_text())
    return loaded


def _write_table(definition: Path, table: dict[str, Any]) -> None:
    (definition / "tables" / f"{table['tableName']}.json").write_text(json.dumps(table, indent=2) + "\n")


def _yaml_deep_nesting(definition: Path) -> None:
    path = definition / "platform.yaml"
    path.write_text(path.read_text() + "deep: " + "[" * 200 + "]" * 200 + "\n")


def _json_deep_nesting(definition: Path) -> None:
    path = definition / "tables" / "tenants.json"
    path.write_text(
        path.read_text().replace('"description":', '"x": ' + "[" * 100_000 + "]" * 100_000 + ', "description":', 1)
    )


def _json_big_int(definition: Path) -> None:
    path = definition / "tables" / "tenants.json"
    path.write_text(path.read_text().replace('"description":', '"x": ' + "9" * 5000 + ', "description":', 1))


def _yaml_big_int(definition: Path) -> None:
    path = definition / "platform.yaml"
    path.write_text(path.read_text().replace("retention_days: 90}", "retention_days: " + "9" * 5000 + "}"))


def _latin1_table(definition: Path) -> None:
    path = definition / "tables" / "tenants.json"
    path.write_bytes(path.read_text().replace("Tenants (customers)", "Tenants (cust\u00f6mers)").encode("latin-1"))


def _symlinked_tables_folder(definition: Path) -> None:
    outside = definition.parent / "outside-tables"
    shutil.move(definition / "tables", outside)
    (definition / "tables").symlink_to(outside)


def _folder_named_like_a_table(definition: Path) -> None:
    (definition / "tables" / "orders.json").mkdir()


def _long_table_name(definition: Path) -> None:
    table = _table(definition, "tenants")
    table["tableName"] = "t" * 240
    (definition / "tables" / "tenants.json").unlink()
    _write_table(definition, table)


def _three_hundred_tables(definition: Path) -> None:
    table = _table(definition, "tenants")
    for i in range(300):
        _write_table(definition, {**table, "tableName": f"tenants_{i:03d}"})


def _eleven_environments(definition: Path) -> None:
    path = definition / "platform.yaml"
    extra = "".join(
        f'  env{i:02d}:\n    account_id: "1234567890{i:02d}"\n    deletion_protection: true\n'
        f"    dr_replication: false\n    backup: {{frequency: daily, retention_days: 7}}\n"
        for i in range(8)
    )
    path.write_text(path.read_text() + extra)


def _many_templates(definition: Path) -> None:
    path = definition / "templates" / "catalog.yaml"
    text = path.read_text()
    first = text[text.index("  - key: receipts/receipt.html") :]
    first = first[: first.index("\n  - key:", 5) + 1]
    path.write_text(text + first * 195)


def _huge_description(definition: Path) -> None:
    table = _table(definition, "tenants")
    table["description"] = "x" * (5 * 1024 * 1024)
    _write_table(definition, table)


def _long_description(definition: Path) -> None:
    table = _table(definition, "tenants")
    table["description"] = "x" * 5000
    _write_table(definition, table)


def _sample_with_nan(definition: Path) -> None:
    path = definition / "templates" / "receipts" / "receipt.sample.json"
    path.write_text(path.read_text().replace('"customerName": "Thandi",', '"customerName": "Thandi", "total": NaN,'))


PYTHON_EDITS: dict[str, Callable[[Path], None]] = {
    name.removeprefix("_"): function
    for name, function in list(globals().items())
    if name.startswith("_") and callable(function) and name not in ("_table", "_write_table", "_generated_values")
}


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
    elif "text" in edit:
        (definition / edit["text"]).write_text(edit["content"])
    elif "fifo" in edit:
        os.mkfifo(definition / edit["fifo"])
    elif "symlink" in edit:
        outside = definition.parent / "outside"
        outside.mkdir(exist_ok=True)
        (outside / "secret.txt").write_text("AWS_SECRET_ACCESS_KEY=not-for-the-repo\n")
        (definition / edit["symlink"]).symlink_to(edit["to"].replace("{outside}", str(outside)))
    elif "python" in edit:
        PYTHON_EDITS[edit["python"]](definition)
    else:
        raise ValueError(f"unknown corpus edit {edit}")


def _tree(path: Path) -> dict[str, tuple[int, int, int]]:
    """Every file with its size, modification time and inode: any write changes one of them."""
    return {
        p.relative_to(path).as_posix(): (s.st_size, s.st_mtime_ns, s.st_ino)
        for p in sorted(path.rglob("*"))
        if p.is_file() and (s := p.stat())
    }


def _problems(stderr: str, definition: Path) -> list[tuple[str, str]]:
    found = []
    for line in stderr.splitlines():
        match = PROBLEM.match(line)
        if match and match["file"].startswith(str(definition)):
            # Temporary paths inside messages (a symlink's target, the other file of a pair) made relative.
            message = match["message"].replace(f"{definition}/", "").replace(f"{definition.parent}/", "")
            found.append((Path(match["file"]).relative_to(definition).as_posix(), message))
    return found


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        else:
            digest.update(path.relative_to(folder).as_posix().encode() + b"\1")
    return digest.hexdigest()


@pytest.fixture(scope="module", autouse=True)
def _template_checks_once_per_folder_content() -> Iterator[None]:
    """The template checks (most of a validate's time) of an untouched templates folder give the same
    answer in every case: run them once per distinct folder content."""
    original = validate_templates.validate
    memo: dict[str, Any] = {}

    def memoized(directory: Path) -> Any:
        if directory.is_symlink() or not directory.is_dir():
            return original(directory)
        key = _digest(directory)
        if key not in memo:
            memo[key] = original(directory)
        return memo[key]

    validate_templates.validate = memoized  # type: ignore[assignment]
    try:
        yield
    finally:
        validate_templates.validate = original  # type: ignore[assignment]


def test_the_corpus_is_large_and_every_case_has_its_expected_message() -> None:
    assert len(CORPUS) >= 70
    assert len({case["id"] for case in CORPUS}) == len(CORPUS)
    assert all(case.get("expect") for case in REJECTED), "every case names the exact message(s) it must produce"
    assert all("expect" not in case for case in ACCEPTED)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, tuple[int, int, int]]]:
    """Copies of the committed repos and docs that a failed generate must leave exactly as they are."""
    base = tmp_path_factory.mktemp("outputs")
    shutil.copytree(REPOS, base / "repos")
    shutil.copytree(DOCS, base / "docs")
    return base / "repos", base / "docs", _tree(base)


def _definition(tmp_path: Path, cases: list[dict[str, Any]]) -> Path:
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    for case in cases:
        for edit in case["edits"]:
            _apply(definition, edit)
    return definition


@pytest.mark.parametrize("case", REJECTED, ids=[case["id"] for case in REJECTED])
def test_bad_definition(
    case: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    outputs: tuple[Path, Path, dict[str, tuple[int, int, int]]],
) -> None:
    definition = _definition(tmp_path, [case])

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


@pytest.mark.parametrize("case_id", sorted(SUBPROCESS_SAMPLE))
def test_hostile_input_exits_2_without_a_traceback_in_a_real_process(case_id: str, tmp_path: Path) -> None:
    case = next(c for c in CORPUS if c["id"] == case_id)
    definition = _definition(tmp_path, [case])
    result = subprocess.run(
        [sys.executable, "-m", "generator", "validate", "--definition", str(definition)],
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails the test instead of the CI run
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "nothing was written" in result.stderr


@pytest.mark.parametrize("case", ACCEPTED, ids=[case["id"] for case in ACCEPTED])
def test_hostile_text_is_accepted(case: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    definition = _definition(tmp_path, [case])
    assert run(["validate", "--definition", str(definition)]) == 0, capsys.readouterr().err


def _blocks(text: str) -> list[tuple[str, ...]]:
    """Top-level blocks of a Terraform file as (kind, labels...), from a real HCL parser."""
    import hcl2

    parsed = hcl2.loads(text)
    blocks: list[tuple[str, ...]] = []
    for kind, entries in parsed.items():
        if kind.startswith("__"):
            continue
        for entry in entries:
            labels: tuple[str, ...] = ()
            node = entry
            while (
                isinstance(node, dict)
                and len([k for k in node if not k.startswith("__")]) == 1
                and kind
                in (
                    "resource",
                    "data",
                    "variable",
                    "output",
                    "module",
                    "provider",
                )
            ):
                (label,) = [k for k in node if not k.startswith("__")]
                labels += (label.strip('"'),)
                node = node[label]
                if len(labels) == (2 if kind in ("resource", "data") else 1):
                    break
            blocks.append((kind, *labels))
    return sorted(blocks)


def test_hostile_text_renders_inert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every accepted case at once: the Terraform has exactly the blocks of the committed output, the
    workflows parse to the same jobs, and no Markdown heading, table row or HTML tag was added."""
    definition = _definition(tmp_path, ACCEPTED)
    repos, docs = tmp_path / "repos", tmp_path / "docs"
    code = run(["generate", "--definition", str(definition), "--output", str(repos), "--docs", str(docs)])
    assert code == 0, capsys.readouterr().err
    for tf_file in sorted(REPOS.rglob("*.tf")):
        rel = tf_file.relative_to(REPOS)
        assert _blocks((repos / rel).read_text()) == _blocks(tf_file.read_text()), rel
    # The payloads are there, but only as comment text on one line, or inside a string.
    every_tf = "".join(p.read_text() for p in repos.rglob("*.tf*"))
    for payload in ("aws_iam_user", "AdministratorAccess", "/etc/passwd", '"null" "x"'):
        lines = [line for line in every_tf.splitlines() if payload in line]
        assert lines and all(line.lstrip().startswith("#") for line in lines), payload
    # The table files the Lambdas read carry the text exactly as written.
    tenants = json.loads((repos / "2_1_bbws_dynamodb_schemas" / "schemas" / "tenants.json").read_text())
    assert tenants["description"] == _table(definition, "tenants")["description"]
    for workflow in sorted(REPOS.glob("*/.github/workflows/*.yml")):
        rel = workflow.relative_to(REPOS)
        assert yaml.safe_load((repos / rel).read_text()) == yaml.safe_load(workflow.read_text()), rel
    for markdown in [*docs.rglob("*.md"), *repos.rglob("*.md")]:
        text = markdown.read_text()
        assert "<script>" not in text and "<b>" not in text, markdown
        assert not re.search("[\u202a-\u202e\u2066-\u2069\x00-\x08\x1b]", text), markdown
        assert not re.search(r"^# Heading", text, re.MULTILINE), markdown
