"""Tool pins as data: definition/pins.yaml (and pyproject.toml for Python packages) is the only place a
version of the generated repos is written; changing it changes every generated place, and the
monorepo's own workflows agree with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import pins as pins_module
from generator.cli import run
from tests.conftest import DOCS, REPOS, ROOT

PINS_PATH = ROOT / "definition" / "pins.yaml"
MONOREPO_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
USES = re.compile(r"uses:\s*(?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # (?P<tag>v[\d.]+)")


def _pins() -> dict[str, Any]:
    data = yaml.safe_load(PINS_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _texts(*trees: Path) -> Iterator[tuple[str, str]]:
    for tree in trees:
        for path in sorted(tree.rglob("*")):
            if path.is_file() and ".terraform" not in path.parts:
                yield path.relative_to(tree.parent).as_posix(), path.read_text(encoding="utf-8")


def _count(text: str, trees: tuple[Path, ...]) -> dict[str, int]:
    """Files of ``trees`` that contain ``text``, with the number of occurrences."""
    return {name: body.count(text) for name, body in _texts(*trees) if text in body}


def test_a_changed_pin_changes_every_place_it_appears(
    definition_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _pins()
    checkout = old["actions"]["checkout"]
    aws = old["providers"]["aws"]
    # (old text, new text): each old text must be gone everywhere, the new one where the old one was.
    changes = [
        (checkout["sha"], "ab" * 20),
        (f"@{checkout['sha']} # {checkout['tag']}", f"@{'ab' * 20} # v9.8.7"),
        (old["terraform"]["version"], "1.14.2"),
        (aws["version"], "6.7.8"),
        (aws["hashes"][0], "h1:" + "A" * 43 + "="),
        ("checkov==3.3.30", "checkov==9.9.9"),
        ("boto3==1.35.49", "boto3==9.9.8"),
    ]
    text = PINS_PATH.read_text(encoding="utf-8")
    for before, after in changes[:1] + changes[2:5]:
        assert text.count(before) == 1, before
        text = text.replace(before, after)
    text = text.replace(f"tag: {checkout['tag']}\n  setup-python", "tag: v9.8.7\n  setup-python")
    (definition_copy / "pins.yaml").write_text(text, encoding="utf-8")
    # Python package versions come from pyproject.toml: a copy with two bumped pins.
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        (ROOT / "pyproject.toml")
        .read_text(encoding="utf-8")
        .replace(changes[5][0], changes[5][1])
        .replace(changes[6][0], changes[6][1]),
        encoding="utf-8",
    )
    monkeypatch.setattr(pins_module, "PYPROJECT", pyproject)
    # ... and the relock that must follow them (python-lock.yaml, as `nox -s relock` would write it).
    lock = definition_copy / "python-lock.yaml"
    lock_text = lock.read_text(encoding="utf-8")
    for name, version, bumped in (("checkov", "3.3.30", "9.9.9"), ("boto3", "1.35.49", "9.9.8")):
        lock_text = lock_text.replace(f"{name}=={version}", f"{name}=={bumped}")
        lock_text = lock_text.replace(
            f"name: {name}\n      version: {version}", f"name: {name}\n      version: {bumped}"
        )
    lock.write_text(lock_text, encoding="utf-8")

    out = tmp_path / "out"
    code = run(
        ["-q", "generate", "--definition", str(definition_copy), "--output", str(out), "--docs", str(tmp_path / "docs")]
    )
    assert code == 0, capsys.readouterr().err
    committed = (REPOS / "2_1_bbws_dynamodb_schemas", REPOS / "2_1_bbws_s3_schemas", DOCS)
    regenerated = (out / "2_1_bbws_dynamodb_schemas", out / "2_1_bbws_s3_schemas", tmp_path / "docs")
    for before, after in changes:
        where = _count(before, committed)
        assert where, f"{before!r} appears nowhere in the committed output"
        assert _count(before, regenerated) == {}, f"{before!r} left behind"
        assert _count(after, regenerated) == where, after
    # Derived values follow: Terraform's required_version allows patches of the pinned minor only.
    versions = (out / "2_1_bbws_dynamodb_schemas" / "terraform" / "tenants" / "versions.tf").read_text("utf-8")
    assert 'required_version = "~> 1.14.0"' in versions
    assert 'version = "6.7.8"' in versions


def test_every_pin_of_the_pins_file_is_used() -> None:
    """No dead pin: each action key and each Python name shows up in the generated repos."""
    data = _pins()
    text = "\n".join(body for _, body in _texts(REPOS))
    for action in data["actions"].values():
        assert f"{action['action']}@{action['sha']} # {action['tag']}" in text, action
    pinned = pins_module.pyproject_pins()
    for group in ("requirements", "tools", "dev"):
        for name in data["python"][group]:
            assert pinned[name] in text, name


@pytest.mark.parametrize("workflow", MONOREPO_WORKFLOWS, ids=lambda p: p.name)
def test_monorepo_workflows_use_the_same_pins(workflow: Path) -> None:
    data = _pins()
    by_action = {a["action"]: a for a in data["actions"].values()}
    text = workflow.read_text(encoding="utf-8")
    for match in USES.finditer(text):
        pin = by_action.get(match["action"])
        assert pin is not None, f"{workflow.name}: {match['action']} is not in definition/pins.yaml"
        assert (match["sha"], match["tag"]) == (pin["sha"], pin["tag"]), f"{workflow.name}: {match['action']}"
    for version in re.findall(r"terraform_version:\s*\"?([\d.]+)", text):
        assert version == data["terraform"]["version"], workflow.name
    for version in re.findall(r"python-version:\s*\"?([\d.]+)", text):
        assert version == data["python"]["version"], workflow.name


@pytest.mark.parametrize(
    ("edit", "file", "expected"),
    [
        (
            lambda d: d["actions"]["checkout"].update(sha="08c6903"),
            "pins.yaml:",
            '/actions/checkout/sha: "08c6903" does not match',
        ),
        (
            lambda d: d["python"]["requirements"].append("requests"),
            "pins.yaml:",
            "/python/requirements/5: 'requests' is not pinned with == in pyproject.toml",
        ),
        (lambda d: d["terraform"].update(version="1.9.8"), "pins.yaml:", '/terraform/version: "1.9.8" does not match'),
        (lambda d: d["providers"]["aws"].update(hashes=[]), "pins.yaml:", "/providers/aws/hashes: 0 items"),
    ],
    ids=["short-sha", "python-name-not-pinned", "terraform-too-old", "no-hashes"],
)
def test_bad_pins_are_refused_with_file_line_and_pointer(
    definition_copy: Path, edit: Any, file: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _pins()
    edit(data)
    (definition_copy / "pins.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    assert run(["validate", "--definition", str(definition_copy)]) == 2
    err = capsys.readouterr().err
    assert re.search(re.escape(file) + r"\d+: " + re.escape(expected), err), err
    assert "how to fix:" in err and "Traceback" not in err


def test_missing_pins_file_and_moved_platform_keys_say_what_to_do(
    definition_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (definition_copy / "pins.yaml").unlink()
    platform = definition_copy / "platform.yaml"
    platform.write_text(platform.read_text(encoding="utf-8") + "terraform_version: 1.11.4\n", encoding="utf-8")
    assert run(["validate", "--definition", str(definition_copy)]) == 2
    err = capsys.readouterr().err
    assert "pins.yaml: the tool pins file is missing" in err
    assert "moved to pins.yaml (terraform.version): delete it here" in err


def test_relock_writes_the_pinned_providers_hashes_back_keeping_the_file(tmp_path: Path) -> None:
    from generator import relock
    from tests.support import tf

    mirror = tf.mirror_root()
    if mirror is None:
        pytest.skip("no Terraform provider mirror on this machine (relock would download the provider)")
    committed = PINS_PATH.read_text(encoding="utf-8")
    pins = tmp_path / "pins.yaml"
    stale = "h1:" + "A" * 43 + "="
    pins.write_text(committed.replace(_pins()["providers"]["aws"]["hashes"][0], stale), encoding="utf-8")
    assert relock.main(["--pins", str(pins), "--fs-mirror", str(mirror)]) == 0
    assert pins.read_text(encoding="utf-8") == committed  # the mirror's hash, comments and layout kept

    pins.write_text(committed.replace("version: 5.100.0", "version: 5.99.0"), encoding="utf-8")
    with pytest.raises(relock.RelockError, match="terraform providers lock failed"):
        relock.relock(pins, mirror)


def test_no_pyproject_is_a_clear_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(pins_module, "PYPROJECT", tmp_path / "pyproject.toml")

    def not_installed(name: str) -> None:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "requires", not_installed)
    assert run(["validate", "--definition", str(ROOT / "definition")]) == 2
    err = capsys.readouterr().err
    assert "cannot read the Python pins" in err and "pip install -e ." in err and "Traceback" not in err
