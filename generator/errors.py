"""Typed errors. They carry locations and hints; only the CLI turns them into text and exit codes."""

from __future__ import annotations

from collections.abc import Sequence

from generator.shipped.validate_schemas import Finding

__all__ = ["DefinitionError", "DriftError", "Finding", "GenerateError", "UsageError"]


class DefinitionError(Exception):
    """The definition is invalid: every problem found, not only the first (exit code 2)."""

    def __init__(self, problems: Sequence[Finding]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the definition")


class GenerateError(Exception):
    """Rendering or a validator of the generated output failed (exit code 1)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.details = list(details)
        super().__init__(message)


class DriftError(Exception):
    """``generate --check`` found files that differ from what the blueprints produce (exit code 1)."""

    def __init__(self, changes: Sequence[str]) -> None:
        self.changes = list(changes)
        super().__init__(f"{len(self.changes)} generated file(s) differ")


class UsageError(Exception):
    """The command cannot run as asked (no project here, output folders that overlap or hold user files):
    nothing was written (exit code 2)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.details = list(details)
        super().__init__(message)
