"""Small non-transformer networks (keyword spotting, MobileNet, ResNet) described by their per-inference FLOPs and
parameters, and their registry `SmallModels` (data/small_models.toml): the TinyML end of the roofline.

    >>> from mlsysim.models.small import SmallModels
    >>> SmallModels.Vision.ResNet50.flops
    7600000000.0
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .._record import build_kwargs, check_si
from ..registry import Registry


@dataclass(frozen=True)
class InferenceWorkload:
    """One inference of a fixed network: `flops` (FLOP, 2 per multiply-accumulate), `params` (weights) and
    `input_elems` (elements of one input). Bytes moved per inference at a precision = (params + input_elems) x
    bytes per element: the minimum traffic, with feature maps assumed to stay on chip (a lower bound)."""

    name: str
    flops: float
    params: float
    input_elems: float = 0.0
    task: str = ""
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_si(self, {"flops": ("FLOP", False), "params": ("", False), "input_elems": ("", True)})

    def bytes_moved(self, bytes_per_element: float, batch: int = 1) -> float:
        """Weights read once per batch, one input per sample."""
        return bytes_per_element * (self.params + batch * self.input_elems)


def _build(category: str, key: str, raw: dict) -> InferenceWorkload:
    kw = build_kwargs(InferenceWorkload, raw, f"small_models.toml [{category}.{key}]")
    kw.setdefault("name", key)
    return InferenceWorkload(key=key, **kw)


SmallModels = Registry("SmallModels", "small_models.toml", _build)
