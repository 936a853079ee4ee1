"""The rehearsal's stand-ins for the pinned marketplace actions (each action.yml here calls one command).

Standard library only: it runs under the host's python3 inside act's jobs. Settings come from the
environment the harness (tests/rehearsal/harness.py) gives act: REHEARSAL_ORIGIN (the rehearsed repo's
git), REHEARSAL_OVERLAY (emulator-only files laid beside a checkout), REHEARSAL_RUN_DIR (this run's
artifacts and records), REHEARSAL_PYTHON (the virtualenv setup-python puts on PATH),
REHEARSAL_JOB_ENVIRONMENTS and REHEARSAL_INPUTS (for the token's `environment` claim), REHEARSAL_IAM_ROLES
(role ARN -> role tag) and REHEARSAL_IAM_HOOK (where each job records its AWS requests, for the IAM proof).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from fnmatch import fnmatch
from pathlib import Path


def fail(message: str) -> None:
    """Fail the step with a GitHub error annotation."""
    print(f"::error::{message}")
    sys.exit(1)


def append(variable: str, text: str) -> None:
    """Append to one of the runner's command files (GITHUB_ENV, GITHUB_PATH, GITHUB_OUTPUT)."""
    with open(os.environ[variable], "a", encoding="utf-8") as out:
        out.write(text)


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd``; its stdout."""
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        fail(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def checkout() -> None:
    """Fetch the ref from the origin repository into a clean workspace, then lay the overlay."""
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    origin = os.environ["REHEARSAL_ORIGIN"]
    ref = os.environ.get("INPUT_REF") or os.environ["EVENT_SHA"]
    for child in workspace.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    git("init", "-q", ".", cwd=workspace)
    git("remote", "add", "origin", origin, cwd=workspace)
    if os.environ.get("INPUT_FETCH_DEPTH", "1") == "0":
        git("fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*", cwd=workspace)
        target = git("rev-parse", "--verify", f"{ref}^{{commit}}", cwd=workspace).strip()
    else:
        git("fetch", "-q", "--no-tags", "--depth", os.environ["INPUT_FETCH_DEPTH"], "origin", ref, cwd=workspace)
        target = "FETCH_HEAD"
    git("checkout", "-q", "--detach", target, cwd=workspace)
    overlay = os.environ.get("REHEARSAL_OVERLAY")
    # Jobs that only read the code (validation, scans) see it exactly as committed.
    if overlay and os.environ["JOB_ID"] not in os.environ.get("REHEARSAL_PLAIN_JOBS", "").split():
        tracked = set(git("ls-files", cwd=workspace).splitlines())
        for source in sorted(Path(overlay).rglob("*")):
            relative = source.relative_to(overlay).as_posix()
            if source.is_dir():
                continue
            if relative in tracked:
                fail(f"the emulator overlay would replace the committed file {relative}")
            (workspace / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, workspace / relative)
    print(f"checked out {git('rev-parse', 'HEAD', cwd=workspace).strip()} ({ref})")


def _pip_cache() -> str:
    """setup-python's ``cache: pip``: the job's pip cache folder, restored and saved under its key.

    The key is setup-python's (Python version, then the sha256 of every file ``cache-dependency-path``
    matches, which must match one, as setup-python insists); one folder per key under the rehearsal's
    workdir stands for GitHub's cache. A job without ``cache:`` gets a fresh, empty pip cache, as a
    fresh runner has. Each use is recorded in the run's ``caches.jsonl``.
    """
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    run_dir = Path(os.environ["REHEARSAL_RUN_DIR"])
    kind = os.environ.get("INPUT_CACHE", "")
    if not kind:
        return str(run_dir / "pip-cache" / os.environ["JOB_ID"])
    if kind != "pip":
        fail(f"the setup-python stand-in knows only cache: pip, not {kind!r}")
    patterns = [line.strip() for line in os.environ.get("INPUT_CACHE_DEPENDENCY_PATH", "").splitlines() if line.strip()]
    files = sorted(
        {p for pattern in patterns or ["**/requirements.txt"] for p in workspace.glob(pattern) if p.is_file()}
    )
    if not files:
        fail(
            f"No file in {workspace} matched to [{', '.join(patterns)}], "
            "make sure you have checked out the target repository"
        )
    digest = hashlib.sha256()
    for path in files:
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    key = f"setup-python-Linux-x64-python-{os.environ['INPUT_PYTHON_VERSION']}-pip-{digest.hexdigest()}"
    record = {"job": os.environ["JOB_ID"], "key": key, "files": [p.relative_to(workspace).as_posix() for p in files]}
    with open(run_dir / "caches.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    return str(Path(os.environ["REHEARSAL_GHA_CACHE"]) / key)


def setup_python() -> None:
    """Put the rehearsal's virtualenv on PATH after checking the Python minor version; the pip cache."""
    wanted = os.environ["INPUT_PYTHON_VERSION"]
    venv = Path(os.environ["REHEARSAL_PYTHON"])
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version != wanted:
        print(f"::warning::the workflow asks for Python {wanted}; this host runs {version}")
    append("GITHUB_PATH", f"{venv / 'bin'}\n")
    append("GITHUB_ENV", f"PIP_CACHE_DIR={_pip_cache()}\n")


def setup_terraform() -> None:
    """Check the host's terraform has the minor version the workflow pins."""
    wanted = os.environ.get("INPUT_TERRAFORM_VERSION", "")
    shown = subprocess.run(["terraform", "version", "-json"], capture_output=True, text=True, check=True).stdout
    version = json.loads(shown)["terraform_version"]
    if wanted and version.split(".")[:2] != wanted.split(".")[:2]:
        fail(f"the workflow pins terraform {wanted}; this host has {version}")


def setup_node() -> None:
    """Check the host's node has the major version the workflow asks for."""
    wanted = os.environ.get("INPUT_NODE_VERSION", "")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    if wanted and version.lstrip("v").split(".")[0] != wanted.split(".")[0]:
        print(f"::warning::the workflow asks for node {wanted}; this host runs {version}")


def _environment_claim() -> str | None:
    """The job's GitHub environment: its `environment:` template with the run's inputs filled in.

    act exposes neither the job's environment nor a called workflow's inputs to an action, so the
    harness passes the templates per job id (read from the workflow files) and the inputs it dispatched.
    """
    templates = json.loads(os.environ.get("REHEARSAL_JOB_ENVIRONMENTS", "{}"))
    template = templates.get(os.environ["JOB_ID"])
    if template is None:
        return None
    inputs = json.loads(os.environ.get("REHEARSAL_INPUTS", "{}"))

    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name not in inputs:
            fail(f"the environment of job {os.environ['JOB_ID']} needs input {name!r}, which the rehearsal did not set")
        return str(inputs[name])

    return re.sub(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", value, template)


def _token(claims: dict[str, object]) -> str:
    """An unsigned JWT with ``claims`` (the emulator does not verify signatures)."""

    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def configure_aws_credentials() -> None:
    """AssumeRoleWithWebIdentity with GitHub's claims for this job; export the credentials, record it."""
    repository, ref, environment = os.environ["GH_REPOSITORY"], os.environ["GH_REF"], _environment_claim()
    if environment:
        subject = f"repo:{repository}:environment:{environment}"
    elif os.environ["GH_EVENT"] in ("pull_request", "pull_request_target"):
        subject = f"repo:{repository}:pull_request"
    else:
        subject = f"repo:{repository}:ref:{ref}"
    claims: dict[str, object] = {
        "iss": "https://token.actions.githubusercontent.com",
        "aud": os.environ["INPUT_AUDIENCE"],
        "sub": subject,
        "repository": repository,
        "ref": ref,
        "event_name": os.environ["GH_EVENT"],
        "job_workflow_ref": os.environ["GH_WORKFLOW"],
    }
    if environment:
        claims["environment"] = environment
    form = {
        "Action": "AssumeRoleWithWebIdentity",
        "Version": "2011-06-15",
        "RoleArn": os.environ["INPUT_ROLE"],
        "RoleSessionName": os.environ["INPUT_SESSION"],
        "WebIdentityToken": _token(claims),
    }
    endpoint = os.environ.get("AWS_ENDPOINT_URL_STS") or os.environ["AWS_ENDPOINT_URL"]
    request = urllib.request.Request(endpoint, data=urllib.parse.urlencode(form).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as answer:
        tree = ET.fromstring(answer.read())
    found = {el.tag.rsplit("}", 1)[-1]: (el.text or "") for el in tree.iter()}
    region = os.environ["INPUT_REGION"]
    for name, value in (
        ("AWS_ACCESS_KEY_ID", found["AccessKeyId"]),
        ("AWS_SECRET_ACCESS_KEY", found["SecretAccessKey"]),
        ("AWS_SESSION_TOKEN", found["SessionToken"]),
        ("AWS_REGION", region),
        ("AWS_DEFAULT_REGION", region),
    ):
        print(f"::add-mask::{value}" if name.startswith("AWS_S") else f"{name}={value}")
        append("GITHUB_ENV", f"{name}={value}\n")
    record = {"job": os.environ["JOB_ID"], "role": os.environ["INPUT_ROLE"], "claims": claims}
    with open(Path(os.environ["REHEARSAL_RUN_DIR"]) / "assumed-roles.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record, sort_keys=True) + "\n")
    _record_requests_as(os.environ["INPUT_ROLE"])


def _record_requests_as(role: str) -> None:
    """Make the job's later steps record their AWS requests under the role just assumed (the IAM proof,
    tests/rehearsal/iam.py): terraform's debug log and the shipped scripts' boto3 hook (tests/support/iam_hook),
    as tests/support/iam_record.recording_env does. Every request after this step carries this role's
    credentials, so the role of the job is the role of each request."""
    tags = json.loads(os.environ.get("REHEARSAL_IAM_ROLES", "{}"))
    if not tags:
        return
    if role not in tags:
        fail(f"{role} is none of the roles the repo's bootstrap defines: {sorted(tags)}")
    folder = Path(os.environ["REHEARSAL_RUN_DIR"]) / "iam"
    folder.mkdir(exist_ok=True)
    # <role tag>~<job>-<n>: iam_record reads the role tag before the last "~".
    name = f"{tags[role]}~{os.environ['JOB_ID']}-{os.getpid()}"
    hook = os.environ["REHEARSAL_IAM_HOOK"]
    path = os.pathsep.join(p for p in (hook, os.environ.get("PYTHONPATH", "")) if p)
    for variable, value in (
        ("TF_LOG", "DEBUG"),
        ("TF_LOG_PATH", str(folder / f"{name}.tflog")),
        ("BBWS_IAM_RECORD_FILE", str(folder / f"{name}.jsonl")),
        ("BBWS_IAM_ROLE", tags[role]),
        ("PYTHONPATH", path),
    ):
        append("GITHUB_ENV", f"{variable}={value}\n")


def _artifacts() -> Path:
    folder = Path(os.environ["REHEARSAL_RUN_DIR"]) / "artifacts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_artifact() -> None:
    """Copy the listed files under their least common ancestor into the run's artifact folder."""
    name = os.environ["INPUT_NAME"]
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    target = _artifacts() / name
    if target.exists():
        fail(f"an artifact named {name} was already uploaded in this run")
    files = [
        p
        for line in os.environ["INPUT_PATH"].splitlines()
        if line.strip()
        for p in sorted(workspace.glob(line.strip()))
        if p.is_file()
    ]
    if not files:
        mode = os.environ.get("INPUT_IF_NO_FILES_FOUND", "warn")
        if mode == "error":
            fail(f"no files found for artifact {name}")
        print(f"::warning::no files found for artifact {name}" if mode == "warn" else "no files")
        return
    root = Path(os.path.commonpath([p.parent for p in files]))
    for path in files:
        destination = target / path.relative_to(root)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, destination)
    # Fault point for the tests: the stored artifact changes between upload and download.
    if fnmatch(name, os.environ.get("REHEARSAL_FAULT_TAMPER_ARTIFACT", "\0")):
        first = sorted(p for p in target.rglob("*") if p.is_file())[0]
        first.write_bytes(first.read_bytes() + b"\n")
    print(f"uploaded {len(files)} file(s) as {name}")


def download_artifact() -> None:
    """Copy one artifact (or those matching ``pattern``) of this run into ``path``."""
    workspace = Path(os.environ["GITHUB_WORKSPACE"])
    destination = workspace / os.environ.get("INPUT_PATH", ".")
    name, pattern = os.environ.get("INPUT_NAME", ""), os.environ.get("INPUT_PATTERN", "")
    stored = sorted(p for p in _artifacts().iterdir() if p.is_dir())
    chosen = [p for p in stored if (p.name == name if name else fnmatch(p.name, pattern or "*"))]
    if name and not chosen:
        fail(f"artifact {name} not found in this run")
    merge = bool(name) or os.environ.get("INPUT_MERGE_MULTIPLE") == "true"
    for artifact in chosen:
        shutil.copytree(artifact, destination if merge else destination / artifact.name, dirs_exist_ok=True)
    print(f"downloaded {[p.name for p in chosen]} into {destination}")


COMMANDS = {
    "checkout": checkout,
    "setup-python": setup_python,
    "setup-terraform": setup_terraform,
    "setup-node": setup_node,
    "configure-aws-credentials": configure_aws_credentials,
    "upload-artifact": upload_artifact,
    "download-artifact": download_artifact,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]]()
