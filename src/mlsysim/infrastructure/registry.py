"""`Infrastructure`: grids and datacenters (data/infrastructure.toml). Datacenters name their grid's key.

Grids not in the TOML resolve through the open datasets in data/grids.csv (every country, grid zone and cloud
region; see mlsysim.infrastructure.grids): `Infrastructure.Grids["PL"]`, `Infrastructure.Grids["PL@2022"]`,
`Infrastructure.Grids["gcp:us-central1"]`. The curated TOML keys (the tutorial's four, ...) come first.
"""
from __future__ import annotations

from .._record import build_kwargs
from ..errors import ConfigError, UnknownNameError
from ..registry import Category, Registry
from .site import Datacenter, Grid


def _build(category: str, key: str, raw: dict):
    where = f"infrastructure.toml [{category}.{key}]"
    if category == "Grids":
        return Grid(key=key, **build_kwargs(Grid, raw, where))
    if category == "Datacenters":
        kw = build_kwargs(Datacenter, raw, where)
        kw["grid"] = Infrastructure.Grids[kw["grid"]]
        return Datacenter(key=key, **kw)
    raise ConfigError(f"infrastructure.toml: unknown category {category}")


class _Grids(Category):
    """Grids: the curated TOML entries, then any country, zone or cloud region of data/grids.csv."""

    def __getitem__(self, key: str):
        try:
            return super().__getitem__(key)
        except UnknownNameError as curated:
            if key not in self._cache:
                from .grids import CODES_HINT, lookup
                try:
                    self._cache[key] = lookup(key)
                except UnknownNameError as data:
                    near = str(data).partition("; ")[2]  # the datasets' own close names, when it has some
                    more = f" ({near})" if near.startswith("did you mean") else ""
                    raise UnknownNameError(f"{curated}; {CODES_HINT}{more}") from None
            return self._cache[key]

    def __contains__(self, key: str) -> bool:
        try:
            self[key]
        except (UnknownNameError, ConfigError):
            return False
        return True


class _Infrastructure(Registry):
    def __getattr__(self, key: str):
        if key == "Grids":
            return self._categories.setdefault(key, _Grids(self, key))
        return super().__getattr__(key)


Infrastructure = _Infrastructure("Infrastructure", "infrastructure.toml", _build)
