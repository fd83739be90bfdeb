"""`Models`: the workload registry (data/models.toml). Fields are TransformerWorkload's, plus its source."""
from __future__ import annotations

from .._record import build_kwargs
from ..registry import Registry
from .workload import TransformerWorkload


def _build(category: str, key: str, raw: dict) -> TransformerWorkload:
    kw = build_kwargs(TransformerWorkload, raw, f"models.toml [{category}.{key}]")
    kw.setdefault("name", key)
    return TransformerWorkload(key=key, **kw)


Models = Registry("Models", "models.toml", _build)
