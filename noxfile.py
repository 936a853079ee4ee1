"""Sessions for generating, checking and testing the BBWS schema repos.

`nox` (no arguments) runs `ci`: every check below, one after another, in one environment, so a fresh
machine installs the pinned tools once. Each check is also a session of its own for a laptop.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import nox

nox.options.sessions = ["ci"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"

PYTHON = "3.11"
# Need node (diagrams) or Chromium (previews): run in their own steps.
TOOL_TESTS = [
    "--ignore=tests/test_diagrams.py",
    "--ignore=tests/test_runbooks.py",
    "--ignore=tests/test_preview.py",
    # act: the rehearsal runs in its own step (nox -s rehearse).
    "--ignore=tests/rehearsal",
]


def _install(session: nox.Session, *extras: str) -> None:
    # Every pin lives in pyproject.toml; sessions only choose which extras they need.
    target = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", target)


def _lint(session: nox.Session, *args: str) -> None:
    session.run("pre-commit", "run", "--all-files", "--show-diff-on-failure", *args)


# The second golden record: an edge-case definition (no sort key, LSI, INCLUDE, TTL, streams and backup off,
# a numeric sort key, a second bucket purpose) rendered into a committed tree of its own (tests/test_golden_edge.py).
EDGE = "tests/golden/edge"
EDGE_ARGS = ["--definition", f"{EDGE}/definition", "--output", f"{EDGE}/repos", "--docs", f"{EDGE}/docs"]


def _check(session: nox.Session) -> None:
    session.run("bbws-gen", "validate")
    session.run("bbws-gen", "generate", "--check")
    session.run("bbws-gen", "validate", "--definition", f"{EDGE}/definition")
    session.run("bbws-gen", "generate", "--check", *EDGE_ARGS)


_NPM_DONE: set[str] = set()


def _node_tool(session: nox.Session, folder: str, skipped: str) -> None:
    """``npm ci`` of one pinned node project under tools/; without npm, say which tests skip (CI has npm).
    Once per nox run: `ci` needs some of them in two steps, and npm ci reinstalls from scratch every time."""
    if folder in _NPM_DONE:
        return
    _NPM_DONE.add(folder)
    if shutil.which("npm") is None:
        session.warn(f"no npm here: {skipped} skip (install Node.js 20+ to run them)")
        return
    session.run("npm", "ci", "--prefix", folder, "--no-audit", "--no-fund", external=True)


def _email_tool(session: nox.Session) -> None:
    _node_tool(session, "tools/email", "the html-validate template tests")


def _iam_tool(session: nox.Session) -> None:
    # The IAM policy engine of the least-privilege proof (tests/e2e/test_iam_proof.py, tests/test_trust.py).
    _node_tool(session, "tools/iam", "the IAM proof's tests")


def _tests(session: nox.Session, *args: str) -> None:
    _email_tool(session)
    _iam_tool(session)  # tests/test_trust.py evaluates the trust policies with it
    # GitHub's expression library: the job gates act cannot show (a failed job ends act's run).
    _node_tool(session, "tools/gha", "the job-gate tests (tests/test_job_gates.py)")
    session.run("pytest", "-m", "not e2e", "-n", "2", *TOOL_TESTS, *args)


def _e2e(session: nox.Session, *args: str) -> None:
    _iam_tool(session)
    # One worker per test file: each file's fixtures apply to their own moto servers.
    session.run("pytest", "-m", "e2e", "-n", "3", "--dist", "loadfile", *TOOL_TESTS, *args)


def _validate(session: nox.Session) -> None:
    dynamodb, s3 = "repos/2_1_bbws_dynamodb_schemas", "repos/2_1_bbws_s3_schemas"
    session.run("python", f"{dynamodb}/scripts/validate_schemas.py", f"{dynamodb}/schemas")
    # The repo's own template check with the monorepo's installed html-validate (the same pinned files).
    _email_tool(session)
    mode = "require" if shutil.which("npm") else "auto"
    session.run(
        "python",
        f"{s3}/scripts/validate_templates.py",
        f"{s3}/templates",
        "--html-validate",
        mode,
        env={"BBWS_EMAIL_TOOL": str(Path("tools/email").resolve())},
    )
    roots = sorted(
        str(p.parent)
        for pattern in ("*/terraform/*/versions.tf", "*/bootstrap/versions.tf")
        for p in Path("repos").glob(pattern)
    )
    directories = [arg for root in roots for arg in ("--directory", root)]
    # --skip-download: no network needed; every skip in the code carries its reason.
    session.run("checkov", *directories, "--framework", "terraform", "--compact", "--quiet", "--skip-download")


def _docs(session: nox.Session, *args: str) -> None:
    _node_tool(session, "tools/mermaid", "the Mermaid diagram tests")
    session.run("pytest", "-n", "2", "tests/test_diagrams.py", "tests/test_runbooks.py", *args)


def _preview(session: nox.Session, *args: str) -> None:
    # Without Chromium the HTML previews are built and the PNGs skipped; CI (BBWS_REQUIRE_TOOLS) insists.
    strict = ["--require-png"] if os.environ.get("BBWS_REQUIRE_TOOLS") else []
    session.run("python", "-m", "generator.preview", *strict, *args)
    session.run("pytest", "tests/test_preview.py")


def _rehearse(session: nox.Session, *args: str) -> None:
    # Two workers, one repo each: each repo's scenarios share a moto server and the rehearsed repo
    # (session fixtures, tests/rehearsal/conftest.py) and run in order on one worker (--dist loadfile).
    # Most of a scenario's time is spent waiting on terraform and moto, not computing.
    # `nox -s rehearse -- -n 0 -s` runs them in one process and shows the per-job timings.
    session.run("pytest", "tests/rehearsal", "-n", "2", "--dist", "loadfile", "--basetemp", "build/rehearsal", *args)


CI_STEPS: list[tuple[str, Callable[[nox.Session], None]]] = [
    ("lint", _lint),
    ("check", _check),
    ("tests", _tests),
    ("e2e", _e2e),
    ("validate", _validate),
    ("docs", _docs),
    ("preview", _preview),
    ("rehearse", _rehearse),
]


@nox.session(python=PYTHON)
def ci(session: nox.Session) -> None:
    """Everything CI runs (lint, check, tests, e2e, validate, docs, preview) in one environment."""
    _install(session, "test", "lint", "security")
    for name, step in CI_STEPS:
        session.log(f"--- {name}")
        step(session)


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Render both repos from the definition into repos/, then the edge-case record into tests/golden/edge/."""
    _install(session)
    session.run("bbws-gen", "generate", *session.posargs)
    if session.posargs:  # arguments aim generate elsewhere (or --check): leave the edge record alone
        session.log(f"{EDGE} not regenerated (arguments given); `nox -s generate` alone renders it too")
    else:
        # The edge record runs on the shipped pins: a bump (Renovate ignores tests/) reaches it here.
        shutil.copyfile("definition/pins.yaml", f"{EDGE}/definition/pins.yaml")
        session.run("bbws-gen", "generate", *EDGE_ARGS)


@nox.session(python=PYTHON)
def check(session: nox.Session) -> None:
    """Fail if the committed repos differ from what the definition and blueprints produce."""
    _install(session)
    _check(session)


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit, golden and static tests (everything but the emulator runs)."""
    _install(session, "test", "lint")
    _tests(session, *session.posargs)


@nox.session(python=PYTHON)
def e2e(session: nox.Session) -> None:
    """Apply the generated Terraform to a moto server on 127.0.0.1 and check what it built."""
    _install(session, "test", "lint")  # pytest collects every module; tests/test_bots.py imports check-jsonschema
    _e2e(session, *session.posargs)


@nox.session(python=PYTHON)
def validate(session: nox.Session) -> None:
    """The generated repos' own validators, and checkov on every Terraform root (zero unskipped failures)."""
    _install(session, "test", "security")
    _validate(session)


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Parse every Mermaid diagram (mermaid's own parser, jsdom) and run every runnable runbook example on moto."""
    _install(session, "test")
    _docs(session, *session.posargs)


@nox.session(python=PYTHON)
def preview(session: nox.Session) -> None:
    """Render every email template with its sample to HTML and PNG: build/previews/index.html (needs Chromium)."""
    _install(session, "test")
    _preview(session, *session.posargs)


@nox.session(python=PYTHON)
def rehearse(session: nox.Session) -> None:
    """Run the generated repos' own workflows with act (host mode, offline) against moto and a fake GitHub."""
    _install(session, "test", "security")
    _rehearse(session, *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff, mypy, yamllint and check-jsonschema through pre-commit."""
    _install(session, "lint")
    _lint(session, *session.posargs)


@nox.session(python=PYTHON)
def split(session: nox.Session) -> None:
    """Split each generated repo into a standalone git repo under build/split (copier update points at origin)."""
    _install(session)
    session.run("bbws-gen", "split", *session.posargs)


@nox.session(python=PYTHON)
def relock(session: nox.Session) -> None:
    """Rewrite the provider hashes of definition/pins.yaml (online, or --fs-mirror DIR) and definition/python-lock.yaml
    (from PyPI); `-- --only providers` or `-- --only python` for one of them."""
    _install(session)
    session.run("python", "-m", "generator.relock", *session.posargs)
    if "providers" not in session.posargs:
        # The edge record's definition reads the same pyproject.toml pins: its lock follows.
        session.run("python", "-m", "generator.relock", "--pins", f"{EDGE}/definition/pins.yaml", "--only", "python")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Timings of generate, check and static validation against the goals (medians of several runs)."""
    _install(session, "test")
    session.run("python", "-m", "generator.bench", "--static", *session.posargs)
