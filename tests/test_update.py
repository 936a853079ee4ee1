"""`copier update` of a generated repo, and how it relates to `bbws-gen generate`.

Every test works in a throwaway copy of the monorepo's working tree (committed in a fresh git repo and
tagged v0.1.0), never in this checkout's repos/ or docs/. Copier runs as the plain CLI, exactly as a
user runs it: `copier update --defaults` inside the generated repo's folder.

What the tests pin down (Copier 9.19):
- `_src_path: ../..` is resolved against the current directory, so `copier update` runs inside
  repos/<repo>; run from elsewhere it fails with "Updating is only supported in git-tracked templates".
- Copier renders the template from the tags named by `_commit` (old) and the newest `v*` tag (new), never
  from uncommitted blueprint work; only the repo's own folder has to be clean.
- A hand edit that does not overlap a blueprint change survives; an overlapping one leaves inline
  conflict markers and an unmerged index entry (`git status`: UU; plain `git commit` refuses), while
  copier itself exits 0 and prints nothing about it.
- A release that moves a generated file needs a `_migrations` entry; migrations run commands, so
  Copier refuses them without `--trust` (exit 4).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPIER = Path(sys.executable).parent / "copier"
DYNAMODB = "repos/2_1_bbws_dynamodb_schemas"
BLUEPRINT_README = "blueprints/dynamodb/README.md.jinja"
HAND_LINE = "Hand note: ask the data team before changing a GSI."
COMPONENTS_LINE = "One Terraform root and one state file per component:"
CONFLICT_START = "<<<<<<< before updating"

# The recipe for a release that moves a generated file (stage "after" of a `_migrations` entry): Copier
# has already rendered the file at its new path and deleted the old one; this script takes the user's
# old file from HEAD, renders the previous release as the merge base, and merges the hand edits in.
CARRY_HAND_EDITS = '''\
"""Copier migration: carry hand edits of a generated file that a blueprint release moved."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from copier import run_copy

old, new, template = sys.argv[1:4]
shown = subprocess.run(["git", "show", f"HEAD:./{old}"], capture_output=True, check=False)
if shown.returncode:
    sys.exit(0)  # the repo never had the old file: nothing to carry
answers_text = subprocess.run(["git", "show", "HEAD:./.copier-answers.yml"], capture_output=True, check=True).stdout
answers = {k: v for k, v in yaml.safe_load(answers_text).items() if not k.startswith("_")}
with tempfile.TemporaryDirectory() as tmp:
    run_copy(template, tmp, data=answers, vcs_ref=os.environ["VERSION_FROM"], defaults=True, quiet=True, unsafe=True)
    hand = Path(tmp, ".hand")
    hand.write_bytes(shown.stdout)
    labels = ["-L", "after updating", "-L", "last update", "-L", "before updating"]
    merged = subprocess.run(["git", "merge-file", *labels, new, str(Path(tmp, old)), str(hand)], check=False)
Path(old).unlink(missing_ok=True)
if merged.returncode:
    print(f"conflict carrying the hand edits of {old} to {new}: resolve the markers", file=sys.stderr)
'''
MIGRATION = """
_migrations:
  - version: v0.2.0
    when: "{{ _stage == 'after' and blueprint == 'dynamodb' }}"
    command:
      - "{{ _copier_python }}"
      - "{{ _copier_conf.src_path }}/migrations/carry_hand_edits.py"
      - README.md
      - docs/README.md
      - "{{ _copier_conf.src_path }}"
"""


# --------------------------------------------------------------------------------------------------
# helpers (test_split.py uses them too)


def isolated_env(tmp: Path) -> dict[str, str]:
    """Environment for git and copier: fixed identity, no user or system config, caches under ``tmp``."""
    return {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "XDG_CACHE_HOME": str(tmp / "cache"),  # copier's clone cache for remote templates
        "XDG_CONFIG_HOME": str(tmp / "config"),  # no user copier settings (trusted templates)
    }


def git(cwd: Path, *args: str, env: dict[str, str]) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout.rstrip()


def commit_all(repo: Path, message: str, env: dict[str, str]) -> None:
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", message, env=env)


def copy_worktree(source: Path, target: Path) -> None:
    """Copy what ``git ls-files -co --exclude-standard`` lists: the working tree, uncommitted work included."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=source, capture_output=True, check=True
    ).stdout.decode()
    for rel in filter(None, listed.split("\0")):
        src, dst = source / rel, target / rel
        if not src.is_symlink() and not src.exists():
            continue  # deleted in the working tree, still in the index
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)


def generate(mono: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``bbws-gen generate`` of the copy itself (its generator, blueprints, definition, repos/, docs/)."""
    env = {**os.environ, "PYTHONPATH": str(mono)}
    return subprocess.run(
        [sys.executable, "-m", "generator", "generate", *args],
        cwd=mono,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def make_release(root: Path, base: Path, env: dict[str, str]) -> Path:
    """A monorepo at ``base``: this working tree, regenerated by its own generator, committed, tagged v0.1.0."""
    copy_worktree(root, base)
    rendered = generate(base)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    git(base, "init", "-q", "-b", "main", env=env)
    commit_all(base, "bbws-gen 0.1.0", env)
    git(base, "tag", "v0.1.0", env=env)
    return base


def release(mono: Path, version: str, env: dict[str, str]) -> None:
    """Bump project.version, commit everything, tag v<version> (the release process, without generate)."""
    pyproject = mono / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    current = next(line for line in text.splitlines() if line.startswith("version = "))
    pyproject.write_text(text.replace(current, f'version = "{version}"', 1), encoding="utf-8")
    commit_all(mono, f"release {version}", env)
    git(mono, "tag", f"v{version}", env=env)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found exactly once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def copier_update(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COPIER), "update", "--defaults", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def diff_lines(repo: Path, path: str, env: dict[str, str]) -> list[str]:
    """The added and removed lines of ``git diff`` for one file."""
    diff = git(repo, "diff", "-U0", "--", path, env=env).splitlines()
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def answers_commit(repo: Path) -> str:
    lines = (repo / ".copier-answers.yml").read_text(encoding="utf-8").splitlines()
    return next(line for line in lines if line.startswith("_commit:")).split(":", 1)[1].strip()


# --------------------------------------------------------------------------------------------------
# fixtures


def released_monorepo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The v0.1.0 monorepo, built once per test session (tests copy it before changing anything)."""
    base = tmp_path_factory.getbasetemp() / "released"
    if not (base / "mono" / ".git").is_dir():
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        make_release(ROOT, base / "mono", isolated_env(base))
    return base / "mono"


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return released_monorepo(tmp_path_factory)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture
def mono(released: Path, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "mono"
    shutil.copytree(released, path, symlinks=True)
    yield path


# --------------------------------------------------------------------------------------------------
# copier update inside the monorepo


def test_update_takes_a_blueprint_release_and_keeps_hand_edits(mono: Path, env: dict[str, str]) -> None:
    repo = mono / DYNAMODB
    assert answers_commit(repo) == "v0.1.0"
    append(repo / "README.md", f"\n{HAND_LINE}\n")
    tfvars = repo / "environments" / "dev.tfvars"
    tfvars.write_text("# hand: dev is shared with the QA team\n" + tfvars.read_text(encoding="utf-8"), encoding="utf-8")
    commit_all(mono, "hand edits in the generated repo", env)

    edit(mono / BLUEPRINT_README, "## Components\n", "## Components\n\nBlueprint 0.1.1 was here.\n")
    release(mono, "0.1.1", env)
    # Only the repo's own folder has to be clean, and uncommitted blueprint work is not part of any
    # release: copier renders the tags, not the working tree.
    edit(mono / BLUEPRINT_README, "Blueprint 0.1.1 was here.", "Unreleased work.")

    result = copier_update(repo, env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Updating to template version 0.1.1" in result.stderr
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert "Blueprint 0.1.1 was here." in readme and "Unreleased work." not in readme
    assert readme.endswith(f"\n{HAND_LINE}\n")
    assert tfvars.read_text(encoding="utf-8").startswith("# hand: dev is shared with the QA team\n")
    assert answers_commit(repo) == "v0.1.1"
    assert diff_lines(mono, f"{DYNAMODB}/.copier-answers.yml", env) == ["-_commit: v0.1.0", "+_commit: v0.1.1"]
    changed = git(mono, "status", "--porcelain", env=env).splitlines()
    assert sorted(changed) == [
        f" M {BLUEPRINT_README}",
        f" M {DYNAMODB}/.copier-answers.yml",
        f" M {DYNAMODB}/README.md",
    ]


def test_overlapping_hand_edit_is_marked_as_a_conflict_never_lost(mono: Path, env: dict[str, str]) -> None:
    repo = mono / DYNAMODB
    edit(repo / "README.md", COMPONENTS_LINE, "One Terraform root per component (HAND EDIT):")
    commit_all(mono, "hand edit", env)
    edit(mono / BLUEPRINT_README, COMPONENTS_LINE, "One Terraform root, state file and pipeline per component:")
    release(mono, "0.1.1", env)

    result = copier_update(repo, env)
    # Copier 9.19 exits 0 and says nothing: the conflict shows in the file and in git's index.
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (repo / "README.md").read_text(encoding="utf-8")
    assert (
        f"{CONFLICT_START}\nOne Terraform root per component (HAND EDIT):\n=======\n"
        "One Terraform root, state file and pipeline per component:\n>>>>>>> after updating\n"
    ) in readme
    assert git(mono, "diff", "--name-only", "--diff-filter=U", env=env) == f"{DYNAMODB}/README.md"
    refused = subprocess.run(["git", "commit", "-q", "-m", "x"], cwd=mono, env=env, capture_output=True, text=True)
    assert refused.returncode != 0 and "unmerged" in refused.stderr
    assert answers_commit(repo) == "v0.1.1"


def test_update_refuses_a_dirty_repo_and_needs_to_run_inside_it(mono: Path, env: dict[str, str]) -> None:
    repo = mono / DYNAMODB
    # `_src_path: ../..` is relative to the current directory, not to the repo.
    elsewhere = subprocess.run(
        [str(COPIER), "update", "--defaults", DYNAMODB], cwd=mono, env=env, capture_output=True, text=True
    )
    assert elsewhere.returncode != 0 and "git-tracked templates" in elsewhere.stderr

    append(repo / "README.md", "uncommitted\n")
    dirty = copier_update(repo, env)
    assert dirty.returncode != 0 and "Destination repository is dirty" in dirty.stderr


def test_a_release_that_moves_a_file_carries_the_hand_edit_along(mono: Path, env: dict[str, str]) -> None:
    repo = mono / DYNAMODB
    append(repo / "README.md", f"\n{HAND_LINE}\n")
    commit_all(mono, "hand edit", env)

    moved = mono / "blueprints" / "dynamodb" / "docs" / "README.md.jinja"
    assert not moved.exists() and not (repo / "docs" / "README.md").exists()
    moved.parent.mkdir(exist_ok=True)
    git(mono, "mv", BLUEPRINT_README, str(moved.relative_to(mono)), env=env)
    edit(moved, "## Components\n", "## Components\n\nBlueprint 0.2.0 moved this file to docs/.\n")
    (mono / "migrations").mkdir()
    (mono / "migrations" / "carry_hand_edits.py").write_text(CARRY_HAND_EDITS, encoding="utf-8")
    append(mono / "copier.yml", MIGRATION)
    release(mono, "0.2.0", env)

    untrusted = copier_update(repo, env)
    assert untrusted.returncode == 4 and "unsafe feature: migrations" in untrusted.stderr
    assert git(mono, "status", "--porcelain", env=env) == ""

    result = copier_update(repo, env, "--trust")
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (repo / "README.md").exists()
    readme = (repo / "docs" / "README.md").read_text(encoding="utf-8")
    assert "Blueprint 0.2.0 moved this file to docs/." in readme
    assert readme.endswith(f"\n{HAND_LINE}\n")
    assert CONFLICT_START not in readme
    assert answers_commit(repo) == "v0.2.0"


# --------------------------------------------------------------------------------------------------
# generate vs copier update: in the monorepo the definition is the source


def test_generate_check_reports_a_hand_edit_and_generate_overwrites_it(mono: Path, env: dict[str, str]) -> None:
    readme = mono / DYNAMODB / "README.md"
    append(readme, f"\n{HAND_LINE}\n")
    edited = readme.read_bytes()

    check = generate(mono, "--check")
    assert check.returncode == 1, check.stdout + check.stderr
    assert check.stdout.splitlines()[0] == "2_1_bbws_dynamodb_schemas/README.md (changed)"
    assert readme.read_bytes() == edited  # --check writes nothing

    result = generate(mono)
    assert result.returncode == 0, result.stdout + result.stderr
    assert HAND_LINE not in readme.read_text(encoding="utf-8")
    assert git(mono, "status", "--porcelain", env=env) == ""


# --------------------------------------------------------------------------------------------------
# bbws-gen update: copier update with preflight checks and conflict detection


def bbws_gen(cwd: Path, mono: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bbws-gen`` of the copy ``mono`` run in ``cwd`` (a folder of the monorepo, or a split repo)."""
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(mono)},
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_bbws_gen_update_keeps_hand_edits_lists_every_conflict_and_exits_1(mono: Path, env: dict[str, str]) -> None:
    """One release, two hand edits: the one elsewhere in a file survives, the overlapping one is listed.
    (The clean case, exit 0, runs in a split repo in tests/test_split.py.)"""
    repo = mono / DYNAMODB
    edit(repo / "README.md", COMPONENTS_LINE, "One Terraform root per component (HAND EDIT):")
    tfvars = repo / "environments" / "dev.tfvars"
    tfvars.write_text("# hand: dev is shared with the QA team\n" + tfvars.read_text(encoding="utf-8"), encoding="utf-8")
    commit_all(mono, "hand edits", env)
    edit(mono / BLUEPRINT_README, COMPONENTS_LINE, "One Terraform root, state file and pipeline per component:")
    release(mono, "0.1.1", env)

    # From a subfolder of the project, naming the repo relative to it; stdin closed: a prompt would fail.
    result = bbws_gen(mono / "repos", mono, env, "update", "2_1_bbws_dynamodb_schemas")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "updated v0.1.0 -> v0.1.1 with 1 conflict(s):\n  README.md\n" in result.stdout
    assert "resolve the <<<<<<< markers" in result.stdout
    assert tfvars.read_text(encoding="utf-8").startswith("# hand: dev is shared with the QA team\n")
    assert answers_commit(repo) == "v0.1.1"


def test_bbws_gen_update_finds_the_repos_it_is_run_for(mono: Path, env: dict[str, str]) -> None:
    from generator.update import find_repos

    output = mono / "repos"
    both = [output / "2_1_bbws_dynamodb_schemas", output / "2_1_bbws_s3_schemas"]
    assert find_repos(output, [], mono / "definition") == both  # in the project: every repo
    assert find_repos(output, [], mono / DYNAMODB / "terraform") == [mono / DYNAMODB]  # inside one: that one
    assert bbws_gen(mono, mono, env, "update").stdout.count("already at v0.1.0") == 2  # nothing newer: no copier


def test_bbws_gen_update_preflight_explains_instead_of_a_traceback(mono: Path, env: dict[str, str]) -> None:
    repo = mono / DYNAMODB
    release(mono, "0.1.1", env)
    append(repo / "README.md", "uncommitted\n")
    dirty = bbws_gen(mono, mono, env, "update")
    assert dirty.returncode == 2, dirty.stdout + dirty.stderr
    assert f"{repo} has uncommitted changes (README.md): commit or stash them first" in dirty.stderr
    assert answers_commit(repo) == "v0.1.0" and "Traceback" not in dirty.stderr
    git(mono, "checkout", "--", ".", env=env)

    git(mono, "tag", "-d", "v0.1.0", env=env)  # a clone that never fetched the release it was rendered from
    untagged = bbws_gen(mono, mono, env, "update")
    assert untagged.returncode == 2
    assert "v0.1.0 (_commit in .copier-answers.yml), is not a tag at" in untagged.stderr
    assert "git fetch --tags" in untagged.stderr and "Traceback" not in untagged.stderr
    assert git(mono, "status", "--porcelain", env=env) == ""
