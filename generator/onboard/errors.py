"""Typed errors of onboarding. They are :class:`~generator.errors.BbwsGenError` subclasses: their class says
the exit code, and the CLI turns them into messages (message, then one line per detail)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from generator.errors import EXIT_ABORTED, EXIT_INVALID, BbwsGenError


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


class InvalidAnswers(BbwsGenError):
    """One or more answers break a rule of ``bbws-gen validate`` (exit code 2, nothing written).

    ``source`` names where the answers came from (the answers file, or "answers" for the prompts); each
    detail is one problem prefixed with it, as an editor's problem list shows them.
    """

    exit_code = EXIT_INVALID

    def __init__(self, problems: Sequence[AnswerProblem], source: str = "answers") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__(
            f"{len(self.problems)} invalid answer(s) in {source}; nothing was written",
            [f"{source}: {problem}" for problem in self.problems],
        )

    def named(self, source: str) -> InvalidAnswers:
        """The same problems, said of ``source`` (the answers file's path as the user typed it)."""
        return InvalidAnswers(self.problems, source)


class OnboardError(BbwsGenError):
    """Onboarding cannot run: unreadable answers file, no terminal, input ended (exit code 2)."""

    exit_code = EXIT_INVALID


class Cancelled(BbwsGenError):
    """The user aborted: Ctrl-C, or "Abort" at the summary (exit code 130, like Ctrl-C)."""

    exit_code = EXIT_ABORTED

    def __init__(self, message: str = "aborted; nothing was written", details: Sequence[str] = ()) -> None:
        super().__init__(message, details)
