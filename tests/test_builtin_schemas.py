"""Validation uses the JSON Schemas built into the package; definition/schema/ holds copies for editors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from generator.cli import run
from generator.definition.load import SCHEMA_NAMES, builtin_schema
from generator.shipped import validate_templates
from tests.conftest import DEFINITION, ROOT


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_the_editor_copies_are_the_built_in_schemas(name: str) -> None:
    assert json.loads((DEFINITION / "schema" / name).read_text()) == builtin_schema(name), (
        f"definition/schema/{name} differs: copy generator/schemas/{name} over it"
    )
    assert (ROOT / "generator" / "schemas" / name).is_file()


def test_the_catalog_schema_is_the_one_the_template_validator_ships() -> None:
    assert builtin_schema("catalog.schema.json") == validate_templates.CATALOG_SCHEMA


def test_a_loosened_editor_copy_loosens_nothing_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    definition = tmp_path / "definition"
    shutil.copytree(DEFINITION, definition)
    (definition / "schema" / "platform.schema.json").write_text("{}")
    assert run(["validate", "--definition", str(definition)]) == 0
    err = capsys.readouterr().err
    assert f"warning: {definition}/schema/platform.schema.json differs from the schema built into bbws-gen" in err

    text = (definition / "platform.yaml").read_text()
    (definition / "platform.yaml").write_text(text.replace("dr_region: eu-west-1", "dr_region: anywhere"))
    assert run(["validate", "--definition", str(definition)]) == 2
    assert '/dr_region: "anywhere" does not match the pattern' in capsys.readouterr().err
