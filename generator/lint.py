"""``bbws-gen lint FILE...``: hand-written table files in the customer's format, checked outside any definition.

Each file gets the same JSON Schema and DynamoDB rules as ``bbws-gen validate`` (so a file lint accepts is
one the definition accepts, except for the checks against platform.yaml), and, with ``--terraform PATH``,
its GSIs are compared with the ``global_secondary_index`` blocks of the matching ``aws_dynamodb_table``.
Every defect of every file is reported in one run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from generator.checks import KEY_TYPES, load_json, validate_documents
from generator.errors import EXIT_INVALID, BbwsGenError
from generator.hcl_reader import Block, Expression, HclError, Value, parse, terraform_files
from generator.locations import Document, Finding

SCHEMA_NAME = "table.schema.json"


class LintUsageError(BbwsGenError):
    """A file or folder lint was given cannot be read (exit code 2); carries every such problem."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass
class LintResult:
    """What lint found: defects (exit 1), files it could not read (exit 2) and notes that are no defect."""

    findings: list[Finding] = field(default_factory=list)
    unreadable: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TerraformTable:
    """One ``aws_dynamodb_table`` resource, read literally."""

    address: str
    where: str  # file:line
    name: Value
    block: Block

    def matches(self, table_name: str) -> bool:
        """Whether this resource is the table: by a literal name, a name template around it, or its label."""
        if isinstance(self.name, str):
            return self.name == table_name
        if isinstance(self.name, Expression):
            # "${var.prefix}-tenants-${var.environment}": the literal parts around the templates.
            parts = re.split(r"\$\{[^}]*\}", self.name.text.strip('"'))
            if table_name in (p.strip("-_.") for p in parts):
                return True
        return self.address.rsplit(".", 1)[-1] == table_name


def table_schema() -> Mapping[str, Any]:
    """The table JSON Schema that ``bbws-gen validate`` uses; raises LintUsageError.

    Built into the package (``generator/schemas``, issue 13); a checkout from before that move has only
    the copy in ``definition/schema``.
    """
    built_in = resources.files("generator").joinpath("schemas", SCHEMA_NAME)
    checkout = Path(__file__).resolve().parents[1] / "definition" / "schema" / SCHEMA_NAME
    source = built_in if built_in.is_file() else checkout
    try:
        loaded: Mapping[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LintUsageError([f"{source}: cannot load the table JSON Schema: {exc}"]) from exc
    return loaded


def read_terraform(path: Path) -> list[TerraformTable]:
    """Every ``aws_dynamodb_table`` resource in the file or folder ``path``; raises LintUsageError."""
    if not path.exists():
        raise LintUsageError([f"{path}: no such Terraform file or folder"])
    files = terraform_files(path)
    if not files:
        raise LintUsageError([f"{path}: no *.tf files in this folder"])
    roots: list[tuple[Path, Block]] = []
    problems: list[str] = []
    for file in files:
        try:
            roots.append((file, parse(file.read_text(encoding="utf-8"), str(file))))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{file}: cannot read the file: {exc}")
        except HclError as exc:
            problems.append(f"{exc} (fix the Terraform syntax; `terraform validate` shows it too)")
    if problems:
        raise LintUsageError(problems)
    # A module is one folder: `name = local.table_name` reads a literal local of any file beside it.
    locals_by_folder: dict[Path, dict[str, Value]] = {}
    for file, root in roots:
        for block in root.children("locals"):
            locals_by_folder.setdefault(file.parent, {}).update(block.attributes)
    tables: list[TerraformTable] = []
    for file, root in roots:
        for block in root.children("resource"):
            if block.labels[:1] == ("aws_dynamodb_table",) and len(block.labels) == 2:
                name = block.attributes.get("name", "")
                if isinstance(name, Expression) and re.fullmatch(r"local\.\w+", name.text):
                    name = locals_by_folder.get(file.parent, {}).get(name.text[6:], name)
                address = f"aws_dynamodb_table.{block.labels[1]}"
                tables.append(TerraformTable(address, f"{file}:{block.line}", name, block))
    return tables


def _literal(value: Value | None) -> str | None:
    return value if isinstance(value, str) else None


def _compare_gsi(doc: Document, i: int, gsi: Mapping[str, Any], tf: Block, table: TerraformTable) -> list[Finding]:
    """One finding per field in which the schema file's GSI and Terraform's disagree."""
    label, where = f"GSI {gsi['indexName']!r}", f"{table.address} ({tf.file}:{tf.line})"
    sort = gsi.get("sortKey") if isinstance(gsi.get("sortKey"), Mapping) else None
    types = {
        _literal(a.attributes.get("name")): _literal(a.attributes.get("type"))
        for a in table.block.children("attribute")
    }
    ours: list[tuple[list[Any], str, Any, Value | None]] = [
        (
            ["partitionKey", "name"],
            "partition key (hash_key)",
            gsi["partitionKey"]["name"],
            tf.attributes.get("hash_key"),
        ),
        (["sortKey", "name"], "sort key (range_key)", sort["name"] if sort else None, tf.attributes.get("range_key")),
        (["projectionType"], "projection", gsi.get("projectionType", "ALL"), tf.attributes.get("projection_type")),
    ]
    findings: list[Finding] = []
    for path, what, mine, theirs in ours:
        if isinstance(theirs, Expression):
            continue  # not literal in Terraform: nothing to compare
        if mine != theirs:
            pointer = ["globalSecondaryIndexes", i, *path] if mine is not None else ["globalSecondaryIndexes", i]
            findings.append(
                doc.finding(
                    pointer,
                    f"{label}: {what} is {json.dumps(mine)} here but {json.dumps(theirs)} in Terraform {where}",
                    "make the schema file and the Terraform agree (the deployed table follows the Terraform)",
                )
            )
    mine_extra = sorted(gsi.get("nonKeyAttributes", ()))
    theirs_extra = tf.attributes.get("non_key_attributes", ())
    theirs_extra = (theirs_extra,) if isinstance(theirs_extra, str) else theirs_extra
    if not isinstance(theirs_extra, Expression) and mine_extra != sorted(theirs_extra):
        findings.append(
            doc.finding(
                ["globalSecondaryIndexes", i],
                f"{label}: nonKeyAttributes are {mine_extra} here but {sorted(theirs_extra)} in Terraform {where}",
                "list the same projected attributes in both",
            )
        )
    for role, key in (("partitionKey", gsi["partitionKey"]), ("sortKey", sort)):
        tf_type = types.get(key["name"]) if key else None
        if key and key["type"] in KEY_TYPES and tf_type and tf_type != key["type"]:
            findings.append(
                doc.finding(
                    ["globalSecondaryIndexes", i, role, "type"],
                    f"{label}: attribute {key['name']!r} is {key['type']} here but {tf_type} in Terraform "
                    f"{table.address} ({table.where})",
                    "declare the attribute with the same type in both",
                )
            )
    return findings


def compare_with_terraform(
    doc: Document, tables: Sequence[TerraformTable], source: Path
) -> tuple[list[Finding], list[str]]:
    """Findings where the table file's GSIs disagree with Terraform, and notes on what could not be compared."""
    data = doc.data
    name = data.get("tableName") if isinstance(data, Mapping) else None
    gsis = data.get("globalSecondaryIndexes") if isinstance(data, Mapping) else None
    if not isinstance(name, str) or not isinstance(gsis, list):
        return [], []
    matching = [t for t in tables if t.matches(name)]
    if not matching:
        found = ", ".join(sorted(t.address for t in tables)) or "none"
        return [
            doc.finding(
                ["tableName"],
                f"no aws_dynamodb_table in {source} is table {name!r} (resources found: {found})",
                "pass --terraform with the file or folder that defines this table, or lint it separately",
            )
        ], []
    findings: list[Finding] = []
    notes: list[str] = []
    for table in matching:
        if any(d.labels[:1] == ("global_secondary_index",) for d in table.block.children("dynamic")):
            notes.append(f"{table.address} ({table.where}) builds its GSIs with a dynamic block: not compared")
            continue
        blocks = {_literal(b.attributes.get("name")): b for b in table.block.children("global_secondary_index")}
        blocks.pop(None, None)
        declared = {g.get("indexName") for g in gsis if isinstance(g, Mapping)}
        for i, gsi in enumerate(gsis):
            if not isinstance(gsi, Mapping) or not isinstance(gsi.get("partitionKey"), Mapping):
                continue  # the schema reports it
            tf = blocks.get(gsi.get("indexName"))
            if tf is None:
                findings.append(
                    doc.finding(
                        ["globalSecondaryIndexes", i, "indexName"],
                        f"GSI {gsi.get('indexName')!r} is not in Terraform: {table.address} ({table.where}) has no "
                        "global_secondary_index of that name",
                        "add the index to the Terraform, or remove it from the schema file",
                    )
                )
            else:
                try:
                    findings.extend(_compare_gsi(doc, i, gsi, tf, table))
                except (KeyError, TypeError, AttributeError):
                    continue  # a malformed GSI: the schema findings already name it
        for index_name, tf in sorted(blocks.items()):
            if index_name not in declared:
                findings.append(
                    doc.finding(
                        ["globalSecondaryIndexes"],
                        f"GSI {index_name!r} is in Terraform {table.address} ({tf.file}:{tf.line}) but not in "
                        "this schema file",
                        "describe the index in the schema file (the contract Lambdas read), or remove it "
                        "from the Terraform",
                    )
                )
    return findings, notes


def lint(files: Sequence[Path], terraform: Path | None = None, schema: Mapping[str, Any] | None = None) -> LintResult:
    """Lint the table files (and compare them with ``terraform``); raises LintUsageError for bad Terraform input."""
    tables = read_terraform(terraform) if terraform is not None else None
    result = LintResult()
    docs: list[Document] = []
    for path in files:
        if path.is_dir():
            result.unreadable.append(Finding(str(path), 0, "", "is a folder", "pass the table files (*.json) in it"))
            continue
        loaded = load_json(path, str(path))
        if isinstance(loaded, Finding):
            result.unreadable.append(loaded)
        else:
            docs.append(loaded)
    # A hand-written file may be named anything; it is renamed when it joins a definition.
    result.findings = validate_documents(docs, schema or table_schema(), file_names=False)
    if tables is not None and terraform is not None:
        for doc in docs:
            found, notes = compare_with_terraform(doc, tables, terraform)
            result.findings.extend(found)
            result.notes.extend(notes)
    result.findings.sort()
    return result
