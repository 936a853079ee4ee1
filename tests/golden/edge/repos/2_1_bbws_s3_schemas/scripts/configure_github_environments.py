#!/usr/bin/env python3
"""Create or update the repo's approval environments, tag rulesets and the main branch ruleset.

Reads what to set from scripts/github_protection.json (generated from the definition) and compares it
with what GitHub has; prints every change, and makes them only with --apply:

- environments (dev, sit, prod, promote-*, rollback-*; publish-splits in the monorepo) with the
  definition's required reviewers, prevent_self_review, and deployments from main only (a custom
  deployment branch policy holding exactly the branch main; ``deployment_refs`` in the config names
  other refs for an environment, e.g. tags ``v*`` for publish-splits);
- tag rulesets: only the repository admins and GitHub Actions may create, move or delete
  ``deployed/*`` and ``v*`` tags;
- a ruleset on main: pull request with one approving review, the validate jobs as required status
  checks, no force push, no deletion, linear history.

    GITHUB_TOKEN=... python3 scripts/configure_github_environments.py [--apply] [--api-url URL]

The token needs administration (write) on the repository, and read access to the organisation's
teams when reviewers include teams. Exit 0 when done (or, in a dry run, when nothing would change
or the changes were printed), 1 when GitHub refused a change or a reviewer does not exist, 2 on bad
usage. Python standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_CONFIG = Path(__file__).resolve().parent / "github_protection.json"
# Ruleset bypass actors: the repository role "admin", and the GitHub Actions app (the workflows'
# GITHUB_TOKEN). A ruleset cannot name one workflow; see the runbook for what that means.
ADMIN_ROLE = {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
GITHUB_ACTIONS = {"actor_id": 15368, "actor_type": "Integration", "bypass_mode": "always"}


class ApiError(Exception):
    """GitHub answered with an error, or could not be reached."""


@dataclass
class Api:
    """A tiny REST client; every request is recorded in ``log`` (method, path)."""

    url: str
    token: str
    log: list[tuple[str, str]] = field(default_factory=list)

    def call(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> Any:
        """Send one request; the parsed JSON answer, or None for 204 and (with ``missing_ok``) 404."""
        self.log.append((method, path))
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url.rstrip("/") + path,
            data=data,
            method=method,
            headers={
                "Accept": "application/vnd.github+json",
                "Authorization": f"Bearer {self.token}",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "bbws-configure-github-environments",
                **({"Content-Type": "application/json"} if data is not None else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return None
            detail = exc.read().decode(errors="replace")[:300]
            raise ApiError(f"{method} {path}: HTTP {exc.code} {detail}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ApiError(f"{method} {path}: {exc}") from exc


@dataclass
class Plan:
    """Changes found, printed as they are found; made only when ``apply`` is set."""

    api: Api
    apply: bool
    changes: int = 0

    def change(self, what: str, method: str, path: str, body: Any = None) -> Any:
        """Report one change and, with --apply, make it."""
        self.changes += 1
        print(("apply: " if self.apply else "would: ") + what)
        return self.api.call(method, path, body) if self.apply else None


def reviewer_ids(api: Api, owner: str, reviewers: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The API's reviewer objects for user logins and team slugs (the API wants numeric ids)."""
    found: list[dict[str, Any]] = []
    for login in reviewers.get("users", []):
        user = api.call("GET", f"/users/{urllib.parse.quote(login)}", missing_ok=True)
        if user is None:
            raise ApiError(f"reviewer user {login!r} does not exist: fix github.reviewers in platform.yaml")
        found.append({"type": "User", "id": user["id"]})
    for slug in reviewers.get("teams", []):
        team = api.call("GET", f"/orgs/{owner}/teams/{urllib.parse.quote(slug)}", missing_ok=True)
        if team is None:
            raise ApiError(f"reviewer team {slug!r} not found in organisation {owner!r}: fix github.reviewers")
        found.append({"type": "Team", "id": team["id"]})
    return found


def _current_reviewers(env: dict[str, Any]) -> tuple[set[tuple[str, int]], bool]:
    reviewers: set[tuple[str, int]] = set()
    prevent_self_review = False
    for rule in env.get("protection_rules") or []:
        if rule.get("type") == "required_reviewers":
            prevent_self_review = bool(rule.get("prevent_self_review"))
            reviewers |= {(r["type"], r["reviewer"]["id"]) for r in rule.get("reviewers") or []}
    return reviewers, prevent_self_review


def environment(plan: Plan, repo: str, name: str, reviewers: list[dict[str, Any]], refs: list[dict[str, str]]) -> None:
    """One environment: reviewers, prevent_self_review, a custom deployment policy of exactly ``refs``."""
    path = f"/repos/{repo}/environments/{urllib.parse.quote(name, safe='')}"
    current = plan.api.call("GET", path, missing_ok=True)
    body = {
        "prevent_self_review": True,
        "reviewers": reviewers,
        "deployment_branch_policy": {"protected_branches": False, "custom_branch_policies": True},
    }
    allowed = " ".join(f"{r['type']} {r['name']}" for r in refs)
    if current is None:
        plan.change(f"create environment {name} with {len(reviewers)} reviewer(s), {allowed} only", "PUT", path, body)
        existing: list[dict[str, Any]] = []
    else:
        have, self_review = _current_reviewers(current)
        policy = current.get("deployment_branch_policy") or {}
        differs = [
            what
            for what, same in [
                ("reviewers", have == {(r["type"], r["id"]) for r in reviewers}),
                ("prevent_self_review", self_review),
                ("branch policy", bool(policy.get("custom_branch_policies")) and not policy.get("protected_branches")),
            ]
            if not same
        ]
        if differs:
            plan.change(f"update environment {name}: {', '.join(differs)}", "PUT", path, body)
        listed = plan.api.call("GET", path + "/deployment-branch-policies?per_page=100", missing_ok=True)
        existing = list((listed or {}).get("branch_policies", []))
    present = {(p.get("name"), p.get("type", "branch")) for p in existing}
    wanted = {(r["name"], r["type"]) for r in refs}
    for ref in refs:
        if (ref["name"], ref["type"]) not in present:
            plan.change(
                f"allow deployments to {name} from {ref['type']} {ref['name']}",
                "POST",
                path + "/deployment-branch-policies",
                {"name": ref["name"], "type": ref["type"]},
            )
    for other in existing:
        if (other.get("name"), other.get("type", "branch")) not in wanted:
            plan.change(
                f"remove deployment branch policy {other.get('type', 'branch')} {other.get('name')!r} from {name}",
                "DELETE",
                f"{path}/deployment-branch-policies/{other['id']}",
            )


def tag_ruleset(name: str, patterns: list[str]) -> dict[str, Any]:
    """Only admins and GitHub Actions may create, move or delete tags matching ``patterns``."""
    return {
        "name": name,
        "target": "tag",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/tags/{p}" for p in patterns], "exclude": []}},
        "rules": [{"type": "creation"}, {"type": "update"}, {"type": "deletion"}],
        "bypass_actors": [ADMIN_ROLE, GITHUB_ACTIONS],
    }


def main_ruleset(name: str, branch: str, checks: list[str]) -> dict[str, Any]:
    """Reviewed, checked, linear history on ``branch``; nobody bypasses it."""
    return {
        "name": name,
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [f"refs/heads/{branch}"], "exclude": []}},
        "rules": [
            {"type": "deletion"},
            {"type": "non_fast_forward"},
            {"type": "required_linear_history"},
            {
                "type": "pull_request",
                "parameters": {
                    "required_approving_review_count": 1,
                    "dismiss_stale_reviews_on_push": True,
                    "require_code_owner_review": False,
                    "require_last_push_approval": True,
                    "required_review_thread_resolution": False,
                },
            },
            {
                "type": "required_status_checks",
                "parameters": {
                    "strict_required_status_checks_policy": True,
                    "required_status_checks": [{"context": c} for c in checks],
                },
            },
        ],
        "bypass_actors": [],
    }


def _comparable(ruleset: dict[str, Any]) -> dict[str, Any]:
    keys = ("name", "target", "enforcement", "conditions", "rules", "bypass_actors")
    picked = {k: ruleset.get(k) for k in keys}
    picked["rules"] = sorted(picked["rules"] or [], key=lambda r: json.dumps(r, sort_keys=True))
    picked["bypass_actors"] = sorted(picked["bypass_actors"] or [], key=lambda a: json.dumps(a, sort_keys=True))
    return json.loads(json.dumps(picked, sort_keys=True))  # type: ignore[no-any-return]


def ruleset(plan: Plan, repo: str, wanted: dict[str, Any]) -> None:
    """Create the ruleset named like ``wanted``, or update it where it differs."""
    listed = plan.api.call("GET", f"/repos/{repo}/rulesets?includes_parents=false&per_page=100") or []
    match = next((r for r in listed if r.get("name") == wanted["name"] and r.get("target") == wanted["target"]), None)
    if match is None:
        plan.change(f"create {wanted['target']} ruleset {wanted['name']!r}", "POST", f"/repos/{repo}/rulesets", wanted)
        return
    current = plan.api.call("GET", f"/repos/{repo}/rulesets/{match['id']}")
    if _comparable(current) != _comparable(wanted):
        plan.change(
            f"update {wanted['target']} ruleset {wanted['name']!r}",
            "PUT",
            f"/repos/{repo}/rulesets/{match['id']}",
            wanted,
        )


def configure(api: Api, config: dict[str, Any], apply: bool) -> Plan:
    """Compare (and with ``apply`` change) everything the config asks for."""
    plan = Plan(api, apply)
    repo = config["repository"]
    owner = repo.split("/")[0]
    branch = config["branch"]
    reviewers = reviewer_ids(api, owner, config["reviewers"])
    # Deployments come from the branch, unless the config names other refs (publish-splits: tags v*).
    special = config.get("deployment_refs", {})
    for name in config["environments"]:
        environment(plan, repo, name, reviewers, special.get(name, [{"name": branch, "type": "branch"}]))
    for name, patterns in config["tag_rulesets"].items():
        ruleset(plan, repo, tag_ruleset(name, patterns))
    ruleset(plan, repo, main_ruleset(config["branch_ruleset"], branch, config["required_status_checks"]))
    return plan


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apply", action="store_true", help="make the changes (default: only print them)")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="REST API root (GitHub Enterprise Server)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="what to set (JSON)")
    args = parser.parse_args(argv)
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        print("error: set GITHUB_TOKEN to a token with administration: write on the repository", file=sys.stderr)
        return 2
    try:
        config = json.loads(args.config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"error: cannot read {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        plan = configure(Api(args.api_url, token), config, args.apply)
    except ApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not plan.changes:
        print(f"{config['repository']}: environments and rulesets already as configured")
    elif not args.apply:
        print(f"{plan.changes} change(s) planned; run again with --apply to make them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
