"""The second golden record: an edge-case definition rendered into tests/golden/edge/ (nox -s generate).

The shipped definition has a sort key on every table, no LSI, no TTL, streams, PITR and backup on
everywhere, ALL projections and one bucket purpose; tests/golden/edge/definition has the rest. Its output
is committed like repos/ and docs/, checked for drift, and every Terraform root in it validates.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from generator.definition import load_definition
from generator.model import Model, build_model
from tests.conftest import EDGE, REPOS, ROOT
from tests.support import tf

EDGE_DEFINITION = EDGE / "definition"
EDGE_REPOS = EDGE / "repos"
EDGE_DOCS = EDGE / "docs"
# The arguments noxfile.py's generate and check sessions pass for this record.
EDGE_ARGS = ["--definition", str(EDGE_DEFINITION), "--output", str(EDGE_REPOS), "--docs", str(EDGE_DOCS)]
DYNAMODB = EDGE_REPOS / "2_1_bbws_dynamodb_schemas"
S3 = EDGE_REPOS / "2_1_bbws_s3_schemas"
ROOTS = sorted(
    p.parent for pattern in ("*/terraform/*/versions.tf", "*/bootstrap/versions.tf") for p in EDGE_REPOS.glob(pattern)
)


def _model() -> Model:
    return build_model(load_definition(EDGE_DEFINITION))


def test_edge_record_uses_the_shipped_pins() -> None:
    """The record must exercise the versions the shipped repos use (nox -s generate copies pins.yaml)."""
    shipped = (ROOT / "definition" / "pins.yaml").read_bytes()
    assert (EDGE_DEFINITION / "pins.yaml").read_bytes() == shipped, "run `nox -s generate` and commit"


def test_committed_edge_output_matches_the_blueprints() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "generate", "--check", *EDGE_ARGS],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, f"regenerate with `nox -s generate` and commit:\n{result.stdout}{result.stderr}"


# What the record exists for: if an edit of the edge definition drops a case, this says which.
EDGE_CASES: dict[str, Callable[[Model], bool]] = {
    "a table without a sort key": lambda m: any(t.sort_key is None for t in m.tables),
    "a numeric (N) sort key": lambda m: any(t.sort_key and t.sort_key.type == "N" for t in m.tables),
    "a local secondary index": lambda m: any(t.local_indexes for t in m.tables),
    "an index without a sort key": lambda m: any(i.sort_key is None for t in m.tables for i in t.global_indexes),
    "an INCLUDE projection with non-key attributes": lambda m: any(
        i.projection == "INCLUDE" and i.non_key_attributes
        for t in m.tables
        for i in (*t.global_indexes, *t.local_indexes)
    ),
    "a KEYS_ONLY projection": lambda m: any(
        i.projection == "KEYS_ONLY" for t in m.tables for i in (*t.global_indexes, *t.local_indexes)
    ),
    "TTL": lambda m: any(t.ttl_attribute for t in m.tables),
    "streams off": lambda m: any(t.stream_view_type is None for t in m.tables),
    "a stream view other than NEW_AND_OLD_IMAGES": lambda m: any(
        t.stream_view_type not in (None, "NEW_AND_OLD_IMAGES") for t in m.tables
    ),
    "PITR off": lambda m: any(not t.pitr for t in m.tables),
    "backup off in one environment only": lambda m: any(
        0 < list(t.backup.values()).count(False) < len(t.backup) for t in m.tables
    ),
    "table tags": lambda m: any(t.tags for t in m.tables),
    "a second bucket purpose": lambda m: len(m.buckets) > 1,
    "no codeowners": lambda m: m.codeowners is None,
    "DR replication in more than one environment": lambda m: sum(e.dr_replication for e in m.platform.environments) > 1,
}


def test_the_edge_definition_covers_every_case_it_is_for() -> None:
    model = _model()
    assert [case for case, holds in EDGE_CASES.items() if not holds(model)] == []


def _load_hcl(path: Path) -> dict[str, Any]:
    """A Terraform file as parsed by checkov's HCL parser (installed with the security extra, as in CI)."""
    from hcl2.api import load

    with path.open() as handle:
        return load(handle)


def _attr(block: dict[str, Any], name: str) -> Any:
    """An attribute's value (this HCL parser wraps each in a one-element list), or None when absent."""
    return block[name][0] if name in block else None


def _table_resource(component: str) -> dict[str, Any]:
    parsed = _load_hcl(DYNAMODB / "terraform" / component / "main.tf")
    (table,) = [r["aws_dynamodb_table"]["this"] for r in parsed["resource"] if "aws_dynamodb_table" in r]
    resource: dict[str, Any] = table
    return resource


def test_each_edge_case_reaches_the_terraform() -> None:
    """The rendered tables say what the schema files say (read back with an HCL parser, not by text)."""
    for table in _model().tables:
        resource = _table_resource(table.name)
        assert _attr(resource, "hash_key") == table.partition_key.name
        assert _attr(resource, "range_key") == (table.sort_key.name if table.sort_key else None)
        attributes = {_attr(a, "name"): _attr(a, "type") for a in resource["attribute"]}
        assert attributes == {k.name: k.type for k in table.key_attributes}, "only key attributes are declared"
        # Streams depend on the environment: terraform evaluates them in the DR-stream test below.
        ttl = [(_attr(b, "attribute_name"), _attr(b, "enabled")) for b in resource.get("ttl", [])]
        assert ttl == ([(table.ttl_attribute, True)] if table.ttl_attribute else [])
        assert [_attr(b, "enabled") for b in resource["point_in_time_recovery"]] == [table.pitr]
        rendered = {
            _attr(i, "name"): (kind, i)
            for kind in ("global_secondary_index", "local_secondary_index")
            for i in resource.get(kind, [])
        }
        for kinds, indexes in (
            ("global_secondary_index", table.global_indexes),
            ("local_secondary_index", table.local_indexes),
        ):
            for index in indexes:
                kind, block = rendered.pop(index.name)
                assert kind == kinds
                assert _attr(block, "projection_type") == index.projection
                assert (_attr(block, "non_key_attributes") or []) == list(index.non_key_attributes)
                assert _attr(block, "range_key") == (index.sort_key.name if index.sort_key else None)
                # An LSI shares the table's partition key: Terraform takes no hash_key for it.
                local = kind == "local_secondary_index"
                assert _attr(block, "hash_key") == (None if local else index.partition_key.name)
        assert rendered == {}, "no index the schema file does not have"


def test_backup_selection_leaves_out_tables_off_in_that_environment() -> None:
    parsed = _load_hcl(DYNAMODB / "terraform" / "backup" / "main.tf")
    locals_ = {k: v for block in parsed["locals"] for k, v in block.items()}
    selected = locals_["backed_up_tables"][0]
    model = _model()
    expected = {
        env.name: sorted(t.name for t in model.tables if t.backup[env.name]) for env in model.platform.environments
    }
    assert selected == expected
    assert any(len(names) < len(model.tables) for names in expected.values())


def test_each_bucket_purpose_has_its_own_root() -> None:
    model = _model()
    assert sorted(p.name for p in (S3 / "terraform").iterdir()) == sorted(b.purpose for b in model.buckets)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One ``terraform init`` (the CLI config and its .terraform) shared by every root: same provider, same lock."""
    workdir = tmp_path_factory.mktemp("edge-tf")
    cli_config = tf.cli_config(workdir)
    first = workdir / "init"
    shutil.copytree(ROOTS[0], first)
    tf.run(["init", "-backend=false", "-lockfile=readonly"], first, {"TF_CLI_CONFIG_FILE": str(cli_config)})
    return cli_config, first / ".terraform"


@pytest.mark.parametrize("root", ROOTS, ids=[p.relative_to(EDGE_REPOS).as_posix() for p in ROOTS])
def test_edge_root_validates(root: Path, tmp_path: Path, initialised: tuple[Path, Path]) -> None:
    cli_config, dot_terraform = initialised
    # Every root pins the same provider with the same hashes as the shipped repos, so one init serves all.
    shipped_lock = next(REPOS.glob("*/terraform/*/.terraform.lock.hcl")).read_bytes()
    assert (root / ".terraform.lock.hcl").read_bytes() == shipped_lock
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".terraform"))
    (copy / ".terraform").symlink_to(dot_terraform)
    result = tf.run(["validate"], copy, {"TF_CLI_CONFIG_FILE": str(cli_config)})
    assert "Success" in result.stdout


def _stream_settings(component: str, tmp_path: Path, dr_replication: bool) -> tuple[bool, str | None]:
    """The table's stream_enabled and stream_view_type as terraform evaluates the rendered expressions
    for an environment that does (or does not) replicate to the DR region."""
    text = (DYNAMODB / "terraform" / component / "main.tf").read_text(encoding="utf-8")
    table = text[text.index('resource "aws_dynamodb_table" "this"') :]
    found = {}
    for name in ("stream_enabled", "stream_view_type"):
        line = next((ln for ln in table.splitlines() if ln.strip().startswith(f"{name} ")), f"{name} = null")
        found[name] = line.split("=", 1)[1].strip()
    root = tmp_path / f"{component}-{dr_replication}"
    root.mkdir()
    (root / "main.tf").write_text('variable "dr_replication" {\n  type = bool\n}\n', encoding="utf-8")
    result = subprocess.run(
        [tf.binary(), "console", f"-var=dr_replication={str(dr_replication).lower()}"],
        input="jsonencode([" + found["stream_enabled"] + ", " + found["stream_view_type"] + "])\n",
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, result.stderr
    enabled, view = json.loads(json.loads(result.stdout))
    return enabled, view


@pytest.mark.parametrize("component", ["sessions", "readings"])
def test_tables_replicated_to_the_dr_region_keep_a_global_tables_stream(component: str, tmp_path: Path) -> None:
    """Global tables need a NEW_AND_OLD_IMAGES stream and AWS turns it on when a replica is added
    (terraform-provider-aws#43625): in a replicating environment the table has exactly that, whatever its
    file says (sessions: streams off; readings: KEYS_ONLY); elsewhere the file's setting holds."""
    model = _model()
    assert any(e.dr_replication for e in model.platform.environments)
    table = next(t for t in model.tables if t.name == component)
    assert table.stream_view_type != "NEW_AND_OLD_IMAGES", "the record must keep a table whose file differs"
    assert _stream_settings(component, tmp_path, dr_replication=True) == (True, "NEW_AND_OLD_IMAGES")
    assert _stream_settings(component, tmp_path, dr_replication=False) == (
        table.stream_view_type is not None,
        table.stream_view_type,
    )
