"""Where bbws-gen keeps its caches between runs (compiled templates, rendered output)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "BBWS_GEN_CACHE_DIR"


def cache_root() -> Path | None:
    """``$BBWS_GEN_CACHE_DIR`` ("off" disables every cache), else ``$XDG_CACHE_HOME/bbws-gen`` or
    ``~/.cache/bbws-gen``; None when caching is off or there is no home to keep it in."""
    named = os.environ.get(CACHE_ENV)
    if named == "off":
        return None
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except RuntimeError:  # no home directory to be found: run without a cache
            return None
    return Path(base) / "bbws-gen"


def cache_dir(kind: str) -> Path | None:
    """The folder of one cache (``jinja``, ``output``) under :func:`cache_root`, or None when off."""
    root = cache_root()
    return None if root is None else root / kind
