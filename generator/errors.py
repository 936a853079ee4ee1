"""Typed errors. They carry locations and hints; only the CLI turns them into text and exit codes.

Every error the library raises on purpose is a :class:`BbwsGenError`; its class says the exit code the
CLI returns for it, so no other module decides exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from generator.locations import Finding

__all__ = [
    "EXIT_ABORTED",
    "EXIT_DEFECT",
    "EXIT_INVALID",
    "EXIT_OK",
    "BbwsGenError",
    "DefinitionError",
    "DriftError",
    "Finding",
    "GenerateError",
    "UsageError",
]

# 0: done; 1: the tool ran and found a defect (drift, a failed render, a conflict); 2: bad input or usage,
# nothing written; 130: the user aborted (as Ctrl-C does).
EXIT_OK, EXIT_DEFECT, EXIT_INVALID, EXIT_ABORTED = 0, 1, 2, 130


class BbwsGenError(Exception):
    """The root of every error bbws-gen raises on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code: ClassVar[int] = EXIT_DEFECT

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.details = list(details)
        super().__init__(message)


class DefinitionError(BbwsGenError):
    """The definition is invalid: every problem found, not only the first (exit code 2)."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[Finding]) -> None:
        self.problems = sorted(problems)
        super().__init__(f"{len(self.problems)} problem(s) in the definition")


class GenerateError(BbwsGenError):
    """Rendering or a validator of the generated output failed (exit code 1)."""


class DriftError(BbwsGenError):
    """``generate --check`` found files that differ from what the blueprints produce (exit code 1)."""

    def __init__(self, changes: Sequence[str]) -> None:
        self.changes = list(changes)
        super().__init__(f"{len(self.changes)} generated file(s) differ")


class UsageError(BbwsGenError):
    """The command cannot run as asked (no project here, output folders that overlap or hold user files):
    nothing was written (exit code 2)."""

    exit_code = EXIT_INVALID
