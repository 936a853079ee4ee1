"""generator/answers.py on the edge-case definition: the Copier data every blueprint renders from.

The answers are recorded in each repo's .copier-answers.yml and are all a split-out repo has to re-render
from, so they must be plain data and carry each edge case the way the blueprints read it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from generator.answers import dynamodb_spec, s3_spec
from generator.definition import load_definition
from generator.definition.names import BACKUP_COMPONENT, TEMPLATES_PURPOSE
from generator.model import Model, build_model
from tests.conftest import DEFINITION, EDGE
from tests.support.workflows import validate_check_names

EDGE_DEFINITION = EDGE / "definition"


@pytest.fixture(scope="module")
def model() -> Model:
    return build_model(load_definition(EDGE_DEFINITION))


@pytest.fixture(scope="module")
def dynamodb(model: Model) -> dict[str, Any]:
    return dynamodb_spec(model)


@pytest.fixture(scope="module")
def s3(model: Model) -> dict[str, Any]:
    return s3_spec(model)


def _table(spec: dict[str, Any], name: str) -> dict[str, Any]:
    table: dict[str, Any] = next(t for t in spec["tables"] if t["name"] == name)
    return table


def _selected(spec: dict[str, Any], env: str) -> list[str]:
    """The tables the backup root selects in ``env``, read from the data as its blueprint reads it."""
    return [t["name"] for t in spec["tables"] if t["backup"][env]]


@pytest.mark.parametrize("kind", ["dynamodb", "s3"])
def test_answers_are_plain_json_data(kind: str, request: pytest.FixtureRequest) -> None:
    """Nothing model-typed (frozen mappings, dataclasses, tuples) leaks into what Copier records."""
    spec = request.getfixturevalue(kind)
    assert json.loads(json.dumps(spec)) == spec


def test_a_table_left_out_of_backup_in_sit_is_absent_from_sits_selection_only(dynamodb: dict[str, Any]) -> None:
    envs = [e["name"] for e in dynamodb["environments"]]
    assert "sessions" not in _selected(dynamodb, "sit")
    assert all("sessions" in _selected(dynamodb, env) for env in envs if env != "sit")
    assert "readings" not in _selected(dynamodb, "dev") and "readings" in _selected(dynamodb, "prod")


def test_no_sort_key_means_no_range_key(dynamodb: dict[str, Any]) -> None:
    sessions = _table(dynamodb, "sessions")
    assert sessions["range_key"] is None
    (index,) = sessions["global_indexes"]
    assert index["range_key"] is None
    # Only key attributes are declared to DynamoDB; the table's other attributes stay documentation.
    assert {k["name"] for k in sessions["key_attributes"]} == {sessions["hash_key"], index["hash_key"]}


def test_include_projection_carries_its_non_key_attributes(dynamodb: dict[str, Any]) -> None:
    (index,) = _table(dynamodb, "sessions")["global_indexes"]
    assert index["projection_type"] == "INCLUDE"
    assert index["non_key_attributes"] == ["expiresAt", "device"]
    assert index["access_pattern"], "the description is the access pattern (LLD, Terraform comment)"


def test_ttl_streams_and_pitr_off(dynamodb: dict[str, Any]) -> None:
    sessions, readings = _table(dynamodb, "sessions"), _table(dynamodb, "readings")
    assert sessions["ttl_attribute"] == "expiresAt" and readings["ttl_attribute"] is None
    assert sessions["stream_view_type"] is None, "streams off: no view type"
    assert readings["stream_view_type"] == "KEYS_ONLY"
    assert sessions["pitr"] is False and readings["pitr"] is True


def test_numeric_sort_key_and_lsi(dynamodb: dict[str, Any]) -> None:
    readings = _table(dynamodb, "readings")
    types = {k["name"]: k["type"] for k in readings["key_attributes"]}
    assert types[readings["range_key"]] == "N"
    (lsi,) = readings["local_indexes"]
    assert lsi["hash_key"] == readings["hash_key"], "an LSI shares the table's partition key"
    assert types[lsi["range_key"]] == "N"
    assert readings["global_indexes"] == []


def test_schema_file_is_the_definitions_pointed_at_the_shipped_meta_schema(dynamodb: dict[str, Any]) -> None:
    document = _table(dynamodb, "sessions")["document"]
    source = json.loads((EDGE_DEFINITION / "tables" / "sessions.json").read_text())
    assert document == {**source, "$schema": "./table.schema.json"}


def test_dr_vault_only_where_the_environment_replicates(dynamodb: dict[str, Any]) -> None:
    for env in dynamodb["environments"]:
        backup = env["backup"]
        assert backup["dr_vault"] == (f"{backup['vault']}-dr" if env["dr_replication"] else None)
    assert {e["dr_replication"] for e in dynamodb["environments"]} == {True, False}


def test_promotion_order_reaches_the_answers(dynamodb: dict[str, Any], s3: dict[str, Any]) -> None:
    for spec in (dynamodb, s3):
        names = [e["name"] for e in spec["environments"]]
        assert [e["promotes_from"] for e in spec["environments"]] == [None, *names[:-1]]


def test_components_and_required_checks(dynamodb: dict[str, Any], s3: dict[str, Any], model: Model) -> None:
    assert [c["name"] for c in dynamodb["components"]] == [*(t.name for t in model.tables), BACKUP_COMPONENT]
    assert [c["name"] for c in s3["components"]] == [b.purpose for b in model.buckets]
    for spec in (dynamodb, s3):
        checks = spec["github"]["required_status_checks"]
        assert [c for c in checks if c.startswith("terraform validate")] == [
            f"terraform validate ({c['name']})" for c in spec["components"]
        ]


def test_second_bucket_purpose_has_its_own_names(s3: dict[str, Any]) -> None:
    buckets = {b["purpose"]: b for b in s3["buckets"]}
    assert set(buckets) == {TEMPLATES_PURPOSE, "exports"}
    # The environment's bucket_name is the templates bucket the objects go to, never the other purpose.
    for env in s3["environments"]:
        assert env["bucket_name"] == buckets[TEMPLATES_PURPOSE]["names"][env["name"]]
    names = [n for b in buckets.values() for kind in ("names", "log_names", "dr_names") for n in b[kind].values()]
    assert len(set(names)) == len(names)


def test_no_codeowners_in_the_definition_means_no_rules(dynamodb: dict[str, Any], s3: dict[str, Any]) -> None:
    assert dynamodb["codeowners"] == [] and s3["codeowners"] == []


def test_roles_belong_to_their_environments_account(dynamodb: dict[str, Any]) -> None:
    accounts = {e["name"]: e["account_id"] for e in dynamodb["environments"]}
    for env, roles in dynamodb["github"]["roles"].items():
        for purpose in ("plan", "apply"):
            assert roles[purpose]["arn"].startswith(f"arn:aws:iam::{accounts[env]}:role/")
            assert roles[purpose]["name"].endswith(f"-{purpose}-{env}")


def test_terraform_constraint_allows_patches_of_the_pinned_minor(dynamodb: dict[str, Any], model: Model) -> None:
    major, minor, _ = model.platform.terraform_version.split(".")
    assert dynamodb["terraform_required_version"] == f"~> {major}.{minor}.0"
    assert dynamodb["terraform_version"] == model.platform.terraform_version


# --- Derived values the blueprints lay out (issue 14: computed in the model, not in templates) --------------


def test_promotions_first_and_dr_environments(dynamodb: dict[str, Any], s3: dict[str, Any]) -> None:
    for spec in (dynamodb, s3):
        assert spec["first_environment"] == "dev"
        assert spec["promotions"] == [{"source": "dev", "target": "sit"}, {"source": "sit", "target": "prod"}]
        assert spec["dr_environments"] == ["sit", "prod"]
        assert [e["name"] for e in spec["environments"] if e["backup"]["dr_vault"]] == spec["dr_environments"]


def test_key_types_index_limits_and_index_key_types(dynamodb: dict[str, Any]) -> None:
    assert dynamodb["key_types"] == ["S", "N", "B"]
    assert dynamodb["max_indexes"] == {"global": 20, "local": 5}
    (lsi,) = _table(dynamodb, "readings")["local_indexes"]
    assert (lsi["hash_key_type"], lsi["range_key_type"]) == ("S", "N")
    (gsi,) = _table(dynamodb, "sessions")["global_indexes"]
    assert (gsi["hash_key_type"], gsi["range_key_type"]) == ("S", None)
    assert {t["capacity_mode"] for t in dynamodb["tables"]} == {"ON_DEMAND"}


def test_shipped_flag_keys_reach_the_answers() -> None:
    spec = dynamodb_spec(build_model(load_definition(DEFINITION)))
    flags = {t["name"]: [(f["name"], f["enum"], f["indexes"]) for f in t["flag_keys"]] for t in spec["tables"]}
    assert flags["campaigns"] == [("active", [1, 0], ["CampaignActiveIndex", "ActiveIndex"])]
    assert flags["tenants"] == [("active", [1, 0], ["ActiveIndex"])]


def test_template_categories_and_content_types(s3: dict[str, Any]) -> None:
    assert s3["template_categories"] == ["receipts", "notifications"]
    assert {t["category"] for t in s3["catalog"]["templates"]} == set(s3["template_categories"])
    assert s3["content_types"] == ["text/html; charset=utf-8", "text/plain; charset=utf-8"]


def test_node_version_is_the_pinned_one(s3: dict[str, Any]) -> None:
    pins = yaml.safe_load((EDGE_DEFINITION / "pins.yaml").read_text(encoding="utf-8"))
    assert s3["node_version"] == pins["node"]["version"] == s3["pins"]["node"]["version"] == "20"


@pytest.mark.parametrize("repo", ["2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas"])
def test_required_checks_are_the_job_names_validate_yml_runs(repo: str, request: pytest.FixtureRequest) -> None:
    """The ruleset on main requires exactly the checks the committed validate.yml reports (matrix expanded)."""
    root = EDGE / "repos" / repo
    reported = validate_check_names(root)
    ruleset = json.loads((root / "scripts" / "github_protection.json").read_text(encoding="utf-8"))
    spec = request.getfixturevalue("dynamodb" if "dynamodb" in repo else "s3")
    assert ruleset["required_status_checks"] == spec["github"]["required_status_checks"] == reported
    assert spec["validate_jobs"]["fmt"] in reported and spec["validate_jobs"]["checkov"] in reported


def test_table_keys_carry_their_pattern_and_meaning(dynamodb: dict[str, Any]) -> None:
    for table in dynamodb["tables"]:
        primary = table["document"]["primaryKey"]
        partition = primary["partitionKey"]
        assert table["partition_key"] == {
            "name": partition["name"],
            "type": partition["type"],
            "pattern": partition.get("pattern"),
            "description": partition.get("description"),
        }
        assert (table["sort_key"] or {}).get("name") == (primary.get("sortKey") or {}).get("name") == table["range_key"]
    assert _table(dynamodb, "sessions")["sort_key"] is None


def test_regions_are_the_platforms(dynamodb: dict[str, Any], s3: dict[str, Any]) -> None:
    platform = yaml.safe_load((EDGE_DEFINITION / "platform.yaml").read_text(encoding="utf-8"))
    for spec in (dynamodb, s3):
        assert spec["regions"] == {"primary": platform["primary_region"], "dr": platform["dr_region"]}
        assert spec["tag_names"] == sorted({tag for env in spec["environments"] for tag in env["tags"]})
