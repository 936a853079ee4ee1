"""Property tests of blueprints/shared/escape.jinja: definition text of any Unicode stays inert.

Each test renders the real blueprints (or the escaping macros inside a minimal file) with Copier's own
Jinja filters, then reads the result back with a real parser: terraform itself (``terraform console``,
many values per run), checkov's HCL parser (bc-python-hcl2, module hcl2) for the block structure,
PyYAML, and markdown-it (CommonMark + GFM tables). Rendering any text leaves the structure unchanged and
reads back as exactly the input (HCL normalizes strings to NFC; Markdown and comments are one line
without control or bidi characters).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import jinja2
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from generator.answers import dynamodb_spec, s3_spec
from generator.definition import load_definition
from generator.model import build_model
from tests.conftest import DEFINITION, ROOT
from tests.support import tf

# Any Unicode scalar value (surrogates cannot be written as UTF-8; the loader rejects them).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
# The payloads of the issue, always tried.
HOSTILE = [
    'x"\n}\nresource "aws_iam_user" "pwned" {\n  name = "pwned"\n}\n#',
    "${path.cwd} %{ if true }x%{ endif } $${kept} %%{kept} ${",
    "a\\b\\\\\\u0041 \b\f\v\x00\x1b[31m\x7f\x85\u2028\u2029\r\n\t",
    "\u202e\u2066evil\u2069\u200b\ufeff\u061c",
    "| x | y |\n# h\n<script>1</script> ``` `a` [l](javascript:1) &amp; *b* _c_ ~d~ \\",
    "- item",
    "1. item",
    "---",
    "e\u0301 \u212b \U0001f600",
    "'\"' ''",
]
BENIGN = "List tenants in a status"


def _env() -> jinja2.Environment:
    # What Copier builds (copier.yml _envops), with its default filter extension.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROOT)),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


ENV = _env()


@functools.cache
def _specs() -> tuple[dict[str, Any], dict[str, Any]]:
    model = build_model(load_definition(DEFINITION))
    return dynamodb_spec(model), s3_spec(model)


def _render(template: str, **context: Any) -> str:
    return ENV.get_template(template).render(**context)


def _macros(source: str, **context: Any) -> str:
    header = '{%- from "blueprints/shared/escape.jinja" import hcl, hcl_comment, yaml_scalar, md_text, md_code -%}\n'
    return ENV.from_string(header + source).render(**context)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _one_line(text: str) -> str:
    """What a comment or Markdown line keeps: breaks, controls and invisible formatting characters become
    spaces, whitespace runs one space."""
    unsafe = "[\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]"
    return re.sub(r"\s+", " ", re.sub(unsafe, " ", text)).strip()


# --- Terraform ----------------------------------------------------------------------------------------

TABLE_MAIN = (
    "blueprints/dynamodb/terraform/{% yield table from spec.tables %}{{ table.name }}{% endyield %}/main.tf.jinja"
)
BUCKET_MAIN = (
    "blueprints/s3/terraform/{% yield bucket from spec.buckets %}{{ bucket.purpose }}{% endyield %}/main.tf.jinja"
)


def _blocks(text: str) -> list[tuple[str, ...]]:
    from tests.test_bad_input_corpus import _blocks as blocks

    return blocks(text)


def _table_main(texts: list[str]) -> str:
    dynamodb, _ = _specs()
    table = json.loads(json.dumps(next(t for t in dynamodb["tables"] if t["name"] == "tenants")))
    for i, index in enumerate(table["global_indexes"]):
        index["access_pattern"] = texts[i % len(texts)]
    table["description"] = texts[0]
    return _render(TABLE_MAIN, table=table, spec=dynamodb)


def _bucket_main(text: str) -> str:
    _, s3 = _specs()
    bucket = {**s3["buckets"][0], "description": text}
    return _render(BUCKET_MAIN, bucket=bucket, spec=s3)


@functools.cache
def _baseline() -> tuple[tuple[str, list[tuple[str, ...]]], ...]:
    return tuple((text, _blocks(text)) for text in (_table_main([BENIGN]), _bucket_main(BENIGN)))


# The HCL parser takes ~0.3 s a file: few examples, the line count covers the rest cheaply.
@settings(max_examples=8, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=3))
@example(HOSTILE)
def test_text_in_terraform_comments_adds_no_block_and_no_line(texts: list[str]) -> None:
    (table, table_blocks), (bucket, bucket_blocks) = _baseline()
    for rendered, baseline, blocks in (
        (_table_main(texts), table, table_blocks),
        (_bucket_main(texts[-1]), bucket, bucket_blocks),
    ):
        assert rendered.count("\n") == baseline.count("\n")
        assert _blocks(rendered) == blocks


def _terraform_read_back(tmp: Path, expression: str) -> Any:
    result = subprocess.run(
        [tf.binary(), "console", "-var-file=env.tfvars"],
        input=f"base64encode(jsonencode({expression}))\n",
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin", "TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(base64.b64decode(result.stdout.strip().strip('"')))


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(texts=st.lists(TEXT, min_size=1, max_size=12))
@example(texts=HOSTILE)
def test_terraform_reads_every_string_back_as_written(texts: list[str], tmp_path_factory: Any) -> None:
    """Tag values through the real tfvars and variables.tf blueprints, lists through hcl(), all parsed
    and evaluated by terraform in one run."""
    tmp = tmp_path_factory.mktemp("tf")
    dynamodb, _ = _specs()
    env = {**dynamodb["environments"][0], "tags": {f"T{i:02d}": text for i, text in enumerate(texts)}}
    (tmp / "env.tfvars").write_text(_render("blueprints/shared/terraform/tfvars.jinja", env=env, spec=dynamodb))
    (tmp / "variables.tf").write_text(_render("blueprints/shared/terraform/variables.tf.jinja", spec=dynamodb))
    (tmp / "values.tf").write_text(
        _macros(
            "{% for t in texts %}# {{ hcl_comment(t) }}\n{% endfor %}locals {\n  values = {{ hcl(texts) }}\n}\n",
            texts=texts,
        )
    )
    tags, values = _terraform_read_back(tmp, "[var.tags, local.values]")
    assert tags == {f"T{i:02d}": _nfc(text) for i, text in enumerate(texts)}
    assert values == [_nfc(text) for text in texts]


# --- YAML ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(TEXT, TEXT)
@example(HOSTILE[0], HOSTILE[2])
@example("on", "null")
def test_workflow_values_read_back_as_written(name: str, command: str) -> None:
    dynamodb, _ = _specs()
    spec = {**dynamodb, "validate_commands": [{"name": name, "run": command}]}
    workflow = yaml.safe_load(_render("blueprints/dynamodb/.github/workflows/validate.yml.jinja", spec=spec))
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    assert {"name": name, "run": command} in [{k: s.get(k) for k in ("name", "run")} for s in steps]
    baseline = yaml.safe_load(_render("blueprints/dynamodb/.github/workflows/validate.yml.jinja", spec=dynamodb))
    assert workflow.keys() == baseline.keys() and workflow["jobs"].keys() == baseline["jobs"].keys()


# The loader refuses NEL, U+2028 and U+2029 in any definition text (safe_read.UNICODE_BREAKS): PyYAML's
# emitter would fold them into spaces here.
CATALOG_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x85\u2028\u2029"), max_size=60)


@settings(max_examples=60, deadline=None)
@given(CATALOG_TEXT, CATALOG_TEXT)
@example(HOSTILE[0], HOSTILE[4])
def test_catalog_values_read_back_as_written(subject: str, description: str) -> None:
    _, s3 = _specs()
    catalog = json.loads(json.dumps(s3["catalog"]))
    catalog["templates"][0].update(subject=subject, description=description)
    loaded = yaml.safe_load(_render("blueprints/s3/templates/catalog.yaml.jinja", spec={**s3, "catalog": catalog}))
    assert loaded == catalog


# --- Markdown -----------------------------------------------------------------------------------------

MARKDOWN = MarkdownIt("commonmark").enable("table")
PAGE = "| text | code |\n| --- | --- |\n| {{ md_text(a) }} | {{ md_code(b) }} |\n\n{{ md_text(a) }}\n"


def _shape_and_inline(text: str) -> tuple[list[str], list[list[tuple[str, str]]]]:
    tokens = MARKDOWN.parse(text)
    inline = [[(c.type, c.content) for c in t.children or []] for t in tokens if t.type == "inline"]
    return [t.type for t in tokens], inline


@settings(max_examples=150, deadline=None)
@given(TEXT, TEXT)
@example(HOSTILE[4], HOSTILE[4])
@example(HOSTILE[5], "`")
@example(HOSTILE[6], "``x` ")
@example(HOSTILE[7], "|")
@example(HOSTILE[3], HOSTILE[3])
def test_markdown_text_renders_as_its_characters(a: str, b: str) -> None:
    shape, inline = _shape_and_inline(_macros(PAGE, a=a, b=b))
    # An empty text leaves an empty cell and no paragraph, as an empty text would.
    baseline_shape, _ = _shape_and_inline(_macros(PAGE, a="x" if _one_line(a) else "", b="y"))
    assert shape == baseline_shape  # no heading, list, row, HTML block or break added
    cell_a, cell_b, *paragraph = inline[2:]
    for pieces in (cell_a, *paragraph):
        assert all(kind in ("text", "text_special") for kind, _ in pieces), pieces  # no emphasis, link, HTML
        assert "".join(content for _, content in pieces) == _one_line(a)
    expected_code = _one_line(b)
    if expected_code:
        assert cell_b == [("code_inline", expected_code)]
