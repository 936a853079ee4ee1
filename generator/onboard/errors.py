"""Typed errors of the questionnaire; :func:`generator.onboard.onboard` turns them into messages and exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerProblem:
    """One answer that breaks a rule, named by its key in the answers file (``gsis[1].partition_key``)."""

    key: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.key}: {self.message}"
        return f"{text}\n    how to fix: {self.hint}" if self.hint else text

    @property
    def section(self) -> str:
        """The top-level answer (``gsis`` for ``gsis[1].name``): the part of the questionnaire to redo."""
        return self.key.split(".", 1)[0].split("[", 1)[0]


class InvalidAnswers(Exception):
    """One or more answers break a rule of ``bbws-gen validate`` (exit code 2, nothing written)."""

    def __init__(self, problems: Sequence[AnswerProblem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} invalid answer(s)")


class OnboardError(Exception):
    """The questionnaire cannot run: unreadable answers file, invalid definition, no terminal (exit code 2)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        self.details = list(details)
        super().__init__(message)


class Cancelled(Exception):
    """The user chose to abort at the summary (exit code 130, like Ctrl-C; nothing written)."""
