"""Names that work everywhere they go, and limits that keep every generated pipeline within GitHub's.

A table name becomes a DynamoDB table, a folder (``terraform/<table>``), a Terraform state key, a KMS
alias (``alias/bbws-dynamodb-<table>-<env>``, no dots allowed), a GitHub Actions matrix entry and
``case`` pattern, and a git tag (``deployed/<env>/<table>/<sha>``). A bucket purpose becomes an S3 bucket
name (``bbws-<purpose>-<env>``: lowercase, no underscores) and the same folder, state key, matrix entry
and tag. Lowercase only, so two names never collide on a case-insensitive file system (macOS, Windows);
a letter first and at most 63 characters, as DNS-style names (S3) and every other target accept.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from generator.locations import Document, Finding

# The component names the generator itself gives: the AWS Backup root of the DynamoDB repo, and the bucket
# purpose that holds the email templates (the S3 repo uploads them there).
BACKUP_COMPONENT = "backup"
TEMPLATES_PURPOSE = "templates"

TABLE_NAME = re.compile(r"[a-z][a-z0-9_-]{2,62}")
PURPOSE = re.compile(r"[a-z][a-z0-9-]{2,62}")
# Attribute names reach HCL strings, Mermaid diagrams and Markdown code spans.
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,254}")

# Names that already mean something in a generated repo, in git, to tools or to YAML 1.1 readers.
RESERVED = frozenset(
    {
        BACKUP_COMPONENT,
        "bootstrap", "terraform", "copier", "tfplan", "tfstate", "schemas", "scripts", "docs",
        "environments", "modules", "shared", "workflows", "github", "head", "main", "lock",
        "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
        "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
        "yes", "no", "on", "off", "true", "false", "null", "y", "n",
    }
)  # fmt: skip
YAML_WORDS = frozenset({"yes", "no", "on", "off", "true", "false", "null", "y", "n"})

# GitHub runs at most 256 jobs from one matrix; a deploy runs one per component (tables + backup).
MAX_TABLES = 100
MAX_BUCKETS = 20
MAX_ENVIRONMENTS = 10
MAX_TEMPLATES = 200

# AWS tag values: letters, numbers, spaces and _ . : / = + - @ (Unicode letters and numbers included).
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def table_name_problem(name: str) -> tuple[str, str] | None:
    """(message, hint) when ``name`` cannot be a table name, else None."""
    if name == BACKUP_COMPONENT:
        return (
            "'backup' is reserved: it is the AWS Backup component of the DynamoDB repo",
            "name the table after its domain, e.g. backups_log",
        )
    if name.lower() in RESERVED:
        return (
            f"{name!r} is reserved: it already names a folder, a tool or a YAML keyword",
            "name the table after its domain, e.g. tenants",
        )
    if not TABLE_NAME.fullmatch(name):
        return (
            f"table name {_show(name)} is not 3-63 characters of a-z, 0-9, '_' and '-' starting with a letter",
            "a lowercase name such as order_items: it also names a folder, a KMS alias, a git tag "
            "and a workflow matrix entry",
        )
    return None


def table_name_problems(doc: Document) -> list[Finding]:
    """The table's name against :data:`TABLE_NAME` and :data:`RESERVED`; its attribute names."""
    found: list[Finding] = []
    name = doc.data.get("tableName") if isinstance(doc.data, Mapping) else None
    problem = table_name_problem(name) if isinstance(name, str) else None
    if problem:
        found.append(doc.finding(["tableName"], *problem))
    found.extend(_attribute_name_problems(doc))
    return found


def _attribute_name_problems(doc: Document) -> list[Finding]:
    found: list[Finding] = []
    if not isinstance(doc.data, Mapping):
        return found
    for path, name in _attribute_names(doc.data):
        if isinstance(name, str) and not ATTRIBUTE_NAME.fullmatch(name):
            found.append(
                doc.finding(
                    path,
                    f"attribute name {_show(name)} is not 1-255 characters of A-Z, a-z, 0-9, '_', '.' and '-' "
                    "starting with a letter or '_'",
                    "use a plain attribute name such as tenantId (it reaches Terraform, diagrams and docs)",
                )
            )
    return found


def _attribute_names(table: Mapping[str, Any]) -> Iterable[tuple[list[Any], Any]]:
    primary = table.get("primaryKey")
    if isinstance(primary, Mapping):
        for role in ("partitionKey", "sortKey"):
            if isinstance(primary.get(role), Mapping):
                yield ["primaryKey", role, "name"], primary[role].get("name")
    for i, attribute in enumerate(_list(table.get("attributes"))):
        if isinstance(attribute, Mapping):
            yield ["attributes", i, "name"], attribute.get("name")
    for kind in ("globalSecondaryIndexes", "localSecondaryIndexes"):
        for i, index in enumerate(_list(table.get(kind))):
            if not isinstance(index, Mapping):
                continue
            for role in ("partitionKey", "sortKey"):
                if isinstance(index.get(role), Mapping):
                    yield [kind, i, role, "name"], index[role].get("name")
            for j, name in enumerate(_list(index.get("nonKeyAttributes"))):
                yield [kind, i, "nonKeyAttributes", j], name
    ttl = table.get("ttl")
    if isinstance(ttl, Mapping) and "attributeName" in ttl:
        yield ["ttl", "attributeName"], ttl["attributeName"]


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _show(name: str) -> str:
    """A name for a message: quoted, at most 80 characters, control characters visible."""
    shown = name if len(name) <= 80 else name[:77] + "..."
    return ascii(shown) if not shown.isprintable() else repr(shown)


def case_collisions(docs: Sequence[Document]) -> list[Finding]:
    """Table files whose names differ only in case: one folder on macOS and Windows."""
    seen: dict[str, str] = {}
    found: list[Finding] = []
    for doc in docs:
        stem = doc.file.rsplit("/", 1)[-1].removesuffix(".json")
        if stem.lower() in seen and seen[stem.lower()] != stem:
            found.append(
                Finding(
                    doc.file,
                    0,
                    "",
                    f"{stem}.json and {seen[stem.lower()]}.json differ only in case",
                    "one name per table: case-insensitive file systems keep only one of them",
                )
            )
        seen.setdefault(stem.lower(), stem)
    return found


def platform_problems(platform: Document) -> list[Finding]:
    """Purposes, environment names and tag values of ``platform.yaml``; the limits on their counts."""
    data = platform.data
    found: list[Finding] = []
    for purpose in data["buckets"]:
        if purpose in RESERVED or not PURPOSE.fullmatch(purpose):
            found.append(
                platform.finding(
                    ["buckets", purpose],
                    f"bucket purpose {_show(purpose)} is reserved or not 3-63 characters of a-z, 0-9 and '-' "
                    "starting with a letter",
                    "a lowercase purpose such as templates (it goes into the bucket name bbws-<purpose>-<env>)",
                    key=True,
                )
            )
    for env in data["environments"]:
        if env in YAML_WORDS:
            found.append(
                platform.finding(
                    ["environments", env],
                    f"environment name {env!r} is a YAML 1.1 boolean or null",
                    "name environments dev, sit, prod, uat, ...",
                    key=True,
                )
            )
    for key, value in data["tags"].items():
        bad = sorted({c for c in value if not _tag_char(c)})
        if bad:
            found.append(
                platform.finding(
                    ["tags", key],
                    f"tag value has characters AWS does not allow in tags: {' '.join(ascii(c) for c in bad)}",
                    "use letters, numbers, spaces and _ . : / = + - @ only",
                )
            )
    for key, limit in (("environments", MAX_ENVIRONMENTS), ("buckets", MAX_BUCKETS)):
        if len(data[key]) > limit:
            found.append(
                platform.finding(
                    [key], f"{len(data[key])} {key}, over the limit of {limit}", f"keep at most {limit} {key}"
                )
            )
    return found


def _tag_char(char: str) -> bool:
    category = unicodedata.category(char)
    return char in _TAG_PUNCTUATION or category[0] in "LN" or category == "Zs"


def table_count_problems(directory: str, count: int) -> list[Finding]:
    """More tables than one deploy matrix (tables + backup, at most 256 jobs) should carry."""
    if count <= MAX_TABLES:
        return []
    return [
        Finding(
            directory,
            0,
            "",
            f"{count} tables, over the limit of {MAX_TABLES}",
            "GitHub runs at most 256 jobs per workflow matrix; split the tables across repos",
        )
    ]


def template_count_problems(file: str, count: int) -> list[Finding]:
    """More templates than the catalog should carry in one bucket root."""
    if count <= MAX_TEMPLATES:
        return []
    return [Finding(file, 0, "", f"{count} templates, over the limit of {MAX_TEMPLATES}", "split the catalog")]


# The buckets each purpose gets besides its own: its access-log bucket and, where the environment
# replicates, its DR replica. A purpose must not end in one of these (it would take another's name).
BUCKET_SUFFIXES = {"logs": "-logs", "dr": "-dr"}


def bucket_name(pattern: str, purpose: str, env: str) -> str:
    """The S3 bucket of ``purpose`` in ``env`` by the platform's ``bucket_name`` pattern (``bbws-{purpose}-{env}``).

    ``purpose`` may carry a suffix of :data:`BUCKET_SUFFIXES` (``templates-logs``) for the companion buckets.
    """
    return pattern.replace("{purpose}", purpose).replace("{env}", env)


def bucket_names(pattern: str, purpose: str, env: str) -> dict[str, str]:
    """The bucket of ``purpose`` in ``env`` and its companions: {"bucket", "logs", "dr"} -> S3 name."""
    return {
        "bucket": bucket_name(pattern, purpose, env),
        **{kind: bucket_name(pattern, purpose + suffix, env) for kind, suffix in BUCKET_SUFFIXES.items()},
    }


def state_bucket(pattern: str, env: str) -> str:
    """The Terraform state bucket of ``env`` by the platform's ``state_bucket`` pattern (``...-{env}``)."""
    return pattern.replace("{env}", env)


def kms_alias(table: str, env: str) -> str:
    """The KMS alias of a table's key in ``env``: KMS aliases allow no dots, table names may have them."""
    return f"alias/bbws-dynamodb-{table.replace('.', '-')}-{env}"


def backup_vault(env: str) -> str:
    """The AWS Backup vault (and plan) of the DynamoDB repo in ``env``."""
    return f"bbws-dynamodb-{env}"


def dr_vault(env: str) -> str:
    """The vault in the DR region that ``env``'s recovery points are copied to."""
    return backup_vault(env) + "-dr"


def backup_policy(frequency: str, retention_days: int) -> str:
    """The name of an AWS Backup policy, which tables carry as their ``BackupPolicy`` tag: ``bbws-daily-35d``."""
    return f"bbws-{frequency}-{retention_days}d"


def backup_role(env: str) -> str:
    """The IAM role AWS Backup assumes in ``env``."""
    return f"bbws-dynamodb-{env}-backup"


def role_name(repository: str, purpose: str, env: str) -> str:
    """IAM role of a repo in an environment: ``<repo>-plan-<env>`` or ``<repo>-apply-<env>``."""
    return f"{repository}-{purpose}-{env}"
