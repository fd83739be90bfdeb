"""SensitivitySolver (tutorial module 4): which hardware resource to invest in. Each elasticity is d ln(latency) /
d ln(resource), by central differences: the input record is scaled up and down by `step` and solved again through
the same physics (Engine for one accelerator, DistributedModel for a fleet). -1 means "10 % more of it, 10 % less
time"; 0 means the resource does not bind. Memory capacity never changes the latency: it decides feasibility."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ..errors import ConfigError
from ..units import si
from ._common import TableRepr, finite

RESOURCES = ("peak_flops", "memory_bw", "memory_capacity", "interconnect_bw", "network_bw")


@dataclass(frozen=True)
class SensitivityResult(TableRepr):
    """`.sensitivities`: resource -> elasticity of latency; `.binding_constraint`: the resource to invest in."""

    hardware: str
    latency_s: float
    sensitivities: dict
    feasible: bool
    step: float
    baseline: object  # the EngineResult / DistributedResult at the unperturbed point
    assumptions: dict = field(default_factory=dict)

    @property
    def binding_constraint(self) -> str:
        """"memory_capacity" when the workload does not fit; else the resource with the largest |elasticity|."""
        if not self.feasible:
            return "memory_capacity"
        return max(self.sensitivities, key=lambda k: -self.sensitivities[k])

    @property
    def latency(self):
        from ..units import Q
        t = self.latency_s
        return Q(t, "s").to("ms" if t < 60 else "hour" if t < 172800 else "day")

    def _title(self):
        return f"Sensitivity of latency on {self.hardware}"

    def _rows(self):
        rows = [("latency", self.latency), ("feasible", self.feasible)]
        rows += [(f"d ln T / d ln {k}", v) for k, v in self.sensitivities.items()]
        return rows + [("binding constraint (invest here)", self.binding_constraint)]


def _scale_accelerator(acc, what, f):
    if what == "peak_flops":
        return replace(acc, peak_flops={p: v * f for p, v in acc.peak_flops.items()})
    if what == "memory_bw":
        return replace(acc, memory_bw=acc.memory_bw * f)
    if what == "memory_capacity":
        return replace(acc, memory_bytes=acc.memory_bytes * f)
    if what == "interconnect_bw":
        return replace(acc, scaleup_bw=acc.scaleup_bw * f) if acc.scaleup_bw else acc
    return acc  # network_bw: a lone accelerator has no scale-out network


def _scale_fleet(fleet, what, f):
    node = fleet.node
    if what in ("peak_flops", "memory_bw", "memory_capacity"):
        return replace(fleet, node=replace(node, accelerator=_scale_accelerator(node.accelerator, what, f)))
    if what == "interconnect_bw":
        return replace(fleet, node=replace(node, scaleup_bw=node.scaleup_bw * f))
    return replace(fleet, node=replace(node, nic_bw=node.nic_bw * f),
                   fabric=replace(fleet.fabric, port_bw=fleet.fabric.port_bw * f))


class SensitivitySolver:
    """Elasticities of latency with respect to peak FLOP/s, memory bandwidth, memory capacity, scale-up
    interconnect and scale-out network bandwidth.

    >>> from mlsysim import Models, Hardware
    >>> s = SensitivitySolver().solve(model=Models.Language.Llama3_8B, hardware=Hardware.Cloud.H100,
    ...                               precision="fp16", efficiency=0.5)
    >>> s.binding_constraint
    'memory_bw'
    """

    def solve(self, model, hardware, *, precision: str = "fp16", efficiency=None, batch_size: int = 1,
              mode: str | None = None, seq_len: int | None = None, step: float = 0.05,
              **layout) -> SensitivityResult:
        """`hardware`: an Accelerator (or its name), solved by `Engine.solve(model, ..., efficiency=...)` in `mode`
        (Engine's default: "decode"; a small network has none); or a Fleet (or a cluster's name), solved by
        `DistributedModel().solve(model, fleet, precision=..., seq_len=..., **layout)` (a training run, whose
        efficiency is always predicted)."""
        from ..systems.system import Fleet
        if isinstance(hardware, str):  # a cluster's name, as the other solvers take it (was "pass a Fleet")
            from ..systems.registry import Systems
            if hardware in Systems.Clusters.names():
                hardware = Systems.get(hardware)
        h = si(step, "", "step")
        if not h < 0.5:
            raise ConfigError(f"step must be a small fraction (e.g. 0.05), got {h}")
        if isinstance(hardware, Fleet):
            if efficiency is not None:
                raise ConfigError("efficiency= applies to one accelerator (Engine.solve); a fleet's efficiency is "
                                  "predicted by DistributedModel: drop efficiency= or pass an Accelerator")
            # a fleet's time is its training run's: a decode/prefill mode or a batch of one accelerator would be
            # silently ignored (mode='decode' gave the training days)
            if mode not in (None, "training"):
                raise ConfigError(f"mode={mode!r} applies to one accelerator; a fleet's sensitivity is of its "
                                  f"training time: drop mode= or pass an Accelerator")
            if batch_size != 1:
                raise ConfigError(f"batch_size={batch_size!r} is one accelerator's batch; for a fleet give "
                                  f"global_batch_size= (sequences per step)")
            from .distributed import DistributedModel
            # the same 16-bit peak where both exist; a V100 fleet has fp16 only (it was refused, fp16 given or not)
            has_bf16 = "bf16" in hardware.node.accelerator.peak_flops
            prec = "bf16" if precision == "fp16" and has_bf16 else precision
            run = lambda hw: DistributedModel().solve(model, hw, precision=prec, seq_len=seq_len,  # noqa: E731
                                                      **layout)
            time = lambda r: r.time_to_train_s  # noqa: E731
            scale, name = _scale_fleet, hardware.name
        else:
            if layout:
                raise ConfigError(f"{sorted(layout)} are layout options of a fleet; pass a Fleet as hardware=")
            from ..engine.engine import Engine
            run = lambda hw: Engine.solve(model, hw, batch_size, precision, mode=mode,  # noqa: E731
                                          seq_len=seq_len, efficiency=efficiency)
            time = lambda r: r.latency_s  # noqa: E731
            scale, name = _scale_accelerator, getattr(hardware, "name", str(hardware))
            if isinstance(hardware, str):
                from ..hardware.registry import Hardware
                hardware = Hardware.get(hardware)
        base = run(hardware)
        sens = {}
        for what in RESOURCES:
            up, down = time(run(scale(hardware, what, 1 + h))), time(run(scale(hardware, what, 1 - h)))
            sens[what] = (math.log(up) - math.log(down)) / (math.log(1 + h) - math.log(1 - h))
        finite(sens, "SensitivitySolver")
        return SensitivityResult(hardware=name, latency_s=time(base), sensitivities=sens, feasible=base.feasible,
                                 step=h, baseline=base,
                                 assumptions={"method": f"central differences, +/-{h:g} on each resource",
                                              "efficiency": "given" if efficiency is not None else "predicted"})
