"""Find drift: plan every component of one environment read-only, and report what differs.

Shipped verbatim into each generated repo as ``scripts/drift_check.py``; ``.github/workflows/drift.yml``
runs it daily. Standard library only; it runs ``terraform init`` and ``terraform plan`` and never
applies anything.

``drift_check.py plan --env ENV [--component NAME ...] [--json OUT]``
    For each component (default: every ``terraform/<component>/`` with ``backend/ENV.tfbackend``):
    ``terraform init -lockfile=readonly``, then ``terraform plan -detailed-exitcode -lock=false``
    (a read-only role cannot write the state lock) and ``terraform show -json`` of that plan. Status:
    ``in sync`` (exit 0), ``drifted`` (exit 2: the plan lists what changed outside Terraform, from the
    plan's ``resource_drift``, and what applying would change), ``error`` (anything else). Writes the
    results as JSON and a table to ``$GITHUB_STEP_SUMMARY`` when set. Exit 0 whatever was found (the
    report is the product), 2 for bad usage.

``drift_check.py report RESULTS.json ... [--environments ENV ...] [--issues]``
    Merges the per-environment results into one table (component x environment) in
    ``$GITHUB_STEP_SUMMARY``; an environment with no results file counts as ``error`` for every
    component. With ``--issues``: one open GitHub issue per drifted component, titled ``Drift:
    <component>`` and labelled ``drift``, created or its body rewritten with the current findings (one
    issue per component, not per environment: a console change is usually made, and fixed, for the
    component as a whole); an open drift issue whose component is now in sync everywhere is closed
    with a comment. Uses ``GITHUB_TOKEN``, ``GITHUB_REPOSITORY`` and ``GITHUB_API_URL``. Exit 1 when
    anything drifted or errored, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

IN_SYNC, DRIFTED, ERROR = "in sync", "drifted", "error"
LABEL = "drift"
TITLE_PREFIX = "Drift: "
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
TAIL = 3000  # characters of terraform's error output kept per failure


class UsageError(Exception):
    """Bad arguments or input files: exit 2."""


@dataclass(frozen=True)
class Result:
    """What planning one component in one environment found."""

    component: str
    environment: str
    status: str
    changed_outside: tuple[str, ...] = ()
    would_change: tuple[str, ...] = ()
    error: str = ""


@dataclass
class IssueAction:
    """One call to make against the GitHub issues API."""

    kind: str  # "create", "update" or "close"
    component: str
    title: str
    body: str = ""
    number: int | None = None
    labels: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------- plan
def components_of(root: Path, env: str) -> list[str]:
    """Every Terraform root of the repo that has a backend file for ``env``, in name order."""
    return sorted(p.parent.parent.name for p in (root / "terraform").glob(f"*/backend/{env}.tfbackend"))


def _terraform(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "TF_INPUT": "0"}
    return subprocess.run(["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _drift_lines(plan: Mapping[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(changed outside Terraform, what applying would change) as ``address: actions`` lines."""
    outside = tuple(
        f"{d['address']}: {'/'.join(d['change']['actions'])}"
        for d in plan.get("resource_drift", []) or []
        if d.get("change", {}).get("actions") != ["no-op"]
    )
    pending = tuple(
        f"{c['address']}: {'/'.join(c['change']['actions'])}"
        for c in plan.get("resource_changes", []) or []
        if c.get("change", {}).get("actions") not in (["no-op"], ["read"])
    )
    return outside, pending


def plan_component(root: Path, env: str, component: str) -> Result:
    """Init and plan ``component`` in ``env`` without a lock; never applies."""
    cwd = root / "terraform" / component
    init = _terraform(
        ["init", "-no-color", "-lockfile=readonly", "-reconfigure", f"-backend-config=backend/{env}.tfbackend"], cwd
    )
    if init.returncode != 0:
        return Result(component, env, ERROR, error="terraform init failed:\n" + (init.stderr or init.stdout)[-TAIL:])
    with tempfile.TemporaryDirectory() as tmp:
        plan_file = str(Path(tmp) / "drift.tfplan")
        plan = _terraform(
            [
                "plan",
                "-no-color",
                "-lock=false",
                "-detailed-exitcode",
                f"-var-file=../../environments/{env}.tfvars",
                f"-out={plan_file}",
            ],
            cwd,
        )
        if plan.returncode == 0:
            return Result(component, env, IN_SYNC)
        if plan.returncode != 2:
            return Result(
                component, env, ERROR, error="terraform plan failed:\n" + (plan.stderr or plan.stdout)[-TAIL:]
            )
        shown = _terraform(["show", "-json", plan_file], cwd)
    if shown.returncode != 0:
        return Result(component, env, ERROR, error="terraform show failed:\n" + shown.stderr[-TAIL:])
    outside, pending = _drift_lines(json.loads(shown.stdout))
    return Result(component, env, DRIFTED, outside, pending)


# ----------------------------------------------------------------------------------------- report
def _cell(result: Result | None) -> str:
    if result is None:
        return "error (no result)"
    return result.status


def summary_table(results: Sequence[Result], environments: Sequence[str], components: Sequence[str]) -> str:
    """Markdown: one row per component, one column per environment."""
    by_key = {(r.component, r.environment): r for r in results}
    lines = [
        "| component | " + " | ".join(environments) + " |",
        "| --- |" + " --- |" * len(environments),
    ]
    for component in components:
        cells = [_cell(by_key.get((component, env))) for env in environments]
        lines.append(f"| `{component}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def details(results: Iterable[Result]) -> str:
    """Markdown detail of every result that is not in sync."""
    parts: list[str] = []
    for r in results:
        if r.status == IN_SYNC:
            continue
        parts.append(f"#### `{r.component}` in `{r.environment}`: {r.status}")
        if r.changed_outside:
            parts.append("Changed outside Terraform:\n" + "\n".join(f"- `{line}`" for line in r.changed_outside))
        if r.would_change:
            parts.append("Applying the code on main would change:\n" + "\n".join(f"- `{x}`" for x in r.would_change))
        if r.error:
            parts.append("```\n" + r.error.replace("```", "'''") + "\n```")
    return "\n\n".join(parts)


def complete(results: Sequence[Result], environments: Sequence[str], components: Sequence[str]) -> list[Result]:
    """``results`` plus an error result for every component of an environment that reported nothing."""
    seen = {(r.component, r.environment) for r in results}
    missing = [
        Result(c, e, ERROR, error="no result: the plan job for this environment failed before reporting")
        for e in environments
        for c in components
        if (c, e) not in seen
    ]
    return [*results, *missing]


def issue_body(component: str, results: Sequence[Result], run_url: str) -> str:
    """The drift issue's body: the component's row of the table and the details, rewritten every run."""
    mine = sorted((r for r in results if r.component == component), key=lambda r: r.environment)
    envs = [r.environment for r in mine]
    text = [
        f"The scheduled drift check found `{component}` out of sync with the code on main.",
        "",
        summary_table(mine, envs, [component]),
        "",
        details(mine),
        "",
        "Either revert the change in AWS (re-apply the component with the deploy workflow), or make it in "
        "the definition and deploy it; see docs/runbooks/troubleshooting.md"
        "#the-plan-shows-changes-nobody-made-drift. This issue is updated by every drift run and closed by "
        "the first run that finds the component in sync everywhere.",
    ]
    if run_url:
        text += ["", f"Last checked by {run_url}."]
    return "\n".join(text) + "\n"


def issue_actions(
    results: Sequence[Result], open_issues: Sequence[Mapping[str, Any]], run_url: str
) -> list[IssueAction]:
    """What to do with the issues: one per drifted component; close those now in sync everywhere.

    ``open_issues`` are the repo's open issues labelled ``drift`` (``number`` and ``title``). A
    component with an error but no drift gets no issue (the run fails instead), and its open issue
    stays open: an error proves nothing about drift.
    """
    by_title = {str(i["title"]): int(i["number"]) for i in open_issues}
    components = sorted({r.component for r in results})
    actions: list[IssueAction] = []
    for component in components:
        mine = [r for r in results if r.component == component]
        title = TITLE_PREFIX + component
        number = by_title.get(title)
        if any(r.status == DRIFTED for r in mine):
            body = issue_body(component, results, run_url)
            if number is None:
                actions.append(IssueAction("create", component, title, body, labels=[LABEL]))
            else:
                actions.append(IssueAction("update", component, title, body, number))
        elif number is not None and all(r.status == IN_SYNC for r in mine):
            note = f"In sync in every environment ({run_url or 'drift check'}); closing."
            actions.append(IssueAction("close", component, title, note, number))
    return actions


class GitHub:
    """The few issue endpoints the report needs, over urllib."""

    def __init__(self, api_url: str, repository: str, token: str) -> None:
        if not re.match(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", repository):
            raise UsageError(f"GITHUB_REPOSITORY {repository!r} is not owner/name")
        self.base = f"{api_url.rstrip('/')}/repos/{repository}"
        self.token = token

    def _call(self, method: str, path: str, payload: Mapping[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if payload is None else json.dumps(payload).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read().decode()
        return json.loads(text) if text else None

    def open_drift_issues(self) -> list[Mapping[str, Any]]:
        """Open issues labelled ``drift`` (pull requests excluded)."""
        found = self._call("GET", f"/issues?state=open&labels={LABEL}&per_page=100")
        return [i for i in found if "pull_request" not in i and str(i["title"]).startswith(TITLE_PREFIX)]

    def apply(self, action: IssueAction) -> None:
        """Create, rewrite or close one issue."""
        if action.kind == "create":
            self._call("POST", "/issues", {"title": action.title, "body": action.body, "labels": action.labels})
        elif action.kind == "update":
            self._call("PATCH", f"/issues/{action.number}", {"body": action.body})
        else:
            self._call("POST", f"/issues/{action.number}/comments", {"body": action.body})
            self._call("PATCH", f"/issues/{action.number}", {"state": "closed", "state_reason": "completed"})


# -------------------------------------------------------------------------------------------- CLI
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line; a UsageError (exit 2) for anything argparse rejects."""
    parser = _Parser(prog="drift_check.py", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="plan every component of one environment")
    plan.add_argument("--env", required=True)
    plan.add_argument("--component", action="append", default=[])
    plan.add_argument("--json", type=Path, help="write the results here")
    plan.add_argument("--root", type=Path, default=Path("."), help="the repo root (default: .)")
    report = commands.add_parser("report", help="merge results, write the summary, open or update issues")
    report.add_argument("results", type=Path, nargs="*")
    report.add_argument("--environments", nargs="+", help="default: environments/*.tfvars")
    report.add_argument("--root", type=Path, default=Path("."))
    report.add_argument("--issues", action="store_true", help="open, update or close the drift issues")
    return parser.parse_args(argv)


def _summary(text: str) -> None:
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as out:
            out.write(text + "\n")


def _check_names(kind: str, names: Iterable[str]) -> None:
    for name in names:
        if not NAME.match(name):
            raise UsageError(f"{kind} {name!r} is not a valid name")


def run_plan(args: argparse.Namespace) -> int:
    """The ``plan`` command."""
    _check_names("environment", [args.env])
    _check_names("component", args.component)
    root: Path = args.root
    if not (root / "environments" / f"{args.env}.tfvars").is_file():
        raise UsageError(f"no environments/{args.env}.tfvars under {root}")
    components = args.component or components_of(root, args.env)
    unknown = [c for c in components if not (root / "terraform" / c / "backend" / f"{args.env}.tfbackend").is_file()]
    if unknown:
        raise UsageError(f"no terraform/<component>/backend/{args.env}.tfbackend for: {', '.join(unknown)}")
    results = [plan_component(root, args.env, c) for c in components]
    for r in results:
        print(f"{r.component} ({r.environment}): {r.status}")
        for line in (*r.changed_outside, *r.would_change):
            print(f"  {line}")
        if r.error:
            print("  " + r.error.replace("\n", "\n  "))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2, sort_keys=True) + "\n")
    _summary(f"## Drift in `{args.env}`\n\n" + summary_table(results, [args.env], components))
    return 0


def load_results(paths: Sequence[Path]) -> list[Result]:
    """Results files written by ``plan --json``."""
    results: list[Result] = []
    for path in paths:
        try:
            entries = json.loads(path.read_text(encoding="utf-8"))
            for entry in entries:
                entry["changed_outside"] = tuple(entry.get("changed_outside", ()))
                entry["would_change"] = tuple(entry.get("would_change", ()))
                results.append(Result(**entry))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"{path}: not a drift results file ({exc})") from exc
    return results


def run_report(args: argparse.Namespace) -> int:
    """The ``report`` command."""
    root: Path = args.root
    environments = args.environments or sorted(p.stem for p in (root / "environments").glob("*.tfvars"))
    _check_names("environment", environments)
    loaded = load_results(args.results)
    components = sorted({*(r.component for r in loaded), *(c for e in environments for c in components_of(root, e))})
    results = complete(loaded, environments, components)
    _summary("## Drift check\n\n" + summary_table(results, environments, components) + "\n\n" + details(results))
    print(summary_table(results, environments, components))
    if args.issues:
        token = os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise UsageError("--issues needs GITHUB_TOKEN")
        github = GitHub(
            os.environ.get("GITHUB_API_URL", "https://api.github.com"), os.environ.get("GITHUB_REPOSITORY", ""), token
        )
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        run_id = os.environ.get("GITHUB_RUN_ID", "")
        run_url = f"{server}/{os.environ.get('GITHUB_REPOSITORY', '')}/actions/runs/{run_id}" if run_id else ""
        for action in issue_actions(results, github.open_drift_issues(), run_url):
            github.apply(action)
            print(f"issue {action.kind}: {action.title}")
    return 1 if any(r.status != IN_SYNC for r in results) else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit code."""
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
        return run_plan(args) if args.command == "plan" else run_report(args)
    except UsageError as exc:
        print(f"drift_check: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
