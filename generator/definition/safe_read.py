"""Reading the definition folder so that no file in it can crash, hang or fool the loader.

Everything here turns hostile input into :class:`Finding` objects (file, line, what, how to fix):

- files: only regular files (checked with ``lstat`` before anything opens them, so a FIFO is never
  opened and a device never read), symlinks only to regular files inside the folder, a size cap per
  file and in total;
- YAML and JSON: parsed strictly by :mod:`generator.definition.strict_parse` (no aliases, tags, duplicate
  keys, NaN or huge integers; bounded nesting);
- every string: valid Unicode (no unpaired surrogates) and at most :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from generator.definition.strict_parse import MAX_DEPTH, MAX_INT_DIGITS, UnsafeInput, parse_json, parse_yaml
from generator.locations import Document, Finding, LineIndex, pointer_of

# A table file is ~10 KB and a template a few; these leave ample room and stop a 50 MB description.
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
MAX_FILES = 2000
MAX_TEXT = 4000  # characters in one string: a description, an access pattern, a subject

_KINDS = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "UnsafeInput",
    "load_document",
    "parse_json",
    "parse_yaml",
    "read_text",
    "scan",
    "text_problems",
]


@dataclass(frozen=True)
class Scan:
    """The outcome of :func:`scan`: problems found, and the regular files that may be read."""

    problems: list[Finding]
    files: frozenset[Path]


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def _entries(root: Path, top: Path) -> Iterator[Path]:
    """Every path below ``top`` (and ``top`` itself), without following symlinked folders."""
    yield top
    try:
        if not stat.S_ISDIR(top.lstat().st_mode):
            return
        children = sorted(top.iterdir())
    except OSError:
        return
    for child in children:
        yield from _entries(root, child)


def scan(root: Path, parts: tuple[str, ...]) -> Scan:
    """Check every path under ``root/part`` before anything is opened: type, symlink target, sizes."""
    problems: list[Finding] = []
    files: set[Path] = set()
    total = 0
    real_root = root.resolve()
    for part in parts:
        for path in _entries(root, root / part):
            display = str(path)
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue  # a missing file is reported where it is needed, with its own message
            except OSError as exc:
                problems.append(Finding(display, 0, "", f"cannot read: {exc.strerror}", "fix its permissions"))
                continue
            if stat.S_ISLNK(info.st_mode):
                target = Path(os.path.realpath(path))
                if not target.is_relative_to(real_root):
                    problems.append(
                        Finding(
                            display,
                            0,
                            "",
                            f"symlink to {os.readlink(path)}, outside the definition folder",
                            "copy the file into the definition folder instead of linking to it",
                        )
                    )
                    continue
                try:
                    info = target.stat()
                except OSError:
                    problems.append(Finding(display, 0, "", "symlink to nothing", "remove the broken symlink"))
                    continue
                if stat.S_ISDIR(info.st_mode):
                    problems.append(
                        Finding(display, 0, "", "symlink to a folder", "make it a real folder (no symlinked folders)")
                    )
                    continue
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                problems.append(
                    Finding(display, 0, "", f"{_kind(info.st_mode)}, not a regular file", "replace it with a file")
                )
                continue
            if info.st_size > MAX_FILE_BYTES:
                problems.append(
                    Finding(
                        display,
                        0,
                        "",
                        f"{info.st_size:,} bytes, over the limit of {MAX_FILE_BYTES:,} per file",
                        "definition files are small text files; shorten it",
                    )
                )
                continue
            total += info.st_size
            files.add(path)
    if len(files) > MAX_FILES or total > MAX_TOTAL_BYTES:
        problems.append(
            Finding(
                str(root),
                0,
                "",
                f"{len(files)} files, {total:,} bytes: over the limit of {MAX_FILES} files or "
                f"{MAX_TOTAL_BYTES:,} bytes for a definition",
                "keep only the definition in this folder",
            )
        )
    return Scan(problems, frozenset(files))


def read_text(path: Path) -> str:
    """The UTF-8 text of a file :func:`scan` accepted (it is regular and small)."""
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnsafeInput(f"more than {MAX_FILE_BYTES:,} bytes", "shorten the file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeInput(f"not UTF-8 text (byte {exc.start})", "save the file as UTF-8") from exc


# --- strings ----------------------------------------------------------------------------------------


# NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR are line breaks to YAML (PyYAML's emitter folds them into spaces in
# single-quoted scalars, so the generated catalog.yaml would not read back as written): YAML files may not hold
# them. JSON table files may: their text reaches the outputs only through the escaping macros or as JSON.
UNICODE_BREAKS = frozenset("\x85\u2028\u2029")
# Searched for in every string of every file: a regular expression does it in C.
_BREAKS = re.compile("[" + "".join(sorted(UNICODE_BREAKS)) + "]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def text_problems(doc: Document, yaml_breaks: bool = False) -> list[Finding]:
    """Strings (keys and values) that cannot be written out or are too long (``yaml_breaks``: also
    refuse :data:`UNICODE_BREAKS`, for documents read from YAML)."""
    found: list[Finding] = []
    stack: list[tuple[list[Any], Any]] = [([], doc.data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                found.extend(_string_problems(doc, [*path, key], key, key=True, yaml_breaks=yaml_breaks))
                stack.append(([*path, key], item))
        elif isinstance(value, list):
            stack.extend(([*path, i], item) for i, item in enumerate(value))
        elif isinstance(value, str):
            found.extend(_string_problems(doc, path, value, yaml_breaks=yaml_breaks))
    return found


def _string_problems(
    doc: Document, path: list[Any], text: str, key: bool = False, yaml_breaks: bool = False
) -> list[Finding]:
    if _SURROGATE.search(text):
        return [
            doc.finding(path, "holds an unpaired surrogate (\\ud800-\\udfff): not valid Unicode", "remove it", key=key)
        ]
    odd = sorted(set(_BREAKS.findall(text))) if yaml_breaks else []
    if odd:
        names = ", ".join(f"U+{ord(c):04X}" for c in odd)
        return [
            doc.finding(
                path,
                f"holds {names}, which YAML reads as a line break",
                "write a plain newline or a space instead",
                key=key,
            )
        ]
    if len(text) > MAX_TEXT:
        return [
            Finding(
                doc.file,
                doc.lines.line(path, key),
                pointer_of(path),
                f"text of {len(text):,} characters, over the limit of {MAX_TEXT:,}",
                "keep descriptions to a few paragraphs; put long documentation in docs/",
            )
        ]
    return []


def load_document(path: Path, kind: str) -> Document | Finding:
    """Read and parse one scanned file (``kind`` is "json" or "yaml") into a :class:`Document`."""
    display = str(path)
    try:
        text = read_text(path)
        data = parse_json(text) if kind == "json" else parse_yaml(text)
    except UnsafeInput as exc:
        return Finding(display, exc.line, "", exc.message, exc.hint)
    except OSError as exc:
        return Finding(display, 0, "", f"cannot read the file: {exc.strerror}", "make it a readable UTF-8 file")
    return Document(display, data, LineIndex(text))
