"""generator/model.py on the edge-case definition: the values derived once for every blueprint.

Names per environment, backup per environment, DR environments and promotion order are decided in the
model and nowhere else; these tests pin what a platform engineer relies on, not a dump of the model.
"""

from __future__ import annotations

import copy
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.definition import load_definition, names
from generator.model import Model, Table, build_model, partition
from tests.conftest import DEFINITION, EDGE

EDGE_DEFINITION = EDGE / "definition"


@pytest.fixture(scope="module")
def model() -> Model:
    return build_model(load_definition(EDGE_DEFINITION))


@pytest.fixture(scope="module")
def platform() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((EDGE_DEFINITION / "platform.yaml").read_text())
    return loaded


def _table(model: Model, name: str) -> Table:
    return next(t for t in model.tables if t.name == name)


def _env_names(model: Model) -> list[str]:
    return [e.name for e in model.platform.environments]


def test_environments_keep_the_platform_files_order(model: Model, platform: dict[str, Any]) -> None:
    assert _env_names(model) == list(platform["environments"])


def test_each_environment_promotes_from_the_one_before_it(model: Model) -> None:
    envs = model.platform.environments
    assert envs[0].promotes_from is None, "the first environment takes commits from main, not a promotion"
    assert [e.promotes_from for e in envs[1:]] == [e.name for e in envs[:-1]]


def test_a_new_environment_slots_into_the_promotion_order_where_the_file_puts_it(tmp_path: Path) -> None:
    definition = tmp_path / "definition"
    shutil.copytree(EDGE_DEFINITION, definition)
    path = definition / "platform.yaml"
    data = yaml.safe_load(path.read_text())
    envs = data["environments"]
    uat = {**copy.deepcopy(envs["sit"]), "account_id": "444444444444"}  # no shared dicts: no YAML aliases
    data["environments"] = {"dev": envs["dev"], "sit": envs["sit"], "uat": uat, "prod": envs["prod"]}
    path.write_text(yaml.safe_dump(data, sort_keys=False))

    changed = build_model(load_definition(definition))
    chain = {e.name: e.promotes_from for e in changed.platform.environments}
    assert chain == {"dev": None, "sit": "dev", "uat": "sit", "prod": "uat"}
    access = changed.github.repos["dynamodb"]
    assert "promote-uat" in access.approval_environments and "rollback-uat" in access.approval_environments
    assert "promote-dev" not in access.approval_environments, "nothing promotes into the first environment"
    # A table file that does not name uat is backed up there (the default), with uat's own names.
    assert all(t.backup["uat"] for t in changed.tables)
    assert {t.kms_aliases["uat"] for t in changed.tables}.isdisjoint(
        {t.kms_aliases[e] for t in changed.tables for e in ("dev", "sit", "prod")}
    )


def test_dr_environments_are_those_the_platform_replicates(model: Model, platform: dict[str, Any]) -> None:
    replicated = [e.name for e in model.platform.environments if e.dr_replication]
    assert replicated == [name for name, env in platform["environments"].items() if env["dr_replication"]]
    assert 0 < len(replicated) < len(model.platform.environments)
    for env in model.platform.environments:
        assert env.dr_region == platform["dr_region"] != env.region == platform["primary_region"]


def test_names_per_environment_are_distinct(model: Model) -> None:
    envs = model.platform.environments
    for attribute in ("state_bucket", "backup_vault", "backup_role", "account_id"):
        values = [getattr(e, attribute) for e in envs]
        assert len(set(values)) == len(values), f"{attribute} repeats across environments: {values}"
        assert all(e.name in getattr(e, attribute) for e in envs if attribute != "account_id")
    for table in model.tables:
        assert set(table.kms_aliases) == set(table.backup) == set(_env_names(model))
        assert all(alias.startswith("alias/") and table.name in alias for alias in table.kms_aliases.values())
    aliases = [a for t in model.tables for a in t.kms_aliases.values()]
    assert len(set(aliases)) == len(aliases)
    for access in model.github.repos.values():
        roles = [*access.plan_roles.values(), *access.apply_roles.values()]
        assert len(set(roles)) == len(roles), "plan and apply roles differ in every environment"


def test_bucket_names_follow_the_platform_pattern_and_never_collide(model: Model, platform: dict[str, Any]) -> None:
    assert [b.purpose for b in model.buckets] == sorted(platform["buckets"])
    every_name: list[str] = []
    for bucket in model.buckets:
        for env in _env_names(model):
            expected = platform["bucket_name"].replace("{purpose}", bucket.purpose).replace("{env}", env)
            assert bucket.names[env] == expected
            assert bucket.log_names[env] != expected != bucket.dr_names[env]
            every_name += [bucket.names[env], bucket.log_names[env], bucket.dr_names[env]]
    assert len(set(every_name)) == len(every_name), "two buckets of the record share an S3 name"


def test_backup_per_environment_follows_the_table_file(model: Model) -> None:
    sessions, readings = _table(model, "sessions"), _table(model, "readings")
    # sessions says {"sit": false}: off there only; environments it does not name are backed up.
    assert [env for env, on in sessions.backup.items() if not on] == ["sit"]
    # readings: false in dev, unnamed in sit, the customer's {"frequency", "retention"} form in prod.
    assert dict(readings.backup) == {"dev": False, "prod": True, "sit": True}


def test_backup_policy_and_schedule_follow_each_environments_frequency(model: Model, platform: dict[str, Any]) -> None:
    schedules = set()
    for env in model.platform.environments:
        backup = platform["environments"][env.name]["backup"]
        assert str(backup["retention_days"]) in env.backup_policy and backup["frequency"] in env.backup_policy
        assert env.backup_retention_days == backup["retention_days"]
        assert env.tags["BackupPolicy"] == env.backup_policy and env.tags["Environment"] == env.name
        # An hourly job must be done before the next two start; a daily one within the night.
        limit = {"hourly": 180, "daily": 24 * 60}[backup["frequency"]]
        assert env.backup_start_window < env.backup_completion_window < limit
        schedules.add((backup["frequency"], env.backup_schedule))
    assert len({s for _, s in schedules}) == len({f for f, _ in schedules}) == 2, "hourly and daily differ"


def test_platform_tags_reach_every_environment_unchanged(model: Model, platform: dict[str, Any]) -> None:
    for env in model.platform.environments:
        assert {k: env.tags[k] for k in platform["tags"]} == platform["tags"]


def test_a_table_without_a_sort_key_keys_only_on_what_its_indexes_use(model: Model) -> None:
    sessions = _table(model, "sessions")
    assert sessions.sort_key is None
    assert [k.name for k in sessions.key_attributes] == ["sessionId", "userId"]
    (index,) = sessions.global_indexes
    assert index.sort_key is None and index.projection == "INCLUDE"
    assert index.non_key_attributes == ("expiresAt", "device"), "in the file's order"
    assert sessions.ttl_attribute == "expiresAt"
    assert sessions.stream_view_type is None and sessions.pitr is False


def test_key_attributes_are_listed_once_in_first_use_order(model: Model) -> None:
    readings = _table(model, "readings")
    # The LSI repeats the table's partition key: it is one attribute definition, not two.
    assert [(k.name, k.type) for k in readings.key_attributes] == [
        ("deviceId", "S"),
        ("recordedAt", "N"),
        ("value", "N"),
    ]
    assert readings.stream_view_type == "KEYS_ONLY"


def test_tables_come_sorted_by_name_whatever_the_file_order(model: Model) -> None:
    names = [t.name for t in model.tables]
    assert names == sorted(names) and len(names) > 1


def test_the_model_is_frozen(model: Model) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.tables[0].name = "renamed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        model.tables[0].backup["dev"] = True  # type: ignore[index]


@pytest.mark.parametrize(
    ("region", "expected"),
    [("af-south-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")],
)
def test_partition_of_a_region(region: str, expected: str) -> None:
    assert partition(region) == expected


def test_environments_take_the_partition_of_the_primary_region(model: Model, platform: dict[str, Any]) -> None:
    assert {e.partition for e in model.platform.environments} == {partition(platform["primary_region"])}


def test_apply_roles_trust_only_their_own_environment(model: Model) -> None:
    for access in model.github.repos.values():
        for env, subjects in access.apply_subjects.items():
            assert all(s.endswith((f":environment:{env}", f":environment:rollback-{env}")) for s in subjects)
        assert not any(":environment:" in s for s in access.plan_subjects), "plan roles are not environment-bound"


# --- Values derived once for the blueprints (issue 14: one home per rule) ---------------------------------


@pytest.fixture(scope="module")
def shipped() -> Model:
    return build_model(load_definition(DEFINITION))


def test_promotion_order_is_the_first_environment_then_each_promotion(model: Model, shipped: Model) -> None:
    for built in (model, shipped):
        platform = built.platform
        assert platform.first_environment == "dev"
        assert [(p.source, p.target) for p in platform.promotions] == [("dev", "sit"), ("sit", "prod")]
        # The same order as promotes_from: a template reading either never disagrees.
        assert [p.target for p in platform.promotions] == [e.name for e in platform.environments if e.promotes_from]


def test_dr_environments_and_their_vaults(model: Model, shipped: Model) -> None:
    assert model.platform.dr_environments == ("sit", "prod")
    assert shipped.platform.dr_environments == ("prod",)
    vaults = {e.name: (e.backup_vault, e.dr_vault) for e in model.platform.environments}
    assert vaults == {
        "dev": ("bbws-dynamodb-dev", None),
        "sit": ("bbws-dynamodb-sit", "bbws-dynamodb-sit-dr"),
        "prod": ("bbws-dynamodb-prod", "bbws-dynamodb-prod-dr"),
    }


def test_key_types_and_index_limits_come_from_the_table_schema(model: Model) -> None:
    assert model.key_types == ("S", "N", "B"), "BOOL is never a key type"
    assert dict(model.max_indexes) == {"global": 20, "local": 5}


def test_terraform_constraint_and_capacity_default(model: Model) -> None:
    assert model.platform.terraform_version == "1.11.4"
    assert model.platform.terraform_required_version == "~> 1.11.0"
    assert {t.capacity_mode for t in model.tables} == {"ON_DEMAND"}, "no table file names a capacity mode"


def test_flag_keys_are_numeric_enum_keys_with_the_indexes_they_key(model: Model, shipped: Model) -> None:
    assert all(t.flag_keys == () for t in model.tables), "the edge record has no numeric flag keys"
    campaigns = _table(shipped, "campaigns")
    (flag,) = campaigns.flag_keys
    assert (flag.name, flag.values, flag.indexes) == ("active", (1, 0), ("CampaignActiveIndex", "ActiveIndex"))


def test_tag_names_and_template_categories(model: Model, shipped: Model) -> None:
    assert model.platform.tag_names == ("BackupPolicy", "CostCenter", "Environment", "ManagedBy", "Owner", "Project")
    assert shipped.template_categories == ("receipts", "notifications", "invoices"), "in catalog order"
    assert model.template_categories == ("receipts", "notifications")


def test_bucket_names_come_from_the_naming_module(model: Model, platform: dict[str, Any]) -> None:
    pattern = platform["bucket_name"]
    for bucket in model.buckets:
        for env in _env_names(model):
            named = names.bucket_names(pattern, bucket.purpose, env)
            assert named == {
                "bucket": bucket.names[env],
                "logs": bucket.log_names[env],
                "dr": bucket.dr_names[env],
            }
    assert names.bucket_name("bbws-{purpose}-{env}", "templates-logs", "sit") == "bbws-templates-logs-sit"
    assert names.kms_alias("a.b", "dev") == "alias/bbws-dynamodb-a-b-dev", "KMS aliases allow no dots"
