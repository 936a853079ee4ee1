"""A new template's entry, appended to ``catalog.yaml`` as text so the catalog's comments and layout stay.

The entry itself is written by the YAML dumper (subject and description double-quoted: they hold Mustache
braces, colons and quotes), indented like the entries before it, and read back before it is accepted.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from typing import Any

import yaml

from generator.checks import validate_templates as vt
from generator.onboard.errors import OnboardError

CATALOG_WIDTH = 120  # yamllint line-length of the monorepo
QUOTED = ("subject", "description")


class _Quoted(str):
    """A value the dumper writes double-quoted."""


class _Dumper(yaml.SafeDumper):
    """The safe dumper, with :class:`_Quoted` values double-quoted."""


def _quoted(dumper: yaml.SafeDumper, value: _Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(_Quoted, _quoted)


def _dump(item: Mapping[str, str], indent: str, width: int) -> str:
    text = yaml.dump([item], Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=width)
    return textwrap.indent(text, indent)


def entry_text(entry: Mapping[str, str], indent: str) -> str:
    """``entry`` as one item of the catalog's ``templates`` list, each line indented by ``indent``.

    The dumper folds a long value after the word that crosses its width, so the width it is given is
    narrowed until the lines fit yamllint's limit (a single word longer than the line cannot fit).
    """
    item = {name: _Quoted(value) if name in QUOTED else value for name, value in entry.items()}
    text = ""
    for width in range(CATALOG_WIDTH - len(indent), CATALOG_WIDTH // 2, -4):
        text = _dump(item, indent, width)
        if all(len(line) <= CATALOG_WIDTH for line in text.splitlines()):
            break
    return text


def append_entry(text: str, entry: Mapping[str, str]) -> str:
    """catalog.yaml with ``entry`` appended as text, so its comments and layout stay as they are."""
    indents = re.findall(r"^( *)- key:", text, flags=re.MULTILINE)
    indent = indents[-1] if indents else "  "
    head = text if text.endswith("\n") or not text else text + "\n"
    addition = entry_text(entry, indent)
    result = head + addition
    loaded: Any = yaml.safe_load(result)
    last = loaded.get("templates", [])[-1:] if isinstance(loaded, Mapping) else []
    if last == [dict(entry)]:
        return result
    raise OnboardError(
        f"{vt.CATALOG_FILE} does not end with its templates list, so the entry cannot be appended safely",
        ["add this entry at the end of templates: by hand, then run bbws-gen validate:", *addition.splitlines()],
    )
