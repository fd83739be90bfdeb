"""SingleNodeModel: roofline and memory of one workload on one accelerator (training step, prefill, decode)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, unexpected_keywords
from ..hardware.accelerator import Accelerator
from ..models.context import check_context
from ..physics import constants as C
from ..physics.inference import (
    forward_bytes,
    forward_flops,
    kv_cache_bytes,
    ridge_point,
)
from ..physics import serving as PS
from ..physics.precision import matmul_ceiling
from ..physics.training import RECOMPUTE, evaluate, precision_bytes
from ..units import count, flag, quantity
from ._common import TableRepr, choice, finite, resolve_accelerator, resolve_model
from .distributed import _dims

MODES = ("training", "prefill", "decode")


@dataclass(frozen=True)
class SingleNodeResult(TableRepr):
    """Roofline of one step on one device. Floats are SI; `latency` etc. are pint views."""

    model: object
    accelerator: Accelerator
    mode: str
    batch_size: int
    seq_len: int
    flops: float
    bytes_moved: float
    latency_s: float
    memory_bytes: dict
    feasible: bool
    assumptions: dict = field(default_factory=dict)

    @property
    def arithmetic_intensity(self) -> float:
        """FLOP per byte of HBM traffic."""
        return self.flops / self.bytes_moved

    @property
    def ridge_point(self) -> float:
        return self.assumptions["ridge point (FLOP/byte)"]

    @property
    def bound(self) -> str:
        return "compute" if self.arithmetic_intensity >= self.ridge_point else "memory"

    @property
    def efficiency(self) -> float:
        """Achieved FLOP/s over dense peak."""
        return self.flops / self.latency_s / self.assumptions["peak FLOP/s"]

    latency = quantity("latency_s", "s", to="ms")

    @property
    def memory_total(self):
        from ..units import Q
        return Q(sum(self.memory_bytes.values()) / 1e9, "GB")

    def _title(self):
        return f"{self.model.name} on {self.accelerator.name}"

    def _rows(self):
        rows = [("mode", self.mode), ("batch x seq", f"{self.batch_size} x {self.seq_len}"),
                ("FLOPs", self.flops), ("HBM bytes", self.bytes_moved),
                ("arithmetic intensity (FLOP/B)", self.arithmetic_intensity),
                ("ridge point (FLOP/B)", self.ridge_point), ("bound", self.bound), ("latency", self.latency),
                ("efficiency (of peak)", self.efficiency)]
        rows += [(f"memory {k} (GB)", v / 1e9) for k, v in self.memory_bytes.items()]
        rows.append(("feasible", "yes" if self.feasible else "NO: does not fit in memory"))
        return rows


def _reserved_bytes(acc) -> float:
    """The framework's reserve (CUDA context, NCCL buffers: ~2.5 GB observed on A100/H100) on a datacenter or
    custom chip; none on a microcontroller, an edge module or a phone (no NCCL; their runtimes' footprint is not
    modelled, an assumption): an 83 MB Pythia 70M "needed 2.6 GB" on a 1.3 MB nRF52840."""
    from ..hardware.registry import Hardware
    small = acc.key and any(acc.key in getattr(Hardware, c).names() for c in ("Tiny", "Edge", "Mobile"))
    return 0.0 if small else C.RESERVED_MEMORY_BYTES


class SingleNodeModel:
    """Roofline analysis of a workload on one accelerator.

    >>> from mlsysim import Models, Hardware
    >>> r = SingleNodeModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, mode="decode", batch_size=1)
    >>> r.bound
    'memory'
    """

    def solve(self, model, hardware, *, mode: str = "training", batch_size: int = 1, seq_len: int | None = None,
              precision: str = "bf16", recompute: str | None = None, zero_stage: int = 0,
              flash_attention: bool = True, **unexpected) -> SingleNodeResult:
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        model = resolve_model(model)
        acc = resolve_accelerator(hardware)
        choice(mode, MODES, "mode")
        if mode != "training" and (recompute is not None or zero_stage != 0):
            given = ", ".join(n for n, v in (("recompute", recompute), ("zero_stage", zero_stage != 0)) if v)
            raise ConfigError(f"{given} only matter(s) for mode='training' (a {mode} pass keeps no gradients or "
                              f"optimizer state); omit it or use mode='training'")
        recompute = "selective" if recompute is None else recompute
        choice(recompute, RECOMPUTE, "recompute policy")
        b = count(batch_size, "batch_size")
        seq = count(seq_len, "seq_len") if seq_len is not None else model.seq_len
        # a prefill or decode pass holds seq tokens (the decode step's context); a training sequence is not limited
        context = {} if mode == "training" else check_context(model, seq, what=f"mode={mode!r}, seq_len")
        zero = count(zero_stage, "zero_stage", minimum=0)
        if zero > 3:
            raise ConfigError(f"zero_stage must be 0, 1, 2 or 3, got {zero}")
        if zero:  # dp = 1: it was accepted and changed nothing (the same memory and step at every stage)
            raise ConfigError(f"zero_stage={zero} shards gradients, optimizer state and weights over data-parallel "
                              f"ranks; SingleNodeModel runs one device (no data-parallel ranks), so it changes "
                              f"nothing here: omit it, or use DistributedModel on a fleet for ZeRO")
        flash_attention = flag(flash_attention, "flash_attention")
        if mode == "training":
            from .distributed import training_precision
            training_precision(precision)
        peak = acc.peak(precision)
        bytes_el, bytes_grad = precision_bytes(precision)
        if mode != "training":  # inference streams weights and KV at the format's width (fp8/int8: 1 B; was 2 B,
            from ..physics.precision import BYTES  # training's bf16 activations under fp8)
            bytes_el = BYTES.get(precision, bytes_el)
        # the GEMM ceiling at the compute dtype, as ServingModel takes it (fp8 prefill ran at the bf16 share of the
        # fp8 peak: 25 ms against ServingModel's 30.5 ms TTFT for Llama 3 8B x 2,048 tokens on an H100)
        ceiling = matmul_ceiling(acc, precision, C.DEFAULT_MATMUL_EFFICIENCY, C.DEFAULT_FP8_MATMUL_EFFICIENCY) \
            * C.FRAMEWORK_GEMM_FRACTION
        hw = dict(peak=peak, ceiling=ceiling, mem_bw=acc.memory_bw, attn_eff=acc.attention_efficiency)
        d = _dims(model)
        if mode == "training":  # the distributed solver's view of the chip and its default software stack
            from .distributed import accelerator_args
            hw = accelerator_args(acc, precision)
            out = evaluate(d, tp=1.0, pp=1.0, dp=1.0, cp=1.0, ep=1.0, mb=float(b), gbs=float(b), seq=float(seq),
                           v=1.0, recompute=RECOMPUTE[recompute], zero=zero, flash=bool(flash_attention), sp=False,
                           tokens=float(b * seq), capacity=acc.memory_bytes, bytes_el=bytes_el,
                           bytes_grad=bytes_grad, straggler_cv=0.0,
                           hw=dict(hw, node_size=1.0, su_bw=1.0, su_lat=0.0, ib_bw=1.0, ib_lat=0.0))
            latency = float(out["step"])
            flops = float(out["hfu"]) * latency * peak
            # weights+grads+optimizer touched once, activations written and read back
            mem = {k: float(v) for k, v in out["memory"].items()}
            moved = 3.0 * bytes_el * d.total_params + C.OPTIMIZER_BYTES_PER_PARAM * d.total_params \
                + 2.0 * mem["activations"]
        else:
            decode = mode == "decode"
            new = 1 if decode else seq
            # one device of ServingModel's pass (elementwise passes in bf16 activations under 1-byte weights)
            latency = PS.pass_time(d, batch=b, new_tokens=new, context=seq, tp=1.0, pp=1.0, ep=1.0, wbytes=bytes_el,
                                   su_bw=1.0, su_lat=0.0, decode=decode, **hw)[0]
            flops = forward_flops(d, batch=b, new_tokens=new, context=seq, decode=decode)
            moved = forward_bytes(d, batch=b, new_tokens=new, context=seq, bytes_el=bytes_el, decode=decode)
            mem = {"weights": bytes_el * d.total_params,
                   "kv_cache": kv_cache_bytes(d, batch=b, context=seq, bytes_el=bytes_el),
                   "reserved": _reserved_bytes(acc)}
        finite({"latency": latency, "flops": flops, "bytes": moved}, "SingleNodeModel")
        return SingleNodeResult(
            model=model, accelerator=acc, mode=mode, batch_size=b, seq_len=seq, flops=flops, bytes_moved=moved,
            latency_s=latency, memory_bytes=mem, feasible=sum(mem.values()) <= acc.memory_bytes,
            assumptions={"peak FLOP/s": peak, "matmul ceiling (fraction of peak)": ceiling,
                         "ridge point (FLOP/byte)": ridge_point(peak, acc.memory_bw), "precision": precision,
                         **context})
