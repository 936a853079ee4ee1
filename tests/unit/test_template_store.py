"""The staged Copier template (generator/render/template_store.py): a plain copy of exactly the project's
template, kept by content between runs, and never used when it is not exactly that."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from generator.render import template_store
from generator.render.cache_paths import CACHE_ENV
from tests.conftest import ROOT

COPIER_YML = '_subdirectory: "blueprints/{{ blueprint }}"\n_templates_suffix: .jinja\nblueprint:\n  type: str\n'


def _project(root: Path) -> Path:
    """A small project: copier.yml, one blueprint holding a symlinked executable script and a symlinked
    folder, plus files beside the template that are not part of it."""
    demo = root / "blueprints" / "demo"
    (demo / "scripts").mkdir(parents=True)
    (root / "blueprints" / "shared" / "lib").mkdir(parents=True)
    (root / "copier.yml").write_text(COPIER_YML)
    (demo / "README.md.jinja").write_text("# {{ blueprint }}\n")
    tool = root / "blueprints" / "shared" / "tool.py"
    tool.write_text("#!/usr/bin/env python3\nprint('tool')\n")
    tool.chmod(0o755)
    (root / "blueprints" / "shared" / "lib" / "common.sh").write_text("echo common\n")
    (demo / "scripts" / "tool.py").symlink_to("../../shared/tool.py")
    (demo / "lib").symlink_to("../shared/lib", target_is_directory=True)
    (root / "README.md").write_text("not part of the template\n")
    (root / "definition").mkdir()
    return root


def _tree(folder: Path) -> dict[str, tuple[str, bytes, int]]:
    """Every entry under ``folder`` without following symlinks: kind, bytes and permission bits."""
    found: dict[str, tuple[str, bytes, int]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            found[path.relative_to(folder).as_posix()] = ("link", b"", 0)
        elif path.is_dir():
            found[path.relative_to(folder).as_posix()] = ("dir", b"", 0)
        else:
            found[path.relative_to(folder).as_posix()] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found


EXPECTED_FILES = {
    "copier.yml": (COPIER_YML.encode(), 0o644),
    "blueprints/demo/README.md.jinja": (b"# {{ blueprint }}\n", 0o644),
    "blueprints/demo/scripts/tool.py": (b"#!/usr/bin/env python3\nprint('tool')\n", 0o755),
    "blueprints/demo/lib/common.sh": (b"echo common\n", 0o644),
    "blueprints/shared/tool.py": (b"#!/usr/bin/env python3\nprint('tool')\n", 0o755),
    "blueprints/shared/lib/common.sh": (b"echo common\n", 0o644),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    old = os.umask(0o022)  # the modes written by _project do not depend on the caller's umask
    try:
        return _project(tmp_path / "project")
    finally:
        os.umask(old)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache" / template_store.KIND


def _staging(tmp_path: Path, name: str = "staging") -> Path:
    (tmp_path / name).mkdir(exist_ok=True)
    return tmp_path / name


def _assert_exact(staged: Path) -> None:
    tree = _tree(staged)
    assert {rel for rel, (kind, _, _) in tree.items() if kind == "link"} == set(), "symlinks are resolved"
    assert {rel: (data, mode) for rel, (kind, data, mode) in tree.items() if kind == "file"} == EXPECTED_FILES
    assert {rel for rel, (kind, _, _) in tree.items() if kind == "dir"} == {
        "blueprints",
        "blueprints/demo",
        "blueprints/demo/scripts",
        "blueprints/demo/lib",
        "blueprints/shared",
        "blueprints/shared/lib",
    }


def test_the_staged_template_is_a_plain_copy_of_exactly_the_template(
    project: Path, cache: Path, tmp_path: Path
) -> None:
    staged = template_store.staged_template(project, _staging(tmp_path))
    assert staged.parent == cache and len(staged.name) == 64
    _assert_exact(staged)


def test_copier_gives_the_rendered_script_the_executable_bit_of_the_staged_copy(
    project: Path, cache: Path, tmp_path: Path
) -> None:
    from copier import run_copy

    staged = template_store.staged_template(project, _staging(tmp_path))
    run_copy(str(staged), str(tmp_path / "out"), data={"blueprint": "demo"}, defaults=True, quiet=True)
    assert (tmp_path / "out" / "README.md").read_text() == "# demo\n"
    script = tmp_path / "out" / "scripts" / "tool.py"
    assert not script.is_symlink() and stat.S_IMODE(script.stat().st_mode) & 0o111 == 0o111
    assert stat.S_IMODE((tmp_path / "out" / "lib" / "common.sh").stat().st_mode) & 0o111 == 0


def test_an_unchanged_template_reuses_the_kept_copy_without_writing_it(
    project: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = template_store.staged_template(project, _staging(tmp_path, "one"))
    inode = (first / "copier.yml").stat().st_ino

    def no_write(snapshot: template_store.Snapshot, folder: Path) -> Path:
        raise AssertionError(f"wrote {folder} although an intact copy was kept")

    monkeypatch.setattr(template_store, "_write", no_write)
    second = template_store.staged_template(project, _staging(tmp_path, "two"))
    assert second == first and (second / "copier.yml").stat().st_ino == inode
    assert not (tmp_path / "two" / "template").exists()


def _symlink_to_identical(staged: Path, rel: str, elsewhere: Path) -> None:
    """Replace ``rel`` (file or folder) with a symlink to an identical copy outside the kept copy."""
    target = elsewhere / rel.replace("/", "_")
    if (staged / rel).is_dir():
        shutil.copytree(staged / rel, target, copy_function=shutil.copy2)
        shutil.rmtree(staged / rel)
    else:
        shutil.copy2(staged / rel, target)
        (staged / rel).unlink()
    (staged / rel).symlink_to(target)


DAMAGE = [
    "changed byte",
    "missing file",
    "extra file",
    "extra folder",
    "extra file beside the template",
    "missing folder",
    "mode",
    "symlinked file",
    "symlinked folder",
    "symlinked blueprints",
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_kept_copy_is_never_used_and_is_replaced(
    project: Path, cache: Path, tmp_path: Path, damage: str
) -> None:
    staged = template_store.staged_template(project, _staging(tmp_path, "one"))
    readme = staged / "blueprints" / "demo" / "README.md.jinja"
    (tmp_path / "elsewhere").mkdir()
    if damage == "changed byte":
        readme.write_bytes(readme.read_bytes().replace(b"#", b"%"))
    elif damage == "missing file":
        readme.unlink()
    elif damage == "extra file":
        (staged / "blueprints" / "demo" / "stray.txt.jinja").write_text("stray\n")
    elif damage == "extra folder":
        (staged / "blueprints" / "demo" / "empty").mkdir()
    elif damage == "extra file beside the template":
        (staged / "copier.yaml").write_text(COPIER_YML)  # Copier would refuse two config files
    elif damage == "missing folder":
        shutil.rmtree(staged / "blueprints" / "shared")
    elif damage == "mode":
        readme.chmod(0o755)
    elif damage == "symlinked file":
        _symlink_to_identical(staged, "blueprints/demo/README.md.jinja", tmp_path / "elsewhere")
    elif damage == "symlinked folder":
        _symlink_to_identical(staged, "blueprints/demo/scripts", tmp_path / "elsewhere")
    else:
        _symlink_to_identical(staged, "blueprints", tmp_path / "elsewhere")
    again = template_store.staged_template(project, _staging(tmp_path, "two"))
    assert again == staged, "the damaged copy was replaced by a whole one"
    _assert_exact(again)
    assert [p.name for p in cache.iterdir()] == [staged.name], "nothing else is left in the cache"


def test_a_damaged_copy_that_cannot_be_removed_is_not_used(
    project: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the damaged copy stays (its removal failed: permissions, a busy filesystem), the run stages
    its own copy instead."""
    staged = template_store.staged_template(project, _staging(tmp_path, "one"))
    (staged / "blueprints" / "demo" / "README.md.jinja").write_text("# damaged\n")
    monkeypatch.setattr(shutil, "rmtree", lambda *args, **kwargs: None)
    again = template_store.staged_template(project, _staging(tmp_path, "two"))
    assert again == tmp_path / "two" / "template"
    _assert_exact(again)


@pytest.mark.parametrize("change", ["bytes", "mode", "new file", "symlink target"])
def test_changed_blueprints_get_a_new_copy(project: Path, cache: Path, tmp_path: Path, change: str) -> None:
    first = template_store.staged_template(project, _staging(tmp_path, "one"))
    shared = project / "blueprints" / "shared"
    if change == "bytes":
        (shared / "lib" / "common.sh").write_text("echo changed\n")
    elif change == "mode":
        (shared / "lib" / "common.sh").chmod(0o755)  # the rendered script would become executable
    elif change == "new file":
        (project / "blueprints" / "demo" / "new.txt").write_text("new\n")
    else:
        (shared / "other.py").write_text("print('other')\n")
        (project / "blueprints" / "demo" / "scripts" / "tool.py").unlink()
        (project / "blueprints" / "demo" / "scripts" / "tool.py").symlink_to("../../shared/other.py")
    second = template_store.staged_template(project, _staging(tmp_path, "two"))
    assert second != first and second.parent == cache
    assert _tree(second) != _tree(first)
    assert template_store._snapshot(second, template_store.SOURCES, follow=False) == template_store._snapshot(
        project, template_store.SOURCES, follow=True
    )
    _assert_exact(first)  # the older copy is kept intact, for a run of the older blueprints


def test_with_the_cache_off_each_run_stages_its_own_copy(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_ENV, "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    staged = template_store.staged_template(project, _staging(tmp_path))
    assert staged == tmp_path / "staging" / "template"
    _assert_exact(staged)
    assert not (tmp_path / "xdg").exists()


def _variant(project: Path, index: int) -> None:
    (project / "blueprints" / "demo" / "version.txt").write_text(f"{index}\n")


def test_at_most_keep_copies_are_kept_the_most_recently_used(project: Path, cache: Path, tmp_path: Path) -> None:
    copies = []
    for index in range(template_store.KEEP + 2):
        _variant(project, index)
        copies.append(template_store.staged_template(project, _staging(tmp_path, f"s{index}")))
        os.utime(copies[-1], (1_000_000 + index, 1_000_000 + index))  # distinct ages, whatever the clock's tick
        if index == 0:
            (cache / ".tmp-interrupted").mkdir()  # what a run killed while writing leaves
            os.utime(cache / ".tmp-interrupted", (1, 1))
    assert sorted(cache.iterdir()) == sorted(copies[-template_store.KEEP :])
    _variant(project, 2)  # used again: now the most recent, so it outlives the next new copy
    assert template_store.staged_template(project, _staging(tmp_path, "again")) == copies[2]
    _variant(project, 99)
    newest = template_store.staged_template(project, _staging(tmp_path, "newest"))
    assert sorted(cache.iterdir()) == sorted([copies[2], newest, *copies[-2:]])


def test_the_copy_a_run_renders_from_is_never_pruned(project: Path, cache: Path, tmp_path: Path) -> None:
    """Copies carrying later times than now (clock skew, a cache copied from another machine) do not make
    the new copy the oldest one removed."""
    future = 4_000_000_000
    for index in range(template_store.KEEP):
        _variant(project, index)
        os.utime(template_store.staged_template(project, _staging(tmp_path, f"s{index}")), (future, future))
    _variant(project, 99)
    newest = template_store.staged_template(project, _staging(tmp_path, "newest"))
    _assert_snapshot(project, newest)
    assert len(list(cache.iterdir())) == template_store.KEEP


def _assert_snapshot(project: Path, staged: Path) -> None:
    assert staged.is_dir(), f"{staged} was removed"
    assert template_store._snapshot(staged, template_store.SOURCES, follow=False) == template_store._snapshot(
        project, template_store.SOURCES, follow=True
    )


def test_the_real_template_is_staged_whole(cache: Path, tmp_path: Path) -> None:
    staged = template_store.staged_template(ROOT, _staging(tmp_path))
    _assert_snapshot(ROOT, staged)
    sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "blueprints").rglob("*") if p.is_file()}
    copied = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file() and not p.is_symlink()}
    assert copied == sources | {"copier.yml"}
    linked = [p for p in (ROOT / "blueprints").rglob("*") if p.is_symlink() and p.is_file()]
    assert linked, "the blueprints share scripts through symlinks"
    for link in linked:
        copy = staged / link.relative_to(ROOT)
        assert copy.read_bytes() == link.read_bytes()
        assert stat.S_IMODE(copy.stat().st_mode) == stat.S_IMODE(link.stat().st_mode)
