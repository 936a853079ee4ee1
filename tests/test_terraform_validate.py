"""Every generated Terraform root initialises (provider from the local mirror) and validates."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPOS
from tests.support import tf
from tests.support.deploy import read_spec

ROOTS = sorted(
    p.parent for pattern in ("*/terraform/*/versions.tf", "*/bootstrap/versions.tf") for p in REPOS.glob(pattern)
)


def _repo(root: Path) -> Path:
    """The generated repo of a root: terraform/<component>/ or bootstrap/."""
    return root.parent if root.name == "bootstrap" else root.parents[1]


@pytest.fixture(scope="module")
def cli_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tf.cli_config(tmp_path_factory.mktemp("tf"))


def test_there_is_a_root_per_component() -> None:
    for repo in REPOS.iterdir():
        if (repo / ".copier-answers.yml").is_file() and (repo / "terraform").is_dir():
            spec = read_spec(repo)
            assert sorted(p.name for p in (repo / "terraform").iterdir()) == sorted(
                c["name"] for c in spec["components"]
            )


@pytest.mark.parametrize("root", ROOTS, ids=[f"{_repo(p).name}/{p.name}" for p in ROOTS])
def test_root_validates_and_lock_file_holds(root: Path, tmp_path: Path, cli_config: Path) -> None:
    copy = tmp_path / root.name
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(".terraform"))
    env = {"TF_CLI_CONFIG_FILE": str(cli_config)}
    tf.run(["init", "-backend=false", "-lockfile=readonly"], copy, env)
    result = tf.run(["validate"], copy, env)
    assert "Success" in result.stdout
    assert (copy / ".terraform.lock.hcl").read_bytes() == (root / ".terraform.lock.hcl").read_bytes()


def test_lock_files_pin_the_platform_provider_version() -> None:
    for root in ROOTS:
        spec = read_spec(_repo(root))
        lock = (root / ".terraform.lock.hcl").read_text()
        versions = re.findall(r'^\s*version\s*=\s*"([^"]+)"', lock, flags=re.M)
        assert versions == [spec["aws_provider_version"]], root
