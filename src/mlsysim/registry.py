"""Lazy, typed registries built from TOML data files: `Hardware.Cloud.H100`, with close-match suggestions.

Each data file has categories (top-level tables) of entries; an entry is built into a frozen object the first
time it is accessed. Loading a file costs ~1 ms; nothing is read at `import mlsysim`.
"""
from __future__ import annotations

import hashlib
import marshal
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from .errors import unknown


@lru_cache(maxsize=None)
def load_data(filename: str) -> dict[str, Any]:
    """Parse one TOML file from mlsysim/data (cached in memory, and on disk keyed by the file's content: parsing
    TOML in pure Python is most of a registry's first access)."""
    path = Path(__file__).parent / "data" / filename
    if path.is_file():
        raw = path.read_bytes()
    else:  # not a plain directory (e.g. a zipped install)
        from importlib import resources
        raw = resources.files("mlsysim.data").joinpath(filename).read_bytes()
    from ._cache import cache_dir, python_tag, write_atomic
    folder = cache_dir("data", python_tag())
    cached = None if folder is None else folder / f"{filename}.{hashlib.sha1(raw).hexdigest()[:16]}.marshal"
    if cached is not None:
        try:
            return marshal.loads(cached.read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    import tomllib  # only when parsing (~10 ms to import)
    data = tomllib.loads(raw.decode("utf-8"))
    if cached is not None:
        try:
            write_atomic(cached, marshal.dumps(data))
        except (OSError, ValueError):  # unwritable folder, or a value marshal cannot store (a TOML date)
            pass
    return data


class Category:
    """A namespace of registry entries (e.g. `Hardware.Cloud`); attribute or item access builds the entry."""

    def __init__(self, registry: "Registry", name: str):
        self._registry = registry
        self._name = name
        self._cache: dict[str, Any] = {}

    def _raw(self) -> dict[str, Any]:
        return self._registry._raw()[self._name]

    def names(self) -> list[str]:
        return list(self._raw())

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        return self[key]

    def __getitem__(self, key: str):
        key = self._registry._aliases.get(key, key)
        if key not in self._cache:
            raw = self._raw()
            if key not in raw:
                raise unknown(f"{self._registry._label}.{self._name} entry", key, raw)
            self._cache[key] = self._registry._build(self._name, key, raw[key])
        return self._cache[key]

    def __iter__(self):
        return (self[k] for k in self._raw())

    def __contains__(self, key: str) -> bool:
        return key in self._raw()

    def __dir__(self):
        return self.names()

    def __repr__(self) -> str:
        return f"<{self._registry._label}.{self._name}: {', '.join(self.names())}>"


class Registry:
    """A registry over one TOML file; `get(name)` finds an entry in any category."""

    def __init__(self, label: str, filename: str, build: Callable[[str, str, dict], Any],
                 aliases: dict[str, str] | None = None):
        self._label = label
        self._aliases = aliases or {}  # short name -> entry key (not listed by names(); resolved on access)
        self._filename = filename
        self._builder = build
        self._categories: dict[str, Category] = {}

    def _raw(self) -> dict[str, Any]:
        return load_data(self._filename)

    def _build(self, category: str, key: str, raw: dict):
        return self._builder(category, key, raw)

    def categories(self) -> list[str]:
        return list(self._raw())

    def __getattr__(self, key: str):
        if key.startswith("_"):
            raise AttributeError(key)
        raw = self._raw()
        if key in raw:
            return self._categories.setdefault(key, Category(self, key))
        key = self._aliases.get(key, key)
        for cat in raw:  # flat access: Hardware.H100
            if key in raw[cat]:
                return getattr(self, cat)[key]
        raise unknown(f"{self._label} category or entry", key, list(raw) + self.all_names())

    def all_names(self) -> list[str]:
        return [k for cat in self._raw().values() for k in cat]

    def get(self, name: str):
        """Look an entry up by key in any category (e.g. `Hardware.get("H100")`)."""
        return getattr(self, name)

    def __dir__(self):
        return self.categories()

    def __repr__(self) -> str:
        return f"<{self._label}: {', '.join(self.categories())}>"
