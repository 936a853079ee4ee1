"""Rendered trees kept one by one, by the hash of what decides each: a table edit re-renders the DynamoDB
repo and the docs, and takes the S3 repo as it was.

A tree is a function of its blueprint's Copier data (:func:`generator.answers.blueprint_data`), the release
tag, its name, and the code that renders it (:func:`generator.render.output_cache.code_key`: blueprints,
``copier.yml``, the generator, library and Python versions). The key is the sha256 of exactly those. An
entry ``<key>/`` holds the tree (manifest included) and the index of its files (:mod:`.indexed`); it is
written under a temporary name and renamed into place, only for trees ``terraform fmt`` checked. Taking a
tree links (or copies) its files into staging and checks them against the index there, so what goes on is
exactly what was rendered; an entry that does not match is removed and the tree is rendered afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from generator.render.cache_paths import cache_dir
from generator.render.indexed import INDEX, index_of, keep_tree, prune, publish
from generator.render.targets import Target

KIND = "trees"
TREE = "tree"
KEEP_ENTRIES = 24  # newest by use; eight runs' worth of three trees


def tree_key(code: str, target: Target, tag: str) -> str:
    """The sha256 of everything that decides ``target``'s rendered tree."""
    from generator.answers import blueprint_data

    data = json.dumps(blueprint_data(target.blueprint, target.spec, tag), sort_keys=True, separators=(",", ":"))
    hasher = hashlib.sha256()
    for part in (code, target.name, target.blueprint, tag, data):
        encoded = part.encode("utf-8", "surrogatepass")
        hasher.update(len(encoded).to_bytes(8, "big") + encoded)
    return hasher.hexdigest()


class TreeCache:
    """The kept trees of one cache folder, for one :func:`~generator.render.output_cache.code_key`."""

    def __init__(self, folder: Path, code: str, report: Callable[[str], None]) -> None:
        self.folder = folder
        self.code = code
        self.report = report

    @classmethod
    def open(cls, code: str, report: Callable[[str], None]) -> TreeCache | None:
        """The tree cache, or None when caching is off."""
        folder = cache_dir(KIND)
        return None if folder is None else cls(folder, code, report)

    def take(self, target: Target, tag: str, destination: Path) -> bool:
        """Put the kept tree of ``target`` at ``destination`` (absent) and return True; False (leaving
        nothing there) when none is kept or the kept one does not match its index."""
        entry = self.folder / tree_key(self.code, target, tag)
        if not entry.is_dir():
            return False
        try:
            index = json.loads((entry / INDEX).read_text(encoding="utf-8"))
            taken = keep_tree(entry / TREE, destination, "")
            # Checked in staging: the links (or copies) there are what goes on into the output.
            intact = taken == index and index_of(destination) == index
        except (OSError, ValueError):
            intact = False
        if not intact:
            shutil.rmtree(destination, ignore_errors=True)
            self.report(f"the cached tree {entry} does not match its index: rendering {target.name} afresh")
            shutil.rmtree(entry, ignore_errors=True)
            return False
        with suppress(OSError):
            os.utime(entry / INDEX)  # most recently used: kept longest
        return True

    def keep(self, target: Target, tag: str, tree: Path) -> None:
        """Keep the freshly rendered, fmt-checked ``tree`` of ``target`` (best effort: a cache that cannot be
        written only costs time)."""
        entry = self.folder / tree_key(self.code, target, tag)
        if (entry / INDEX).is_file():
            return
        shutil.rmtree(entry, ignore_errors=True)  # a damaged one (it has no index)
        error = publish(self.folder, entry, lambda temporary: keep_tree(tree, temporary / TREE, ""))
        if error is not None:
            self.report(f"could not keep the rendered {target.name} in {self.folder}: {error}")
        prune(self.folder, KEEP_ENTRIES)
