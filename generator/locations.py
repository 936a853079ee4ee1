"""Findings and the helpers that point into a file: a JSON pointer, or a line of a YAML/JSON document.

The generator owns these; the shipped scripts (``generator/shipped/``) keep their own copies because they
run standalone in the generated repos, and :mod:`generator.checks` converts what they report into these.
Cheap to import on purpose (no PyYAML until a line number is asked for): the CLI's fast paths and
:mod:`generator.errors` import this module.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import yaml

__all__ = ["Document", "Finding", "LineIndex", "pointer_of"]


@dataclass(frozen=True, order=True)
class Finding:
    """One defect in one file, located by JSON pointer and (where known, else 0) line, with how to fix it."""

    file: str
    line: int
    pointer: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.pointer}: {self.message}" if self.pointer else f"{where}: {self.message}"
        return f"{text}\n    how to fix: {self.hint}" if self.hint else text


def pointer_of(path: Iterable[Any]) -> str:
    """Turn a path of keys and indexes into an RFC 6901 JSON pointer.

    The empty path gives ``""``: RFC 6901's pointer to the whole document (``"/"`` would point at the
    member named ``""``), and a :class:`Finding` without a pointer prints none.
    """
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class LineIndex:
    """Maps JSON pointers of a JSON or YAML document to 1-based line numbers (JSON is read as YAML: it
    keeps marks)."""

    def __init__(self, text: str) -> None:
        self._text = text

    @property
    def text(self) -> str:
        """The document's text."""
        return self._text

    @functools.cached_property
    def _root(self) -> yaml.Node | None:
        """The composed document, built on first use: only files with findings need lines."""
        import yaml  # here, not at the top: this module stays cheap to import

        try:
            # libyaml's loader when present: the pure-Python one is several times slower.
            return yaml.compose(self._text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            # JSON that YAML cannot read (rare: tabs in odd places) only loses line numbers.
            return None

    def line(self, path: Sequence[Any], key: bool = False) -> int:
        """Line of the deepest node on ``path`` that exists (of its key, when ``key``), 0 when unknown."""
        import yaml  # loaded already by _root

        node = self._root
        key_node: yaml.Node | None = None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                match = [(k, v) for k, v in node.value if getattr(k, "value", None) == str(part)]
                if not match:
                    break
                key_node, node = match[0]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                key_node, node = None, node.value[part]
            else:
                break
        target = key_node if key and key_node is not None else node
        return target.start_mark.line + 1 if target is not None else 0


@dataclass(frozen=True)
class Document:
    """A parsed file with what is needed to point into it."""

    file: str
    data: Any
    lines: LineIndex

    def finding(self, path: Sequence[Any], message: str, hint: str = "", key: bool = False) -> Finding:
        """A finding at ``path`` inside this document."""
        return Finding(self.file, self.lines.line(path, key), pointer_of(path), message, hint)
