"""Answers files (YAML or JSON) and typed reading of answers, shared by both ways of answering.

An interactive run fills the same structure an answers file holds, and both go through the same
readers and rules, so ``--answers`` and the prompts accept and reject exactly the same answers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from generator.onboard.errors import AnswerProblem, OnboardError

Check = Callable[[str], str | None]


def load_answers(path: Path) -> Mapping[str, Any]:
    """Read an answers file; YAML is a superset of JSON, so one parser reads both."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OnboardError(f"{path}: cannot read the answers file: {exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise OnboardError(f"{path}{where}: the answers file is not valid YAML or JSON: {problem}") from exc
    if not isinstance(data, Mapping):
        raise OnboardError(
            f"{path}: the answers file must be a mapping of answers (name: ..., ...), not {type(data).__name__}"
        )
    return data


def split_names(value: str) -> list[str]:
    """``"a, b,c"`` -> ``["a", "b", "c"]`` (how lists are typed at a prompt)."""
    return [part.strip() for part in value.split(",") if part.strip()]


class Reader:
    """Typed access to one mapping of answers; each problem is recorded under its answers key."""

    def __init__(self, data: Mapping[str, Any], prefix: str, problems: list[AnswerProblem]) -> None:
        self.data = data
        self.prefix = prefix
        self.problems = problems
        self._seen: list[str] = []
        self._children: list[Reader] = []

    def key(self, name: str) -> str:
        """The answers key of ``name`` in this mapping."""
        return f"{self.prefix}.{name}" if self.prefix else name

    def problem(self, name: str, message: str, hint: str = "") -> None:
        """Record a problem with answer ``name`` of this mapping."""
        self.problems.append(AnswerProblem(self.key(name), message, hint))

    def raw(self, name: str) -> Any:
        """The answer as written (None when absent)."""
        if name not in self._seen:
            self._seen.append(name)
        return self.data.get(name)

    def given(self, name: str) -> bool:
        """Whether the answers name ``name`` at all (even as null)."""
        self.raw(name)
        return name in self.data

    def text(
        self,
        name: str,
        *,
        default: str | None = None,
        required: bool = False,
        check: Check | None = None,
        what: str = "",
    ) -> str | None:
        """A text answer, stripped; None (and a problem) when it is missing but required, or breaks ``check``."""
        value = self.raw(name)
        if value is None:
            if required:
                self.problem(name, f"is required but missing{': ' + what if what else ''}", "add it to the answers")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.problem(name, f"must be text, not {type(value).__name__}", "write a single value")
            return None
        result = str(value).strip()
        if check is not None:
            message = check(result)
            if message is not None:
                self.problem(name, message)
                return None
        return result

    def choice(self, name: str, choices: Sequence[str], default: str | None, hint: str = "") -> str | None:
        """One of ``choices`` (matched without regard to case)."""
        value = self.text(name, default=default, required=default is None)
        if value is None:
            return None
        for choice in choices:
            if value.casefold() == choice.casefold():
                return choice
        self.problem(name, f"{value!r} is not allowed (allowed: {', '.join(choices)})", hint)
        return None

    def flag(self, name: str, default: bool) -> bool:
        """A yes/no answer."""
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.problem(name, f"must be true or false, not {value!r}")
            return default
        return value

    def names(self, name: str) -> list[str] | None:
        """A list of names: a YAML list, or one comma-separated string."""
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, str):
            return split_names(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v.strip() for v in value]
        self.problem(name, "must be a list of names (or one comma-separated string)")
        return None

    def items(self, name: str) -> list[Reader]:
        """A list of mappings (indexes, attributes, variables), each read by its own Reader."""
        value = self.raw(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(name, f"must be a list, not {type(value).__name__}", f"write {name}: [] or a YAML list")
            return []
        readers: list[Reader] = []
        for i, item in enumerate(value):
            if not isinstance(item, Mapping):
                self.problems.append(AnswerProblem(f"{self.key(name)}[{i}]", "must be a mapping (name: ..., ...)"))
                continue
            reader = Reader(item, f"{self.key(name)}[{i}]", self.problems)
            self._children.append(reader)
            readers.append(reader)
        return readers

    def child(self, name: str, value: Mapping[str, Any]) -> Reader:
        """A Reader for a nested mapping answer (``partition_key: {name: ..., type: ...}``)."""
        reader = Reader(value, self.key(name), self.problems)
        self._children.append(reader)
        return reader

    def finish(self) -> None:
        """Report answers no question asked for (misspelt keys), here and in nested mappings."""
        for name in self.data:
            if name in self._seen:
                continue
            near = difflib.get_close_matches(str(name), self._seen, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}?" if near else "allowed here: " + ", ".join(self._seen)
            self.problem(str(name), f"unknown answer {str(name)!r}", hint)
        for reader in self._children:
            reader.finish()
