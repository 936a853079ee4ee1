"""``bbws-gen adopt`` on the emulator: existing tables and bucket come under the generated roots, nothing is
recreated, nothing is lost.

One dev account on a moto server holds what the customer already has:
- the three tables, created by the customer's own hand-written root (``CUSTOMER_ROOT``: one root, one local
  state, their GSIs and tag set, products' ``ProductActiveIndex`` that the definition does not have), with
  items written into them;
- the templates bucket made by hand (versioned, public access blocked) with the template objects and one
  object of the customer's own already uploaded.
``bbws-gen adopt`` (the real CLI) reads the customer's state for the tables and the account for the bucket;
each root's plan then shows imports and no create, replace or delete of a table or bucket, and the plan
guard passes it; apply; a second plan is empty; every item and object is there byte for byte. The old root
then lets go with ``removed`` blocks (no destroy), as the runbook says.

Emulator gaps (moto 5.2.5, ``tests/support/emulator_gaps.py``), only in the test's copy of a root: the
overrides of ``tests.support.deploy`` (replicas) and of ``tests/e2e/test_s3_apply.py``. The bucket policies
are applied as generated (the emulator serves TLS and evaluates ``aws:SecureTransport``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from generator.shipped import check_plan_safety
from tests.conftest import REPOS
from tests.e2e.test_s3_apply import OVERRIDES as S3_OVERRIDES
from tests.support import tf
from tests.support.deploy import (
    NO_REPLICA,
    PROVIDER_OVERRIDE,
    Deployment,
    copy_repo,
    init,
    plan_json,
    prepare,
    read_spec,
)
from tests.support.moto import MotoServer, moto_server

pytestmark = pytest.mark.e2e

DYNAMODB = REPOS / "2_1_bbws_dynamodb_schemas"
S3_REPO = REPOS / "2_1_bbws_s3_schemas"
ENV = "dev"
TABLES = ("campaigns", "products", "tenants")
BUCKET = "bbws-templates-dev"

# The customer's own root, as their hand-written repo keeps it: one root and one state for every table,
# `active` keyed as N (their schema files' BOOL cannot key an index), their own tag set, and products'
# ProductActiveIndex, which the definition folds into ActiveIndex. Each table is encrypted with a key of
# its own, as the LLD asks (and moto 5.2.5's UpdateTable ignores SSESpecification, so a table on the
# default encryption could not be moved to a key in place on the emulator, as AWS would).
_GSIS: dict[str, list[tuple[str, str, str | None]]] = {
    "tenants": [
        ("EmailIndex", "email", None),
        ("TenantStatusIndex", "status", "dateCreated"),
        ("ActiveIndex", "active", "dateCreated"),
    ],
    "products": [("ProductActiveIndex", "active", "dateCreated"), ("ActiveIndex", "active", "dateCreated")],
    "campaigns": [
        ("CampaignActiveIndex", "active", "fromDate"),
        ("CampaignProductIndex", "productId", "fromDate"),
        ("ActiveIndex", "active", "dateCreated"),
    ],
}
_TYPES = {"active": "N"}


def _table_hcl(name: str) -> str:
    keys = sorted({k for _, h, r in _GSIS[name] for k in (h, r) if k} | {"PK", "SK"})
    attributes = "".join(f'  attribute {{\n    name = "{k}"\n    type = "{_TYPES.get(k, "S")}"\n  }}\n' for k in keys)
    gsis = "".join(
        f'  global_secondary_index {{\n    name            = "{n}"\n    hash_key        = "{h}"\n'
        + (f'    range_key       = "{r}"\n' if r else "")
        + '    projection_type = "ALL"\n  }\n'
        for n, h, r in _GSIS[name]
    )
    return (
        f'resource "aws_kms_key" "{name}" {{\n  description         = "{name} table"\n'
        "  enable_key_rotation = true\n}\n"
        f'resource "aws_dynamodb_table" "{name}" {{\n  name         = "{name}"\n  billing_mode = "PAY_PER_REQUEST"\n'
        f'  hash_key     = "PK"\n  range_key    = "SK"\n{attributes}{gsis}'
        f"  server_side_encryption {{\n    enabled     = true\n    kms_key_arn = aws_kms_key.{name}.arn\n  }}\n"
        '  tags = { ManagedBy = "Terraform", Component = "dynamodb-schemas", Project = "BBWS WP Containers" }\n}\n'
    )


CUSTOMER_ROOT = (
    'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    'provider "aws" {\n  region = "af-south-1"\n}\n' + "".join(_table_hcl(t) for t in TABLES)
)
# The runbook's step for the old root: it forgets the tables and keeps them.
LET_GO = (
    'terraform {\n  required_providers {\n    aws = { source = "hashicorp/aws" }\n  }\n}\n'
    'provider "aws" {\n  region = "af-south-1"\n}\n'
    + "".join(
        f"removed {{\n  from = {address}\n  lifecycle {{\n    destroy = false\n  }}\n}}\n"
        for t in TABLES
        for address in (f"aws_dynamodb_table.{t}", f"aws_kms_key.{t}")
    )
)


def _items(table: str) -> list[dict[str, Any]]:
    return [
        {
            "PK": {"S": f"{table.upper()}#{i}"},
            "SK": {"S": "METADATA"},
            "active": {"N": str(i % 2)},
            "dateCreated": {"S": f"2025-01-0{i}"},
            "fromDate": {"S": "2025-02-01"},
            "productId": {"S": "p1"},
            "email": {"S": f"user{i}@example.com"},
            "status": {"S": "VALIDATED"},
            "blob": {"B": bytes([i, 0, 255])},
        }
        for i in range(1, 6)
    ]


@dataclass(frozen=True)
class Adopted:
    """The account after adoption's plan, the plans' texts and JSON, and the CLI's report."""

    server: MotoServer
    tables: Deployment
    bucket: Deployment
    customer: Path
    plans: Mapping[str, str]
    plan_json: Mapping[str, dict[str, Any]]
    report: str
    objects: Mapping[str, bytes]


def _cli(*args: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", "adopt", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _customer_apply(server: MotoServer, workdir: Path) -> Path:
    root = workdir / "customer"
    root.mkdir()
    (root / "main.tf").write_text(CUSTOMER_ROOT)
    env = {**server.env(), "TF_CLI_CONFIG_FILE": str(tf.cli_config(workdir))}
    tf.run(["init"], root, env)
    tf.run(["apply", "-auto-approve"], root, env)
    ddb = server.client("dynamodb")
    for table in TABLES:
        for item in _items(table):
            ddb.put_item(TableName=table, Item=item)
    return root


def _hand_made_bucket(server: MotoServer) -> dict[str, bytes]:
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": server.region})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    keys = [o["key"] for t in read_spec(S3_REPO)["templates"] for o in t["objects"]]
    objects = {key: (S3_REPO / "templates" / key).read_bytes() for key in keys}
    objects["legacy/welcome.html"] = b"<p>The customer's own object, \xc3\xa9 and all.</p>\n"
    for key, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return objects


def _second_repo(source: Path, workdir: Path, server: MotoServer, overrides: Mapping[str, str]) -> Deployment:
    """``prepare`` for a second repo of the same account (the state bucket exists already)."""
    workdir.mkdir()
    repo = copy_repo(source, workdir / "repo")
    deployment = Deployment(repo, ENV, server, read_spec(repo), tf.cli_config(workdir))
    for component, text in overrides.items():
        (deployment.root(component) / "emulator_override.tf").write_text(PROVIDER_OVERRIDE + text)
    return deployment


def _plan(deployment: Deployment, component: str, workdir: Path) -> tuple[str, dict[str, Any]]:
    init(deployment, component)
    shown = plan_json(deployment, component, workdir)
    text = tf.run(["show", str(workdir / f"{component}.tfplan")], deployment.root(component), deployment.tf_env())
    return text.stdout, shown


# A prod account's key behind tenants' alias, as an old prod state would hold it: its import entry must not
# reach a dev plan (importing a key dev does not have would fail the plan).
PROD_STATE = {
    "version": 4,
    "terraform_version": "1.11.0",
    "serial": 1,
    "lineage": "prod",
    "outputs": {},
    "resources": [
        {
            "mode": "managed",
            "type": "aws_kms_key",
            "name": "t",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {
                    "attributes": {
                        "key_id": "0b7c5f1e-prod-only",
                        "arn": "arn:aws:kms:af-south-1:1:key/0b7c5f1e-prod-only",
                    }
                }
            ],
        },
        {
            "mode": "managed",
            "type": "aws_kms_alias",
            "name": "t",
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [
                {"attributes": {"name": "alias/bbws-dynamodb-tenants-prod", "target_key_id": "0b7c5f1e-prod-only"}}
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adopted]:
    workdir = tmp_path_factory.mktemp("adopt")
    env_spec = next(e for e in read_spec(DYNAMODB)["environments"] if e["name"] == ENV)
    with moto_server(env_spec["account_id"], env_spec["region"], workdir / "moto.log") as server:
        customer = _customer_apply(server, workdir)
        objects = _hand_made_bucket(server)
        tables = prepare(DYNAMODB, workdir / "ddb", ENV, server, {t: NO_REPLICA for t in TABLES})
        bucket = _second_repo(S3_REPO, workdir / "s3", server, S3_OVERRIDES)
        (workdir / "prod.tfstate").write_text(json.dumps(PROD_STATE))
        prod = _cli(
            str(tables.repo),
            "--env",
            "prod",
            "--from-state",
            str(workdir / "prod.tfstate"),
            cwd=workdir,
            env=server.env(),
        )
        assert prod.returncode == 0, prod.stderr
        state = customer / "terraform.tfstate"
        report = _cli(str(tables.repo), "--env", ENV, "--from-state", str(state), cwd=workdir, env=server.env())
        assert report.returncode == 0, report.stdout + report.stderr
        from_account = _cli(str(bucket.repo), "--env", ENV, cwd=workdir, env=server.env())
        assert from_account.returncode == 0, from_account.stdout + from_account.stderr
        plans, shown = {}, {}
        for component in TABLES:
            plans[component], shown[component] = _plan(tables, component, workdir)
        plans["templates"], shown["templates"] = _plan(bucket, "templates", workdir)
        yield Adopted(server, tables, bucket, customer, plans, shown, report.stdout + from_account.stdout, objects)


def _summary(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Plan:"))


def test_adopt_reports_the_gsi_the_definition_lacks(adopted: Adopted) -> None:
    assert (
        "differs: products: aws_dynamodb_table.this: global secondary index ProductActiveIndex (active, "
        "dateCreated) ALL is not in the definition; applying deletes the index" in adopted.report
    )
    assert "import aws_dynamodb_table.this <- tenants" in adopted.report
    # The customer's keys are not behind the roots' aliases: adopt says how the pipeline's roles reach them.
    assert adopted.report.count("aws kms tag-resource --key-id") == len(TABLES), adopted.report
    assert "import aws_s3_bucket.this <- bbws-templates-dev" in adopted.report
    assert "import aws_s3_bucket_versioning.this <- bbws-templates-dev" in adopted.report
    assert (
        'import aws_s3_object.template["receipts/receipt.html"] <- bbws-templates-dev/receipts/receipt.html'
        in adopted.report
    )


def test_plans_import_and_never_create_replace_or_delete_a_table_or_bucket(adopted: Adopted, tmp_path: Path) -> None:
    for component, plan in adopted.plan_json.items():
        imported = check_plan_safety.imports(plan)
        assert imported, f"{component}: nothing imported"
        for change in plan["resource_changes"]:
            if change["type"] in ("aws_dynamodb_table", "aws_s3_bucket") and change["mode"] == "managed":
                name = change["address"]
                if name == "aws_s3_bucket.logs":  # no log bucket existed: the apply creates it
                    assert change["change"]["actions"] == ["create"]
                    continue
                assert name in imported, f"{component}: {name} is not imported"
                assert change["change"]["actions"] in (["update"], ["no-op"]), f"{component}: {name}: {change}"
            assert "delete" not in change["change"]["actions"], f"{component}: {change['address']} deleted"
        path = tmp_path / f"{component}.json"
        path.write_text(json.dumps(plan))
        assert check_plan_safety.main([str(path), "--component", component]) == 0
    # The prod entry stayed out of dev: tenants' key is dev's own (from the customer's state), not prod's.
    tenants_key = next(
        c for c in adopted.plan_json["tenants"]["resource_changes"] if c["address"] == "aws_kms_key.table"
    )
    dev_key = adopted.server.client("dynamodb").describe_table(TableName="tenants")["Table"]["SSEDescription"]
    assert tenants_key["change"]["importing"]["id"] == dev_key["KMSMasterKeyArn"].rsplit("/", 1)[1]
    assert '"0b7c5f1e-prod-only"' in (adopted.tables.root("tenants") / "adopt.tf").read_text()
    summaries = {c: _summary(t) for c, t in adopted.plans.items()}
    print("adoption plan summaries:", json.dumps(summaries, indent=1))
    for table in TABLES:
        assert summaries[table].startswith("Plan: 2 to import,"), summaries[table]
        assert summaries[table].endswith("0 to destroy."), summaries[table]


def test_apply_then_second_plan_is_empty_and_nothing_is_lost(adopted: Adopted) -> None:
    for deployment, components in ((adopted.tables, TABLES), (adopted.bucket, ("templates",))):
        for component in components:
            tf.run(
                ["apply", "-auto-approve", f"-var-file=../../environments/{ENV}.tfvars"],
                deployment.root(component),
                deployment.tf_env(),
            )
            code, text = deployment.plan_exit_code(component)
            assert code == 0, f"{component}: second plan not empty:\n{text[-3000:]}"
    ddb = adopted.server.client("dynamodb")
    for table in TABLES:
        for item in _items(table):
            got = ddb.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]}, ConsistentRead=True)
            assert got.get("Item") == item, f"{table}: {item['PK']} changed or lost"
    s3 = adopted.server.client("s3")
    for key, body in adopted.objects.items():
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body, key
    # Adoption done in dev: --clean drops dev's entries; prod's stay, and the dev plan stays empty.
    cleaned = _cli(str(adopted.tables.repo), "--clean", "--env", ENV, cwd=adopted.customer, env=adopted.server.env())
    assert cleaned.returncode == 0, cleaned.stderr
    assert not (adopted.tables.root("products") / "adopt.tf").exists()
    assert '"0b7c5f1e-prod-only"' in (adopted.tables.root("tenants") / "adopt.tf").read_text()
    assert adopted.tables.plan_exit_code("tenants")[0] == 0


def test_the_old_root_lets_go_without_destroying(adopted: Adopted) -> None:
    (adopted.customer / "main.tf").write_text(LET_GO)
    env = {**adopted.server.env(), "TF_CLI_CONFIG_FILE": str(adopted.customer.parent / "terraformrc")}
    plan = tf.run(["plan"], adopted.customer, env)
    assert "0 to destroy" in plan.stdout or "No changes" in plan.stdout, plan.stdout
    assert plan.stdout.count("will no longer be managed by Terraform, but will not be destroyed") == 2 * len(TABLES), (
        plan.stdout
    )
    tf.run(["apply", "-auto-approve"], adopted.customer, env)
    assert json.loads((adopted.customer / "terraform.tfstate").read_text())["resources"] == []
    ddb = adopted.server.client("dynamodb")
    for table in TABLES:
        assert ddb.scan(TableName=table, ConsistentRead=True)["Count"] == len(_items(table))
