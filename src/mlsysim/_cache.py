"""The user's cache folder for derived files that make start-up fast (parsed registry data, pint's parsed unit
definitions). Everything here can be deleted at any time; MLSYSIM_CACHE=0 turns the cache off. Where the user's
cache folder cannot be written (a read-only home, a container user without one), a private folder in the
temporary directory takes its place, so start-up stays fast there too."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def cache_dir(*parts: str) -> Path | None:
    """A folder under the user's cache folder (created), or None when caching is off or impossible."""
    if os.environ.get("MLSYSIM_CACHE", "1") == "0":
        return None
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:  # XDG base directories (as platformdirs, without importing it: ~20 ms)
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = _writable(base.joinpath("mlsysim", *parts))
    if folder is None and hasattr(os, "getuid"):
        private = Path(os.environ.get("TMPDIR") or "/tmp") / f"mlsysim-cache-{os.getuid()}"
        if _private(private):
            folder = _writable(private.joinpath("mlsysim", *parts))
    return folder


def _writable(folder: Path) -> Path | None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


def _private(folder: Path) -> bool:
    """`folder` exists (made now if not) owned by this user and writable by no one else: cached code is loaded
    from it, so a folder another user could have planted or can write into is never used."""
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = folder.lstat()
    except OSError:
        return False
    import stat
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o022


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a concurrent reader sees either nothing or all of it."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def python_tag() -> str:
    return f"py{sys.version_info[0]}{sys.version_info[1]}"
