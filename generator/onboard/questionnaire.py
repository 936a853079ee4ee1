"""The interactive questionnaire: sections of questions that fill the same answers an answers file holds,
one checked answer at a time, then a review.

After the last question the answers go through the same build and checks as ``--answers``; if the whole
table or template still breaks a rule (two indexes with the same keys, say), the findings are shown and
the user picks the part to answer again (previous answers are the defaults), then confirms a summary.
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from generator.onboard.errors import AnswerProblem, Cancelled, InvalidAnswers
from generator.onboard.prompts import Prompter

Built = TypeVar("Built")
WRITE, CHANGE, SHOW, ABORT = "Write the files", "Change an answer", "Show the files", "Abort: write nothing"


class Questionnaire(Generic[Built]):
    """Sections of questions, then review: fix what the whole-file checks find, confirm, or abort."""

    sections: ClassVar[Sequence[tuple[str, str]]] = ()
    section_of: ClassVar[Mapping[str, str]] = {}

    def __init__(self, prompter: Prompter) -> None:
        self.p = prompter
        self.answers: dict[str, Any] = {}
        self.prev: dict[str, Any] = {}

    def ask(self, section: str) -> None:
        """Ask the questions of one section."""
        handler: Callable[[], None] = getattr(self, f"ask_{section}")
        handler()

    def redo(self, section: str) -> None:
        """Ask a section again, with the previous answers as defaults."""
        self.prev = copy.deepcopy(self.answers)
        self.ask(section)

    def build(self) -> Built:
        """Build and check the answers (raises InvalidAnswers)."""
        raise NotImplementedError

    def summary(self, built: Built) -> str:
        """What will be written, in a few lines."""
        raise NotImplementedError

    def files(self, built: Built) -> Mapping[str, str]:
        """The files (relative path -> text) for "Show the files"."""
        raise NotImplementedError

    def target(self, built: Built) -> str:
        """What the write choice writes, for its label."""
        raise NotImplementedError

    def pick_section(self, default: str) -> str:
        """Which part to answer again."""
        choices = [(key, title) for key, title in self.sections]
        return self.p.choose("Which answers do you want to change?", choices, default)

    def run(self) -> Built:
        """Every section, then the review loop; returns what to write, or raises Cancelled."""
        for section, _ in self.sections:
            self.ask(section)
        while True:
            try:
                built = self.build()
            except InvalidAnswers as error:
                self.show_problems(error.problems)
                self.redo(self.pick_section(self.section_of.get(error.problems[0].section, self.sections[0][0])))
                continue
            self.p.say("")
            self.p.say(self.summary(built))
            action = self.p.choose(
                "Write it?",
                [(WRITE, self.target(built)), (CHANGE, ""), (SHOW, ""), (ABORT, "")],
                WRITE,
            )
            if action == WRITE:
                return built
            if action == ABORT:
                raise Cancelled()
            if action == SHOW:
                for rel, text in self.files(built).items():
                    self.p.say(f"----- {rel}")
                    self.p.say(text.rstrip("\n"))
                continue
            self.redo(self.pick_section(self.sections[0][0]))

    def show_problems(self, problems: Sequence[AnswerProblem]) -> None:
        """The rules the answers break, as `bbws-gen validate` words them."""
        self.p.say("")
        self.p.say("These answers break a rule of `bbws-gen validate`; nothing was written:")
        for problem in problems:
            self.p.say(textwrap.indent(str(problem), "  "))
