"""What a Customer Portal Lambda's role needs to use the generated tables and templates bucket, per environment.

Printed in the READMEs and the LLD for the teams that own the Lambdas; computed from names alone (the
model's table names, KMS aliases and bucket names), so a policy never has to wait for a deployment.
"""

from __future__ import annotations

from typing import Any

from generator.definition.names import TEMPLATES_PURPOSE
from generator.model import Environment, Model

Statement = dict[str, Any]
Policy = dict[str, Any]

CONSUMER_TABLE_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
CONSUMER_KEY_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]


def _via(env: Environment, service: str, aliases: list[str]) -> dict[str, Any]:
    # A key's id changes when it is replaced, its alias does not; and only through the owning service.
    return {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases},
        "StringEquals": {"kms:ViaService": f"{service}.{env.region}.amazonaws.com"},
    }


def consumer_tables_policy(model: Model, env: Environment) -> Policy:
    """A Lambda role's policy for every table in ``env``: items read and written (no DeleteItem: entities
    are soft-deleted through ``active``), each table's key by its alias. Drop the tables it does not use."""
    key_arn = f"arn:{env.partition}:kms:{env.region}:{env.account_id}:key/*"
    statements: list[Statement] = []
    for table in model.tables:
        arn = f"arn:{env.partition}:dynamodb:{env.region}:{env.account_id}:table/{table.name}"
        sid = table.name.replace("_", " ").replace("-", " ").title().replace(" ", "")
        statements += [
            {
                "Sid": f"{sid}Items",
                "Effect": "Allow",
                "Action": CONSUMER_TABLE_ACTIONS,
                "Resource": [arn, f"{arn}/index/*"],
            },
            {
                "Sid": f"{sid}Key",
                "Effect": "Allow",
                "Action": CONSUMER_KEY_ACTIONS,
                "Resource": key_arn,
                "Condition": _via(env, "dynamodb", [table.kms_aliases[env.name]]),
            },
        ]
    return {"Version": "2012-10-17", "Statement": statements}


def consumer_templates_policy(model: Model, env: Environment) -> Policy:
    """A Lambda role's policy for reading the email templates bucket in ``env`` (listing too, so a missing
    key is a 404, not a 403), and decrypting with the bucket's key by its alias."""
    bucket = next(b for b in model.buckets if b.purpose == TEMPLATES_PURPOSE).names[env.name]
    bucket_arn = f"arn:{env.partition}:s3:::{bucket}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadTemplates",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": f"{bucket_arn}/*",
            },
            {"Sid": "ListTemplates", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
            {
                "Sid": "TemplatesKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": f"arn:{env.partition}:kms:{env.region}:{env.account_id}:key/*",
                "Condition": _via(env, "s3", [f"alias/{bucket}"]),
            },
        ],
    }
