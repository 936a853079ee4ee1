"""`bbws-gen update [REPO...]`: take a blueprint release into generated repos with ``copier update``.

Copier's own traps, caught here before or after it runs: a dirty repo, a recorded ``_commit`` or a target
release that is not a tag at ``_src_path`` (a fresh clone without tags, a split pointed at a remote that
lacks them) would end in a traceback; without ``--defaults`` it asks which blueprint the repo is; and a
conflict leaves unmerged files and markers while Copier exits 0 and says nothing. Here every repo is
checked first (nothing runs unless all pass), Copier runs with the recorded answers and no prompts, and
every conflicted file is listed (exit 1).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from packaging.version import InvalidVersion, Version

from generator.errors import EXIT_INVALID, BbwsGenError, UsageError

ANSWERS = ".copier-answers.yml"
_MARKER = re.compile(rb"^(<{7} |>{7} )", re.MULTILINE)


@dataclass(frozen=True)
class Plan:
    """One repo to update: where, from which template source, from which release to which."""

    repo: Path
    source: str
    current: str
    target: str
    blueprint: str


@dataclass(frozen=True)
class Outcome:
    """What updating one repo did: ``status`` is "current" (already at the target), "updated", "conflicts"
    (updated, ``conflicts`` left to resolve) or "failed" (copier exited ``copier_exit``; the last lines of its
    output, and whether the release wants ``--trust`` for its migrations)."""

    plan: Plan
    status: Literal["current", "updated", "conflicts", "failed"]
    conflicts: tuple[str, ...] = ()
    copier_exit: int = 0
    output_tail: tuple[str, ...] = ()
    needs_trust: bool = False


class UpdateBlocked(BbwsGenError):
    """A repo failed its preflight check: ``problems`` says each, with its fix; nothing ran (exit code 2)."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s); nothing was updated.")


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def _git_source(src: str, repo: Path) -> str:
    """``_src_path`` as git understands it: Copier's ``git+`` prefix dropped, a relative path from the repo."""
    if src.startswith("git+"):
        return src.removeprefix("git+")
    if "://" in src or src.startswith("git@"):
        return src
    return str((repo / src).resolve())


def _release_tags(source: str) -> list[str] | str:
    """The tags at ``source`` (``git ls-remote``), or why it cannot be read."""
    listed = subprocess.run(
        ["git", "ls-remote", "--tags", "--refs", source], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0:
        return (listed.stderr.strip().splitlines() or ["git ls-remote failed"])[-1]
    return [line.split("refs/tags/", 1)[1] for line in listed.stdout.splitlines() if "refs/tags/" in line]


def newest_release(tags: Sequence[str]) -> str | None:
    """The tag ``copier update`` takes by default: the highest PEP 440 version, pre-releases excluded."""
    versions: list[tuple[Version, str]] = []
    for tag in tags:
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            versions.append((version, tag))
    return max(versions)[1] if versions else None


def find_repos(output: Path | None, given: Sequence[Path], cwd: Path) -> list[Path]:
    """The repos to update: those given; else the generated repo the current directory is in; else every
    repo under ``output`` (the project's ``repos/``)."""
    if given:
        return [path.absolute() for path in given]
    for folder in (cwd, *cwd.parents):
        if (folder / ANSWERS).is_file():
            return [folder]
        if (folder / ".git").exists():
            break
    if output is not None and output.is_dir():
        found = sorted(p for p in output.iterdir() if (p / ANSWERS).is_file())
        if found:
            return found
    raise UsageError(
        "no generated repo to update here",
        ["run it inside a generated repo, or in the project (it updates every repo under repos/), or name REPO"],
    )


def _preflight(repo: Path, vcs_ref: str | None) -> Plan | list[str]:
    """What to run for ``repo``, or the problems that stop it (each with its fix)."""
    answers_path = repo / ANSWERS
    if not answers_path.is_file():
        return [f"{repo}: no {ANSWERS}, so it is not a generated repo; name a folder under repos/"]
    answers = yaml.safe_load(answers_path.read_text(encoding="utf-8")) or {}
    src, current, blueprint = answers.get("_src_path"), answers.get("_commit"), answers.get("blueprint")
    if not (isinstance(src, str) and isinstance(current, str) and isinstance(blueprint, str)):
        return [f"{answers_path}: _src_path, _commit or blueprint is missing; regenerate the repo (bbws-gen generate)"]
    if _git(repo, "rev-parse", "--show-toplevel").returncode != 0:
        return [f"{repo} is not in a git repository: copier update merges through git; commit it first"]
    problems: list[str] = []
    dirty = _changed(repo)
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        problems.append(f"{repo} has uncommitted changes ({shown}): commit or stash them first")
    source = _git_source(src, repo)
    tags = _release_tags(source)
    if isinstance(tags, str):
        return [
            *problems,
            f"{repo}: the blueprints' source {src!r} (_src_path in {ANSWERS}) is not a git repository "
            f"reachable from here ({tags}); point _src_path at the monorepo (its path or URL) and commit that",
        ]
    if current not in tags:
        problems.append(
            f"{repo}: the release it was rendered from, {current} (_commit in {ANSWERS}), is not a tag at "
            f"{source}: fetch the tags (git fetch --tags) or, if it was never released, tag that commit "
            f"(git tag {current} <commit>) in the monorepo"
        )
    target = vcs_ref or newest_release(tags)
    if target is None:
        problems.append(f"{source} has no release tag (v*): release the blueprints first (README: Releasing)")
    elif vcs_ref is not None and vcs_ref not in tags and not re.fullmatch(r"[0-9a-f]{7,40}", vcs_ref):
        problems.append(f"--vcs-ref {vcs_ref} is not a tag at {source}: pick one of {', '.join(sorted(tags)[-5:])}")
    if problems or target is None:
        return problems
    return Plan(repo, src, current, target, blueprint)


def _changed(repo: Path) -> list[str]:
    """Uncommitted or untracked files under ``repo``, relative to it."""
    top = Path(_git(repo, "rev-parse", "--show-toplevel").stdout.strip())
    lines = _git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".").stdout.splitlines()
    names = [line[3:].split(" -> ")[-1].strip('"') for line in lines]
    return [os.path.relpath(top / name, repo.resolve()) for name in names]


def conflicts(repo: Path) -> list[str]:
    """Files of ``repo`` left conflicted: unmerged in git's index, holding conflict markers, or ``.rej``."""
    found: set[str] = set()
    top = Path(_git(repo, "rev-parse", "--show-toplevel").stdout.strip())
    unmerged = _git(repo, "diff", "--name-only", "--diff-filter=U", "--", ".").stdout.splitlines()
    found.update(os.path.relpath(top / name, repo.resolve()) for name in unmerged if name)
    for name in _changed(repo):
        path = repo / name
        if path.suffix == ".rej" or (path.is_file() and _MARKER.search(path.read_bytes())):
            found.add(name)
    return sorted(found)


def _copier(plan: Plan, trust: bool) -> subprocess.CompletedProcess[str]:
    # Copier resolves a relative _src_path against the current directory: run it inside the repo. The
    # recorded answers are the defaults, the blueprint is pinned, and stdin is closed: it never prompts.
    command = [sys.executable, "-m", "copier", "update", "--defaults", "--vcs-ref", plan.target]
    command += ["--data", f"blueprint={plan.blueprint}", *(["--trust"] if trust else [])]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        command, cwd=plan.repo, env=env, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
    )


def plan_updates(output: Path | None, given: Sequence[Path], vcs_ref: str | None) -> list[Plan]:
    """Check every repo to update (``given``, else the one the current directory is in, else all under
    ``output``) before any runs. Raises :class:`~generator.errors.UsageError` when there is none and
    :class:`UpdateBlocked` listing every problem that stops one (then nothing may run)."""
    plans: list[Plan] = []
    problems: list[str] = []
    for repo in find_repos(output, given, Path.cwd()):
        checked = _preflight(repo, vcs_ref)
        if isinstance(checked, Plan):
            plans.append(checked)
        else:
            problems += checked
    if problems:
        raise UpdateBlocked(problems)
    return plans


def apply_update(plan: Plan, trust: bool = False) -> Outcome:
    """Run ``copier update`` for one checked repo (``trust``: let the release's migrations run)."""
    if plan.target == plan.current:
        return Outcome(plan, "current")
    result = _copier(plan, trust)
    if result.returncode != 0:
        tail = tuple((result.stderr or result.stdout).strip().splitlines()[-8:])
        untrusted = result.returncode == 4 or "unsafe" in result.stderr
        return Outcome(plan, "failed", copier_exit=result.returncode, output_tail=tail, needs_trust=untrusted)
    conflicted = conflicts(plan.repo)
    return Outcome(plan, "conflicts", conflicts=tuple(conflicted)) if conflicted else Outcome(plan, "updated")
