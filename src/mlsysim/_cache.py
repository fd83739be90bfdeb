"""The user's cache folder for derived files that make start-up fast (parsed registry data, pint's parsed unit
definitions). Everything here can be deleted at any time; MLSYSIM_CACHE=0 turns the cache off."""
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
    folder = base.joinpath("mlsysim", *parts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that a concurrent reader sees either nothing or all of it."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def python_tag() -> str:
    return f"py{sys.version_info[0]}{sys.version_info[1]}"
