"""DistributedModel: step time, time-to-train, MFU and memory of a training run under DP/TP/PP/CP/EP."""
from __future__ import annotations

import math
import operator

from ..errors import ConfigError, unexpected_keywords
from ..hardware.accelerator import power_limit_clock
from ..models.workload import TransformerWorkload
from ..physics import constants as C
from ..physics._inline import scalar
from ..physics.layout import layout_problems, layout_rules
from ..physics.precision import matmul_ceiling
from ..physics.training import RECOMPUTE, default_global_batch, evaluate, precision_bytes
from ..physics.workload_dims import model_dims
from ..stacks import check_precision, resolve_stack, stack_args
from ..systems.system import Fleet
from ..units import count, flag, si
from ._common import choice, divisors, finite, frozen, resolve_fleet, resolve_model
from .distributed_result import BREAKDOWN_KEYS, SCALING_EFFICIENCY, DistributedResult  # noqa: F401 (re-exported)
from .distributed_result import breakdown_of, memory_of

_breakdown = operator.itemgetter(*BREAKDOWN_KEYS)
# the result's scalars from evaluate's output; memory_total is the sum of the memory dict (finite iff each part is)
_scalars = operator.itemgetter("step", "mfu", "time_to_train", "tokens_per_s", "steps", "hfu", "flops_per_device",
                               "scaling_efficiency", "microbatches", "memory_total")
# solve() passes the physics plain numbers only: their scalar variants (physics._inline) skip the array tests
_evaluate, _layout_rules = scalar(evaluate), scalar(layout_rules)

_DIMS = {}
_DIMS_LAST = (None, None)  # the last (model, dims): solves in a row mostly share their model


def _dims(model):
    """model_dims, cached per workload record (by identity: hashing a record costs more than a lookup)."""
    global _DIMS_LAST
    last = _DIMS_LAST
    if last[0] is model:
        return last[1]
    hit = _DIMS.get(id(model))
    if hit is None or hit[0] is not model:
        if len(_DIMS) > 256:
            _DIMS.clear()
        hit = _DIMS[id(model)] = (model, model_dims(model))
    _DIMS_LAST = hit
    return hit[1]


# The conventions by which solve() fills in what the user left out; the explorer calls the same functions.
def batch_target_tokens(model) -> float:
    """Tokens per optimizer step to aim for: the workload's published batch, else 4M tokens (a typical LLM batch:
    GPT-3 3.2M, Llama 2 4M; Brown et al. 2020, Touvron et al. 2023)."""
    return model.global_batch_tokens or 4e6


def default_sequence_parallel(tp, sequence_parallel):
    """Sequence parallelism goes with tensor parallelism unless the user says otherwise (Korthikanti 2022); without
    tensor parallelism there is nothing to shard, so it is off whatever was asked (the echo says what ran)."""
    return (tp > 1) if sequence_parallel is None else (flag(sequence_parallel, "sequence_parallel") and tp > 1)


def resolve_straggler_cv(straggler_cv) -> float:
    return C.STRAGGLER_CV if straggler_cv is None else si(straggler_cv, "", "straggler_cv", allow_zero=True)


def resolve_tokens(model, tokens) -> float:
    """The token budget: `tokens` if given, else the workload's; a workload without one is an error."""
    if tokens is None:
        if model.tokens <= 0:
            raise ConfigError(f"{model.name} has no training token budget; give one: tokens=15e12 in Python, "
                              f"--tokens 15e12 on the command line, tokens: in a scenario, the Tokens field on the "
                              f"web page")
        return float(model.tokens)
    t = si(tokens, "", "tokens")
    if t > MAX_TOKENS:
        raise ConfigError(f"tokens={tokens:g} is beyond any training budget ({MAX_TOKENS:g} at most, ~10^5 x the "
                          f"largest published run); pass a token count, e.g. tokens=15e12")
    return t


#: Largest token budget accepted: ~10^5 x Llama 3's 15.6T (arXiv:2407.21783), far beyond any run, and well inside
#: floating point (a step time x 1e308 tokens overflows to inf).
MAX_TOKENS = 1e18


#: Precisions a training step is modelled in (mixed precision with fp32 master weights; physics.training).
TRAINING_PRECISIONS = ("bf16", "fp16", "fp8", "tf32", "fp32")


def training_precision(precision) -> str:
    """`precision` if a model can be trained in it; int8 (an inference format) or a typo is a ConfigError."""
    from ..hardware.accelerator import PRECISIONS
    if isinstance(precision, str) and precision in PRECISIONS and precision not in TRAINING_PRECISIONS:
        raise ConfigError(f"precision={precision!r} is an inference format: training is modelled in "
                          f"{', '.join(TRAINING_PRECISIONS)}; train in 'fp8' or 'bf16', or use ServingModel for "
                          f"{precision} inference")
    return choice(precision, TRAINING_PRECISIONS, "training precision")


def accelerator_args(acc, precision: str, stack=None) -> dict:
    """The physics' view of one accelerator and software stack: plain SI floats. fp8 runs the layers' linear
    GEMMs at the fp8 peak x the measured fp8 matmul ceiling; attention and the LM head stay at the bf16 rate
    (Transformer Engine's default recipe). A power-capped part runs at its sustained-clock share."""
    clock = power_limit_clock(acc) if acc.full_power_w else 1.0
    fw = C.FRAMEWORK_GEMM_FRACTION * clock
    ceiling = (acc.matmul_efficiency or C.DEFAULT_MATMUL_EFFICIENCY) * fw
    peak = acc.peak(precision)
    st = stack_args(stack)
    fp8 = precision == "fp8"
    lin_peak = lin_ceiling = None
    if fp8:
        check_precision(stack, precision)
        lin_peak = peak
        lin_ceiling = matmul_ceiling(acc, "fp8", C.DEFAULT_MATMUL_EFFICIENCY, C.DEFAULT_FP8_MATMUL_EFFICIENCY) * fw
        peak = acc.peak_flops.get("bf16") or acc.peak_flops.get("fp16") or peak
    else:
        st["cast_passes"] = st["fp8_tp_gather"] = 0.0
    factor = st.pop("attention_factor")
    attn = acc.attention_efficiency * clock if acc.attention_efficiency else ceiling * C.FLASH_ATTENTION_RELATIVE
    return dict(peak=peak, ceiling=ceiling, mem_bw=acc.memory_bw, attn_eff=attn * factor, lin_peak=lin_peak,
                lin_ceiling=lin_ceiling, **st)


def hardware_args(fleet, precision: str, stack=None) -> dict:
    """accelerator_args plus the fleet's links (bandwidths already scaled by achieved efficiency)."""
    training_precision(precision)
    node = fleet.node
    return dict(accelerator_args(node.accelerator, precision, stack), node_size=float(node.accelerators_per_node),
                su_bw=node.scaleup_bw * node.scaleup_efficiency, su_lat=node.scaleup_latency_s,
                ib_bw=fleet.internode_bw_per_accelerator / (fleet.fabric.oversubscription if fleet.count > 1 else 1),
                ib_lat=fleet.fabric.latency_s)


_HW = {}
_HW_LAST = (None, None, None, None)  # the last (fleet, precision, stack, context), replaced whole (threads)


def _hardware_args(fleet, precision, stack) -> tuple:
    """(hardware_args, stack record, bytes_el, bytes_grad) of a solve, cached per (fleet identity, precision, stack
    name or identity): records are frozen, so these are constants of the triple. Shared: read only. The last
    triple is checked first, by identity (solves in a row mostly share their fleet and options)."""
    global _HW_LAST
    last = _HW_LAST
    if last[0] is fleet and last[1] is precision and last[2] is stack:
        return last[3]
    ctx = _hardware_args_cached(fleet, precision, stack)
    _HW_LAST = (fleet, precision, stack, ctx)
    return ctx


def _hardware_args_cached(fleet, precision, stack) -> tuple:
    sk = stack if stack is None or stack.__class__ is str else id(stack)
    key = (id(fleet), precision, sk) if precision.__class__ is str else None
    hit = _HW.get(key)
    if hit is None or hit[0] is not fleet or (sk is not stack and hit[1] is not stack):
        stack_rec = resolve_stack(stack)
        ctx = (hardware_args(fleet, precision, stack_rec), stack_rec) + precision_bytes(precision)
        if key is None:
            return ctx
        if len(_HW) > 256:
            _HW.clear()
        hit = _HW[key] = (fleet, stack, ctx)
    return hit[2]


def overlap_shares(tp_overlap, ep_overlap, model, tensor_parallel: bool, no_tp: str) -> tuple:
    """(tp_overlap, ep_overlap) as floats, or the ConfigError the solver and the explorer give: each a share of
    the traffic in [0, 1]; ep_overlap only on an MoE model; tp_overlap only where some tp > 1 (`no_tp` says
    where it is not, e.g. "tp_size=1")."""
    if not (tp_overlap.__class__ is float and 0.0 <= tp_overlap <= 1.0
            and ep_overlap.__class__ is float and 0.0 <= ep_overlap <= 1.0):  # plain floats in range: done
        for what, val in (("tp_overlap", tp_overlap), ("ep_overlap", ep_overlap)):
            if not 0.0 <= si(val, "", what, allow_zero=True) <= 1.0:
                raise ConfigError(f"{what} is a share of the traffic hidden behind compute, in [0, 1]; got {val}")
    if ep_overlap and not model.is_moe:
        raise ConfigError(f"ep_overlap={ep_overlap} but {model.name} is a dense model (no expert all-to-all to "
                          f"hide); omit ep_overlap")
    if tp_overlap and not tensor_parallel:
        raise ConfigError(f"tp_overlap={tp_overlap} but {no_tp} (no tensor-parallel collectives to hide); "
                          f"omit tp_overlap or use tp_size > 1")
    return float(tp_overlap), float(ep_overlap)


class DistributedModel:
    """Predict a training run from first principles.

    Example (the tutorial's call):
        >>> from mlsysim import Models, Systems
        >>> perf = DistributedModel().solve(model=Models.Language.Llama3_70B,
        ...                                 fleet=Systems.Clusters.Research_256, tp_size=8, pp_size=1, dp_size=32)
        >>> 0 < perf.mfu < 1
        True
    """

    def solve(self, model, fleet, tp_size: int = 1, pp_size: int = 1, dp_size: int | None = None, *,
              cp_size: int = 1, ep_size: int = 1, global_batch_size: int | None = None,
              seq_len: int | None = None, microbatch_size: int = 1, precision: str = "bf16",
              recompute: str = "selective", zero_stage: int = 1, interleave: int = 1,
              tokens: float | None = None, flash_attention: bool = True, sequence_parallel: bool | None = None,
              dp_overlap: bool = True, tp_overlap: float = 0.0, ep_overlap: float = 0.0,
              straggler_cv: float | None = None, stack: str | None = None, **unexpected) -> DistributedResult:
        """Evaluate one layout; every default is echoed in `result.layout` and `result.assumptions`.

        model, fleet: records or registry names. tp/pp/cp/ep_size: tensor, pipeline, context and expert parallel
        degrees; dp_size: derived from the fleet when omitted (tp*pp*cp*dp must equal its accelerators).
        global_batch_size: sequences per step (default: the workload's published batch in tokens / seq_len,
        rounded to a multiple of dp x microbatch). seq_len: default the workload's. microbatch_size: sequences
        per micro-batch. precision: "bf16", "fp16", "fp8", "tf32", "fp32" (must exist on the accelerator).
        recompute: "none" | "selective" (attention core; free with FlashAttention) | "full". zero_stage: 0-3
        (1 = distributed optimizer). interleave: virtual pipeline stages per device. tokens: overrides the
        workload's training budget. flash_attention, sequence_parallel (default: with TP), dp_overlap (gradient
        reduction hidden behind the last micro-batch's backward), tp_overlap / ep_overlap (share of TP
        collectives / expert all-to-all hidden behind compute, 0-1; default 0: exposed), straggler_cv (per-rank
        step jitter). stack: the software stack, a key of mlsysim.stacks.Stacks.Training (default
        "megatron_core_2024"): its kernel fusion, launch overheads, recompute policy, reduction precision and
        fp8 recipe (data/stacks.toml)."""
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        if model.__class__ is not TransformerWorkload:
            model = resolve_model(model)
        if fleet.__class__ is not Fleet:
            fleet = resolve_fleet(fleet)
        n = fleet.total_accelerators
        tp, pp, cp, ep, mb, v, zero = tp_size, pp_size, cp_size, ep_size, microbatch_size, interleave, zero_stage
        if not (tp.__class__ is pp.__class__ is cp.__class__ is ep.__class__ is mb.__class__ is v.__class__
                is zero.__class__ is int and tp > 0 and pp > 0 and cp > 0 and ep > 0 and mb > 0 and v > 0
                and 0 <= zero <= 3):  # plain valid counts are done: else count() says what is wrong
            tp, pp = count(tp_size, "tp_size"), count(pp_size, "pp_size")
            cp, ep = count(cp_size, "cp_size"), count(ep_size, "ep_size")
            mb, v = count(microbatch_size, "microbatch_size"), count(interleave, "interleave")
            zero = count(zero_stage, "zero_stage", minimum=0)
            if zero > 3:
                raise ConfigError(f"zero_stage must be 0, 1, 2 or 3, got {zero}")
        if recompute.__class__ is not str or recompute not in RECOMPUTE:
            choice(recompute, RECOMPUTE, "recompute policy")
        if flash_attention.__class__ is not bool or dp_overlap.__class__ is not bool:
            flash_attention, dp_overlap = flag(flash_attention, "flash_attention"), flag(dp_overlap, "dp_overlap")
        seq = count(seq_len, "seq_len") if seq_len is not None else model.seq_len
        if tp * pp * cp > n or n % (tp * pp * cp):
            if n % (pp * cp):
                hint = f" (pp*cp = {pp * cp} must itself divide {n})"
            else:
                hint = f" (with pp={pp}, cp={cp}: tp in " \
                       f"{[t for t in divisors(model.n_heads) if (n // (pp * cp)) % t == 0]})"
            raise ConfigError(f"tp*pp*cp = {tp}*{pp}*{cp} = {tp * pp * cp} does not divide the fleet's {n} "
                              f"accelerators; choose sizes whose product divides {n}{hint}")
        if dp_size is None:
            dp = n // (tp * pp * cp)
        else:
            dp = dp_size if dp_size.__class__ is int and dp_size > 0 else count(dp_size, "dp_size")
            if tp * pp * cp * dp != n:
                raise ConfigError(f"tp*pp*cp*dp = {tp}*{pp}*{cp}*{dp} = {tp * pp * cp * dp} but {fleet.name} has "
                                  f"{n} accelerators; use dp_size={n // (tp * pp * cp)} or omit it")
        if global_batch_size is None:
            gbs = int(default_global_batch(batch_target_tokens(model), seq, dp, mb))
        else:
            gbs = count(global_batch_size, "global_batch_size")
        d = _dims(model)
        tok = resolve_tokens(model, tokens)
        if any(_layout_rules(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tok)):
            self._check_layout(model, d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tok)
        hw, stack_rec, bytes_el, bytes_grad = _hardware_args(fleet, precision, stack)
        tpo, epo = overlap_shares(tp_overlap, ep_overlap, model, tp > 1, "tp_size=1")
        sp = default_sequence_parallel(tp, sequence_parallel)
        cv = resolve_straggler_cv(straggler_cv)
        rc = RECOMPUTE[recompute]
        capacity = fleet.node.accelerator.memory_bytes
        out = _evaluate(d, float(tp), float(pp), float(dp), float(cp), float(ep), float(mb), float(gbs), float(seq),
                        float(v), rc, zero, flash_attention, sp, tok, capacity, hw, bytes_el, bytes_grad,
                        1.0 if dp_overlap else 0.0, tpo, epo, cv)  # bytes_el .. straggler_cv by position
        values = _scalars(out)  # plain floats (each comes out of a true division) unless numpy scalars got in
        step, mfu, ttt, tps, steps, hfu, fpd, eff, m, mem_total = values
        try:  # the sum of finite values is finite: one pass when all is well, else finite() names the culprit
            total = step + mfu + ttt + tps + steps + hfu + fpd + eff + mem_total + sum(_breakdown(out))
            ok = total.__class__ is float and math.isfinite(total)  # a numpy scalar anywhere makes a numpy sum
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            step, mfu, ttt, tps, steps, hfu, fpd, eff, m, mem_total = map(float, values)
            finite({"step": step, "mfu": mfu, "time_to_train": ttt, "tokens_per_s": tps, "steps": steps, "hfu": hfu,
                    "flops_per_device": fpd, "scaling_efficiency": eff, **breakdown_of(out), **memory_of(out)},
                   "DistributedModel")
        # layout, breakdown_s and memory_bytes are built on first access, from out and these values (LAYOUT_KEYS)
        layout = (tp, pp, dp, cp, ep, mb, gbs, seq, v, precision, recompute, zero, sp, flash_attention, dp_overlap,
                  tpo, epo, m, stack_rec.key)
        return frozen(DistributedResult, {
            "model": model, "fleet": fleet, "tokens": tok, "time_to_train_s": ttt, "step_s": step, "steps": steps,
            "mfu": mfu, "hfu": hfu, "tokens_per_s": tps, "flops_per_device": fpd, "scaling_efficiency": eff,
            "memory_capacity_bytes": capacity, "feasible": bool(out["feasible"]),
            "_assumed": (hw, bytes_grad, global_batch_size is not None, cv), "_raw": (out, layout)})

    @staticmethod
    def _check_layout(model, d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens=float("inf")):
        """Raise a ConfigError, with choices that work, for the first rule the layout breaks."""
        bad = layout_problems(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens)
        if not any(bad.values()):
            return
        broken = [reason for reason, flag in bad.items() if flag]
        a, kv, L, name = model.n_heads, model.n_kv_heads, model.n_layers, model.name
        lps = -(-L // pp)
        messages = {
            "tp does not divide attention heads":
                f"tp_size={tp} does not divide {name}'s {a} attention heads; try one of "
                f"{[t for t in divisors(a) if t <= 64]}",
            "tp incompatible with KV heads":
                f"tp_size={tp} neither divides nor is a multiple of {name}'s {kv} KV heads; try one of "
                f"{[t for t in divisors(a) if kv % t == 0 or t % kv == 0]}",
            "pp exceeds layers": f"pp_size={pp} exceeds {name}'s {L} layers",
            "interleave exceeds layers per stage":
                f"interleave={v} needs pp_size > 1 and at most {lps} layers per stage (n_layers={L}, pp_size={pp})",
            "ep on a dense model": f"ep_size={ep} but {name} is a dense model (no experts); use ep_size=1",
            "ep does not divide experts":
                f"ep_size={ep} does not divide {name}'s {model.n_experts} experts; try one of "
                f"{divisors(model.n_experts)}",
            "ep does not divide dp": f"ep_size={ep} must divide dp_size={dp} (expert parallelism is carved from DP)",
            "cp does not divide seq_len/2":
                f"seq_len={seq} must be divisible by 2*cp_size = {2 * cp} (load-balanced causal context parallelism)",
            "batch not divisible by dp*microbatch":
                f"global_batch_size={gbs} is not divisible by dp_size*microbatch_size = {dp}*{mb} = {dp * mb}; "
                f"try {max(1, round(gbs / (dp * mb))) * dp * mb}",
            "interleaving needs microbatches divisible by pp":
                f"the interleaved schedule runs micro-batches in groups of pp_size={pp}, but the batch gives "
                f"{gbs // max(dp * mb, 1)} micro-batches per pipeline; use a global_batch_size that is a multiple of "
                f"dp*microbatch*pp = {dp * mb * pp}",
            "token budget below one global batch":
                f"the token budget ({tokens:.4g} tokens) is below one global batch of {gbs} x {seq} = "
                f"{gbs * seq:,} tokens; a run takes at least one optimizer step: raise tokens= to at least "
                f"{gbs * seq:,} or lower global_batch_size",
            "tp*pp*cp*dp != accelerators": f"tp*pp*cp*dp = {tp * pp * cp * dp} but the fleet has {n} accelerators",
        }
        raise ConfigError(messages[broken[0]])
