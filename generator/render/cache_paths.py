"""Where bbws-gen keeps its caches between runs, whether that folder can be used, and the parts of every
cache key that describe this machine rather than the project (Python, installed distributions, terraform).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from contextlib import suppress
from pathlib import Path

CACHE_ENV = "BBWS_GEN_CACHE_DIR"

# Cache roots found unusable in this process (see :func:`probe`): from then on they count as "off".
_UNUSABLE: set[str] = set()


def cache_root() -> Path | None:
    """``$BBWS_GEN_CACHE_DIR`` ("off" disables every cache), else ``$XDG_CACHE_HOME/bbws-gen`` or
    ``~/.cache/bbws-gen``; None when caching is off, there is no home to keep it in, or :func:`probe`
    found the folder unusable."""
    named = os.environ.get(CACHE_ENV)
    if named == "off":
        return None
    if named:
        root = Path(named)
    else:
        base = os.environ.get("XDG_CACHE_HOME")
        if not base:
            try:
                base = str(Path.home() / ".cache")
            except RuntimeError:  # no home directory to be found: run without a cache
                return None
        root = Path(base) / "bbws-gen"
    return None if str(root) in _UNUSABLE else root


def cache_dir(kind: str) -> Path | None:
    """The folder of one cache (``jinja``, ``output``, ``checks``) under :func:`cache_root`, or None when off."""
    root = cache_root()
    return None if root is None else root / kind


def probe() -> str | None:
    """Make sure the cache folder exists and is writable. When it cannot be (no home, a path under a file,
    a read-only or virtual file system), every cache is off for the rest of this process and the one
    warning line to show is returned; None when the caches are usable or off."""
    root = cache_root()
    if root is None:
        return None
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(f"not writable: {root}")
    except OSError as exc:
        _UNUSABLE.add(str(root))
        why = exc.strerror or str(exc)
        return f"the cache folder {root} cannot be used ({why}); running without caches (set {CACHE_ENV} to move it)"
    return None


@functools.cache
def environment() -> bytes:
    """Python's version and every installed distribution's name and version, as keys include them.

    The distributions are read from the ``*.dist-info`` and ``*.egg-info`` folders on ``sys.path`` (the
    folders importlib.metadata reads; their names are ``<name>-<version>`` by the packaging spec), which
    takes a millisecond where asking importlib.metadata for 180 versions takes a fifth of a second. A folder
    name without a version (an ``.egg-info`` of a develop install) adds its ``PKG-INFO``."""
    found: list[str] = []
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as items:
                names = [item.name for item in items if item.name.endswith((".dist-info", ".egg-info"))]
        except OSError:
            continue
        for name in sorted(names):
            found.append(f"{entry}\0{name}")
            if "-" not in name:
                with suppress(OSError):
                    found.append(Path(entry or ".", name, "PKG-INFO").read_text(encoding="utf-8", errors="replace"))
    return "\0".join([sys.version, sys.implementation.cache_tag or "", *found]).encode("utf-8", "surrogateescape")


def terraform_digest(exe: str | None) -> str:
    """The sha256 of the terraform binary ``exe`` ("absent" for None): its verdicts (fmt) are part of the
    answer, and an upgrade in place keeps its path.

    Hashing its 90 MB costs a tenth of a second, a third of a `--check` that changed nothing, so the digest
    is kept in the ``tools`` cache folder under the binary's identity: path, device, inode, size, and its
    modification and change times. Any write to the file, or a new file, changes the change time, which no
    one can set back, so a kept digest always belongs to exactly these bytes."""
    if exe is None:
        return "absent"
    real = os.path.realpath(exe)
    info = os.stat(real)
    identity = f"{real}\0{info.st_dev}\0{info.st_ino}\0{info.st_size}\0{info.st_mtime_ns}\0{info.st_ctime_ns}"
    folder = cache_dir("tools")
    kept = None if folder is None else folder / hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()
    if kept is not None:
        with suppress(OSError, UnicodeDecodeError):
            digest = kept.read_text(encoding="ascii")
            if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
                return digest
    digest = _file_digest(real, identity)
    if kept is not None:
        with suppress(OSError):
            kept.parent.mkdir(parents=True, exist_ok=True)
            for other in kept.parent.iterdir():  # one binary's digest kept: the folder stays tiny
                other.unlink()
            temporary = kept.with_name(f".tmp-{os.getpid()}")
            temporary.write_text(digest, encoding="ascii")
            os.replace(temporary, kept)
    return digest


@functools.cache
def _file_digest(path: str, identity: str) -> str:
    # Memoized within one process too (every render worker asks); ``identity`` changes with any write.
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
