"""Split each generated repo out of the monorepo into a standalone git repository.

For every folder under the output directory that holds a ``.copier-answers.yml``, ``git subtree split``
extracts that folder's history from the monorepo's ``HEAD``; the result becomes ``main`` of a fresh
repository at ``<into>/<repo>``. One commit on top points the answers (``_src_path`` and the
``template_source`` answer) at the monorepo's URL, so plain ``copier update`` in the split repo takes
blueprint releases from the monorepo's tags. Release tags (``v*``) on the monorepo's ``HEAD`` are
copied onto that commit.

The result is deterministic: the extra commit's author, committer and dates are fixed (taken from the
split history), so splitting the same monorepo commit again gives the same commit ids, and publishing
an unchanged repo is a no-op. Re-running replaces the previous split.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from generator.errors import EXIT_INVALID, BbwsGenError

__all__ = ["SplitError", "copier_url", "split"]

ANSWERS = ".copier-answers.yml"
SPLIT_REF = "refs/bbws-gen/split"  # temporary ref in the monorepo, removed after each fetch
IDENTITY = ("bbws-gen", "bbws-gen@users.noreply.github.com")
# .github/workflows/publish-splits.yml recognises an earlier publish by this subject: keep them in step.
POINT_SUBJECT = "Point copier update at {url}"
# The URL forms Copier's `copier update` recognises as a git template (copier/_vcs.py `get_repo`);
# anything else with a scheme gets the `git+` prefix Copier strips again.
_COPIER_GIT_PREFIXES = ("git@", "git://", "git+", "https://github.com/", "https://gitlab.com/")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class SplitError(BbwsGenError):
    """A split cannot go ahead; the message says what is wrong and how to fix it (exit code 2)."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class Repo:
    """One generated repo folder in the monorepo."""

    name: str
    prefix: str  # the folder relative to the monorepo's top level, POSIX style


def _git(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``cwd``; return its stdout without the trailing newline, raise SplitError on failure."""
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SplitError("git is not installed or not on PATH; install git and retry") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise SplitError(f"`git {' '.join(args)}` failed in {cwd}: {detail}")
    return result.stdout.rstrip("\n")


def copier_url(remote: str) -> str:
    """The monorepo URL in a form ``copier update`` clones as git.

    Copier treats a source as git only if it ends in ``.git``, starts with one of a few known prefixes,
    or is a local repository path; ``file:///srv/mono`` or a self-hosted ``https://`` URL without
    ``.git`` would be taken for a plain folder. Those get the ``git+`` prefix (Copier removes it before
    cloning); a local path becomes absolute, since Copier resolves relative paths against the caller's
    working directory.
    """
    if remote.endswith(".git") or remote.startswith(_COPIER_GIT_PREFIXES):
        return remote
    if _SCHEME.match(remote):
        return "git+" + remote
    return str(Path(remote).expanduser().resolve())


def _toplevel(output: Path) -> Path:
    if not output.is_dir():
        raise SplitError(f"{output} is not a directory; pass --output with the folder that holds the generated repos")
    try:
        return Path(_git(output, "rev-parse", "--show-toplevel")).resolve()
    except SplitError as exc:
        raise SplitError(f"{output} is not inside a git repository; split works on the monorepo's history") from exc


def _default_remote(top: Path) -> str:
    result = subprocess.run(
        ["git", "remote", "get-url", "origin"], cwd=top, capture_output=True, text=True, check=False
    )
    url = result.stdout.strip()
    if result.returncode != 0 or not url:
        raise SplitError(
            f"the monorepo {top} has no `origin` remote and no --remote was given; pass --remote URL "
            "(the URL split repos' `copier update` clones the blueprints from)"
        )
    return url


def _find_repos(output: Path, top: Path) -> list[Repo]:
    repos = []
    for path in sorted(p for p in output.iterdir() if (p / ANSWERS).is_file()):
        resolved = path.resolve()
        if not resolved.is_relative_to(top):
            raise SplitError(f"{path} points outside the monorepo {top}; split works on folders tracked in it")
        repos.append(Repo(path.name, resolved.relative_to(top).as_posix()))
    if not repos:
        raise SplitError(f"no generated repo (a folder with {ANSWERS}) under {output}; run `bbws-gen generate` first")
    return repos


def _check_committed(top: Path, output: Path, repos: Sequence[Repo]) -> None:
    problems = [
        f"{repo.prefix} is not tracked in git: commit it first (git add {repo.prefix} && git commit)"
        for repo in repos
        if not _git(top, "ls-files", "--", f"{repo.prefix}/{ANSWERS}")
    ]
    if problems:
        raise SplitError("\n".join(problems))
    prefix = output.relative_to(top).as_posix() if output != top else "."
    dirty = _git(top, "status", "--porcelain", "--untracked-files=all", "--", prefix).splitlines()
    if dirty:
        shown = dirty[:20] + ([f"... and {len(dirty) - 20} more"] if len(dirty) > 20 else [])
        raise SplitError(
            f"uncommitted changes under {prefix} would be missing from the split (it uses committed history):\n"
            + "\n".join(shown)
            + "\ncommit or stash them and retry"
        )


def _check_into(into: Path, output: Path, repos: Sequence[Repo]) -> None:
    if into == output or into.is_relative_to(output):
        raise SplitError(f"--into {into} lies inside --output {output}; choose a folder outside the generated repos")
    for repo in repos:
        target = into / repo.name
        if target.exists() and not (target / ".git").is_dir():
            raise SplitError(
                f"{target} exists and is not a git repository from an earlier split; remove it or choose another --into"
            )


def _point_answers(text: str, url: str, source: Path) -> str:
    """The answers file with ``_src_path`` and the ``template_source`` answer set to ``url``.

    Each line keeps the style the answers template wrote it in (a JSON string, or an unquoted value:
    verbatim for ``_src_path``, Copier's ``to_nice_yaml`` for the answer), so the next ``copier update``
    rewrites nothing but ``_commit``.
    """
    found: set[str] = set()
    lines = []
    for line in text.splitlines(keepends=True):
        key, _, value = line.partition(":")
        if key not in ("_src_path", "template_source"):
            lines.append(line)
            continue
        if value.strip().startswith('"'):
            line = f"{key}: {json.dumps(url)}\n"
        elif key == "_src_path":
            line = f"{key}: {url}\n"
        else:
            line = yaml.dump({key: url}, allow_unicode=True, default_flow_style=False, width=100)
        found.add(key)
        lines.append(line)
    new = "".join(lines)
    if found != {"_src_path", "template_source"}:
        raise SplitError(f"{source}: expected top-level `_src_path:` and `template_source:` lines; regenerate the repo")
    loaded = yaml.safe_load(new)
    if not isinstance(loaded, dict) or loaded.get("_src_path") != url or loaded.get("template_source") != url:
        raise SplitError(f"the remote URL {url!r} cannot be written to {source} as a plain YAML value; use another URL")
    return new


def _split_one(top: Path, repo: Repo, target: Path, url: str, tags: Sequence[str]) -> int:
    """Build ``target`` as a standalone repo of ``repo``; return its number of commits."""
    try:
        head = _git(top, "subtree", "split", "-q", f"--prefix={repo.prefix}", "HEAD")
    except SplitError as exc:
        if "not a git command" in str(exc):
            raise SplitError("`git subtree` is not installed (Debian/Ubuntu: it ships with the git package)") from exc
        raise
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{repo.name}.split-{os.getpid()}"  # beside the target: the final rename stays on one disk
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        _git(staging, "init", "--quiet", "--initial-branch=main")
        ref = f"{SPLIT_REF}/{repo.name}"
        _git(top, "update-ref", ref, head)
        try:
            _git(staging, "fetch", "--quiet", "--no-tags", str(top), ref)
        finally:
            _git(top, "update-ref", "-d", ref)
        _git(staging, "checkout", "--quiet", "-B", "main", "FETCH_HEAD")
        answers = staging / ANSWERS
        answers.write_text(_point_answers(answers.read_text(encoding="utf-8"), url, answers), encoding="utf-8")
        date = _git(staging, "log", "-1", "--format=%cI", "HEAD")
        name, email = IDENTITY
        identity = {
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
        }
        _git(staging, "add", ANSWERS)
        _git(staging, "commit", "--quiet", "--no-verify", "-m", POINT_SUBJECT.format(url=url), env=identity)
        for tag in tags:
            _git(staging, "tag", tag)
        count = int(_git(staging, "rev-list", "--count", "HEAD"))
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def _quiet(message: str) -> None:
    """The default reporter: says nothing."""


def split(output: Path, into: Path, remote: str | None, report: Callable[[str], None] = _quiet) -> str:
    """Split every generated repo under ``output`` into ``into/<repo>``; return the URL the split repos'
    ``copier update`` takes blueprint releases from.

    ``remote`` is that monorepo URL (default: the monorepo's ``origin``). ``report`` gets one line per repo
    as it is split. Raises :class:`SplitError` when the split cannot go ahead (not a git checkout,
    uncommitted or untracked repo folders, no remote, ...).
    """
    output = output.resolve()
    top = _toplevel(output)
    url = copier_url(remote if remote is not None else _default_remote(top))
    _point_answers('_src_path: x\ntemplate_source: "x"\n', url, Path(ANSWERS))  # a URL YAML can hold?
    repos = _find_repos(output, top)
    into = into.resolve()
    _check_committed(top, output, repos)
    _check_into(into, output, repos)
    tags = [tag for tag in _git(top, "tag", "--list", "--points-at", "HEAD", "v*").splitlines() if tag]
    for repo in repos:
        count = _split_one(top, repo, into / repo.name, url, tags)
        tagged = f", tagged {' '.join(tags)}" if tags else ""
        report(f"split {repo.prefix} -> {into / repo.name} ({count} commits{tagged})")
    return url
