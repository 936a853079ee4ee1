"""The resource policies the generated roots write (key, bucket, vault), read from the generated Terraform.

A root's ``data "aws_iam_policy_document" "<name>"`` is parsed with python-hcl2 and turned into the JSON
policy AWS stores, with what the root fills in at apply time (partition, account, the environment, its
locals) evaluated; any other expression is an error, so a changed template cannot be evaluated as
something it is not.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import hcl2

# Keys the proof treats as somebody else's: their policy is AWS's default (the account delegates to IAM).
FOREIGN_KEY_ID = "11111111-2222-3333-4444-555555555555"
INTERPOLATION = re.compile(r"\$\{([^}]*)\}")


def _one(value: Any) -> Any:
    # python-hcl2 0.x wraps every attribute value in a list.
    return value[0] if isinstance(value, list) and len(value) == 1 else value


@functools.cache
def _parsed(main_tf: Path) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    documents: dict[str, list[dict[str, Any]]] = {}
    local_values: dict[str, Any] = {}
    for path in sorted(main_tf.parent.glob("*.tf")):
        with path.open() as handle:
            doc = hcl2.load(handle)  # type: ignore[attr-defined]
        for block in doc.get("data", []):
            for name, body in block.get("aws_iam_policy_document", {}).items():
                documents[name] = body.get("statement", [])
        for block in doc.get("locals", []):
            local_values.update({k: _one(v) for k, v in block.items()})
    return documents, local_values


class _Resolver:
    """Evaluates the few expressions the generated policy documents use, for one environment."""

    def __init__(self, where: str, local_values: dict[str, Any], env: str, account: str, partition: str) -> None:
        self.where, self.local_values, self.env = where, local_values, env
        self.known = {
            "data.aws_partition.current.partition": partition,
            "data.aws_caller_identity.current.account_id": account,
            "var.environment": env,
        }

    def expression(self, expression: str) -> Any:
        if expression in self.known:
            return self.known[expression]
        named = re.fullmatch(r"local\.(\w+)(\[var\.environment\])?", expression)
        if named and named[1] in self.local_values:
            value = self.local_values[named[1]]
            return self.value(value[self.env] if named[2] else value)
        raise ValueError(f"{self.where}: cannot evaluate ${{{expression}}}")

    def value(self, value: Any) -> Any:
        if isinstance(value, list):
            flat: list[Any] = []
            for item in value:
                resolved = self.value(item)
                flat += resolved if isinstance(resolved, list) else [resolved]
            return flat
        if not isinstance(value, str):
            return value
        whole = re.fullmatch(r"\$\{([^}]*)\}", value)
        if whole:
            return self.expression(whole[1])
        return INTERPOLATION.sub(lambda m: str(self.expression(m[1])), value)


def policy_document(root: Path, name: str, env: str, account: str, partition: str = "aws") -> dict[str, Any]:
    """The JSON policy of ``data.aws_iam_policy_document.<name>`` of the root ``root`` in ``env``."""
    documents, local_values = _parsed(root / "main.tf")
    if name not in documents:
        raise ValueError(f"{root}: no data.aws_iam_policy_document.{name}")
    resolve = _Resolver(f"{root.parent.parent.name}/terraform/{root.name}", local_values, env, account, partition)
    policy: list[dict[str, Any]] = []
    for raw in documents[name]:
        statement: dict[str, Any] = {
            "Sid": _one(raw["sid"]),
            "Effect": _one(raw.get("effect", "Allow")),
            "Action": resolve.value(_one(raw["actions"])),
            "Resource": resolve.value(_one(raw["resources"])),
        }
        for principal in raw.get("principals", []):
            ids = resolve.value(_one(principal["identifiers"]))
            kind = _one(principal["type"])
            if kind == "*":  # how aws_iam_policy_document renders type "*": anyone
                statement["Principal"] = "*"
            else:
                statement.setdefault("Principal", {})[kind] = ids
        for condition in raw.get("condition", []):
            test, variable = _one(condition["test"]), _one(condition["variable"])
            values = resolve.value(_one(condition["values"]))
            statement.setdefault("Condition", {}).setdefault(test, {})[variable] = values
        policy.append(statement)
    return {"Version": "2012-10-17", "Statement": policy}


def key_policy(repo: Path, component: str, env: str, account: str, partition: str = "aws") -> dict[str, Any]:
    """The key policy of the keys the root ``terraform/<component>`` creates in ``env``."""
    return policy_document(repo / "terraform" / component, "kms", env, account, partition)
