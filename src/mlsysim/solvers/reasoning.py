"""InferenceScalingModel, the reasoning wall: hidden chain-of-thought tokens cost time and energy per query, on one
replica as ServingModel models it."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, unexpected_keywords
from ..models.context import check_context, context_note
from ..physics import power as PP
from ..physics import serving as PS
from ..physics.inference import forward_flops, kv_cache_bytes, roofline_time, weights_read
from ..physics.precision import compute_peak, serving_precision
from ..units import count, quantity, si
from ._common import TableRepr, finite, resolve_model
from .distributed import _dims
from .serving import ServingModel, ServingResult, resolve_hardware

@dataclass(frozen=True)
class InferenceScalingResult(TableRepr):
    """Time and energy of one query with `reasoning_steps` hidden chain-of-thought tokens."""

    serving: ServingResult
    reasoning_steps: int
    total_s: float
    energy_j: float
    efficiency: float | None
    assumptions: dict = field(default_factory=dict)

    total_reasoning_time = quantity("total_s", "s")
    energy_per_query = quantity("energy_j", "J")

    @property
    def feasible(self) -> bool:
        """The weights and the KV cache of prompt + hidden tokens fit on the accelerator (the serving run's mark)."""
        return self.serving.feasible

    def _title(self):
        return f"Reasoning wall: {self.serving.model.name}, {self.reasoning_steps} hidden tokens"

    def _rows(self):
        mem = sum(self.serving.memory_bytes.values()) / 1e9
        cap = self.serving.accelerator.memory_bytes / 1e9
        return [("total reasoning time", self.total_reasoning_time), ("energy per query", self.energy_per_query),
                ("efficiency", self.efficiency if self.efficiency is not None else "predicted"),
                ("feasible", "yes" if self.feasible else f"NO: needs {mem:.4g} GB, the chip has {cap:.4g} GB")]


class InferenceScalingModel:
    """The reasoning wall: a query that thinks for `reasoning_steps` tokens pays TTFT + steps x ITL, and the
    power of the replica's `tp_size` accelerators over that time (physics.power.accelerator_power_w at the
    achieved utilisation). TP as ServingModel: weights and FLOPs split, two all-reduces per layer."""

    def solve(self, model, hardware, *, reasoning_steps=128, precision="bf16", efficiency=None, seq_len=512,
              batch_size=1, tp_size=1, **unexpected) -> InferenceScalingResult:
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        acc, su_bw, su_lat = resolve_hardware(hardware)
        if precision == "fp16" and "bf16" in acc.peak_flops:
            precision = "bf16"  # same width and peak where both exist (a V100 has fp16 only: it was refused)
        steps = count(reasoning_steps, "reasoning_steps")
        check_context(resolve_model(model), count(seq_len, "seq_len"), steps, "seq_len + reasoning_steps")
        r = ServingModel().solve(model, hardware, seq_len=seq_len, output_len=steps, batch_size=batch_size,
                                 precision=precision, tp_size=tp_size)
        tp = r.tp
        d = _dims(r.model)
        wb = serving_precision(precision)[0]
        flops_tok = 2.0 * d.mm_params * batch_size
        peak = compute_peak(acc, serving_precision(precision)[2])
        assumptions = context_note(r.model)
        if efficiency is not None:
            eff = si(efficiency, "", "efficiency")
            if not 0 < eff <= 1:
                raise ConfigError(f"efficiency must be in (0, 1], got {eff}")
            # each of the tp devices: 1/tp of the FLOPs and bytes at roofline x eff, plus ServingModel's TP
            # all-reduces of the pass. Each hidden token reads the weights and the KV cache of the chain so far
            # (mean context prompt + steps/2), and an MoE step only the experts its b tokens touch. FLOPs: weights,
            # attention core over the context (the prompt's s^2 term dominates long prompts) and the LM head.
            kb, b, isl = serving_precision(precision)[1], r.batch_size, r.input_len
            ctx = isl + steps / 2.0
            kv = kv_cache_bytes(d, batch=b, context=ctx, bytes_el=kb)
            t_tok = roofline_time(forward_flops(d, batch=b, new_tokens=1, context=ctx, decode=True) / tp,
                                  (wb * weights_read(d, b) + kv) / tp, peak, acc.memory_bw, eff,
                                  eff) + PS.replica_comm_s(d, float(b), float(tp), 1.0, su_bw, su_lat)
            t_pre = roofline_time(forward_flops(d, batch=b, new_tokens=isl, context=isl) / tp,
                                  wb * weights_read(d, b * isl) / tp, peak, acc.memory_bw,
                                  eff, eff) + PS.replica_comm_s(d, float(b * isl), float(tp), 1.0, su_bw, su_lat)
            total = t_pre + steps * t_tok
            assumptions["efficiency"] = f"{eff:g} given: overrides the predicted kernel efficiencies (roofline x eff)"
        else:
            eff = None
            total = r.ttft_s + steps * r.itl_s
        mfu = (flops_tok * (seq_len + steps)) / total / (peak * tp)
        power = PP.accelerator_power_w(mfu, acc.tdp_w, acc.idle_w if acc.idle_w is not None
                                       else PP.default_idle_w(acc.tdp_w))
        energy = tp * power * total / r.batch_size  # the batch's queries share the replica's energy
        assumptions["power"] = (f"{tp} x {power:.3g} W at utilisation {mfu:.3g} (physics.power.accelerator_power_w)"
                                + (f", shared by the batch's {r.batch_size} queries" if r.batch_size > 1 else ""))
        finite({"total": total, "energy": energy}, "InferenceScalingModel")
        return InferenceScalingResult(serving=r, reasoning_steps=steps, total_s=total, energy_j=energy,
                                      efficiency=eff, assumptions=assumptions)
