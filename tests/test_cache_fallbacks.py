"""The command line around the caches (issue 22): a cache folder that cannot be used costs one warning line
and nothing else; Ctrl-C is one line and exit 130; ``-q`` prints the summary only; another definition's
docs never default into the project's ``docs/``; an ASCII locale renders as any other.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cli, faults
from generator.render import cache_paths
from tests.conftest import DEFINITION, DOCS, REPOS, ROOT


def _check_committed(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = cli.run(["--project", str(ROOT), "generate", "--check"])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("where", ["under a file", "no home", "proc"])
def test_a_cache_folder_that_cannot_be_used_is_one_warning_line(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Never a traceback, never exit 1 for a cache (issue 22, defect 6): CI would read that as drift."""
    if where == "under a file":
        (tmp_path / "file").write_text("")
        monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "file" / "cache"))
    elif where == "no home":  # as for the `nobody` user (HOME=/nonexistent; root could create that one)
        (tmp_path / "home").write_text("")
        monkeypatch.delenv(cache_paths.CACHE_ENV, raising=False)
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
    else:
        monkeypatch.setenv(cache_paths.CACHE_ENV, "/proc/bbws-gen-cache")
    monkeypatch.setattr(cache_paths, "_UNUSABLE", set())
    code, err = _check_committed(capsys)
    assert code == 0, err
    warnings = [line for line in err if "warning" in line]
    assert len(warnings) == 1 and "cannot be used" in warnings[0] and "running without caches" in warnings[0], err
    assert not any("Traceback" in line for line in err)


def test_ctrl_c_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cache_paths.CACHE_ENV, "off")
    original = faults.point

    def interrupt(step: str) -> None:
        if step == "generate:rendered":
            raise KeyboardInterrupt
        original(step)

    monkeypatch.setattr(faults, "point", interrupt)
    out = tmp_path / "out"
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "bbws-gen",
            "-q",
            "--project",
            str(ROOT),
            "generate",
            "--output",
            str(out / "repos"),
            "--docs",
            str(out / "docs"),
        ],
    )
    assert cli.main() == 130
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "cancelled" in err[0], err
    assert not (out / "repos" / "2_1_bbws_s3_schemas").exists(), "nothing was swapped in"


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    for name in ("copier.yml", "pyproject.toml", "definition", "blueprints"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    shutil.copytree(DOCS, project / "docs")
    shutil.copytree(REPOS, project / "repos")
    return project


def test_quiet_prints_the_summary_only_and_another_definition_never_writes_the_projects_docs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(cache_paths.CACHE_ENV, str(tmp_path / "cache"))
    project = _project(tmp_path)
    other = tmp_path / "other" / "definition"
    shutil.copytree(DEFINITION, other)
    (other / "tables" / "campaigns.json").unlink()
    before = sorted((p.relative_to(project), p.read_bytes()) for p in (project / "docs").rglob("*") if p.is_file())
    elsewhere = tmp_path / "elsewhere"
    argv = [
        "-q",
        "--project",
        str(project),
        "generate",
        "--definition",
        str(other),
        "--output",
        str(elsewhere / "repos"),
    ]
    assert cli.run(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("generated into"), out
    assert (elsewhere / "docs" / "README.md").is_file(), "the docs default beside the output"
    after = sorted((p.relative_to(project), p.read_bytes()) for p in (project / "docs").rglob("*") if p.is_file())
    assert after == before, "the project's docs/ were rewritten with another definition's content"
    refused = ["--project", str(project), "generate", "--definition", str(other), "--output", str(project / "repos2")]
    assert cli.run(refused) == 2, "docs beside that output would be the project's own"
    assert not (project / "repos2").exists()


def test_an_ascii_locale_renders_as_any_other(tmp_path: Path) -> None:
    """terraform writes UTF-8 whatever the locale (its warnings are framed with box-drawing characters, as for
    a CLI configuration file that does not exist); under LC_ALL=C the run must not crash decoding them."""
    environment = {
        **os.environ,
        "LC_ALL": "C",
        "LANG": "C",
        "PYTHONUTF8": "0",
        cache_paths.CACHE_ENV: "off",
        "TF_CLI_CONFIG_FILE": str(tmp_path / "missing.tfrc"),
    }
    environment.pop("PYTHONIOENCODING", None)
    result = subprocess.run(
        [sys.executable, "-m", "generator", "-q", "--project", str(ROOT), "generate", "--check"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in result.stderr
