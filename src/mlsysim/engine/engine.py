"""`Engine.solve(model, hardware, batch_size=1, precision="fp16")`: the tutorial's one-call roofline.

A thin view of `SingleNodeModel` (one decode step by default: one new token per sequence over the model's
context), adding the ideal-roofline bound so a student can compare it with the predicted latency. Small
non-transformer networks (`mlsysim.models.small.InferenceWorkload`: ResNet-50, MobileNetV2, keyword spotting) go
through the same roofline with their per-inference FLOPs and bytes. `efficiency=` replaces the predicted kernel
efficiencies by one given number (roofline / efficiency), and the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..solvers._common import TableRepr


@dataclass(frozen=True)
class EngineResult(TableRepr):
    """`.latency`, `.throughput` (pint), `.bottleneck` ("compute" or "memory"), and the roofline numbers."""

    detail: object  # the SingleNodeResult this view is made from
    latency_s: float
    given_efficiency: float | None = None  # efficiency= passed by the caller (None: predicted)

    @property
    def latency(self):
        from ..units import Q
        return Q(self.latency_s, "s").to("ms")

    @property
    def throughput(self):
        """Per second for the whole batch: tokens (decode, prefill, training) or inferences (small networks)."""
        from ..units import Q
        per = self.detail.batch_size * (1 if self.detail.mode in ("decode", "inference") else self.detail.seq_len)
        return Q(per / self.latency_s, "1/s")

    @property
    def bottleneck(self) -> str:
        return self.detail.bound

    @property
    def ideal_latency(self):
        """The roofline bound: max(FLOPs / peak, bytes / datasheet bandwidth), no efficiency losses."""
        from ..physics.inference import roofline_time
        from ..units import Q
        d = self.detail
        return Q(roofline_time(d.flops, d.bytes_moved, d.assumptions["peak FLOP/s"], d.accelerator.memory_bw),
                 "s").to("ms")

    @property
    def efficiency(self) -> float:
        """Ideal roofline latency / latency: the share of the binding roof reached (given or predicted)."""
        return self.ideal_latency.to("s").magnitude / self.latency_s

    @property
    def feasible(self) -> bool:
        return self.detail.feasible

    @property
    def assumptions(self) -> dict:
        a = dict(self.detail.assumptions)
        a["efficiency"] = (f"{self.given_efficiency:g} given: overrides the predicted kernel efficiencies "
                           f"(latency = ideal roofline / efficiency)" if self.given_efficiency is not None
                           else "predicted (kernel model; physics/constants.py)")
        return a

    def _title(self):
        return self.detail._title()

    def _rows(self):
        rows = [r for r in self.detail._rows() if r[0] != "latency"]
        return rows + [("latency", self.latency), ("ideal roofline latency", self.ideal_latency),
                       ("efficiency (ideal / latency)", self.efficiency),
                       ("efficiency source", "given" if self.given_efficiency is not None else "predicted"),
                       ("throughput (1/s)", self.throughput.magnitude)]


class Engine:
    """The tutorial's single-node solver. `mode` is "decode" (default), "prefill" or "training" (transformers;
    a small network is one inference per sample). `efficiency=` in (0, 1] replaces the predicted efficiency."""

    @staticmethod
    def solve(model, hardware, batch_size: int = 1, precision: str = "fp16", *, mode: str | None = None,
              seq_len: int | None = None, efficiency=None, **unexpected) -> EngineResult:
        if unexpected:
            from ..errors import unexpected_keywords
            raise unexpected_keywords(Engine.solve, unexpected)
        from ..models.small import InferenceWorkload
        from ..physics.inference import roofline_time
        from ..units import si
        eff = None
        if efficiency is not None:
            eff = si(efficiency, "", "efficiency")
            if eff > 1:
                from ..errors import ConfigError
                raise ConfigError(f"efficiency must be in (0, 1] (a share of the roofline), got {eff}")
        if isinstance(model, InferenceWorkload):  # mode= and seq_len= were silently ignored
            check_small_options(model, mode=mode, seq_len=seq_len)
            r = _small_network(model, hardware, batch_size, precision)
        else:
            from ..solvers.single_node import SingleNodeModel
            r = SingleNodeModel().solve(model, hardware, mode=mode or "decode", batch_size=batch_size,
                                        seq_len=seq_len, precision=precision)
        latency = r.latency_s
        if eff is not None:
            latency = roofline_time(r.flops, r.bytes_moved, r.assumptions["peak FLOP/s"], r.accelerator.memory_bw,
                                    eff, eff)
        return EngineResult(r, latency, eff)


def check_small_options(w, **given) -> None:
    """A small network is one fixed inference per sample: transformer options (mode, sequence length, recompute)
    given for it are a ConfigError, not ignored."""
    names = [k for k, v in given.items() if v is not None]
    if names:
        from ..errors import ConfigError
        raise ConfigError(f"{', '.join(names)} does not apply to {w.name} (a fixed network: one inference per "
                          f"sample); omit {'it' if len(names) == 1 else 'them'}")


def _small_network(w, hardware, batch_size, precision):
    """One batch of a fixed network at the roofline: its layers run as GEMMs (im2col) at the chip's matmul
    ceiling, its weights stream at the achievable memory bandwidth (the transformer path's constants)."""
    from ..errors import ConfigError
    from ..physics import constants as C
    from ..physics.inference import ridge_point, roofline_time
    from ..physics.precision import compute_peak, serving_precision
    from ..solvers._common import resolve_accelerator
    from ..solvers.single_node import SingleNodeResult
    from ..units import count
    acc = resolve_accelerator(hardware)
    wb, _, comp, names = serving_precision(precision)
    if comp != precision and comp not in acc.peak_flops:  # int4 is weight-only: "no bf16 support" named no int4
        raise ConfigError(f"{precision} is a weight-only format ({precision} weights, {comp} compute) and {acc.name} "
                          f"has no {comp}; choose a precision it computes in: {', '.join(acc.peak_flops)}")
    acc.peak(comp)  # refuses a dtype the chip lacks, naming its own (no compute_precision=)
    b = count(batch_size, "batch_size")
    peak = compute_peak(acc, comp, names[0])
    ceiling = (acc.matmul_efficiency or C.DEFAULT_MATMUL_EFFICIENCY) * C.FRAMEWORK_GEMM_FRACTION
    flops, moved = b * w.flops, w.bytes_moved(wb, b)
    latency = roofline_time(flops, moved, peak, acc.memory_bw, ceiling, C.MEMORY_BW_EFFICIENCY)
    mem = {"weights": wb * w.params, "inputs": wb * b * w.input_elems}
    return SingleNodeResult(
        model=w, accelerator=acc, mode="inference", batch_size=b, seq_len=1, flops=flops, bytes_moved=moved,
        latency_s=latency, memory_bytes=mem, feasible=sum(mem.values()) <= acc.memory_bytes,
        assumptions={"peak FLOP/s": peak, "matmul ceiling (fraction of peak)": ceiling,
                     "ridge point (FLOP/byte)": ridge_point(peak, acc.memory_bw), "precision": precision,
                     "bytes": "weights once per batch + inputs (feature maps assumed on chip: a lower bound)"})
