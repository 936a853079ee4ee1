"""terraform fmt failures become a message naming the file, without terminal colour codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import terraform
from generator.errors import GenerateError


@pytest.mark.skipif(terraform.binary() is None, reason="terraform is not on PATH")
def test_a_file_terraform_cannot_parse_is_named(tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    (tree / "terraform" / "tenants").mkdir(parents=True)
    (tree / "terraform" / "tenants" / "main.tf").write_text('locals {\n  a = "${"\n}\n')
    with pytest.raises(GenerateError) as raised:
        terraform.unformatted_files(tree, ["."])
    assert "terraform/tenants/main.tf:2" in str(raised.value)
    assert not any("\x1b" in line for line in [str(raised.value), *raised.value.details])
