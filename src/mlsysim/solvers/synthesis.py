"""SynthesisSolver (tutorial module 4): the inverted roofline. Given a workload and a latency target (an SLA), what
must the hardware provide (FLOP/s, memory bandwidth, capacity), and which registry accelerators meet it?"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from ..units import si
from ._common import TableRepr, finite


@dataclass(frozen=True)
class SynthesisResult(TableRepr):
    """Requirements (SI floats; pint views `required_flops`, `required_bw`, `required_memory`) and the registry
    entries that meet the target. `feasible=False` when none does: `closest` / `closest_latency` then say how
    near the best entry comes."""

    model: str
    target_s: float
    required_flops_per_s: float
    required_bw_bps: float
    required_memory_bytes: float
    candidates: list  # dicts: hardware (registry key), name, latency_s, margin (= target / latency - 1)
    closest: str
    closest_latency_s: float
    skipped: dict  # registry key -> why it was not evaluated (e.g. no such precision)
    assumptions: dict = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return bool(self.candidates)

    @property
    def required_flops(self):
        from ..units import Q
        return Q(self.required_flops_per_s / 1e12, "TFLOP/s")

    @property
    def required_bw(self):
        from ..units import Q
        return Q(self.required_bw_bps / 1e12, "TB/s")

    @property
    def required_memory(self):
        from ..units import Q
        return Q(self.required_memory_bytes / 1e9, "GB")

    @property
    def closest_latency(self):
        from ..units import Q
        return Q(self.closest_latency_s, "s").to("ms")

    def _title(self):
        return f"Hardware for {self.model} within {self.target_s * 1e3:g} ms"

    def _rows(self):
        rows = [("required peak FLOP/s", self.required_flops), ("required memory bandwidth", self.required_bw),
                ("required memory", self.required_memory), ("feasible", self.feasible)]
        rows += [(f"  {c['hardware']}", f"{c['latency_s'] * 1e3:.3g} ms ({c['margin'] + 1:.3g}x faster than needed)")
                 for c in self.candidates]
        if not self.feasible:
            rows.append(("closest", f"{self.closest}: {self.closest_latency_s * 1e3:.3g} ms"))
        return rows


class SynthesisSolver:
    """Invert the roofline: required FLOP/s = FLOPs / (target x efficiency), required bandwidth = bytes /
    (target x efficiency), required memory = the workload's footprint; then solve every registry accelerator
    (or those in `hardware=`) with `Engine.solve` and keep those that fit and meet the target.

    >>> from mlsysim import Models
    >>> from mlsysim.core.constants import Q_
    >>> s = SynthesisSolver().solve(model=Models.Language.Llama3_8B, target_latency=Q_("30 ms"), batch_size=1)
    >>> s.feasible
    True
    """

    def solve(self, model, target_latency, batch_size: int = 1, precision: str = "fp16", *, efficiency=None,
              mode: str | None = None, seq_len: int | None = None, hardware=None, **unexpected) -> SynthesisResult:
        if unexpected:
            from ..errors import unexpected_keywords
            raise unexpected_keywords(SynthesisSolver.solve, unexpected)
        from ..engine.engine import Engine
        from ..hardware.registry import Hardware
        from ..physics.inference import roofline_requirements
        from ..physics.precision import SHORTHAND
        target = si(target_latency, "s", "target_latency (e.g. Q_('30 ms'))")
        if hardware is None:
            pool = {a.key: a for cat in Hardware.categories() for a in getattr(Hardware, cat)}
        else:
            from ..hardware.accelerator import Accelerator
            if isinstance(hardware, (str, Accelerator)):  # one chip: a pool of one (iterating it was a TypeError)
                hardware = [hardware]
            elif not isinstance(hardware, (list, tuple, set, frozenset)) or not hardware:
                raise ConfigError(f"hardware= must be a list of accelerators or Hardware registry names (e.g. "
                                  f"['H100', 'MI300X']), got {hardware!r}")
            pool = {}
            for a in hardware:
                if not isinstance(a, (str, Accelerator)):
                    raise ConfigError(f"hardware= lists accelerators (one chip each, e.g. 'H100'), got {a!r}")
                pool[a if isinstance(a, str) else a.key or a.name] = Hardware.get(a) if isinstance(a, str) else a
        results, skipped = {}, {}
        if not isinstance(precision, str) or precision not in SHORTHAND:  # a list was a TypeError (unhashable)
            from ..errors import unknown
            raise unknown("precision", precision, SHORTHAND)
        compute = SHORTHAND[precision][2]
        for key, acc in pool.items():
            if compute not in acc.peak_flops:  # say why a chip was left out
                skipped[key] = f"no {compute} compute (has {', '.join(acc.peak_flops)})"
                continue
            results[key] = Engine.solve(model, acc, batch_size, precision, mode=mode, seq_len=seq_len,
                                        efficiency=efficiency)
        if not results:
            raise ConfigError(f"no accelerator can run {precision}: {skipped}; try precision='bf16' or 'int8'")
        r = next(iter(results.values()))
        eff = 1.0 if efficiency is None else r.given_efficiency
        fits = {k: v for k, v in results.items() if v.feasible}
        cands = sorted(({"hardware": k, "name": v.detail.accelerator.name, "latency_s": v.latency_s,
                         "margin": target / v.latency_s - 1} for k, v in fits.items() if v.latency_s <= target),
                       key=lambda c: c["latency_s"], reverse=True)
        closest = min(fits or results, key=lambda k: results[k].latency_s)
        flops, bw = roofline_requirements(r.detail.flops, r.detail.bytes_moved, target, eff, eff)
        need = {"flops": flops, "bw": bw, "memory": sum(r.detail.memory_bytes.values())}
        finite(need, "SynthesisSolver")
        return SynthesisResult(
            model=getattr(r.detail.model, "name", str(model)), target_s=target, required_flops_per_s=need["flops"],
            required_bw_bps=need["bw"], required_memory_bytes=need["memory"], candidates=cands, closest=closest,
            closest_latency_s=results[closest].latency_s, skipped=skipped,
            assumptions={"efficiency": (f"{eff:g} given" if efficiency is not None else
                                        "requirements at the ideal roofline (datasheet minimum); candidates "
                                        "checked at the predicted latency"),
                         "candidates": "fit in memory and latency <= target, slowest (least over-provisioned) "
                                       "first"})
