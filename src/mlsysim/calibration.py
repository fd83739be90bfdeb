"""Calibrate to your own measurement, then predict what you have not run.

    >>> from mlsysim import Models, Systems, DistributedModel
    >>> from mlsysim.calibration import CalibrationModel
    >>> perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
    ...                                 tp_size=8, pp_size=1, zero_stage=2)
    >>> cal = CalibrationModel().solve(performance=perf, measured_mfu=0.45)
    >>> round(cal.predict().mfu, 3)                 # the measured configuration comes back
    0.45
    >>> bigger = cal.predict(fleet=Systems.Clusters.Selene_A100, tp_size=8, pp_size=4)  # doctest: +SKIP

One measurement fits one parameter: a multiplier on the achieved matmul ceiling (the accelerator's measured MAMF
x the framework GEMM fraction), applied to fused attention too. It is found by bisection on the same vectorised
physics the solvers use (physics.training.evaluate) and then carried into every other prediction through a
calibrated copy of the accelerator. Whatever else the model gets wrong for your setup (communication, data
loading) is absorbed into that one number: the result says so.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .errors import ConfigError
from .solvers._common import TableRepr

# Plausible range of the fitted multiplier on the matmul ceiling. Low end 0.3: a framework reaching under a third
# of the calibrated kernel efficiency points at something other than GEMMs (input pipeline, host overhead). High
# end: GEMMs inside training at the full measured MAMF (1 / FRAMEWORK_GEMM_FRACTION) and never above peak.
SCALE_LOW = 0.3

_SOLVE_KEYS = ("precision", "recompute", "zero_stage", "flash_attention", "dp_overlap", "seq_len", "tp_overlap",
               "ep_overlap", "stack")


@dataclass(frozen=True)
class CalibrationResult(TableRepr):
    """What was fitted to a measurement, and a way to predict other configurations with it."""

    performance: object          # the uncalibrated prediction of the measured configuration
    parameter: str
    scale: float
    scale_range: tuple
    measured_step_s: float
    predicted_step_s: float      # before calibration
    fitted_step_s: float         # after (equals the measurement to solver precision)
    ceiling_before: float        # matmul ceiling, fraction of peak
    ceiling_after: float
    achievable_step_s: tuple     # (fastest, slowest) step the range allows
    assumptions: dict = field(default_factory=dict)

    @property
    def fitted(self) -> dict:
        return {self.parameter: self.scale}

    @property
    def feasible(self) -> bool:
        """The measured configuration's memory verdict (a run measured on a layout the model says does not fit
        carries the mark: the memory model and the measurement disagree)."""
        return bool(self.performance.feasible)

    def calibrated_fleet(self, fleet=None):
        """`fleet` (default: the measured one) with its accelerator's matmul (and attention) efficiency
        multiplied by the fitted scale."""
        from .physics import constants as C
        from .solvers._common import resolve_fleet
        fleet = self.performance.fleet if fleet is None else resolve_fleet(fleet)
        acc = fleet.node.accelerator
        base = acc.matmul_efficiency or C.DEFAULT_MATMUL_EFFICIENCY
        att = None if acc.attention_efficiency is None else min(acc.attention_efficiency * self.scale, 1.0)
        fp8 = None if acc.fp8_matmul_efficiency is None else min(acc.fp8_matmul_efficiency * self.scale, 1.0)
        acc2 = replace(acc, name=f"{acc.name} (calibrated x{self.scale:.3f})",
                       matmul_efficiency=min(base * self.scale, 1.0), attention_efficiency=att,
                       fp8_matmul_efficiency=fp8,
                       matmul_efficiency_source=f"calibrated: {base:.4g} x {self.scale:.4f} fitted to a measured "
                                                f"step of {self.measured_step_s:.4g} s")
        return replace(fleet, node=replace(fleet.node, accelerator=acc2))

    def predict(self, model=None, fleet=None, **solve_kwargs):
        """DistributedModel().solve with the fitted efficiency. With no arguments: the measured configuration.
        Otherwise the given model/fleet/layout, keeping the measured run's software settings (precision,
        recompute, ZeRO stage, FlashAttention, DP/TP/EP overlap, sequence length, software stack, token budget)
        unless overridden."""
        from .solvers.distributed import DistributedModel
        perf = self.performance
        L = perf.layout
        if model is None and fleet is None and not solve_kwargs:
            args = {k: L[k] for k in ("tp_size", "pp_size", "dp_size", "cp_size", "ep_size", "microbatch_size",
                                      "global_batch_size", "interleave", "sequence_parallel")}
            args.update({k: L[k] for k in _SOLVE_KEYS})
        else:
            args = {k: L[k] for k in _SOLVE_KEYS}
        args["tokens"] = perf.tokens
        args["straggler_cv"] = perf.assumptions.get("straggler CV per rank")
        if args["straggler_cv"] is None:
            del args["straggler_cv"]
        args.update(solve_kwargs)
        return DistributedModel().solve(model=perf.model if model is None else model,
                                        fleet=self.calibrated_fleet(fleet), **args)

    def _title(self):
        return f"Calibration: {self.performance.model.name} on {self.performance.fleet.name}"

    def _rows(self):
        peak = self.performance.fleet.node.accelerator.peak(self.performance.layout["precision"])
        mfu = self.performance.mfu
        lo, hi = self.achievable_step_s
        return [("fitted", f"{self.parameter} = {self.scale:.4f}"),
                ("matmul ceiling (fraction of peak)", f"{self.ceiling_before:.4f} -> {self.ceiling_after:.4f}"),
                ("achieved matmul TFLOP/s ceiling", f"{self.ceiling_before * peak / 1e12:.1f} -> "
                                                    f"{self.ceiling_after * peak / 1e12:.1f}"),
                ("measured step", f"{self.measured_step_s:.4g} s "
                                  f"(MFU {mfu * self.performance.step_s / self.measured_step_s:.3f})"),
                ("predicted before", f"{self.predicted_step_s:.4g} s (MFU {mfu:.3f})"),
                ("fitted prediction", f"{self.fitted_step_s:.4g} s"),
                ("allowed scale range", f"{self.scale_range[0]:g} - {self.scale_range[1]:.4g}"),
                ("explainable step range", f"{lo:.4g} - {hi:.4g} s")] + ([] if self.feasible else [
                ("feasible", f"NO: the model puts this layout at {sum(self.performance.memory_bytes.values()) / 1e9:.1f}"
                             f" GB per device of {self.performance.memory_capacity_bytes / 1e9:.1f} GB")])


MFU_CONVENTIONS = {"causal": "6N + 6*L*h*s FLOPs per token, causal attention, as result.mfu",
                   "palm": "6N + 12*L*h*s FLOPs per token, non-causal attention, PaLM App. B"}


def _palm_over_causal(perf, convention: str) -> float:
    """FLOPs per token of the measured MFU's convention over result.mfu's (causal): 1, or PaLM's / causal."""
    if convention == "causal":
        return 1.0
    from .physics.transformer import model_flops_per_token
    s = perf.layout["seq_len"]
    return model_flops_per_token(perf.model, s, causal=False) / model_flops_per_token(perf.model, s, causal=True)


class CalibrationModel:
    """Fit the matmul-efficiency multiplier to one measured step time (or MFU) of a configuration you ran."""

    def solve(self, performance=None, *, measured_step_time=None, measured_mfu=None, mfu_convention="causal",
              scale_range=None, **unexpected) -> CalibrationResult:
        """
        performance: DistributedModel().solve(...) of exactly the configuration you measured.
        measured_step_time: seconds per optimizer step (number or pint time); or
        measured_mfu: MFU as a fraction, no recompute counted, in `mfu_convention`: "causal" (result.mfu's:
            6N + 6*L*h*s FLOPs per token; Llama 3's reported MFU) or "palm" (6N + 12*L*h*s, non-causal: PaLM
            App. B, nanoGPT's and torchtitan's MFU).
        scale_range: (low, high) allowed for the multiplier (default (0.3, full MAMF)).
        """
        if unexpected:  # mfu= for measured_mfu= was a TypeError
            from .errors import unexpected_keywords
            raise unexpected_keywords(self.solve, unexpected)
        from .physics import constants as C
        from .solvers.distributed import hardware_args
        from .uncertainty import evaluate_performance
        from .units import si

        perf = performance
        if perf is not None and hasattr(perf, "performance") and (hasattr(perf, "goodput")
                                                                  or not hasattr(perf, "layout")):
            perf = perf.performance  # a GoodputResult (it has a layout too) or another wrapper: its run
        for attr in ("model", "fleet", "layout", "step_s", "mfu"):
            if not hasattr(perf, attr):
                raise ConfigError("CalibrationModel: performance must be the DistributedModel result of the "
                                  "configuration you measured")
        if (measured_step_time is None) == (measured_mfu is None):
            raise ConfigError("CalibrationModel: give exactly one of measured_step_time=... or measured_mfu=...")
        if measured_mfu is not None:
            m = si(measured_mfu, "", "measured_mfu")
            if m > 1:
                raise ConfigError(f"measured_mfu must be a fraction in (0, 1], got {m} (a percentage? use "
                                  f"{m / 100:g})")
            if not isinstance(mfu_convention, str) or mfu_convention not in MFU_CONVENTIONS:
                from .errors import unknown
                raise unknown("mfu_convention", mfu_convention, MFU_CONVENTIONS)
            # same FLOPs per step, so MFU x step time is constant; a PaLM MFU counts the full s^2 attention
            target = perf.step_s * perf.mfu * _palm_over_causal(perf, mfu_convention) / m
        else:
            target = si(measured_step_time, "s", "measured_step_time")
        acc = perf.fleet.node.accelerator
        base = acc.matmul_efficiency or C.DEFAULT_MATMUL_EFFICIENCY
        hi_default = min(1.0 / C.FRAMEWORK_GEMM_FRACTION, 1.0 / base)
        if scale_range is None:
            lo, hi = SCALE_LOW, hi_default
        else:
            if not isinstance(scale_range, (tuple, list)) or len(scale_range) != 2:
                raise ConfigError(f"scale_range must be (low, high), got {scale_range!r}")
            lo, hi = (si(v, "", "scale_range") for v in scale_range)
            if lo > hi:
                raise ConfigError(f"scale_range: the low end {lo:g} exceeds the high end {hi:g}")
            if hi > 1.0 / base:
                raise ConfigError(f"scale_range: high end {hi:g} would put GEMMs above the chip's peak "
                                  f"(matmul efficiency {base:.3f} x {hi:g} > 1); use at most {1.0 / base:.4g}")

        def step(scale):
            return evaluate_performance(perf, ceiling_scale=scale)["step"]

        # Vectorised bracket: one pass over a geometric grid of scales, then bisection inside the bracket.
        grid = np.geomspace(lo, hi, 65) if hi > lo else np.array([lo, hi])
        steps = np.asarray(step(grid), dtype=float)
        fastest, slowest = float(steps.min()), float(steps.max())
        tol = 1e-9 * target
        if not (fastest - tol <= target <= slowest + tol):
            peak_mfu = perf.mfu * perf.step_s
            raise ConfigError(
                f"CalibrationModel: a measured step of {target:.4g} s (MFU {peak_mfu / target:.3f}) is outside what "
                f"a matmul efficiency scale in [{lo:g}, {hi:.4g}] can explain: {fastest:.4g} - {slowest:.4g} s "
                f"(MFU {peak_mfu / slowest:.3f} - {peak_mfu / fastest:.3f}). Check the measured configuration "
                f"matches this one (layout, batch, precision, sequence length); if it does, the gap lies outside "
                f"the GEMMs (input pipeline, host overhead, network)")
        # steps fall with scale: find adjacent grid points that bracket the target
        i = int(np.searchsorted(-steps, -target))
        i = min(max(i, 1), len(grid) - 1)
        a, b = float(grid[i - 1]), float(grid[i])
        for _ in range(100):
            mid = 0.5 * (a + b)
            if float(step(mid)) > target:
                a = mid
            else:
                b = mid
            if b - a <= 1e-12 * b:
                break
        s = 0.5 * (a + b)
        fitted = float(step(s))
        ceiling = hardware_args(perf.fleet, perf.layout["precision"])["ceiling"]
        return CalibrationResult(
            performance=perf, parameter="matmul_efficiency_scale", scale=s, scale_range=(lo, hi),
            measured_step_s=float(target), predicted_step_s=float(perf.step_s), fitted_step_s=fitted,
            ceiling_before=ceiling, ceiling_after=ceiling * s, achievable_step_s=(fastest, slowest),
            assumptions={
                "fitted": "one multiplier on the achieved matmul ceiling (and fused attention), applied to every "
                          "GEMM; it absorbs any other error of the model for this setup",
                "kept": "communication efficiencies, straggler CV and the GEMM shape curve stay as calibrated "
                        "on published runs",
                "measurement": (f"MFU ({MFU_CONVENTIONS[mfu_convention]}) converted to step time at this "
                                f"configuration's FLOPs") if measured_mfu is not None else "step time as given",
            })


def calibrate(performance, **kwargs) -> CalibrationResult:
    """Shorthand for CalibrationModel().solve(performance=..., **kwargs)."""
    return CalibrationModel().solve(performance=performance, **kwargs)
