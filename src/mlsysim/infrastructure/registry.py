"""`Infrastructure`: grids and datacenters (data/infrastructure.toml). Datacenters name their grid's key."""
from __future__ import annotations

from .._record import build_kwargs
from ..errors import ConfigError
from ..registry import Registry
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


Infrastructure = Registry("Infrastructure", "infrastructure.toml", _build)
