"""Package versions without importing importlib.metadata, for the moment pint is imported: pint, flexcache and
flexparser each call `importlib.metadata.version(...)` at import, and importing importlib.metadata (email, zipfile,
csv, socket, ...) takes longer than the rest of pint's import after numpy. Outside `lightweight_metadata()` nothing
changes.
"""
from __future__ import annotations

import os
import re
import sys
import types
from contextlib import contextmanager

_NAME = "importlib.metadata"


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _version_from_dist_info(name: str) -> str | None:
    """The Version field of `name`'s .dist-info/METADATA in the first sys.path folder that has one (where
    importlib.metadata looks first); None if it is not plainly there (the caller asks importlib.metadata)."""
    want = _normal(name)
    for folder in sys.path:
        try:  # a wheel's folder is {name}-{version}.dist-info, the name with "_" for "-" and "."
            entries = [e for e in os.listdir(folder or ".")
                       if e.endswith(".dist-info") and _normal(e.partition("-")[0]) == want]
        except OSError:
            continue
        if len(entries) != 1:
            if entries:
                return None
            continue
        try:
            with open(os.path.join(folder or ".", entries[0], "METADATA"), encoding="utf-8") as f:
                for line in f:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        return None
        except OSError:
            return None
        return None
    return None


@contextmanager
def lightweight_metadata():
    """While active, `from importlib.metadata import version` gives a version() that reads the .dist-info folder
    directly; anything else, or a package it cannot find plainly, loads the real importlib.metadata."""
    if _NAME in sys.modules:
        yield
        return
    shim = types.ModuleType(_NAME)

    def real():
        if sys.modules.get(_NAME) is shim:
            del sys.modules[_NAME]
        import importlib.metadata
        return importlib.metadata

    def version(name):
        found = _version_from_dist_info(name)
        return found if found is not None else real().version(name)

    def other(attr):
        if attr.startswith("__"):  # the import system asks for __path__ and the like: a plain module has none
            raise AttributeError(attr)
        return getattr(real(), attr)

    shim.version = version
    shim.__getattr__ = other
    sys.modules[_NAME] = shim
    try:
        yield
    finally:
        if sys.modules.get(_NAME) is shim:
            del sys.modules[_NAME]
