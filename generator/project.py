"""Find the bbws-gen project a command runs in, as git finds its repository: from the current directory up.

A project root is a folder holding the Copier template (``copier.yml``) beside the definition
(``definition/``); its blueprints, ``repos/`` and ``docs/`` are read and written there, never in the
checkout the package happens to be installed from.
"""

from __future__ import annotations

from pathlib import Path

from generator.errors import UsageError

MARKER_FILE = "copier.yml"
MARKER_DIR = "definition"


def is_project(path: Path) -> bool:
    """True when ``path`` is a project root: ``copier.yml`` beside a ``definition/`` folder."""
    return (path / MARKER_FILE).is_file() and (path / MARKER_DIR).is_dir()


def find_project(explicit: Path | None = None, start: Path | None = None) -> Path:
    """The project root: ``explicit`` (``--project``) when given, else the nearest one above ``start``.

    Raises :class:`UsageError` when ``explicit`` is no project or when no folder from ``start`` up is one.
    """
    if explicit is not None:
        root = explicit.expanduser().resolve()
        if not is_project(root):
            raise UsageError(
                f"{explicit} is not a bbws-gen project",
                [f"a project root holds {MARKER_FILE} beside a {MARKER_DIR}/ folder; pass the monorepo's root"],
            )
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if is_project(folder):
            return folder
    raise UsageError(
        f"not inside a bbws-gen project (no {MARKER_FILE} beside {MARKER_DIR}/ in {here} or any parent)",
        ["run bbws-gen inside the monorepo checkout, or pass --project DIR"],
    )


def resolve(root: Path, value: Path | None, default: str) -> Path:
    """``value`` as given (relative to the current directory, as a user typed it), else ``root/default``."""
    return (value if value is not None else root / default).expanduser().absolute()
