#!/usr/bin/env python3
"""Fail closed unless each named GitHub environment exists, has required reviewers and lets only main deploy.

Runs in the pipelines before every job that waits in an approval environment (apply, promotion,
rollback). GitHub creates a missing environment on the spot, without reviewers, the first time a job
names it, and then runs the job at once: this check is what stops that.

    python3 scripts/check_environment_protection.py --repository OWNER/REPO dev [promote-sit ...]

Token from GITHUB_TOKEN (the workflow's token with ``actions: read``); ``--api-url`` for GitHub
Enterprise Server. Exit 0 when every environment is protected, 1 when one is not or the API cannot be
asked (the message names the environment and the fix), 2 on bad usage. Python standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DEFAULT_API_URL = "https://api.github.com"
FIX = "run scripts/configure_github_environments.py --apply (see docs/runbooks/first-deployment.md)"


class ApiError(Exception):
    """The API could not be asked, or answered with an unexpected status."""


def get_json(api_url: str, path: str, token: str) -> tuple[int, Any]:
    """GET ``path`` from the REST API: (status, parsed body); 404 is an answer, not an error."""
    request = urllib.request.Request(
        api_url.rstrip("/") + path,
        headers={
            "Accept": "application/vnd.github+json",
            "Authorization": f"Bearer {token}",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "bbws-check-environment-protection",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return 404, None
        raise ApiError(f"GET {path} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ApiError(f"GET {path} failed: {exc}") from exc


def problems(api_url: str, repository: str, name: str, token: str, branch: str = "main") -> list[str]:
    """Why environment ``name`` is not protected (empty when it is)."""
    quoted = urllib.parse.quote(name, safe="")
    base = f"/repos/{repository}/environments/{quoted}"
    status, env = get_json(api_url, base, token)
    if status == 404 or not isinstance(env, dict):
        return [f"environment {name!r} does not exist (a job naming it would create it without reviewers)"]
    found: list[str] = []
    reviewers = [
        reviewer
        for rule in env.get("protection_rules") or []
        if rule.get("type") == "required_reviewers"
        for reviewer in rule.get("reviewers") or []
    ]
    if not reviewers:
        found.append(f"environment {name!r} has no required reviewers")
    policy = env.get("deployment_branch_policy")
    if not policy:
        found.append(f"environment {name!r} lets every branch deploy (no deployment branch policy)")
    elif not policy.get("custom_branch_policies") or policy.get("protected_branches"):
        found.append(f"environment {name!r} does not limit deployments to {branch} (custom branch policy expected)")
    else:
        _, listed = get_json(api_url, base + "/deployment-branch-policies?per_page=100", token)
        patterns = {
            (item.get("name"), item.get("type", "branch")) for item in (listed or {}).get("branch_policies", [])
        }
        if patterns != {(branch, "branch")}:
            shown = ", ".join(f"{kind} {pattern}" for pattern, kind in sorted(patterns, key=str)) or "none"
            found.append(f"environment {name!r} allows deployments from {shown}; only branch {branch} is allowed")
    return found


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repository", required=True, help="OWNER/REPO")
    parser.add_argument("--api-url", default=DEFAULT_API_URL, help="REST API root (GitHub Enterprise Server)")
    parser.add_argument("--branch", default="main", help="the only branch that may deploy")
    parser.add_argument("environments", nargs="+", metavar="ENVIRONMENT")
    args = parser.parse_args(argv)
    token = os.environ.get("GITHUB_TOKEN", "")
    if not token:
        print("error: set GITHUB_TOKEN (a token that can read the repository's environments)", file=sys.stderr)
        return 2
    if args.repository.count("/") != 1:
        print(f"error: --repository must be OWNER/REPO, got {args.repository!r}", file=sys.stderr)
        return 2
    failed = False
    for name in args.environments:
        try:
            found = problems(args.api_url, args.repository, name, token, args.branch)
        except ApiError as exc:
            found = [f"cannot verify environment {name!r}: {exc}; refusing to continue unverified"]
        for problem in found:
            print(f"::error::{problem}. Fix: {FIX}.")
        if found:
            failed = True
        else:
            print(f"environment {name!r}: required reviewers and {args.branch}-only deployments")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
