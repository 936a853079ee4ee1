"""The whole answer of a generate, kept by the hash of every input, so an unchanged project skips loading,
validating and rendering.

The key covers every file of the definition exactly as read (bytes, path, executable bit: a new key order or
new whitespace is a new key) and where it is (the notes name it), ``copier.yml`` and ``blueprints/``
(symlinks followed, as they are staged), every file of the generator package (its code, schemas and shipped
scripts), ``pyproject.toml`` (the release and the pins; the project's, and the one beside the package that
:mod:`generator.pins` reads), every installed distribution's name and version and Python's
(:func:`~generator.render.cache_paths.environment`), and the terraform binary's sha256 (its fmt verdicts are
part of the answer). An entry is a folder ``<key>/`` holding a copy of the rendered trees (manifests
included), the definition's notes, and an index of the sha256 and executable bit of every file; it is
written under a temporary name and renamed into place, and never shares an inode with an output.

A hit is used only through a copy: the entry is copied into the run's staging folder and the copy checked
against the index before anything is compared or swapped in, so a damaged, partial or concurrently pruned
entry is never used (the run renders afresh). The cached trees are then compared with the output exactly as
freshly rendered ones are: a hand edit is still reported by ``--check`` and repaired by ``generate``.
``BBWS_GEN_CACHE_DIR=off`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from generator import terraform
from generator.errors import GenerateError
from generator.render.cache_paths import cache_dir, environment, terraform_digest
from generator.render.indexed import INDEX, index_of, keep_tree, prune, publish

FORMAT = 2
TREES = "trees"
KEEP_ENTRIES = 8  # newest entries kept; older ones are removed when a new one is stored
MAX_BYTES = 64 * 1024 * 1024  # and at most this much in all (an entry of the shipped project: about 2.5 MB)
_SKIPPED = frozenset({"__pycache__"})


class _Uncacheable(Exception):
    """The inputs hold something the key cannot stand for: the run goes the full way (and the loader says
    what is wrong with it)."""


# Beyond what the loader accepts (generator.definition.safe_read): such a definition is never cached.
_MAX_FILE_BYTES = 1024 * 1024
_MAX_TOTAL_BYTES = 32 * 1024 * 1024
_MAX_FILES = 2000


def _files(folder: Path, *, follow: bool) -> Iterator[tuple[str, str]]:
    """(POSIX relative path, path) of every file under ``folder`` in a stable order. With ``follow`` (the
    project's own folders) symlinks are followed, as the blueprints are staged; without (the definition,
    which is untrusted) a symlinked folder or too many files raises :class:`_Uncacheable`."""
    top = str(folder)
    count = 0
    for dirpath, dirnames, filenames in os.walk(top, followlinks=follow):
        if not follow and any(os.path.islink(os.path.join(dirpath, d)) for d in dirnames):
            raise _Uncacheable(f"a symlinked folder in {dirpath}")
        # Byte code in the project's own folders is not input; in the definition everything is.
        dirnames[:] = sorted(d for d in dirnames if not (follow and d in _SKIPPED))
        prefix = os.path.relpath(dirpath, top).replace(os.sep, "/")
        for name in sorted(filenames):
            if follow and name.endswith(".pyc"):
                continue
            count += 1
            if not follow and count > _MAX_FILES:
                raise _Uncacheable(f"more than {_MAX_FILES} files in {top}")
            yield (name if prefix == "." else f"{prefix}/{name}"), os.path.join(dirpath, name)


def _read(path: str, *, follow: bool) -> tuple[bytes, bool]:
    """The bytes of the regular file ``path`` and its executable bit; never blocks on a FIFO, and (without
    ``follow``) never reads through a symlink or a file over the loader's size limit."""
    flags = os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW)
    try:
        handle = os.open(path, flags)
    except OSError as exc:
        raise _Uncacheable(f"{path}: {exc.strerror}") from exc
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise _Uncacheable(f"{path} is not a regular file")
        if not follow and info.st_size > _MAX_FILE_BYTES:
            raise _Uncacheable(f"{path} is over {_MAX_FILE_BYTES} bytes")
        with os.fdopen(os.dup(handle), "rb") as reader:
            return reader.read(), info.st_mode & 0o111 != 0
    finally:
        os.close(handle)


def _hasher() -> tuple[hashlib._Hash, Callable[[str, bytes], None]]:
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode("utf-8", "surrogateescape") + b"\x00" + len(data).to_bytes(8, "big") + data)

    return digest, add


def code_key(root: Path) -> str:
    """The sha256 of everything besides the definition that decides the rendered trees: the blueprints,
    ``copier.yml``, the generator, the ``pyproject.toml`` files, Python and every installed distribution,
    and the terraform binary."""
    digest, add = _hasher()
    add("format", str(FORMAT).encode())
    add("environment", environment())
    add("terraform", terraform_digest(terraform.binary()).encode())
    for label in ("copier.yml", "pyproject.toml"):
        add(label, (root / label).read_bytes())
    package = Path(__file__).resolve().parents[1]
    # generator.pins resolves the Python pins from the pyproject.toml beside the package (the same file as
    # the project's in a checkout; another one when bbws-gen is installed from elsewhere).
    beside = package.parent / "pyproject.toml"
    add("pyproject.toml beside the package", beside.read_bytes() if beside.is_file() else b"")
    for label, folder in (("blueprints", root / "blueprints"), ("generator", package)):
        for rel, file in _files(folder, follow=True):
            data, executable = _read(file, follow=True)
            add(f"{label}/{rel} {'x' if executable else '-'}", data)
    return digest.hexdigest()


def input_key(root: Path, definition: Path, code: str | None = None) -> str:
    """The sha256 of everything that decides the rendered trees (see the module docstring): ``code`` (the
    :func:`code_key`, computed when not given) and the definition's files and place. Raises
    :class:`_Uncacheable` (or OSError) when the definition cannot be keyed safely."""
    digest, add = _hasher()
    add("code", (code_key(root) if code is None else code).encode())
    add("definition at", str(definition.resolve()).encode("utf-8", "surrogateescape"))
    total = 0
    for rel, file in _files(definition, follow=False):
        data, executable = _read(file, follow=False)
        total += len(data)
        if total > _MAX_TOTAL_BYTES:
            raise _Uncacheable(f"the definition is over {_MAX_TOTAL_BYTES} bytes")
        add(f"definition/{rel} {'x' if executable else '-'}", data)
    return digest.hexdigest()


class Unusable(GenerateError):
    """The cache entry did not survive its copy into staging (damaged, or pruned by a concurrent run). The
    caller catches it and renders; nothing was compared or written when it is raised."""


@dataclass(frozen=True)
class Entry:
    """A cache entry: where its trees are, which trees, under which flag each goes, the notes, the index."""

    folder: Path
    trees: tuple[tuple[str, str], ...]  # (tree name, "output" or "docs")
    notes: tuple[str, ...]
    index: dict[str, list[str]]

    def produce(self, staging: Path) -> Path:
        """The pipeline's produce step: a copy of the entry's trees in ``staging``, checked against the index
        (raises :class:`Unusable` when it does not match, and the caller renders instead)."""
        copy = staging / "rendered"
        try:
            copied = keep_tree(self.folder / TREES, copy, "")
            intact = copied == self.index and index_of(copy) == self.index
        except OSError:
            intact = False
        if not intact:
            raise Unusable(f"the cache entry {self.folder} does not match its index", ["run generate again"])
        return copy


class OutputCache:
    """The entries of one cache folder for one key."""

    def __init__(self, folder: Path, key: str, report: Callable[[str], None], code: str = "") -> None:
        self.folder = folder
        self.key = key
        self.report = report
        self.code = code

    @classmethod
    def open(cls, root: Path, definition: Path, report: Callable[[str], None]) -> OutputCache | None:
        """The cache for this project and definition; None when caching is off or the inputs cannot be read
        (the full run then reports what is wrong with them)."""
        folder = cache_dir("output")
        if folder is None or not definition.is_dir():
            return None
        try:
            code = code_key(root)
            return cls(folder, input_key(root, definition, code), report, code)
        except (OSError, _Uncacheable):
            return None

    @property
    def entry_folder(self) -> Path:
        return self.folder / self.key

    def lookup(self) -> Entry | None:
        """The entry for this key when its index is readable (its files are checked when copied, see
        :meth:`Entry.produce`); one with a damaged index is removed (and reported)."""
        folder = self.entry_folder
        try:
            data = json.loads((folder / INDEX).read_text(encoding="utf-8"))
        except FileNotFoundError:
            # Entries appear whole, by rename: a folder without its index is damage, not a store under way.
            return self._discard("it has no index") if folder.is_dir() else None
        except (OSError, ValueError) as exc:
            return self._discard(f"its index is unreadable ({exc})")
        try:
            entry = Entry(
                folder,
                tuple((str(name), str(under)) for name, under in data["trees"]),
                tuple(str(note) for note in data["notes"]),
                {str(k): [str(part) for part in v] for k, v in data["files"].items()},
            )
            valid = data["format"] == FORMAT and all(under in ("output", "docs") for _, under in entry.trees)
        except (KeyError, TypeError, ValueError, AttributeError):
            valid = False
        if not valid:
            return self._discard("its index is not in the expected format")
        with suppress(OSError):
            os.utime(folder / INDEX)  # most recently used: kept longest
        return entry

    def discard(self, why: str) -> None:
        """Report and remove this key's entry: it cannot be used."""
        self._discard(why)

    def _discard(self, why: str) -> Entry | None:
        self.report(f"warning: the cached output {self.entry_folder} cannot be used ({why}): rendering afresh")
        shutil.rmtree(self.entry_folder, ignore_errors=True)
        return None

    def store(self, rendered: Path, trees: Sequence[tuple[str, str]], notes: Sequence[str]) -> None:
        """Keep the rendered ``trees`` (names under ``rendered``) for the next run; a cache that cannot be
        written only costs time, so failures are reported, never raised. (A damaged entry was removed by
        :meth:`lookup`; a concurrent run's is as good as this one's.)"""

        def fill(temporary: Path) -> object:
            files: dict[str, list[str]] = {}
            for name, _ in trees:
                files.update(keep_tree(rendered / name, temporary / TREES / name, name))
            return {"format": FORMAT, "trees": [list(t) for t in trees], "notes": list(notes), "files": files}

        error = publish(self.folder, self.entry_folder, fill)
        if error is not None:
            self.report(f"warning: could not keep the rendered output in {self.folder}: {error}")
        prune(self.folder, KEEP_ENTRIES, MAX_BYTES, current=self.entry_folder)
