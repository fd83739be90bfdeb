"""DistributedResult: a training run's predicted performance, its pint views, table rows and assumptions."""
from __future__ import annotations

from dataclasses import field

from .._codecache import dataclass  # dataclasses.dataclass, its code compiled once
from ..physics import constants as C
from ..stacks import DEFAULT_STACK, resolve_stack
from ..units import quantity
from ._common import TableRepr

BREAKDOWN_KEYS = ("compute", "recompute", "tp_comm", "cp_comm", "ep_comm", "pp_comm", "bubble", "dp_comm",
                  "optimizer", "straggler")
#: result.layout's keys, in order (solve() records their values as a tuple; the dict is built on first access)
LAYOUT_KEYS = ("tp_size", "pp_size", "dp_size", "cp_size", "ep_size", "microbatch_size", "global_batch_size",
               "seq_len", "interleave", "precision", "recompute", "zero_stage", "sequence_parallel",
               "flash_attention", "dp_overlap", "tp_overlap", "ep_overlap", "microbatches", "stack")


def breakdown_of(out) -> dict:
    """The step-time breakdown (s) of physics.training.evaluate's output, as plain floats."""
    return {k: float(out[k]) for k in BREAKDOWN_KEYS}


def memory_of(out) -> dict:
    """The memory by category (bytes) of evaluate's output, as plain floats."""
    return {k: float(v) for k, v in out["memory"].items()}


# the dicts solve() leaves to first access: name -> its builder from (evaluate's output, the layout's values)
_LAZY = {"layout": lambda out, values: dict(zip(LAYOUT_KEYS, values)),
         "breakdown_s": lambda out, values: breakdown_of(out),
         "memory_bytes": lambda out, values: memory_of(out)}

# "Scaling efficiency" has one meaning everywhere (tables, JSON, the report's scaling plot): the share of a step
# the devices spend on the model's math (compute + recompute) / step time, i.e. the speedup over one device
# running the same kernels divided by the device count (the rest is exposed communication, bubble, optimizer,
# stragglers).
SCALING_EFFICIENCY = "scaling efficiency (compute / step time)"


@dataclass(frozen=True)
class DistributedResult(TableRepr):
    """A training run's predicted performance. Floats are SI; the pint-quantity views are properties.

    `latency` is the time to train the token budget; `mfu` counts the FLOPs the step executes (6N + 6*L*h*s per
    token: causal attention, no recomputation; the PaLM convention, Chowdhery et al. 2022 App. B, counts the
    full s^2 term and can exceed 1 at long context); `hfu` adds the recomputation the layout performs.
    """

    model: object
    fleet: object
    layout: dict
    tokens: float
    time_to_train_s: float
    step_s: float
    steps: float
    mfu: float
    hfu: float
    tokens_per_s: float
    flops_per_device: float
    scaling_efficiency: float
    breakdown_s: dict
    memory_bytes: dict
    memory_capacity_bytes: float
    feasible: bool
    _assumed: tuple = field(default=(), repr=False, compare=False)  # inputs of `assumptions`, built on access

    def __getattr__(self, name):
        """layout, breakdown_s and memory_bytes of a solve() result, built on first access from what solve()
        recorded (`_raw`: evaluate's output, checked finite, and the layout's values); kept once built."""
        raw = self.__dict__.get("_raw")
        if raw is None or name not in _LAZY:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        value = self.__dict__[name] = _LAZY[name](*raw)
        return value

    @property
    def assumptions(self) -> dict:
        """Every default and calibrated value the prediction rests on."""
        return _assumptions(self, *self._assumed)

    # --- quantity views (created on access: solve() stays fast) ---
    latency = quantity("time_to_train_s", "s", to="day")

    time_to_train = latency

    step_latency = quantity("step_s", "s")

    throughput = quantity("tokens_per_s", "token/s")

    @property
    def achieved_flops(self):
        from ..units import Q
        return Q(self.flops_per_device / 1e12, "TFLOP/s")

    @property
    def breakdown(self) -> dict:
        from ..units import Q
        return {k: Q(v, "s") for k, v in self.breakdown_s.items()}

    @property
    def memory_per_device(self) -> dict:
        from ..units import Q
        return {k: Q(v / 1e9, "GB") for k, v in self.memory_bytes.items()}

    @property
    def memory_total(self):
        from ..units import Q
        return Q(sum(self.memory_bytes.values()) / 1e9, "GB")

    @property
    def gpu_hours(self) -> float:
        return self.time_to_train_s / 3600.0 * self.fleet.total_accelerators

    def _title(self):
        return f"{self.model.name} on {self.fleet.name}"

    def _rows(self):
        L = self.layout
        rows = [("layout", f"tp={L['tp_size']} pp={L['pp_size']} dp={L['dp_size']} cp={L['cp_size']} "
                           f"ep={L['ep_size']} mb={L['microbatch_size']} gbs={L['global_batch_size']}"),
                ("software stack", L.get("stack", "")),
                ("time to train", self.latency), ("step time", self.step_latency), ("MFU", f"{self.mfu:.1%}"),
                ("HFU", f"{self.hfu:.1%}"), ("throughput (tokens/s)", self.tokens_per_s),
                ("achieved TFLOP/s per device", self.flops_per_device / 1e12),
                (SCALING_EFFICIENCY, f"{self.scaling_efficiency:.1%}"), ("GPU-hours", self.gpu_hours)]
        rows += [(f"  {k} (s/step)", v) for k, v in self.breakdown_s.items() if v > 0]
        cap = self.memory_capacity_bytes / 1e9
        rows += [(f"memory {k} (GB)", v / 1e9) for k, v in self.memory_bytes.items()]
        rows += [("memory total / capacity (GB)", f"{sum(self.memory_bytes.values()) / 1e9:.1f} / {cap:.0f}"),
                 ("feasible", "yes" if self.feasible else "NO: does not fit in memory")]
        return rows


def _assumptions(r, hw, bytes_grad, batch_given, cv) -> dict:
    """The assumptions of a DistributedResult (`r`), from what solve() recorded."""
    from .distributed import batch_target_tokens
    acc, model, gbs, seq = r.fleet.node.accelerator, r.model, r.layout["global_batch_size"], r.layout["seq_len"]
    stack = resolve_stack(r.layout.get("stack"))
    return {
        "matmul ceiling (fraction of peak)": hw["ceiling"],
        "matmul ceiling source": acc.matmul_efficiency_source or
                                 f"no measured MAMF: default {C.DEFAULT_MATMUL_EFFICIENCY} of peak",
        "attention efficiency (fraction of peak)": hw["attn_eff"],
        "scale-up bandwidth achieved (GB/s/dir)": hw["su_bw"] / 1e9,
        "scale-out bandwidth achieved (GB/s/dir per device)": hw["ib_bw"] / 1e9,
        "gradient reduction bytes/element": hw["grad_reduce_bytes"] or bytes_grad,
        "optimizer state bytes/parameter": hw["opt_state"],
        **({"fp8 weight copies bytes/parameter": hw["fp8_weights"]} if hw["lin_peak"] is not None else {}),
        "software stack": stack.name + (" (default)" if stack.key == DEFAULT_STACK else ""),
        "software stack source": stack.source,
        "global batch (tokens)": gbs * seq,
        "global batch source": ("given" if batch_given else
                                f"workload's {batch_target_tokens(model):.3g} tokens rounded to a multiple of "
                                f"dp x microbatch"),
        "straggler CV per rank": cv,
        "MFU convention": "executed FLOPs: 6N + 6*L*h*s per token (causal attention), no recompute, over the "
                          "precision's dense peak (fp8: the fp8 peak); HFU adds the recomputation",
        "tokens": r.tokens,
    }
