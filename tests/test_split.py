"""`bbws-gen split`: each generated repo becomes a standalone git repository that takes blueprint
releases with plain `copier update` from the monorepo's URL, keeping its own hand edits.

Works on throwaway monorepo copies (see tests/test_update.py); the remote is `file://<copy>`.
"""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator.cli import run
from generator.split import SplitError, _point_answers, copier_url
from generator.split import split as split_repos
from tests.test_update import (
    BLUEPRINT_README,
    DYNAMODB,
    HAND_LINE,
    ROOT,
    answers_commit,
    append,
    commit_all,
    copier_update,
    diff_lines,
    edit,
    git,
    isolated_env,
    release,
    released_monorepo,
)

REPOS = ("2_1_bbws_dynamodb_schemas", "2_1_bbws_s3_schemas")


def split(output: Path, into: Path, remote: str | None) -> int:
    """``bbws-gen split`` as a user runs it: its exit code; its lines go to stdout and stderr."""
    return run(["split", "--output", str(output), "--into", str(into), *(["--remote", remote] if remote else [])])


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return released_monorepo(tmp_path_factory)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The isolated environment, also for the in-process split (its git subprocesses inherit it)."""
    isolated = isolated_env(tmp_path)
    for key, value in isolated.items():
        monkeypatch.setenv(key, value)
    return isolated


@pytest.fixture
def mono(released: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mono"
    shutil.copytree(released, path, symlinks=True)
    yield path


def _same_tree(left: Path, right: Path, ignore: set[str]) -> list[str]:
    """Relative paths that differ between two trees (``.git`` and ``ignore`` left out)."""

    def files(root: Path) -> set[str]:
        return {
            p.relative_to(root).as_posix()
            for p in root.rglob("*")
            if p.is_file() and ".git" not in p.relative_to(root).parts
        }

    names = (files(left) | files(right)) - ignore
    return sorted(
        n
        for n in names
        if not (left / n).is_file() or not (right / n).is_file() or not filecmp.cmp(left / n, right / n)
    )


def test_split_repo_takes_a_release_with_copier_update_and_keeps_hand_edits(
    mono: Path, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "split"
    url = f"git+file://{mono}"  # what `--remote file://<mono>` becomes: Copier needs the git+ prefix
    assert split(mono / "repos", into, f"file://{mono}") == 0
    out = capsys.readouterr().out
    for name in REPOS:
        repo = into / name
        assert f"split repos/{name} -> {repo} (2 commits, tagged v0.1.0)" in out
        assert git(repo, "status", "--porcelain", env=env) == ""
        assert git(repo, "branch", "--show-current", env=env) == "main"
        assert git(repo, "log", "--format=%s", env=env).splitlines() == [
            f"Point copier update at {url}",
            "bbws-gen 0.1.0",
        ]
        assert git(repo, "tag", "--points-at", "HEAD", env=env) == "v0.1.0"
        answers = yaml.safe_load((repo / ".copier-answers.yml").read_text(encoding="utf-8"))
        assert answers["_src_path"] == answers["template_source"] == url
        assert answers["_commit"] == "v0.1.0"
        assert _same_tree(mono / "repos" / name, repo, {".copier-answers.yml"}) == []
    assert not any(p.name.startswith(".") for p in into.iterdir())  # no staging leftovers
    assert git(mono, "for-each-ref", "refs/bbws-gen", env=env) == ""  # nor temporary refs in the monorepo

    split_repo = into / REPOS[0]
    append(split_repo / "README.md", f"\n{HAND_LINE}\n")
    commit_all(split_repo, "hand edit in the split repo", env)
    edit(mono / BLUEPRINT_README, "## Components\n", "## Components\n\nBlueprint 0.1.1 was here.\n")
    release(mono, "0.1.1", env)

    result = copier_update(split_repo, env)
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (split_repo / "README.md").read_text(encoding="utf-8")
    assert "Blueprint 0.1.1 was here." in readme
    assert readme.endswith(f"\n{HAND_LINE}\n")
    assert answers_commit(split_repo) == "v0.1.1"
    # split wrote the answers exactly as the template renders them: the update only moved _commit.
    assert diff_lines(split_repo, ".copier-answers.yml", env) == ["-_commit: v0.1.0", "+_commit: v0.1.1"]
    assert sorted(git(split_repo, "status", "--porcelain", env=env).splitlines()) == [
        " M .copier-answers.yml",
        " M README.md",
    ]


def test_split_is_idempotent_and_follows_the_output_folder(
    mono: Path, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "split"
    git(mono, "remote", "add", "origin", "https://git.example.com/bbws/bbws-gen", env=env)
    git(mono, "mv", "repos", "generated", env=env)
    commit_all(mono, "generated repos live in generated/", env)
    assert run(["split", "--output", str(mono / "generated"), "--into", str(into)]) == 0
    heads = {name: git(into / name, "rev-parse", "HEAD", env=env) for name in REPOS}
    answers = yaml.safe_load((into / REPOS[0] / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_src_path"] == "git+https://git.example.com/bbws/bbws-gen"  # origin, made Copier-readable
    assert "split generated/2_1_bbws_dynamodb_schemas ->" in capsys.readouterr().out

    (into / REPOS[0] / "stale.txt").write_text("from an earlier split\n", encoding="utf-8")
    assert split(mono / "generated", into, None) == 0
    assert not (into / REPOS[0] / "stale.txt").exists()
    assert {name: git(into / name, "rev-parse", "HEAD", env=env) for name in REPOS} == heads  # same commits


def test_split_refuses_with_a_clear_message(
    mono: Path, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    into = tmp_path / "split"
    repos = mono / "repos"

    def refused(output: Path, remote: str | None, *expected: str, into: Path = into) -> None:
        assert split(output, into, remote) == 2
        err = capsys.readouterr().err
        for text in expected:
            assert text in err, err
        assert "Traceback" not in err

    refused(repos, None, "no `origin` remote and no --remote was given", "pass --remote URL")
    refused(tmp_path, "https://github.com/o/r", "is not inside a git repository")
    with pytest.raises(SplitError, match="is not inside a git repository") as raised:  # the library raises
        split_repos(tmp_path, into, "https://github.com/o/r")
    assert raised.value.exit_code == 2
    refused(mono / "definition", "https://github.com/o/r", "no generated repo (a folder with .copier-answers.yml)")

    append(repos / REPOS[0] / "README.md", "uncommitted\n")
    refused(repos, "https://github.com/o/r", "uncommitted changes under repos", f"repos/{REPOS[0]}/README.md")
    git(mono, "checkout", "-q", "--", ".", env=env)

    shutil.copytree(repos / REPOS[1], repos / "2_1_bbws_new_schemas")
    refused(repos, "https://github.com/o/r", "repos/2_1_bbws_new_schemas is not tracked in git: commit it first")
    shutil.rmtree(repos / "2_1_bbws_new_schemas")

    refused(repos, "https://github.com/o/r #x", "cannot be written to .copier-answers.yml as a plain YAML value")
    refused(repos, "https://github.com/o/r", "lies inside --output", into=repos / "split")

    (into / REPOS[0]).mkdir(parents=True)
    refused(repos, "https://github.com/o/r", f"{into / REPOS[0]} exists and is not a git repository")
    assert [p.name for p in into.iterdir()] == [REPOS[0]]  # the refused runs created nothing
    assert not any((into / REPOS[0]).iterdir())


@pytest.mark.parametrize(
    ("remote", "recorded"),
    [
        ("https://github.com/BigBeardWebSolutions/bbws-gen", "https://github.com/BigBeardWebSolutions/bbws-gen"),
        ("git@github.com:BigBeardWebSolutions/bbws-gen.git", "git@github.com:BigBeardWebSolutions/bbws-gen.git"),
        ("https://git.example.com/bbws/bbws-gen.git", "https://git.example.com/bbws/bbws-gen.git"),
        ("https://git.example.com/bbws/bbws-gen", "git+https://git.example.com/bbws/bbws-gen"),
        ("file:///srv/bbws-gen", "git+file:///srv/bbws-gen"),
        ("/srv/bbws-gen", "/srv/bbws-gen"),
    ],
)
def test_remote_is_recorded_in_a_form_copier_clones(remote: str, recorded: str) -> None:
    assert copier_url(remote) == recorded


@pytest.mark.parametrize(
    "before",
    [
        # the answers template's JSON style (Values are JSON, which is YAML too), _src_path verbatim
        '_src_path: ../..\nspec: {\n  "a": 1\n}\ntemplate_source: "../.."\n',
        # ... or quoted as well
        '_src_path: "../.."\nspec: {\n  "a": 1\n}\ntemplate_source: "../.."\n',
        # Copier's to_nice_yaml style
        "_src_path: ../..\nspec:\n  a: 1\ntemplate_source: ../..\n",
    ],
)
def test_answers_are_rewritten_in_the_style_of_the_file(before: str) -> None:
    url = "https://github.com/BigBeardWebSolutions/bbws-gen"
    rewritten = _point_answers(before, url, Path(".copier-answers.yml"))
    assert rewritten.replace(url, "../..") == before
    assert yaml.safe_load(rewritten)["_src_path"] == yaml.safe_load(rewritten)["template_source"] == url


# --------------------------------------------------------------------------------------------------
# the publishing workflow

WORKFLOW = ROOT / ".github" / "workflows" / "publish-splits.yml"
CI_WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
OWNER = "BigBeardWebSolutions"
TOKENS = {"2_1_bbws_dynamodb_schemas": "tok-dynamodb", "2_1_bbws_s3_schemas": "tok-s3"}


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    return str(path) if path.exists() else name


def _workflow() -> dict[str, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    doc["on"] = doc.pop(True)  # PyYAML reads `on:` as the YAML 1.1 boolean
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize(
    "command",
    [
        ["zizmor", "--offline", "--persona", "auditor"],
        ["check-jsonschema", "--builtin-schema", "vendor.github-workflows"],
        ["yamllint", "--strict", "-c", str(ROOT / ".yamllint.yaml")],
    ],
    ids=["zizmor", "check-jsonschema", "yamllint"],
)
def test_publish_workflow_passes_the_linters(command: list[str]) -> None:
    result = subprocess.run([_tool(command[0]), *command[1:], str(WORKFLOW)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_publish_workflow_runs_on_release_tags_with_least_privilege() -> None:
    doc = _workflow()
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    assert doc["permissions"] == {"contents": "read"}
    assert list(doc["jobs"]) == ["tag-on-main", "publish"]
    job = doc["jobs"]["publish"]
    assert job["permissions"] == {"contents": "read"} and job["environment"] == "publish-splits"
    # No token before the tag is known to be on main: the job holding them needs the check job, and
    # checks again first thing.
    gate = doc["jobs"]["tag-on-main"]
    assert job["needs"] == "tag-on-main" and "environment" not in gate and "secrets" not in str(gate)
    check = 'sh .github/scripts/tag-on-main.sh "${GITHUB_REF_NAME}"'
    assert [s.get("run") for s in gate["steps"]][-1] == check
    runs_in_order = [s.get("run", "") for s in job["steps"]]
    assert runs_in_order.index(check) < min(i for i, s in enumerate(job["steps"]) if "secrets." in str(s))
    ci_uses = {
        s["uses"]
        for s in yaml.safe_load(CI_WORKFLOW.read_text(encoding="utf-8"))["jobs"]["nox"]["steps"]
        if "uses" in s
    }
    uses = [step for step in job["steps"] if "uses" in step]
    assert {step["uses"] for step in uses} <= ci_uses  # the very same pinned SHAs as CI
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0" in text
    checkout = next(step for step in uses if step["uses"].startswith("actions/checkout@"))
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
    for step in job["steps"]:
        assert "${{" not in step.get("run", ""), step["name"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert "bbws-gen generate --check" in runs
    assert 'bbws-gen split --into build/split --remote "${GITHUB_SERVER_URL}/${GITHUB_REPOSITORY}.git"' in runs


def _publish(
    workdir: Path, tmp: Path, tag: str, tokens: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the workflow's publish step with github.com rewritten to local bare repos, one per token."""
    (step,) = [s for s in _workflow()["jobs"]["publish"]["steps"] if s["name"] == "Publish the split repos"]
    targets = tmp / "targets"
    config = tmp / "gitconfig"
    config.write_text(
        "".join(
            f'[url "{targets / repo}.git"]\n\tinsteadOf = https://x-access-token:{token}@github.com/{OWNER}/{repo}.git\n'
            for repo, token in TOKENS.items()
        ),
        encoding="utf-8",
    )
    script = tmp / "publish.sh"
    script.write_text(step["run"], encoding="utf-8")
    tokens = TOKENS if tokens is None else tokens
    env = {
        **isolated_env(tmp),
        "GIT_CONFIG_GLOBAL": str(config),
        "GITHUB_REPOSITORY_OWNER": OWNER,
        "GITHUB_REF_NAME": tag,
        "GITHUB_STEP_SUMMARY": str(tmp / "summary.md"),
        "DYNAMODB_TOKEN": tokens["2_1_bbws_dynamodb_schemas"],
        "S3_TOKEN": tokens["2_1_bbws_s3_schemas"],
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )


def test_publish_pushes_each_split_and_never_overwrites_commits_made_in_a_target(
    mono: Path, tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    for repo in TOKENS:
        git(tmp_path, "init", "-q", "--bare", "-b", "main", str(tmp_path / "targets" / f"{repo}.git"), env=env)
    work = tmp_path / "work"
    into = work / "build" / "split"

    def target_ref(repo: str, ref: str) -> str:
        return git(tmp_path / "targets" / f"{repo}.git", "rev-parse", ref, env=env)

    # v0.1.0: first publish creates main and the tag; publishing again changes nothing.
    assert split(mono / "repos", into, "https://github.com/BigBeardWebSolutions/bbws-gen") == 0
    for _ in range(2):
        result = _publish(work, tmp_path, "v0.1.0")
        assert result.returncode == 0, result.stdout + result.stderr
    for repo in TOKENS:
        head = git(into / repo, "rev-parse", "HEAD", env=env)
        assert target_ref(repo, "main") == target_ref(repo, "v0.1.0") == head
    assert "Published 2_1_bbws_s3_schemas v0.1.0" in (tmp_path / "summary.md").read_text(encoding="utf-8")

    # v0.1.1 changes the DynamoDB repo: its main moves to the new split (over the old "Point" commit).
    append(mono / DYNAMODB / "README.md", "\nRegenerated for 0.1.1.\n")
    release(mono, "0.1.1", env)
    assert split(mono / "repos", into, "https://github.com/BigBeardWebSolutions/bbws-gen") == 0
    result = _publish(work, tmp_path, "v0.1.1")
    assert result.returncode == 0, result.stdout + result.stderr
    for repo in TOKENS:
        assert target_ref(repo, "main") == target_ref(repo, "v0.1.1") == git(into / repo, "rev-parse", "HEAD", env=env)
    assert target_ref(REPOS[1], "v0.1.0") == target_ref(REPOS[1], "v0.1.1")  # S3 repo unchanged

    # Someone commits in the DynamoDB target itself: the next publish stops there, keeps that commit,
    # and still publishes the S3 repo.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(tmp_path / "targets" / f"{REPOS[0]}.git"), str(clone), env=env)
    append(clone / "README.md", "hand edit in the target\n")
    commit_all(clone, "hand edit in the target", env)
    git(clone, "push", "-q", "origin", "main", env=env)
    hand = git(clone, "rev-parse", "HEAD", env=env)
    append(mono / DYNAMODB / "README.md", "\nRegenerated for 0.1.2.\n")
    release(mono, "0.1.2", env)
    assert split(mono / "repos", into, "https://github.com/BigBeardWebSolutions/bbws-gen") == 0
    result = _publish(work, tmp_path, "v0.1.2")
    assert result.returncode == 1
    assert f"::error::main of {OWNER}/{REPOS[0]} has commits that are not from this monorepo." in result.stdout
    assert target_ref(REPOS[0], "main") == hand
    assert target_ref(REPOS[1], "v0.1.2") == git(into / REPOS[1], "rev-parse", "HEAD", env=env)

    # A missing token names the repo and fails the run.
    result = _publish(work, tmp_path, "v0.1.2", {**TOKENS, REPOS[1]: ""})
    assert result.returncode == 1 and f"No push token for {REPOS[1]}" in result.stdout
    capsys.readouterr()


def test_bbws_gen_update_in_a_split_repo(mono: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """A split repo is no project: `bbws-gen update` inside it updates it from its recorded source."""
    from tests.test_update import bbws_gen

    into = tmp_path / "split"
    assert split(mono / "repos", into, f"file://{mono}") == 0
    split_repo = into / REPOS[0]
    append(split_repo / "README.md", f"\n{HAND_LINE}\n")
    commit_all(split_repo, "hand edit in the split repo", env)
    edit(mono / BLUEPRINT_README, "## Components\n", "## Components\n\nBlueprint 0.1.1 was here.\n")
    release(mono, "0.1.1", env)

    result = bbws_gen(split_repo, mono, env, "update")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{split_repo}: updated v0.1.0 -> v0.1.1" in result.stdout
    readme = (split_repo / "README.md").read_text(encoding="utf-8")
    assert "Blueprint 0.1.1 was here." in readme and readme.endswith(f"\n{HAND_LINE}\n")

    lost = tmp_path / "lost"  # a split pointed at a monorepo URL that is not reachable from here
    shutil.copytree(into / REPOS[1], lost, symlinks=True)
    answers = lost / ".copier-answers.yml"
    answers.write_text(answers.read_text(encoding="utf-8").replace(str(mono), str(tmp_path / "nowhere")))
    commit_all(lost, "point at a monorepo that is gone", env)
    unreachable = bbws_gen(lost, mono, env, "update")
    assert unreachable.returncode == 2, unreachable.stdout + unreachable.stderr
    assert "is not a git repository reachable from here" in unreachable.stderr
    assert "point _src_path at the monorepo" in unreachable.stderr and "Traceback" not in unreachable.stderr


def _git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def test_tag_on_main_check_refuses_a_tag_off_main(tmp_path: Path) -> None:
    """The workflow's check script, run in a real clone: a tag on main passes, one off main does not."""
    origin = tmp_path / "origin"
    origin.mkdir()
    _git(origin, "init", "-q", "-b", "main")
    _git(origin, "config", "user.email", "t@example.com")
    _git(origin, "config", "user.name", "t")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "on main")
    _git(origin, "tag", "v1.0.0")
    _git(origin, "switch", "-q", "-c", "side")
    _git(origin, "commit", "-q", "--allow-empty", "-m", "off main")
    _git(origin, "tag", "v1.0.1")
    _git(origin, "switch", "-q", "main")
    clone = tmp_path / "clone"
    _git(tmp_path, "clone", "-q", "--no-checkout", str(origin), str(clone))
    script = ROOT / ".github" / "scripts" / "tag-on-main.sh"

    def check(tag: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", str(script), tag], cwd=clone, capture_output=True, text=True)

    assert check("v1.0.0").returncode == 0
    refused = check("v1.0.1")
    assert refused.returncode == 1
    assert "Tag v1.0.1 points at" in refused.stdout and "not on main" in refused.stdout
    assert check("v9.9.9").returncode == 1
