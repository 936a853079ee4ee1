"""Model -> Copier answers: plain JSON-able data, recorded in each repo's ``.copier-answers.yml``.

The answers hold everything a blueprint renders from, so a split-out repo can re-render (``copier
update``) without the definition folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from generator.consumer_policy import consumer_tables_policy, consumer_templates_policy
from generator.definition.names import BACKUP_COMPONENT, TEMPLATES_PURPOSE
from generator.iam import key_actions, role_policy
from generator.iam_boundary import boundary_name, boundary_policy
from generator.model import (
    DYNAMODB_REPO,
    GITHUB_OIDC_AUDIENCE,
    GITHUB_OIDC_HOST,
    S3_REPO,
    Bucket,
    EmailTemplate,
    Environment,
    Index,
    Key,
    Model,
    Table,
)

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"

Answers = dict[str, Any]


def _key(key: Key | None) -> dict[str, str] | None:
    return {"name": key.name, "type": key.type} if key else None


def _primary_key(key: Key | None) -> dict[str, str | None] | None:
    """A key of the table itself, with the value pattern and meaning its table file gives (docs print them)."""
    return {"name": key.name, "type": key.type, "pattern": key.pattern, "description": key.description} if key else None


def _index(index: Index) -> dict[str, Any]:
    return {
        "name": index.name,
        "hash_key": index.partition_key.name,
        "hash_key_type": index.partition_key.type,
        "range_key": index.sort_key.name if index.sort_key else None,
        "range_key_type": index.sort_key.type if index.sort_key else None,
        "projection_type": index.projection,
        "non_key_attributes": list(index.non_key_attributes),
        "access_pattern": index.access_pattern,
    }


def _table(table: Table) -> dict[str, Any]:
    return {
        "name": table.name,
        "description": table.description,
        "hash_key": table.partition_key.name,
        "range_key": table.sort_key.name if table.sort_key else None,
        "partition_key": _primary_key(table.partition_key),
        "sort_key": _primary_key(table.sort_key),
        "key_attributes": [_key(k) for k in table.key_attributes],
        "global_indexes": [_index(i) for i in table.global_indexes],
        "local_indexes": [_index(i) for i in table.local_indexes],
        "capacity_mode": table.capacity_mode,
        "flag_keys": [
            {"name": f.name, "enum": list(f.values), "description": f.description, "indexes": list(f.indexes)}
            for f in table.flag_keys
        ],
        "attributes": list(table.document.get("attributes", [])),
        "ttl_attribute": table.ttl_attribute,
        "stream_view_type": table.stream_view_type,
        # Where the environment replicates, the stream global tables need (None: the same as everywhere).
        "replica_stream_view_type": table.replica_stream_view_type if table.stream_differs_with_replica else None,
        "pitr": table.pitr,
        "backup": dict(table.backup),
        "tags": dict(table.tags),
        "kms_aliases": dict(table.kms_aliases),
        # The schema file points at the meta-schema shipped beside it in the generated repo.
        "document": {**table.document, "$schema": "./table.schema.json"},
    }


def _environment(env: Environment) -> dict[str, Any]:
    return {
        "name": env.name,
        "account_id": env.account_id,
        "region": env.region,
        "dr_region": env.dr_region,
        "dr_replication": env.dr_replication,
        "deletion_protection": env.deletion_protection,
        "state_bucket": env.state_bucket,
        "partition": env.partition,
        "promotes_from": env.promotes_from,
        "backup": {
            "policy": env.backup_policy,
            "schedule": env.backup_schedule,
            "retention_days": env.backup_retention_days,
            "start_window_minutes": env.backup_start_window,
            "completion_window_minutes": env.backup_completion_window,
            "vault": env.backup_vault,
            "dr_vault": env.dr_vault,
            "role": env.backup_role,
        },
        "tags": dict(env.tags),
    }


def _role_arn(env: Environment, name: str) -> str:
    return f"arn:{env.partition}:iam::{env.account_id}:role/{name}"


def _github(model: Model, repo: str, kind: str) -> Answers:
    """The repo's GitHub identity, reviewers, OIDC trust and its roles' policies per environment."""
    access = model.github.repos[kind]
    return {
        "owner": model.github.owner,
        "repository": access.repository,
        "full_name": access.full_name,
        "reviewers": {"users": list(model.github.reviewer_users), "teams": list(model.github.reviewer_teams)},
        "approval_environments": list(access.approval_environments),
        "oidc": {"host": GITHUB_OIDC_HOST, "audience": GITHUB_OIDC_AUDIENCE},
        "key_actions": key_actions(kind),
        # The roles each key policy names, by environment (the key's root picks var.environment's).
        "key_roles": {
            "apply": {env: access.apply_roles[env] for env in sorted(access.apply_roles)},
            "plan": {env: access.plan_roles[env] for env in sorted(access.plan_roles)},
        },
        "roles": {
            env.name: {
                "plan": {
                    "name": access.plan_roles[env.name],
                    "arn": _role_arn(env, access.plan_roles[env.name]),
                    "subjects": list(access.plan_subjects),
                    "policy": role_policy(model, access, repo, env, write=False),
                },
                "apply": {
                    "name": access.apply_roles[env.name],
                    "arn": _role_arn(env, access.apply_roles[env.name]),
                    "subjects": list(access.apply_subjects[env.name]),
                    "policy": role_policy(model, access, repo, env, write=True),
                },
                "boundary": {
                    "name": boundary_name(repo, env),
                    "policy": boundary_policy(model, kind, env),
                },
            }
            for env in model.platform.environments
        },
    }


def _common(model: Model, repo: str, kind: str, components: list[dict[str, str]]) -> Answers:
    return {
        "repo": {"name": repo, "kind": kind},
        "github": _github(model, repo, kind),
        "terraform_version": model.platform.terraform_version,
        "terraform_required_version": model.platform.terraform_required_version,
        "aws_provider_version": model.platform.aws_provider_version,
        "python_version": model.pins.python_version,
        "python_requirements": list(model.pins.python["requirements"]),
        "pins": model.pins.as_answers(),
        "components": components,
        "environments": [_environment(e) for e in model.platform.environments],
        # The order environments are deployed in: merges to main go to the first, each promotion takes a
        # commit from its source to its target.
        "first_environment": model.platform.first_environment,
        "promotions": [{"source": p.source, "target": p.target} for p in model.platform.promotions],
        "dr_environments": list(model.platform.dr_environments),
        "tag_names": list(model.platform.tag_names),
        "regions": {"primary": model.platform.primary_region, "dr": model.platform.dr_region},
    }


# Files only the repo's owners review: what runs in CI with cloud credentials, the pipeline's own
# roles (bootstrap/), and the pins.
PROTECTED_PATHS = (
    "/.github/",
    "/bootstrap/",
    "/scripts/",
    "/requirements*.txt",
    "/.pre-commit-config.yaml",
    "/.copier-answers.yml",
)


def _codeowners(model: Model, kind: str, component_paths: Mapping[str, list[str]]) -> list[dict[str, Any]]:
    """CODEOWNERS rules of one repo, in file order (GitHub applies the last matching rule)."""
    if model.codeowners is None:
        return []
    owners = list(model.codeowners.repos[kind])
    rules: list[dict[str, Any]] = [{"pattern": "*", "owners": owners, "why": "everything in this repo"}]
    for component, paths in component_paths.items():
        extra = [o for o in model.codeowners.components.get(component, ()) if o not in owners]
        if extra:
            rules += [{"pattern": path, "owners": extra + owners, "why": f"component {component}"} for path in paths]
    rules += [{"pattern": path, "owners": owners, "why": "CI, its roles, scripts and pins"} for path in PROTECTED_PATHS]
    return rules


def _component(name: str, kind: str) -> dict[str, str]:
    return {"name": name, "path": f"terraform/{name}", "kind": kind}


def _checks(spec: Answers) -> None:
    """validate.yml's job names, and the required status checks on main: the same names, matrix expanded.

    The workflow prints ``validate_jobs`` and the ruleset requires ``required_status_checks``, so a
    renamed job can never leave main requiring a check that no longer runs.
    """
    jobs = {
        "fmt": "terraform fmt",
        "terraform": "terraform validate",
        "repository_checks": ", ".join(c["name"] for c in spec["validate_commands"]) or "Repository checks",
        "checkov": "checkov (Terraform security scan)",
    }
    spec["validate_jobs"] = jobs
    spec["github"]["required_status_checks"] = [
        jobs["fmt"],
        *(f"{jobs['terraform']} ({c['name']})" for c in spec["components"]),
        jobs["repository_checks"],
        jobs["checkov"],
    ]


def dynamodb_spec(model: Model) -> Answers:
    """The ``spec`` answer of the DynamoDB blueprint."""
    components = [_component(t.name, "table") for t in model.tables] + [_component(BACKUP_COMPONENT, "backup")]
    spec = _common(model, DYNAMODB_REPO, "dynamodb", components)
    spec["tables"] = [_table(t) for t in model.tables]
    spec["table_schema"] = dict(model.table_schema)
    spec["key_types"] = list(model.key_types)
    spec["max_indexes"] = dict(model.max_indexes)
    spec["validate_commands"] = [
        {"name": "Validate table schema files", "run": "python scripts/validate_schemas.py schemas"}
    ]
    paths = {t.name: [f"/terraform/{t.name}/", f"/schemas/{t.name}.json"] for t in model.tables}
    spec["codeowners"] = _codeowners(
        model, "dynamodb", {**paths, BACKUP_COMPONENT: [f"/terraform/{BACKUP_COMPONENT}/"]}
    )
    for env in spec["environments"]:
        # The tables AWS Backup selects there (a table file may opt out of an environment), and the
        # pipeline's roles the vault policy keeps from deleting recovery points.
        env["backup"]["tables"] = [t.name for t in model.tables if t.backup[env["name"]]]
        roles = spec["github"]["roles"][env["name"]]
        env["backup"]["protected_roles"] = [roles["plan"]["arn"], roles["apply"]["arn"]]
    # What a Lambda's role needs to use the tables, per environment (README and LLD print it).
    spec["consumer_policy"] = {e.name: consumer_tables_policy(model, e) for e in model.platform.environments}
    _checks(spec)
    return spec


def _bucket(bucket: Bucket) -> dict[str, Any]:
    return {
        "purpose": bucket.purpose,
        "description": bucket.description,
        "noncurrent_version_expiration_days": bucket.noncurrent_version_expiration_days,
        "access_log_retention_days": bucket.access_log_retention_days,
        "names": dict(bucket.names),
        "log_names": dict(bucket.log_names),
        "dr_names": dict(bucket.dr_names),
    }


def _catalog_entry(template: EmailTemplate) -> dict[str, str]:
    return {
        "key": template.key,
        "category": template.category,
        "audience": template.audience,
        "version": template.version,
        "subject": template.subject,
        "description": template.description,
    }


def _template(template: EmailTemplate) -> dict[str, Any]:
    return {
        "key": template.key,
        "text_key": template.text_key,
        "version": template.version,
        "objects": [
            {"key": template.key, "content_type": HTML_CONTENT_TYPE},
            {"key": template.text_key, "content_type": TEXT_CONTENT_TYPE},
        ],
    }


def _template_files(template: EmailTemplate) -> list[dict[str, str]]:
    stem = template.key.removesuffix(".html")
    return [
        {"path": template.key, "content": template.html},
        {"path": template.text_key, "content": template.text},
        {"path": stem + ".contract.json", "content": template.contract},
        {"path": stem + ".sample.json", "content": template.sample},
    ]


def s3_spec(model: Model) -> Answers:
    """The ``spec`` answer of the S3 blueprint: one Terraform root per bucket purpose."""
    components = [_component(b.purpose, "bucket") for b in model.buckets]
    spec = _common(model, S3_REPO, "s3", components)
    templates_bucket = next(b for b in model.buckets if b.purpose == TEMPLATES_PURPOSE)
    for env in spec["environments"]:
        env["bucket_name"] = templates_bucket.names[env["name"]]
    spec["buckets"] = [_bucket(b) for b in model.buckets]
    spec["templates_purpose"] = TEMPLATES_PURPOSE
    spec["catalog"] = {"brand": dict(model.brand), "templates": [_catalog_entry(t) for t in model.templates]}
    spec["templates"] = [_template(t) for t in model.templates]
    spec["template_categories"] = list(model.template_categories)
    spec["content_types"] = [HTML_CONTENT_TYPE, TEXT_CONTENT_TYPE]
    spec["template_files"] = [f for t in model.templates for f in _template_files(t)]
    # html-validate (tools/email, pinned by its package-lock.json) runs where installed; CI installs it and
    # requires it (ci_run), runbooks show the plain command (it says when html-validate was skipped).
    spec["node_tools"] = ["tools/email"]
    spec["node_version"] = model.pins.node_version
    spec["validate_commands"] = [
        {
            "name": "Validate email templates",
            "run": "python scripts/validate_templates.py templates",
            "ci_run": "python scripts/validate_templates.py templates --html-validate require",
        }
    ]
    paths = {
        b.purpose: [f"/terraform/{b.purpose}/"] + (["/templates/"] if b.purpose == TEMPLATES_PURPOSE else [])
        for b in model.buckets
    }
    spec["codeowners"] = _codeowners(model, "s3", paths)
    spec["consumer_policy"] = {e.name: consumer_templates_policy(model, e) for e in model.platform.environments}
    _checks(spec)
    return spec


def blueprint_data(blueprint: str, spec: Mapping[str, Any], release: str) -> Answers:
    """Everything passed to Copier for one blueprint."""
    return {"blueprint": blueprint, "spec": dict(spec), "blueprint_release": release}
