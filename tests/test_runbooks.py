"""The generated runbooks stay true: their examples run, their commands name what exists.

Runnable examples (fenced ```` ```sh runnable ````, in docs/2_bbws_docs/runbooks also ``repo=<name>``)
run for real (e2e): each with bash (``set -euo pipefail``) from the root of a copy of its generated repo,
against a moto server on 127.0.0.1 that holds what the examples read. What the emulator holds is built
the way the pipeline builds it, by the real terraform with the S3 backend, and only what the examples
need (KMS keys cost ~12 s each in moto):

- DynamoDB repo: the first table and the backup component applied to the first environment; the first
  table's state object gets a second version (the same bytes written again), so ``state_rollback.py
  --version-id previous`` has a version to go back to;
- S3 repo: nothing applied (its post-deployment check is not a runnable example; it runs in
  tests/e2e/test_operations.py); its first component's state object is seeded with two versions of an
  empty state, which ``terraform plan`` and the rollback read.

Emulator-only settings live in override files in the test's copy (path-style S3 for the provider and
the backend, and the emulator gaps of ``tests.support.deploy``, listed in tests/support/emulator_gaps.py),
never in the shipped code.

The static tests (not e2e) check every command block, runnable or not: scripts and their flags exist,
``gh workflow run`` names a workflow and its inputs, ``bbws-gen`` subcommands and flags exist, links
between the docs resolve, and every generated doc ends with exactly one newline.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import DOCS, REPOS, ROOT
from tests.support import tf
from tests.support.deploy import (
    PROVIDER_OVERRIDE,
    copy_repo,
    create_state_bucket,
    dynamodb_overrides,
    read_spec,
)
from tests.support.github_api import GitHubState, github_api
from tests.support.moto import MotoServer, moto_server

CENTRAL = DOCS / "2_bbws_docs" / "runbooks"
REPO_NAMES = sorted(p.name for p in REPOS.iterdir() if (p / ".copier-answers.yml").is_file())
SPECS: dict[str, Mapping[str, Any]] = {name: read_spec(REPOS / name) for name in REPO_NAMES}
# The emulator speaks path-style S3 only: the backend gets it from a test-only override as well.
BACKEND_OVERRIDE = 'terraform {\n  backend "s3" {\n    use_path_style = true\n  }\n}\n'
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<marker>`{3,}|~{3,})(?P<info>[^`]*)$")
BLOCK_TIMEOUT = 600


@dataclass(frozen=True)
class Block:
    """One fenced code block of a Markdown file."""

    file: Path
    line: int  # 1-based line of the opening fence
    info: str
    text: str

    @property
    def words(self) -> list[str]:
        return self.info.split()

    @property
    def language(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def runnable(self) -> bool:
        return self.language == "sh" and "runnable" in self.words[1:]

    @property
    def repo(self) -> str | None:
        """The repo whose root the block runs from: ``repo=`` of the fence, else the repo holding the file."""
        for word in self.words[1:]:
            if word.startswith("repo="):
                return word.removeprefix("repo=")
        try:
            return self.file.relative_to(REPOS).parts[0]
        except ValueError:
            return None

    @property
    def where(self) -> str:
        return f"{self.file.relative_to(ROOT)}:{self.line}"


def fenced_blocks(path: Path) -> list[Block]:
    """Every fenced block (``` or ~~~, up to three spaces of indent) with its info string."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        marker, indent = match["marker"], len(match["indent"])
        close = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$")
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not close.match(lines[j]):
            line = lines[j]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))) :])
            j += 1
        blocks.append(Block(path, i + 1, match["info"].strip(), "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def doc_files() -> list[Path]:
    """Every generated Markdown file: the monorepo's docs and each repo's docs."""
    files = sorted(DOCS.rglob("*.md"))
    for name in REPO_NAMES:
        files += sorted((REPOS / name / "docs").rglob("*.md"))
    return files


def runbook_files() -> list[Path]:
    files = sorted(CENTRAL.glob("*.md"))
    for name in REPO_NAMES:
        files += sorted((REPOS / name / "docs" / "runbooks").glob("*.md"))
    return files


def all_blocks() -> list[Block]:
    return [block for path in runbook_files() for block in fenced_blocks(path)]


def runnable_examples() -> list[tuple[str, str, list[Block]]]:
    """(repo, script, blocks that carry it): identical examples (central and in-repo copies) run once."""
    seen: dict[tuple[str, str], list[Block]] = {}
    for block in all_blocks():
        if block.runnable:
            assert block.repo, f"{block.where}: a runnable block must say which repo it runs in"
            seen.setdefault((block.repo, block.text), []).append(block)
    return [(repo, text, blocks) for (repo, text), blocks in seen.items()]


# ------------------------------------------------------------------------------------------ static


def test_runbooks_exist_centrally_and_in_every_repo() -> None:
    assert (CENTRAL / "README.md").is_file()
    for name in REPO_NAMES:
        assert (REPOS / name / "docs" / "runbooks" / "README.md").is_file(), name
        # Every runbook a repo ships is also in the central folder, from the same blueprint macros.
        for path in (REPOS / name / "docs" / "runbooks").glob("*.md"):
            assert (CENTRAL / path.name).is_file(), f"{path.name} of {name} is missing in {CENTRAL}"


def test_every_repo_has_runnable_examples_in_both_places() -> None:
    by_place: dict[tuple[str, str], int] = {}
    for block in all_blocks():
        if block.runnable:
            place = "central" if block.file.is_relative_to(CENTRAL) else "repo"
            by_place[(place, str(block.repo))] = by_place.get((place, str(block.repo)), 0) + 1
    for name in REPO_NAMES:
        assert by_place.get(("central", name), 0) >= 3, f"too few runnable examples for {name} centrally"
        assert by_place.get(("repo", name), 0) >= 3, f"too few runnable examples in {name}/docs/runbooks"


def test_runnable_fences_name_a_known_repo() -> None:
    for block in all_blocks():
        if not block.runnable:
            continue
        assert block.repo in REPO_NAMES, f"{block.where}: unknown repo {block.repo!r}"
        named = any(w.startswith("repo=") for w in block.words)
        if block.file.is_relative_to(CENTRAL):
            assert named, f"{block.where}: central runnable blocks must say repo=<name>"
        else:
            assert block.repo == block.file.relative_to(REPOS).parts[0], f"{block.where}: repo= names another repo"


def test_the_convention_is_documented_at_the_top_of_each_index() -> None:
    for index in [CENTRAL / "README.md"] + [REPOS / n / "docs" / "runbooks" / "README.md" for n in REPO_NAMES]:
        text = index.read_text(encoding="utf-8")
        assert "```sh runnable" in text and "## Runnable examples" in text, index


def _logical_lines(text: str) -> Iterator[str]:
    """Shell lines with backslash continuations joined and comments dropped."""
    pending = ""
    for raw in text.splitlines():
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        yield line.split(" #", 1)[0] if not line.lstrip().startswith("#") else ""


@cache
def _help(repo: str, *command: str) -> str:
    result = subprocess.run(
        [sys.executable, *command, "--help"], cwd=REPOS / repo, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)} --help failed in {repo}:\n{result.stderr}"
    return result.stdout


def _options(help_text: str) -> set[str]:
    """The long options a --help text offers (exact names: argparse would also accept abbreviations)."""
    return set(re.findall(r"(?<![\w-])--[A-Za-z0-9][A-Za-z0-9-]*", help_text))


def _flags(segment: str) -> list[str]:
    """The --flags of one command (up to a pipe, ;, && or ||)."""
    command = re.split(r"\|\||&&|[|;]", segment, maxsplit=1)[0]
    return [word.split("=", 1)[0] for word in command.split() if word.startswith("--")]


def _repos_for(block: Block) -> list[str]:
    return [block.repo] if block.repo else REPO_NAMES


def test_scripts_and_flags_named_in_the_runbooks_exist() -> None:
    checked = 0
    for block in all_blocks():
        if block.language != "sh":
            continue
        for line in _logical_lines(block.text):
            for match in re.finditer(r"python scripts/(?P<script>[\w.]+\.py)(?P<rest>[^\n]*)", line):
                candidates = [r for r in _repos_for(block) if (REPOS / r / "scripts" / match["script"]).is_file()]
                assert candidates, f"{block.where}: scripts/{match['script']} does not exist"
                # A leading word may be a subcommand (drift_check.py plan): its --help lists its options.
                words = match["rest"].split()
                sub = [words[0]] if words and re.fullmatch(r"[a-z]+", words[0]) else []
                for flag in _flags(match["rest"]):
                    assert any(flag in _options(_help(r, f"scripts/{match['script']}", *sub)) for r in candidates), (
                        f"{block.where}: scripts/{match['script']} has no option {flag} (spelled out in full)"
                    )
                checked += 1
    assert checked >= 10


def _workflow(repo: str, name: str) -> dict[Any, Any]:
    path = REPOS / repo / ".github" / "workflows" / name
    assert path.is_file(), f"{repo} has no workflow {name}"
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def test_workflow_commands_name_existing_workflows_and_inputs() -> None:
    checked = 0
    for block in all_blocks():
        for line in _logical_lines(block.text):
            match = re.search(r"gh workflow run (?P<file>\S+\.yml)(?P<rest>.*)", line)
            if not match:
                continue
            inputs = re.findall(r"-f (\w+)=", match["rest"])
            for repo in _repos_for(block):
                # yaml reads the key `on` as True.
                dispatch = _workflow(repo, match["file"])[True]["workflow_dispatch"] or {}
                declared = set((dispatch.get("inputs") or {}).keys())
                assert set(inputs) <= declared, (
                    f"{block.where}: {match['file']} has no input(s) {set(inputs) - declared}"
                )
            checked += 1
    assert checked >= 3


def test_bbws_gen_commands_in_the_runbooks_exist() -> None:
    checked = 0
    for block in all_blocks():
        for line in _logical_lines(block.text):
            match = re.search(r"(?:^|\s)bbws-gen (?P<rest>.*)", line)
            if not match:
                continue
            words = shlex.split(match["rest"])
            command = [w for w in words if not w.startswith("-")][:1]
            result = subprocess.run(
                [sys.executable, "-m", "generator", *command, "--help"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, f"{block.where}: bbws-gen {' '.join(command)} does not exist"
            for flag in _flags(match["rest"]):
                assert flag in _options(result.stdout), (
                    f"{block.where}: bbws-gen {' '.join(command)} has no option {flag}"
                )
            checked += 1
    assert checked >= 3


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    inside = False
    anchors = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            inside = not inside
        elif not inside and line.startswith("#"):
            anchors.add(_slug(line.lstrip("#")))
    return anchors


def test_links_between_docs_resolve() -> None:
    checked = 0
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+://", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            assert linked.is_file(), f"{path.relative_to(ROOT)}: link {target} points at nothing"
            if anchor:
                assert anchor in _anchors(linked), f"{path.relative_to(ROOT)}: no heading #{anchor} in {file_part}"
            checked += 1
    assert checked >= 20


def test_generated_docs_end_with_one_newline_and_have_no_trailing_spaces() -> None:
    for path in doc_files():
        data = path.read_bytes()
        assert data.endswith(b"\n") and not data.endswith(b"\n\n"), f"{path}: must end with exactly one newline"
        for number, line in enumerate(data.decode("utf-8").splitlines(), 1):
            assert line == line.rstrip(), f"{path.relative_to(ROOT)}:{number}: trailing whitespace"


# --------------------------------------------------------------------------------------------- e2e


@dataclass(frozen=True)
class Sandbox:
    """Copies of the generated repos wired to one moto server, with what the examples read."""

    server: MotoServer
    repos: Mapping[str, Path]
    env: Mapping[str, str]


def _first_env(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    env: Mapping[str, Any] = spec["environments"][0]
    return env


def _write_overrides(repo: Path, spec: Mapping[str, Any]) -> None:
    extra = dynamodb_overrides(spec) if spec["repo"]["kind"] == "dynamodb" else {}
    for component in spec["components"]:
        root = repo / "terraform" / component["name"]
        (root / "emulator_override.tf").write_text(PROVIDER_OVERRIDE + extra.get(component["name"], ""))
        (root / "backend_override.tf").write_text(BACKEND_OVERRIDE)
    # The bootstrap root has the default provider only.
    (repo / "bootstrap" / "emulator_override.tf").write_text(PROVIDER_OVERRIDE.split("\n\n")[0] + "\n")
    (repo / "bootstrap" / "backend_override.tf").write_text(BACKEND_OVERRIDE)


def _github(env: str) -> GitHubState:
    """A GitHub where the reviewers exist and the first environment is already protected."""
    state = GitHubState()
    for spec in SPECS.values():
        for number, login in enumerate(spec["github"]["reviewers"]["users"], 1):
            state.users[login] = number
        for number, slug in enumerate(spec["github"]["reviewers"]["teams"], 100):
            state.teams[slug] = number
    state.environment(env, [("User", 1)])
    return state


def _init_and_apply(repo: Path, env: str, component: str, tf_env: Mapping[str, str]) -> None:
    root = repo / "terraform" / component
    # The very init the runbooks show, so their own init finds the same backend configuration.
    tf.run(["init", "-input=false", f"-backend-config=backend/{env}.tfbackend"], root, tf_env)
    tf.run(["apply", "-auto-approve", "-input=false", f"-var-file=../../environments/{env}.tfvars"], root, tf_env)


def _state_key(spec: Mapping[str, Any], component: str) -> str:
    return f"{spec['repo']['name']}/{component}/terraform.tfstate"


def _write_again(server: MotoServer, bucket: str, key: str) -> None:
    """A second version of a state object with the same bytes (as an apply without changes could leave)."""
    s3 = server.client("s3")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body, ServerSideEncryption="AES256")


def _seed_state(server: MotoServer, bucket: str, key: str, terraform_version: str) -> None:
    """Two versions of an empty state of one lineage: a component that exists on paper only."""
    s3 = server.client("s3")
    lineage = str(uuid.uuid4())
    for serial in (1, 2):
        state = {
            "version": 4,
            "terraform_version": terraform_version,
            "serial": serial,
            "lineage": lineage,
            "outputs": {},
            "resources": [],
            "check_results": None,
        }
        s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(state).encode(), ServerSideEncryption="AES256")


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    workdir = tmp_path_factory.mktemp("runbooks")
    envs = {name: _first_env(spec) for name, spec in SPECS.items()}
    accounts = {(e["account_id"], e["region"]) for e in envs.values()}
    assert len(accounts) == 1, f"the examples' environments must share one account and region: {accounts}"
    account, region = accounts.pop()
    first_env = next(iter(envs.values()))["name"]
    with moto_server(account, region, workdir / "moto.log") as server, github_api(_github(first_env)) as (api, _):
        cli_config = tf.cli_config(workdir)
        tf_env = {**server.env(), "TF_CLI_CONFIG_FILE": str(cli_config)}
        repos: dict[str, Path] = {}
        jobs = []
        for bucket in sorted({e["state_bucket"] for e in envs.values()}):
            create_state_bucket(server, bucket)
        for name, spec in SPECS.items():
            env = envs[name]
            repo = copy_repo(REPOS / name, workdir / name)
            repos[name] = repo
            _write_overrides(repo, spec)
            if spec["repo"]["kind"] == "dynamodb":
                wanted = [spec["tables"][0]["name"]] + [c["name"] for c in spec["components"] if c["kind"] == "backup"]
                jobs += [(repo, env["name"], component) for component in wanted]
        with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
            list(pool.map(lambda job: _init_and_apply(*job, tf_env), jobs))
        for name, spec in SPECS.items():
            env, first = envs[name], spec["components"][0]["name"]
            if spec["repo"]["kind"] == "dynamodb":
                _write_again(server, env["state_bucket"], _state_key(spec, first))
            else:
                _seed_state(server, env["state_bucket"], _state_key(spec, first), spec["terraform_version"])
        bin_dir = str(Path(sys.executable).parent)
        run_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))},
            **tf_env,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            # Nothing from the user's own AWS configuration may leak into the examples.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_PAGER": "",
            "TF_IN_AUTOMATION": "1",
            "TMPDIR": str(workdir),
            # The local GitHub API stand-in for the environment scripts' examples.
            "GITHUB_API_URL": api,
            "GITHUB_TOKEN": "runbook-example-token",
        }
        yield Sandbox(server, repos, run_env)


EXAMPLES = runnable_examples()


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("repo", "script", "blocks"),
    EXAMPLES,
    ids=[f"{blocks[0].file.relative_to(ROOT)}:{blocks[0].line}" for _, _, blocks in EXAMPLES],
)
def test_runnable_example(sandbox: Sandbox, repo: str, script: str, blocks: list[Block]) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=sandbox.repos[repo],
        env=dict(sandbox.env),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT,
        check=False,
    )
    where = ", ".join(b.where for b in blocks)
    assert result.returncode == 0, (
        f"runnable example at {where} failed (exit {result.returncode}) in a copy of {repo}:\n{script}\n"
        f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
