"""Parsing YAML and JSON text so that hostile input cannot crash, hang or surprise the loader.

- YAML: no anchors or aliases (billion laughs, recursive aliases), no tags beyond the standard scalars,
  no timestamps, binary, sets or merge keys, string keys only, no duplicate keys, bounded nesting;
- JSON: no duplicate keys, no NaN/Infinity, no integer longer than :data:`MAX_INT_DIGITS` digits,
  bounded nesting.

Each refusal is an :class:`UnsafeInput` with the line (or a token to find it) and how to fix it;
:mod:`generator.definition.safe_read` turns it into a finding.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from generator.errors import EXIT_INVALID, BbwsGenError

MAX_DEPTH = 32  # nesting of mappings and lists in one document (table files use 5)
MAX_INT_DIGITS = 20  # beyond any count, size or day number a definition holds


class UnsafeInput(BbwsGenError):
    """One problem that stops a document from being read; carries its line (or a token to find it) and hint.

    The loader turns it into a :class:`Finding` of a :class:`~generator.errors.DefinitionError`; should one
    escape, it is bad input (exit code 2).
    """

    exit_code = EXIT_INVALID

    def __init__(self, message: str, hint: str, line: int = 0, token: str = "") -> None:
        super().__init__(message)
        self.message, self.hint, self.line, self.token = message, hint, line, token


# --- YAML -------------------------------------------------------------------------------------------

_STANDARD_TAGS = frozenset(
    "tag:yaml.org,2002:" + name for name in ("str", "int", "float", "bool", "null", "seq", "map")
)


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader without the parts that hang, crash or surprise on hostile input."""

    _depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ConstructorError(
                None,
                None,
                "anchors and aliases (&name, *name) are not allowed",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ConstructorError(None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in _STANDARD_TAGS:
            problem = {
                "tag:yaml.org,2002:timestamp": f"YAML reads {node.value!r} as a date: quote it to keep it text",
                "tag:yaml.org,2002:binary": "binary data (!!binary) is not allowed: write text",
                "tag:yaml.org,2002:merge": "merge keys (<<) are not allowed: write the keys out",
            }.get(node.tag, f"the tag {node.tag} is not allowed: write a plain value")
            raise ConstructorError(None, None, problem, node.start_mark)
        return super().construct_object(node, deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                raise ConstructorError(
                    None,
                    None,
                    f"the key {key_node.value!r} is read as {type(key).__name__}, not as text: quote it",
                    key_node.start_mark,
                )
            if key in mapping:
                raise ConstructorError(
                    None, None, f"duplicate key {key!r} (the last one would win)", key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def construct_yaml_int(self, node: ScalarNode) -> int:
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise ConstructorError(None, None, f"an integer of {digits} digits is too large", node.start_mark)
        return super().construct_yaml_int(node)

    def construct_yaml_float(self, node: ScalarNode) -> float:
        value: float = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise ConstructorError(None, None, f"{node.value!r} is not a finite number", node.start_mark)
        return value


StrictLoader.add_constructor("tag:yaml.org,2002:int", StrictLoader.construct_yaml_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", StrictLoader.construct_yaml_float)


def parse_yaml(text: str) -> Any:
    """Parse one YAML document with :class:`StrictLoader`; :class:`UnsafeInput` says what is wrong."""
    loader = StrictLoader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        where = f" at line {line} column {mark.column + 1}" if mark else ""
        problem = exc.problem or str(exc)
        hint = "fix the YAML syntax" if not isinstance(exc, ConstructorError) else _yaml_hint(problem)
        raise UnsafeInput(f"invalid YAML{where}: {problem}", hint, line) from exc
    except yaml.YAMLError as exc:
        raise UnsafeInput(f"invalid YAML: {exc}", "fix the YAML syntax") from exc
    finally:
        loader.dispose()


def _yaml_hint(problem: str) -> str:
    if "anchors" in problem:
        return "write each value out in full"
    if "nested" in problem:
        return "flatten the document"
    if "duplicate" in problem:
        return "keep one of the two keys"
    if "merge" in problem or "binary" in problem or "the tag" in problem:
        return "plain YAML only: strings, numbers, true/false, lists and mappings"
    if "integer" in problem or "finite" in problem:
        return "use a plain number within range"
    return "quote the value, e.g. '2024-01-01' or 'on'"


# --- JSON -------------------------------------------------------------------------------------------


class _Duplicate(Exception):
    """Private control flow, not an error of the library: raised by the ``object_pairs_hook`` to leave
    ``json.loads`` at a repeated key, and caught at once in :func:`parse_json`, which raises
    :class:`UnsafeInput` with the key's line instead."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise _Duplicate(key)
        mapping[key] = value
    return mapping


def _constant(name: str) -> Any:
    raise UnsafeInput(f"{name} is not a number JSON allows", "use a finite number", token=name)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise UnsafeInput(
            f"an integer of {len(text.lstrip('-'))} digits is too large", "use a plain number", token=text
        )
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise UnsafeInput(f"{text} is out of range for a number", "use a plain number", token=text)
    return value


# A string as the depth check reads one: from a quote to the next quote that no backslash escapes, or to the
# end of the text when none does. What is left once strings are cut out and only brackets kept is short.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def _depth_of(text: str) -> int:
    """Deepest bracket nesting outside strings (checked before parsing, so nothing recurses on it)."""
    depth = deepest = 0
    for char in _NOT_BRACKETS.sub("", _STRING.sub("", text)):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _line_of_key(text: str, key: str) -> int:
    needle = json.dumps(key) + ":"
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line.replace('": ', '":')]
    return lines[1] if len(lines) > 1 else (lines[0] if lines else 0)


def parse_json(text: str) -> Any:
    """Parse JSON strictly; :class:`UnsafeInput` says what is wrong and where."""
    if _depth_of(text) > MAX_DEPTH:
        raise UnsafeInput(f"nested deeper than {MAX_DEPTH} levels", "flatten the document")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_int=_int, parse_float=_float)
    except UnsafeInput as exc:
        if exc.token and not exc.line:
            exc.line = text[: text.find(exc.token)].count("\n") + 1
        raise
    except _Duplicate as exc:
        key = str(exc.args[0])
        raise UnsafeInput(
            f"duplicate key {key!r} (the last one would win)", "keep one of the two keys", _line_of_key(text, key)
        ) from exc
    except json.JSONDecodeError as exc:
        raise UnsafeInput(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}",
            "fix the syntax (a missing comma or quote, or a trailing comma, is the usual cause)",
            exc.lineno,
        ) from exc
