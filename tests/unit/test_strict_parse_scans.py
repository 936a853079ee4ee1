"""The fast scans of the definition loader (bracket depth of JSON, odd characters in strings) answer exactly
as the plain character-by-character loops they replace, kept here as the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.definition import safe_read
from generator.definition.strict_parse import _depth_of
from generator.locations import Document, LineIndex


def _reference_depth(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


# Quotes, escapes and brackets in every order, with other characters between them, unbalanced and cut
# off anywhere (a text ending in a backslash or inside a string included).
JSONISH = st.lists(st.sampled_from(['"', "\\", "[", "]", "{", "}", "a", "n", ":", ",", " ", "\n", "é"]), max_size=60)


@settings(max_examples=1000, deadline=None)
@given(JSONISH.map("".join))
def test_depth_of_matches_the_character_loop(text: str) -> None:
    assert _depth_of(text) == _reference_depth(text)


def test_depth_of_real_definition_files() -> None:
    root = Path(__file__).resolve().parents[2] / "definition"
    for path in sorted(root.rglob("*.json")):
        text = path.read_text(encoding="utf-8")
        assert _depth_of(text) == _reference_depth(text) > 0, path


def _reference_problems(text: str) -> tuple[bool, list[str]]:
    return any("\ud800" <= c <= "\udfff" for c in text), sorted({c for c in text if c in safe_read.UNICODE_BREAKS})


ODD = st.text(alphabet=st.sampled_from(["a", " ", "\x85", "\u2028", "\u2029", "\ud800", "\udbff", "\udfff", "\ue000"]))


@settings(max_examples=1000, deadline=None)
@given(ODD)
def test_string_checks_find_what_the_character_loops_find(text: str) -> None:
    doc = Document("f.yaml", {"k": text}, LineIndex("k: x\n"))
    found = safe_read.text_problems(doc, yaml_breaks=True)
    surrogate, breaks = _reference_problems(text)
    messages: list[Any] = [f.message for f in found]
    if surrogate:
        assert messages == ["holds an unpaired surrogate (\\ud800-\\udfff): not valid Unicode"]
    elif breaks:
        names = ", ".join(f"U+{ord(c):04X}" for c in breaks)
        assert messages == [f"holds {names}, which YAML reads as a line break"]
    else:
        assert messages == []
