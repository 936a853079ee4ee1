"""What both questionnaires share: the loaded definition, paths for messages, the final check, safe writes."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from generator import api
from generator.definition import RawDefinition, load_definition
from generator.definition.names import TEMPLATES_PURPOSE
from generator.errors import DefinitionError
from generator.locations import Finding
from generator.model import Model, build_model


def display(path: Path) -> str:
    """A path as the user would type it: relative to the current directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Definition:
    """The definition folder the new table or template joins, loaded and valid."""

    root: Path
    raw: RawDefinition
    model: Model

    @classmethod
    def load(cls, root: Path) -> Definition:
        """Load and validate the definition (raises DefinitionError: it must be valid before we add to it)."""
        raw = load_definition(root)
        return cls(root, raw, build_model(raw))

    @property
    def environments(self) -> tuple[str, ...]:
        """Environment names in promotion order."""
        return tuple(env.name for env in self.model.platform.environments)

    @property
    def template_buckets(self) -> tuple[str, ...]:
        """The bucket the templates are uploaded to, in each environment (promotion order)."""
        bucket = next(b for b in self.model.buckets if b.purpose == TEMPLATES_PURPOSE)
        return tuple(bucket.names[env] for env in self.environments)


def check_whole_definition(definition: Path, files: Mapping[str, str]) -> list[Finding]:
    """Run everything ``bbws-gen validate`` runs on the definition as it would be with ``files`` written.

    ``files`` maps paths relative to the definition folder to their new text. The definition is copied
    to a temporary folder first, so nothing in ``definition`` changes; findings name the real paths.
    """
    with tempfile.TemporaryDirectory(prefix="bbws-onboard-") as tmp:
        copy = Path(tmp) / definition.name
        shutil.copytree(definition, copy, ignore=shutil.ignore_patterns(".*"))
        for rel, text in files.items():
            target = copy / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        try:
            api.validate(copy)
        except DefinitionError as error:
            return [
                Finding(
                    f.file.replace(str(copy), str(definition)),
                    f.line,
                    f.pointer,
                    f.message.replace(str(copy), str(definition)),
                    f.hint,
                )
                for f in error.problems
            ]
    return []


def write_files(root: Path, files: Mapping[str, str]) -> list[Path]:
    """Write ``files`` (relative to ``root``) each through a temporary file and a rename.

    If any write fails, the files written so far are restored to what they were (or removed), so a
    failed onboarding never leaves half a template behind.
    """
    backups: dict[Path, str | None] = {}
    written: list[Path] = []
    try:
        for rel, text in files.items():
            target = root / rel
            backups[target] = target.read_text(encoding="utf-8") if target.exists() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.onboard-tmp")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, target)
            written.append(target)
    except BaseException:
        for target, old in backups.items():
            target.with_name(f".{target.name}.onboard-tmp").unlink(missing_ok=True)
            if old is None:
                target.unlink(missing_ok=True)
            else:
                target.write_text(old, encoding="utf-8")
        raise
    return written
