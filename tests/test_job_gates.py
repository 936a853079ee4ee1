"""The component workflow's job gates, decided as GitHub decides them, for every outcome of every job.

act ends a run at its first failed job, so the rehearsal cannot show what GitHub does next: whether apply
still runs after validation failed, or record after post-deploy failed. Here each job's ``if:`` (as
generated, in repos/) is evaluated by GitHub's own expression library (tools/gha, @actions/expressions)
in every reachable combination of its needs' results, the plan's ``has_changes`` and ``inputs.validate``,
and the runs that result are held to the promises terraform-component.yml's header makes. drift.yml's
report, the other job that runs after a failure, is decided the same way. promote.yml and rollback.yml
have no ``if:``: each job runs only when all it needs succeeded, which is also where act stops.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from tests.conftest import GHA_TOOL, REPOS

# The jobs whose `if:` calls a status function, so GitHub evaluates it after a failure (where act stops):
# each one is decided below by GitHub's expression library.
DECIDED_HERE = {
    ("drift.yml", "report"),
    ("terraform-component.yml", "apply"),
    ("terraform-component.yml", "post-deploy"),
    ("terraform-component.yml", "record"),
}
STATUS_FUNCTION = re.compile(r"\b(success|failure|cancelled|always)\(\)")

REPO_NAMES = ("2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas")
RESULTS = ("success", "failure", "skipped")


@dataclass(frozen=True)
class Job:
    """A job of the workflow: its id, the jobs it needs, and its ``if:`` (None when it has none)."""

    id: str
    needs: tuple[str, ...]
    condition: str | None


def _jobs(repo: str) -> list[Job]:
    doc = yaml.safe_load((REPOS / repo / ".github" / "workflows" / "terraform-component.yml").read_text())
    jobs = []
    for job_id, job in doc["jobs"].items():
        needs = job.get("needs", [])
        jobs.append(Job(job_id, tuple([needs] if isinstance(needs, str) else needs), job.get("if")))
    return jobs


def _case(job: Job, validate: bool, results: dict[str, str], has_changes: str | None) -> dict[str, Any]:
    """What GitHub evaluates the job's ``if:`` with. The status functions, for the jobs it needs: success()
    when every one succeeded, failure() when one failed (GitHub's failure() also looks at their own needs;
    no gate here calls it, so the direct needs are enough)."""
    needs = {}
    for need in job.needs:
        outputs = {"has_changes": has_changes} if need == "plan" and results[need] == "success" else {}
        needs[need] = {"result": results[need], "outputs": outputs}
    return {
        "if": job.condition,
        "contexts": {"needs": needs, "inputs": {"validate": validate}},
        "status": {
            "success": all(results[n] == "success" for n in job.needs),
            "failure": any(results[n] == "failure" for n in job.needs),
            "cancelled": False,
        },
    }


def _key(job: Job, validate: bool, results: dict[str, str], has_changes: str | None) -> str:
    return json.dumps([job.id, validate, [results[n] for n in job.needs], has_changes])


def _decisions(jobs: list[Job]) -> dict[str, bool]:
    """Whether GitHub runs each job, for every combination of what its ``if:`` can read, in one call."""
    keys, cases = [], []
    for job in jobs:
        for validate, has_changes in itertools.product((True, False), ("true", "false")):
            for combo in itertools.product(RESULTS, repeat=len(job.needs)):
                results = dict(zip(job.needs, combo, strict=True))
                keys.append(_key(job, validate, results, has_changes))
                cases.append(_case(job, validate, results, has_changes))
    return dict(zip(keys, _evaluate(cases), strict=True))


def _evaluate(cases: list[dict[str, Any]]) -> list[bool]:
    """tools/gha/evaluate-if.mjs's answer: whether GitHub runs the job, per case (format in the script)."""
    done = subprocess.run(
        ["node", str(GHA_TOOL / "evaluate-if.mjs")],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    answer: list[bool] = json.loads(done.stdout)
    return answer


def _runs(jobs: list[Job], decisions: dict[str, bool]) -> Iterator[tuple[bool, str, dict[str, str]]]:
    """Every run GitHub could make: (inputs.validate, the plan's has_changes, each job's result), each job
    that runs ending in success or failure."""
    for validate, has_changes in itertools.product((True, False), ("true", "false")):
        yield from _walk(jobs, decisions, validate, has_changes, {})


def _walk(
    jobs: list[Job], decisions: dict[str, bool], validate: bool, has_changes: str, results: dict[str, str]
) -> Iterator[tuple[bool, str, dict[str, str]]]:
    if len(results) == len(jobs):
        yield validate, has_changes, results
        return
    job = jobs[len(results)]
    if not decisions[_key(job, validate, results, has_changes)]:
        yield from _walk(jobs, decisions, validate, has_changes, {**results, job.id: "skipped"})
        return
    for outcome in ("success", "failure"):
        yield from _walk(jobs, decisions, validate, has_changes, {**results, job.id: outcome})


def _validated(validate: bool, results: dict[str, str]) -> bool:
    return results["validate"] == "success" if validate else True


@pytest.fixture(scope="module", params=REPO_NAMES)
def runs(request: pytest.FixtureRequest) -> list[tuple[bool, str, dict[str, str]]]:
    jobs = _jobs(request.param)
    assert [j.id for j in jobs] == ["validate", "plan", "environment-protection", "apply", "post-deploy", "record"]
    return list(_runs(jobs, _decisions(jobs)))


@pytest.mark.needs_gha
def test_validation_runs_exactly_when_asked(runs: list[tuple[bool, str, dict[str, str]]]) -> None:
    for validate, _, results in runs:
        assert (results["validate"] != "skipped") == validate, results


@pytest.mark.needs_gha
def test_apply_runs_only_after_a_plan_with_changes_a_protected_environment_and_validation(
    runs: list[tuple[bool, str, dict[str, str]]],
) -> None:
    for validate, has_changes, results in runs:
        expected = (
            results["plan"] == "success"
            and has_changes == "true"
            and results["environment-protection"] == "success"
            and _validated(validate, results)
        )
        assert (results["apply"] != "skipped") == expected, (validate, has_changes, results)


@pytest.mark.needs_gha
def test_post_deploy_checks_what_was_applied_or_left_as_it_was(runs: list[tuple[bool, str, dict[str, str]]]) -> None:
    for validate, has_changes, results in runs:
        unchanged = results["plan"] == "success" and has_changes == "false"
        expected = results["apply"] == "success" or unchanged
        assert (results["post-deploy"] != "skipped") == expected, (validate, has_changes, results)


@pytest.mark.needs_gha
def test_record_tags_only_validated_checked_deployments(runs: list[tuple[bool, str, dict[str, str]]]) -> None:
    # promote.yml trusts these tags: a commit that failed validation or its checks is never recorded.
    for validate, has_changes, results in runs:
        expected = results["post-deploy"] == "success" and _validated(validate, results)
        assert (results["record"] != "skipped") == expected, (validate, has_changes, results)


@pytest.mark.needs_gha
def test_every_gate_was_reached_both_ways(runs: list[tuple[bool, str, dict[str, str]]]) -> None:
    """The walk reached each job both run and skipped: the assertions above are not vacuous."""
    for job in ("validate", "environment-protection", "apply", "post-deploy", "record"):
        assert {results[job] == "skipped" for _, _, results in runs} == {True, False}, job


@pytest.mark.needs_gha
@pytest.mark.parametrize("repo", REPO_NAMES)
def test_drift_reports_whatever_the_plans_did_but_only_on_main(repo: str) -> None:
    """A plan leg that errors still gets its report (the issue says so); a run off main reports nothing."""
    doc = yaml.safe_load((REPOS / repo / ".github" / "workflows" / "drift.yml").read_text())
    report = doc["jobs"]["report"]
    assert report["needs"] == "plan"
    combos = list(itertools.product(RESULTS, ("refs/heads/main", "refs/heads/feature")))
    cases = [
        {
            "if": report.get("if"),
            "contexts": {"needs": {"plan": {"result": result, "outputs": {}}}, "github": {"ref": ref}},
            "status": {"success": result == "success", "failure": result == "failure", "cancelled": False},
        }
        for result, ref in combos
    ]
    for (result, ref), runs in zip(combos, _evaluate(cases), strict=True):
        assert runs == (ref == "refs/heads/main"), (result, ref)


@pytest.mark.parametrize("repo", REPO_NAMES)
def test_every_gate_that_runs_after_a_failure_is_decided_here(repo: str) -> None:
    """A job `if:` with a status function behaves differently on GitHub and under act: a new one needs its
    case in this file before it lands (no node needed to notice)."""
    found = set()
    for path in sorted((REPOS / repo / ".github" / "workflows").glob("*.yml")):
        for job_id, job in yaml.safe_load(path.read_text())["jobs"].items():
            if STATUS_FUNCTION.search(str(job.get("if") or "")):
                found.add((path.name, job_id))
    assert found == DECIDED_HERE
