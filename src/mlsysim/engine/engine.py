"""`Engine.solve(model, hardware, batch_size=1, precision="fp16")`: the tutorial's one-call roofline.

A thin view of `SingleNodeModel` (one decode step by default: one new token per sequence over the model's
context), adding the ideal-roofline bound so a student can compare it with the predicted latency.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..solvers._common import TableRepr


@dataclass(frozen=True)
class EngineResult(TableRepr):
    """`.latency`, `.throughput` (pint), `.bottleneck` ("compute" or "memory"), and the roofline numbers."""

    detail: object  # the SingleNodeResult this view is made from

    @property
    def latency(self):
        return self.detail.latency

    @property
    def throughput(self):
        """Sequences (decode: tokens) per second for the whole batch."""
        from ..units import Q
        per = self.detail.batch_size * (1 if self.detail.mode == "decode" else self.detail.seq_len)
        return Q(per / self.detail.latency_s, "1/s")

    @property
    def bottleneck(self) -> str:
        return self.detail.bound

    @property
    def ideal_latency(self):
        """The roofline bound: max(FLOPs / peak, bytes / datasheet bandwidth), no efficiency losses."""
        from ..units import Q
        d, acc = self.detail, self.detail.accelerator
        return Q(max(d.flops / d.assumptions["peak FLOP/s"], d.bytes_moved / acc.memory_bw), "s").to("ms")

    @property
    def efficiency(self) -> float:
        """Ideal roofline latency / predicted latency: the share of the binding roof the model predicts."""
        return self.ideal_latency.to("s").magnitude / self.detail.latency_s

    @property
    def feasible(self) -> bool:
        return self.detail.feasible

    def _title(self):
        return self.detail._title()

    def _rows(self):
        return self.detail._rows() + [("ideal roofline latency", self.ideal_latency),
                                       ("predicted / ideal", 1 / self.efficiency),
                                       ("throughput (1/s)", self.throughput.magnitude)]


class Engine:
    """The tutorial's single-node solver. `mode` is "decode" (default), "prefill" or "training"."""

    @staticmethod
    def solve(model, hardware, batch_size: int = 1, precision: str = "fp16", *, mode: str = "decode",
              seq_len: int | None = None) -> EngineResult:
        from ..solvers.single_node import SingleNodeModel
        r = SingleNodeModel().solve(model, hardware, mode=mode, batch_size=batch_size, seq_len=seq_len,
                                    precision=precision)
        return EngineResult(r)
