"""A local stand-in for the parts of GitHub's REST API the generated repos' scripts call, on 127.0.0.1.

Answers with GitHub's response shapes (docs.github.com/rest: deployments/environments,
deployments/branch-policies, repos/rules, users, teams, issues) from in-memory state, and records every
request, so tests can run the shipped scripts unchanged and assert what they asked and changed.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    body: Any


@dataclass
class GitHubState:
    """What the fake GitHub holds: users, teams, environments and rulesets of any repository."""

    users: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    branch_policies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rulesets: dict[int, dict[str, Any]] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    # The repository's git (a real repo): git/refs requests read and create its refs (tests/rehearsal).
    git_dir: Path | None = None
    # Issues by number: title, body, state, state_reason, labels (names), comments (bodies).
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def environment(self, name: str, reviewers: list[tuple[str, int]], branch_policy: str | None = "main") -> None:
        """Seed an environment: reviewers as (type, id), and a custom branch policy (None = any branch)."""
        self.environments[name] = {
            "prevent_self_review": True,
            "reviewers": [{"type": t, "id": i} for t, i in reviewers],
            "deployment_branch_policy": (
                {"protected_branches": False, "custom_branch_policies": True} if branch_policy else None
            ),
        }
        self.branch_policies[name] = (
            [{"id": next(self.ids), "node_id": "BP", "name": branch_policy, "type": "branch"}] if branch_policy else []
        )

    def environment_json(self, name: str) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}/environments/{name}, as GitHub answers it."""
        env = self.environments[name]
        rules: list[dict[str, Any]] = []
        if env["reviewers"]:
            rules.append(
                {
                    "id": 3755,
                    "node_id": "MDQ6R2F0ZTM3NTU=",
                    "prevent_self_review": env["prevent_self_review"],
                    "type": "required_reviewers",
                    "reviewers": [
                        {
                            "type": r["type"],
                            "reviewer": {"id": r["id"], "login" if r["type"] == "User" else "slug": "x"},
                        }
                        for r in env["reviewers"]
                    ],
                }
            )
        if env["deployment_branch_policy"]:
            rules.append({"id": 3756, "node_id": "MDQ6R2F0ZTM3NTY=", "type": "branch_policy"})
        return {
            "id": 161088068,
            "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4",
            "name": name,
            "url": f"https://api.github.com/repos/o/r/environments/{name}",
            "html_url": f"https://github.com/o/r/deployments/activity_log?environments_filter={name}",
            "created_at": "2020-11-23T22:00:40Z",
            "updated_at": "2020-11-23T22:00:40Z",
            "protection_rules": rules,
            "deployment_branch_policy": env["deployment_branch_policy"],
        }


class _Handler(BaseHTTPRequestHandler):
    state: GitHubState

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``state.requests`` instead."""

    def _send(self, status: int, body: Any = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        path = urlsplit(self.path).path
        self.state.requests.append(Request(method, self.path, body))
        if not self.headers.get("Authorization", "").startswith("Bearer "):
            return self._send(401, {"message": "Requires authentication"})
        if any(fragment in path for fragment in self.state.fail):
            return self._send(500, {"message": "Server Error"})
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/issues(?:/(\d+)(/comments)?)?", path):
            status, answer = _issues(self.state, method, m, parse_qs(urlsplit(self.path).query), body)
        else:
            status, answer = self._route(method, path, body)
        self._send(status, answer)
        return None

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        state = self.state
        if m := re.fullmatch(r"/users/([^/]+)", path):
            login = unquote(m[1])
            return (
                (200, {"login": login, "id": state.users[login], "type": "User"})
                if login in state.users
                else (
                    404,
                    {"message": "Not Found"},
                )
            )
        if m := re.fullmatch(r"/orgs/[^/]+/teams/([^/]+)", path):
            slug = unquote(m[1])
            return (
                (200, {"slug": slug, "id": state.teams[slug]})
                if slug in state.teams
                else (404, {"message": "Not Found"})
            )
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/environments/([^/]+)", path):
            name = unquote(m[1])
            if method == "PUT":
                state.environments[name] = {
                    "prevent_self_review": body.get("prevent_self_review", False),
                    "reviewers": body.get("reviewers") or [],
                    "deployment_branch_policy": body.get("deployment_branch_policy"),
                }
                state.branch_policies.setdefault(name, [])
            if name not in state.environments:
                return 404, {"message": "Not Found"}
            return 200, state.environment_json(name)
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/environments/([^/]+)/deployment-branch-policies(?:/(\d+))?", path):
            name = unquote(m[1])
            if name not in state.environments:
                return 404, {"message": "Not Found"}
            policies = state.branch_policies[name]
            if method == "POST":
                created = {
                    "id": next(state.ids),
                    "node_id": "BP",
                    "name": body["name"],
                    "type": body.get("type", "branch"),
                }
                policies.append(created)
                return 200, created
            if method == "DELETE":
                state.branch_policies[name] = [p for p in policies if p["id"] != int(m[2])]
                return 204, None
            return 200, {"total_count": len(policies), "branch_policies": policies}
        if state.git_dir is not None and (m := re.fullmatch(r"/repos/[^/]+/[^/]+/git/(ref/.+|refs)", path)):
            return _git_refs(state.git_dir, method, m[1], body)
        if re.fullmatch(r"/repos/[^/]+/[^/]+/rulesets", path):
            if method == "POST":
                ruleset_id = next(state.ids)
                state.rulesets[ruleset_id] = {**body, "id": ruleset_id, "source_type": "Repository", "source": "o/r"}
                return 201, state.rulesets[ruleset_id]
            return 200, [
                {"id": r["id"], "name": r["name"], "target": r["target"], "enforcement": r["enforcement"]}
                for r in state.rulesets.values()
            ]
        if m := re.fullmatch(r"/repos/[^/]+/[^/]+/rulesets/(\d+)", path):
            ruleset_id = int(m[1])
            if ruleset_id not in state.rulesets:
                return 404, {"message": "Not Found"}
            if method == "PUT":
                state.rulesets[ruleset_id] = {**body, "id": ruleset_id, "source_type": "Repository", "source": "o/r"}
            return 200, {**state.rulesets[ruleset_id], "node_id": "RRS", "current_user_can_bypass": "always"}
        return 404, {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}

    def do_GET(self) -> None:
        self._handle("GET")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")


def _issue_json(number: int, issue: dict[str, Any]) -> dict[str, Any]:
    labels = [{"name": name} for name in issue["labels"]]
    fields = ("title", "body", "state", "state_reason")
    return {"number": number, "id": number, **{k: issue[k] for k in fields}, "labels": labels}


def _issues(
    state: GitHubState, method: str, m: re.Match[str], query: dict[str, list[str]], body: Any
) -> tuple[int, Any]:
    """List, create, update and comment on issues (docs.github.com/rest/issues: issues, comments)."""
    if m[1] is None:
        if method == "POST":
            number = len(state.issues) + 1
            state.issues[number] = {
                "title": body["title"],
                "body": body.get("body", ""),
                "state": "open",
                "state_reason": None,
                "labels": list(body.get("labels", [])),
                "comments": [],
            }
            return 201, _issue_json(number, state.issues[number])
        wanted = query.get("state", ["open"])[0]
        labels = set(",".join(query.get("labels", [])).split(",")) - {""}
        return 200, [
            _issue_json(n, i)
            for n, i in sorted(state.issues.items(), reverse=True)
            if wanted in ("all", i["state"]) and labels <= set(i["labels"])
        ]
    number = int(m[1])
    if number not in state.issues:
        return 404, {"message": "Not Found"}
    issue = state.issues[number]
    if m[2] and method == "POST":
        issue["comments"].append(body["body"])
        return 201, {"id": next(state.ids), "body": body["body"]}
    if method == "PATCH":
        issue.update({k: body[k] for k in ("title", "body", "state", "state_reason", "labels") if k in body})
    return 200, _issue_json(number, issue)


def _git_refs(git_dir: Path, method: str, what: str, body: Any) -> tuple[int, Any]:
    """GET git/ref/<ref> and POST git/refs (docs.github.com/rest/git/refs) on a real git repository."""
    if method == "GET" and what.startswith("ref/"):
        ref = "refs/" + unquote(what[len("ref/") :])
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", ref], cwd=git_dir, capture_output=True, text=True
        )
        if found.returncode:
            return 404, {"message": "Not Found"}
        return 200, {"ref": ref, "object": {"sha": found.stdout.strip(), "type": "commit"}}
    if method == "POST" and what == "refs":
        ref, sha = body["ref"], body["sha"]
        exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet", ref], cwd=git_dir, capture_output=True)
        if exists.returncode == 0:
            return 422, {"message": "Reference already exists"}
        made = subprocess.run(["git", "update-ref", ref, sha, ""], cwd=git_dir, capture_output=True, text=True)
        if made.returncode:
            return 422, {"message": f"Object does not exist: {made.stderr.strip()}"}
        return 201, {"ref": ref, "object": {"sha": sha, "type": "commit"}}
    return 404, {"message": "Not Found"}


@contextmanager
def github_api(state: GitHubState | None = None) -> Iterator[tuple[str, GitHubState]]:
    """Serve ``state`` on a free port of 127.0.0.1; yields (API URL, state); stops afterwards."""
    state = state or GitHubState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
