"""A small reader for the block structure of Terraform files: blocks, labels and literal attribute values.

``bbws-gen lint --terraform`` needs only the ``aws_dynamodb_table`` resources' ``attribute`` and
``global_secondary_index`` blocks, with literal names and keys. Terraform has no command that prints a
configuration's blocks without ``init`` and a plan (which need providers, variables and credentials), and
python-hcl2 installs the module ``hcl2`` that checkov's fork bc-python-hcl2 also installs, so the two would
overwrite each other in the one environment the nox sessions share. HCL's lexical rules (comments, strings
with ``${...}`` templates, heredocs, brackets that continue a line) are few; this module follows them and
leaves every expression it cannot read literally as :class:`Expression` text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.errors import EXIT_INVALID, BbwsGenError

PUNCTUATION = "{}[]()=,"
_HEREDOC = re.compile(r"<<-?[A-Za-z_]")
OPENERS, CLOSERS = "([{", ")]}"


class HclError(BbwsGenError):
    """The file is not HCL this reader understands (carries file and line; exit code 2)."""

    exit_code = EXIT_INVALID

    def __init__(self, file: str, line: int, message: str) -> None:
        self.file, self.line = file, line
        super().__init__(f"{file}:{line}: {message}")


@dataclass(frozen=True)
class Expression:
    """An attribute value that is not a literal string or list of strings (a reference, a call, a template)."""

    text: str


Value = str | tuple[str, ...] | Expression


@dataclass
class Block:
    """One block: ``type "label" ... { attributes and nested blocks }``."""

    type: str
    labels: tuple[str, ...]
    file: str
    line: int
    attributes: dict[str, Value] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def children(self, block_type: str) -> list[Block]:
        """The nested blocks of one type, in file order."""
        return [b for b in self.blocks if b.type == block_type]


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "string", "punct", "newline"
    text: str
    line: int
    literal: str | None = None  # a string's value when it has no ${...} / %{...} template


class _Lexer:
    def __init__(self, text: str, file: str) -> None:
        self.text, self.file, self.pos, self.line = text, file, 0, 1
        self.tokens: list[_Token] = []

    def error(self, message: str) -> HclError:
        return HclError(self.file, self.line, message)

    def run(self) -> list[_Token]:
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char == "\n":
                self.tokens.append(_Token("newline", "\n", self.line))
                self.line += 1
                self.pos += 1
            elif char in " \t\r":
                self.pos += 1
            elif char == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("a /* comment is never closed")
                self.line += text.count("\n", self.pos, end)
                self.pos = end + 2
            elif char == '"':
                self.string()
            elif _HEREDOC.match(text, self.pos):  # HCL has no << operator: this is always a heredoc
                self.heredoc()
            elif char in PUNCTUATION:
                self.tokens.append(_Token("punct", char, self.line))
                self.pos += 1
            else:
                start = self.pos
                while self.pos < len(text) and text[self.pos] not in PUNCTUATION + ' \t\r\n"#':
                    if text.startswith("//", self.pos) or text.startswith("/*", self.pos):
                        break
                    self.pos += 1
                self.tokens.append(_Token("word", text[start : self.pos], self.line))
        return self.tokens

    def string(self) -> None:
        """A quoted string; a template inside it may hold nested strings and braces."""
        text, start, line = self.text, self.pos, self.line
        self.pos += 1
        value: list[str] = []
        templated = False
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise HclError(self.file, line, "a string is never closed on its line")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                break
            if char == "\\" and self.pos + 1 < len(text):
                escaped = text[self.pos + 1]
                value.append({"n": "\n", "t": "\t", "r": "\r"}.get(escaped, escaped))
                self.pos += 2
            elif text.startswith("$${", self.pos) or text.startswith("%%{", self.pos):
                value.append(text[self.pos + 1 : self.pos + 3])
                self.pos += 3
            elif text.startswith("${", self.pos) or text.startswith("%{", self.pos):
                templated = True
                self.template()
            else:
                value.append(char)
                self.pos += 1
        raw = text[start : self.pos]
        self.tokens.append(_Token("string", raw, line, None if templated else "".join(value)))

    def template(self) -> None:
        """Skip ``${ ... }`` up to its closing brace (strings inside may hold braces)."""
        depth, self.pos = 0, self.pos + 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                before = len(self.tokens)
                self.string()
                del self.tokens[before:]
                continue
            if char == "\n":
                self.line += 1
            depth += {"{": 1, "}": -1}.get(char, 0)
            self.pos += 1
            if depth == 0:
                return
        raise self.error("a ${ template is never closed")

    def heredoc(self) -> None:
        """``<<EOF`` / ``<<-EOF`` up to the line that holds only the marker: one expression token."""
        text, line = self.text, self.line
        end_of_line = text.find("\n", self.pos)
        opener = text[self.pos : end_of_line if end_of_line >= 0 else len(text)]
        marker = opener.lstrip("<-").strip()
        if not marker or end_of_line < 0:
            raise self.error("a heredoc needs a marker and a body")
        pos = end_of_line + 1
        while pos < len(text):
            eol = text.find("\n", pos)
            eol = len(text) if eol < 0 else eol
            self.line += 1
            if text[pos:eol].strip() == marker:
                self.tokens.append(_Token("word", text[self.pos : eol], line))
                self.pos = eol
                return
            pos = eol + 1
        raise HclError(self.file, line, f"the heredoc {marker} is never closed")


class _Parser:
    def __init__(self, tokens: list[_Token], file: str) -> None:
        self.tokens, self.file, self.pos = tokens, file, 0

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def body(self, into: Block, closed: bool) -> None:
        while True:
            token = self.peek()
            if token is None:
                if closed:
                    raise HclError(self.file, into.line, f"the {into.type} block is never closed")
                return
            if token.kind == "newline":
                self.pos += 1
            elif closed and token.text == "}":
                self.pos += 1
                return
            elif token.kind == "word":
                self.item(into)
            else:
                raise HclError(self.file, token.line, f"unexpected {token.text!r}")

    def item(self, into: Block) -> None:
        name = self.tokens[self.pos]
        self.pos += 1
        nxt = self.peek()
        if nxt is not None and nxt.text == "=":
            self.pos += 1
            into.attributes[name.text] = self.expression()
            return
        labels: list[str] = []
        while (token := self.peek()) is not None and token.kind in ("string", "word"):
            labels.append(token.literal if token.literal is not None else token.text)
            self.pos += 1
        token = self.peek()
        if token is None or token.text != "{":
            raise HclError(self.file, name.line, f"expected = or a block after {name.text!r}")
        self.pos += 1
        block = Block(name.text, tuple(labels), self.file, name.line)
        self.body(block, closed=True)
        into.blocks.append(block)

    def expression(self) -> Value:
        """Tokens up to the end of the line (brackets continue it) or the enclosing block's ``}``."""
        depth, parts = 0, []
        while (token := self.peek()) is not None:
            if depth == 0 and (token.kind == "newline" or token.text == "}"):
                break
            if token.text in OPENERS and token.kind == "punct":
                depth += 1
            elif token.text in CLOSERS and token.kind == "punct":
                depth -= 1
            parts.append(token)
            self.pos += 1
        return _value(parts)


def _value(parts: list[_Token]) -> Value:
    tokens = [t for t in parts if t.kind != "newline"]
    if len(tokens) == 1 and tokens[0].literal is not None:
        return tokens[0].literal
    if len(tokens) >= 2 and tokens[0].text == "[" and tokens[-1].text == "]":
        items = [t for t in tokens[1:-1] if t.text != ","]
        if all(t.literal is not None for t in items) and len(tokens[1:-1]) - len(items) >= len(items) - 1:
            return tuple(t.literal for t in items if t.literal is not None)
    return Expression(" ".join(t.text for t in tokens))


def parse(text: str, file: str) -> Block:
    """The top-level body of one Terraform file as a block of type ``""``."""
    root = Block("", (), file, 1)
    _Parser(_Lexer(text, file).run(), file).body(root, closed=False)
    return root


def terraform_files(path: Path) -> list[Path]:
    """``path`` itself, or every ``*.tf`` below the folder ``path`` (not inside ``.terraform``), sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.tf") if ".terraform" not in p.relative_to(path).parts)
