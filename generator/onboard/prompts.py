"""The terminal side of the questionnaire: questionary prompts, each validated as it is answered; the only
onboarding module that talks to the terminal (questionary and prompt_toolkit load when the first prompt is
shown, not for every command).

Every prompt takes a ``check`` that returns None or the rule the answer breaks; questionary shows that
message under the prompt and keeps the answer editable, so the user gets a second chance without
retyping. Ctrl-C raises KeyboardInterrupt and Ctrl-D (on an empty line) EOFError: the caller aborts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import ModuleType

Check = Callable[[str], str | None]


def has_terminal() -> bool:
    """True when standard input and output are a terminal, where questions can be asked."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _questionary() -> ModuleType:
    import questionary  # about 0.2 s with prompt_toolkit: only when a question is asked

    return questionary


class Prompter:
    """Asks one question at a time on the terminal; the only place that talks to questionary."""

    def say(self, text: str = "") -> None:
        """Show a line of text between questions."""
        print(text, flush=True)

    def text(self, message: str, *, default: str = "", check: Check | None = None, instruction: str = "") -> str:
        """A free-text answer, stripped, that passes ``check``."""

        def validate(value: str) -> bool | str:
            if check is None:
                return True
            problem = check(value.strip())
            return True if problem is None else problem

        answer: Any = (
            _questionary()
            .text(message, default=default, validate=validate, instruction=instruction or None)
            .unsafe_ask()
        )
        return str(answer).strip()

    def choose(self, message: str, choices: Sequence[tuple[str, str]], default: str) -> str:
        """One of ``choices`` (value, description), picked with the arrow keys or the shown shortcut."""
        questionary = _questionary()
        options = [
            questionary.Choice(value, value=value, description=description or None) for value, description in choices
        ]
        answer: Any = questionary.select(
            message,
            choices=options,
            default=default if any(value == default for value, _ in choices) else None,
            use_shortcuts=len(options) <= 36,
        ).unsafe_ask()
        return str(answer)

    def confirm(self, message: str, default: bool) -> bool:
        """A yes/no answer: y or n, then Enter (Enter alone takes the default).

        Not questionary's auto-enter: there `y` answers at once and the Enter typed after it, out of habit,
        answers the next question too.
        """
        answer: Any = _questionary().confirm(message, default=default, auto_enter=False).unsafe_ask()
        return bool(answer)
