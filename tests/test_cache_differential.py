"""The caches never change an answer (issue 22): random sequences of edits and runs, applied alike to a world
with caches on and one with caches off (``BBWS_GEN_CACHE_DIR=off``, the reference), must give the same exit
codes, the same listed changes and the same bytes in ``repos/`` and ``docs/``, step after step.

Each world holds two clones of a small project (``copier.yml``, ``pyproject.toml``, the definition and the
blueprints, in a temporary folder); in the caches-on world both share one cache folder, as clones on one
machine share ``~/.cache/bbws-gen``. The edits: a table's key order and whitespace (what ``jq -S`` or an
editor does), each input kind the README lists (table, platform, pins, email template, blueprint,
copier.yml), a broken table, in-place (``open('r+')``, ``truncate``, append) and replace-style edits and
deletions of generated files, and an in-place edit made while generate runs, at a named fault point
(:mod:`generator.faults`). The trees are compared after every step, so an edit in one clone that shows up in
the other (a shared inode) is caught at once.

Deterministic (derandomized, no example database) and bounded: a few minutes on two cores at most.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from generator import api, faults
from generator.errors import BbwsGenError, DriftError
from generator.render.cache_paths import CACHE_ENV
from generator.render.lock import LOCK_FILE
from generator.render.swap import STAGING_PREFIX
from tests.conftest import ROOT

WORLDS = ("on", "off")
CLONES = ("a", "b")
WHERE = (*CLONES, "both")  # an edit made in one clone, or alike in both (a pull of the same commit)
PROJECT = ("copier.yml", "pyproject.toml", "definition", "blueprints")
TABLES = ("campaigns", "products", "tenants")
FAULT_POINTS = ("generate:rendered", "swap:plan-written")
# Steps per sequence and sequences: bounded so the whole test stays within about two minutes on 2 cores.
STEPS = int(os.environ.get("BBWS_DIFF_STEPS", "8"))
EXAMPLES = int(os.environ.get("BBWS_DIFF_EXAMPLES", "6"))


def _generate(clone: Path, *, check: bool) -> api.Changes:
    return api.generate(clone / "definition", clone / "repos", clone / "docs", check=check, root=clone)


@contextmanager
def _cache(setting: str) -> Iterator[None]:
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = setting
    try:
        yield
    finally:
        if before is None:
            del os.environ[CACHE_ENV]
        else:
            os.environ[CACHE_ENV] = before


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small project, generated once with caches off: every sequence starts from copies of it."""
    project = tmp_path_factory.mktemp("seed") / "project"
    for name in PROJECT:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    with _cache("off"):
        _generate(project, check=False)
    return project


def _tree(clone: Path) -> dict[str, tuple[str, bytes | str, bool]]:
    """Every entry under the clone's repos/ and docs/: files by bytes and executable bit, links by target."""
    found: dict[str, tuple[str, bytes | str, bool]] = {}
    for top in ("repos", "docs"):
        for path in sorted((clone / top).rglob("*")):
            rel = path.relative_to(clone).as_posix()
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path), False)
            elif path.is_file():
                found[rel] = ("file", path.read_bytes(), bool(path.stat().st_mode & 0o111))
    return found


def _outputs(clone: Path) -> list[Path]:
    """The files of the output trees a hand edit can hit (in a stable order): not the lock, nor a staging
    folder of a run under way (what it holds is the run's own business)."""
    return [
        path
        for top in ("repos", "docs")
        for path in sorted((clone / top).rglob("*"))
        if path.is_file()
        and not path.is_symlink()
        and not any(part.startswith(STAGING_PREFIX) or part == LOCK_FILE for part in path.relative_to(clone).parts)
    ]


def _edit_in_place(path: Path, how: str) -> None:
    """Change ``path`` keeping its inode, as Vim (for a file with several links), ``>>`` and ``truncate`` do."""
    with open(path, "r+b") as handle:
        if how == "overwrite":
            first = handle.read(1)
            handle.seek(0)
            handle.write(b"#" if first != b"#" else b"%")
        elif how == "append":
            handle.seek(0, os.SEEK_END)
            handle.write(b"\n# hand edit\n")
        else:
            handle.truncate(max(0, os.fstat(handle.fileno()).st_size // 2))


class CachesAgree(RuleBasedStateMachine):
    """Two worlds, caches on and off, given the same edits and runs, must stay byte for byte alike."""

    seed: Path

    def __init__(self) -> None:
        super().__init__()
        self.base = Path(tempfile.mkdtemp(prefix="bbws-diff-"))
        for world in WORLDS:
            for clone in CLONES:
                shutil.copytree(self.seed, self.base / world / clone, symlinks=True)
        self.cache = self.base / "cache"

    def teardown(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def _each(self, clone: str, change: Callable[[Path], None]) -> None:
        for world in WORLDS:
            for one in CLONES if clone == "both" else (clone,):
                change(self.base / world / one)

    # -- the inputs ---------------------------------------------------------------------------------------

    @rule(
        clone=st.sampled_from(WHERE),
        table=st.sampled_from(TABLES),
        shift=st.integers(1, 5),
        indent=st.sampled_from([2, 4, 1]),
    )
    def reorder_table_keys(self, clone: str, table: str, shift: int, indent: int) -> None:
        """The same data, keys in another order and another indentation (an editor's sort, ``jq -S``)."""

        def change(root: Path) -> None:
            path = root / "definition" / "tables" / f"{table}.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                return  # broken by an earlier step: left as it is, in both worlds
            keys = list(data)
            keys = keys[shift % len(keys) :] + keys[: shift % len(keys)]
            path.write_text(json.dumps({k: data[k] for k in keys}, indent=indent) + "\n", encoding="utf-8")

        self._each(clone, change)

    @rule(clone=st.sampled_from(WHERE), table=st.sampled_from(TABLES), text=st.sampled_from(["One", "Two", "a & b"]))
    def edit_table(self, clone: str, table: str, text: str) -> None:
        def change(root: Path) -> None:
            path = root / "definition" / "tables" / f"{table}.json"
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                return
            data["description"] = text
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

        self._each(clone, change)

    @rule(clone=st.sampled_from(WHERE), table=st.sampled_from(TABLES))
    def break_table(self, clone: str, table: str) -> None:
        self._each(clone, lambda root: (root / "definition" / "tables" / f"{table}.json").write_text("{\n"))

    @rule(clone=st.sampled_from(WHERE), table=st.sampled_from(TABLES))
    def restore_table(self, clone: str, table: str) -> None:
        source = self.seed / "definition" / "tables" / f"{table}.json"
        self._each(clone, lambda root: shutil.copy(source, root / "definition" / "tables" / f"{table}.json"))

    @rule(
        clone=st.sampled_from(WHERE),
        kind=st.sampled_from(["platform", "pins", "template", "blueprint", "copier"]),
        text=st.sampled_from(["Thabo", "Lerato"]),
    )
    def edit_input(self, clone: str, kind: str, text: str) -> None:
        """One edit of each other input kind the README lists."""

        def change(root: Path) -> None:
            if kind == "platform":
                path = root / "definition" / "platform.yaml"
                lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                path.write_text(
                    "".join(f"  Owner: {text}\n" if line.startswith("  Owner:") else line for line in lines),
                    encoding="utf-8",
                )
            elif kind == "pins":
                with open(root / "definition" / "pins.yaml", "a", encoding="utf-8") as handle:
                    handle.write(f"# {text}\n")
            elif kind == "template":
                with open(
                    root / "definition" / "templates" / "receipts" / "receipt.txt", "a", encoding="utf-8"
                ) as handle:
                    handle.write(f"Thank you, {text}.\n")
            elif kind == "blueprint":
                path = root / "blueprints" / "shared" / "runbooks" / "troubleshooting.md.jinja"
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write(f"\nAsk {text}.\n")
            else:
                with open(root / "copier.yml", "a", encoding="utf-8") as handle:
                    handle.write(f"# {text}\n")

        self._each(clone, change)

    # -- the outputs --------------------------------------------------------------------------------------

    @rule(
        clone=st.sampled_from(WHERE),
        pick=st.integers(0, 10_000),
        how=st.sampled_from(["overwrite", "append", "truncate", "replace", "delete"]),
    )
    def edit_output(self, clone: str, pick: int, how: str) -> None:
        def change(root: Path) -> None:
            files = _outputs(root)
            if not files:
                return
            path = files[pick % len(files)]
            if how == "replace":  # a new file renamed over the old one, as git and most editors save
                temporary = path.with_name(path.name + ".new")
                temporary.write_bytes(path.read_bytes() + b"\n# replaced\n")
                os.replace(temporary, path)
            elif how == "delete":
                path.unlink()
            else:
                _edit_in_place(path, how)

        self._each(clone, change)

    # -- the runs -----------------------------------------------------------------------------------------

    def _run(self, world: str, clone: str, check: bool) -> tuple[int, tuple[str, ...]]:
        with _cache(str(self.cache) if world == "on" else "off"):
            try:
                changes = _generate(self.base / world / clone, check=check)
            except DriftError as exc:
                return exc.exit_code, tuple(exc.changes)
            except BbwsGenError as exc:
                return exc.exit_code, ()
        return 0, changes.lines

    @rule(clone=st.sampled_from(CLONES), check=st.booleans())
    def run(self, clone: str, check: bool) -> None:
        on, off = (self._run(world, clone, check) for world in WORLDS)
        assert on == off, f"generate{' --check' if check else ''} in clone {clone}: caches on {on}, off {off}"

    @rule(clone=st.sampled_from(CLONES), point=st.sampled_from(FAULT_POINTS), pick=st.integers(0, 10_000))
    def run_with_an_edit_during_it(self, clone: str, point: str, pick: int) -> None:
        """generate while a hand edit is saved in place at a named step of the run."""
        results = []
        for world in WORLDS:
            root = self.base / world / clone
            original = faults.point
            done: list[bool] = []

            def hook(
                step: str, root: Path = root, done: list[bool] = done, original: Callable[[str], None] = original
            ) -> None:
                if step == point and not done:
                    done.append(True)
                    files = _outputs(root)
                    if files:
                        _edit_in_place(files[pick % len(files)], "append")
                original(step)

            faults.point = hook  # type: ignore[assignment]
            try:
                results.append(self._run(world, clone, False))
            finally:
                faults.point = original  # type: ignore[assignment]
        assert results[0] == results[1], f"generate with an edit at {point}: caches on {results[0]}, off {results[1]}"

    @invariant()
    def no_output_file_is_hard_linked(self) -> None:
        """The contract behind the comparison: no cache entry shares an inode with a working tree."""
        for clone in CLONES:
            linked = [p for p in _outputs(self.base / "on" / clone) if p.stat().st_nlink > 1]
            assert not linked, f"clone {clone}: hard-linked output files, e.g. {linked[:3]}"

    @invariant()
    def outputs_agree(self) -> None:
        for clone in CLONES:
            on, off = (_tree(self.base / world / clone) for world in WORLDS)
            if on != off:
                differ = sorted(k for k in on.keys() | off.keys() if on.get(k) != off.get(k))
                raise AssertionError(f"clone {clone}: repos/docs differ between caches on and off: {differ[:5]}")


def test_caches_on_and_off_give_the_same_answers(seed: Path) -> None:
    CachesAgree.seed = seed
    run_state_machine_as_test(
        CachesAgree,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            # No shrinking: it can take longer than the search; the failing sequence is printed as found.
            phases=[Phase.explicit, Phase.generate],
        ),
    )
