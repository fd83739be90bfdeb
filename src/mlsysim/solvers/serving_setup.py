"""Serving-engine profiles (data/engines.toml) and the plain numbers one replica hands to physics/serving_load.py.
Shared by ServingLoadModel, the capacity planner and the serving validation, so all three see one setup."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..models.context import check_context
from ..physics import constants as C
from ..physics import serving as PS
from ..physics import serving_load as SL
from ..physics import serving_spec as SS
from ..physics.precision import compute_peak, matmul_ceiling, serving_precision
from ..registry import Registry
from ..units import count
from ._common import resolve_model
from .distributed import DistributedModel, _dims
from .serving import check_scaleup_domain, mtp_note, resolve_hardware, speculation

DEFAULT_ENGINE = "TensorRT_LLM"


@dataclass(frozen=True)
class EngineProfile:
    """What a serving stack achieves on top of the roofline (see data/engines.toml for the meaning of each)."""

    name: str
    gemm_fraction: float
    hbm_fraction: float
    step_overhead_s: float
    seq_overhead_s: float
    kv_bw_fraction: float
    max_batch: int
    max_num_tokens: int
    kv_fraction: float
    source: str = ""
    notes: str = ""
    key: str = ""


def _build(category, key, raw):
    return EngineProfile(name=raw["name"], gemm_fraction=float(raw["gemm_fraction"]),
                         hbm_fraction=float(raw["hbm_fraction"]), step_overhead_s=raw["step_overhead_ms"] * 1e-3,
                         seq_overhead_s=raw["seq_overhead_us"] * 1e-6,
                         kv_bw_fraction=float(raw["kv_bw_fraction"]),
                         max_batch=int(raw["max_batch"]), max_num_tokens=int(raw["max_num_tokens"]),
                         kv_fraction=float(raw["kv_fraction"]), source=raw.get("source", ""),
                         notes=raw.get("notes", ""), key=key)


Engines = Registry("Engines", "engines.toml", _build)


def engine_profile(engine=None) -> EngineProfile:
    """An EngineProfile from a name in data/engines.toml (default TensorRT-LLM) or the profile itself."""
    if isinstance(engine, EngineProfile):
        return engine
    names = Engines.all_names()
    if engine is None or (isinstance(engine, str) and engine in names):
        return Engines.get(engine or DEFAULT_ENGINE)
    if not isinstance(engine, str):  # was a TypeError from the registry's getattr
        raise ConfigError(f"engine must be a serving-engine name ({', '.join(names)}) or an EngineProfile (e.g. "
                          f"from calibrate_engine), got {type(engine).__name__} {engine!r}")
    from ..errors import unknown  # was "valid: Engines, TensorRT_LLM": the category listed as an engine
    raise unknown("serving engine", engine, names)


@dataclass(frozen=True)
class ReplicaSetup:
    """One replica's physics inputs: `kw` goes straight into serving_load.load_point / max_load."""

    model: object
    accelerator: object
    engine: EngineProfile
    dims: object
    kw: dict
    b_max: float
    kv_capacity: float
    memory_bytes: dict
    precision: tuple
    gpus: int


def replica_setup(model, hardware, *, input_len, output_len, tp=1, pp=1, ep=1, precision=None,
                  weight_precision=None, kv_precision=None, compute_precision=None, engine=None, max_batch=None,
                  chunk_tokens=None, input_cv=0.0, draft_model=None, mtp_depth=None, draft_acceptance_rate=None,
                  draft_tokens=None) -> ReplicaSetup:
    """Resolve model, hardware, precision and engine into the floats the load physics needs. Speculative decoding
    (as ServingModel takes it) adds the drafter's dims and settings to `kw` (physics/serving_spec.py)."""
    model = resolve_model(model)
    check_context(model, input_len, output_len)
    acc, su_bw, su_lat = resolve_hardware(hardware)
    check_scaleup_domain(hardware, tp, ep, pp)
    eng = engine_profile(engine)
    max_batch = None if max_batch is None else count(max_batch, "max_batch")  # 0 was read as "the default"
    chunk_tokens = None if chunk_tokens is None else count(chunk_tokens, "chunk_tokens")
    wb, kb, comp, names = serving_precision(precision, weight_precision, kv_precision, compute_precision)
    peak = compute_peak(acc, comp, names[0])
    d = _dims(model)
    # the training layout rules that apply to a replica (heads, KV heads, layers, experts), as ServingModel checks
    # them; with ep > 1 the attention is data-parallel over ep ranks of tp devices (was: heads only, so a
    # pp_size beyond the model's layers was sized as a fleet)
    DistributedModel._check_layout(model, d, tp * pp * ep, tp, pp, ep, 1, ep, 1, ep, 1, 2)
    spec = speculation(draft_model, draft_acceptance_rate, draft_tokens, mtp_depth, target=model, ep=ep,
                       lengths=(input_len, output_len))
    # the engine's per-iteration token budget is per attention rank: a replica of ep ranks prefills ep x as much
    chunk = float(chunk_tokens or eng.max_num_tokens) * ep
    ceiling = matmul_ceiling(acc, comp, C.DEFAULT_MATMUL_EFFICIENCY, C.DEFAULT_FP8_MATMUL_EFFICIENCY) \
        * eng.gemm_fraction
    # Fused attention runs at the KV-cache dtype (FP8 FMHA with an fp8 cache), never in 4 bits: its efficiency,
    # quoted against the chip's bf16 peak, is rescaled to the compute peak the GEMMs use.
    attn_dtype = names[1] if names[1] in acc.peak_flops and names[1] in ("fp8", "bf16", "fp16") else "bf16"
    attn_base = acc.attention_efficiency or ceiling * C.FLASH_ATTENTION_RELATIVE
    attn_eff = attn_base * acc.peak_flops.get(attn_dtype, peak) / peak
    kw = dict(tp=float(tp), pp=float(pp), ep=float(ep), peak=peak, ceiling=ceiling,
              mem_bw=acc.memory_bw * eng.hbm_fraction, attn_eff=attn_eff, wbytes=wb, kvbytes=kb,
              su_bw=su_bw, su_lat=su_lat, overhead_s=eng.step_overhead_s,
              overhead_per_seq_s=eng.seq_overhead_s / ep,  # each attention rank's host: its own sequences
              kv_bw_fraction=eng.kv_bw_fraction, chunk=chunk,
              input_cv=float(input_cv), isl=float(input_len), osl=float(output_len))
    rows = 1.0
    if spec is not None:
        a, k, mtp = spec
        dd = SS.mtp_stack(d, k) if mtp else _dims(resolve_model(draft_model))
        kw.update(spec_k=float(k), spec_accept=a, draft=dd, mtp=mtp)
        rows = 1.0 + k  # verification rows per sequence in the token budget
    check_chunk(chunk / ep, rows, ep, eng.max_num_tokens)
    mem = PS.memory(d, batch=0.0, context=float(input_len + output_len), prefill_tokens=chunk, tp=float(tp),
                    pp=float(pp), ep=float(ep), wbytes=wb, kvbytes=kb)
    cap = ep * float(SL.kv_capacity(d, mem_bytes=acc.memory_bytes, kv_fraction=eng.kv_fraction,
                                    isl=float(input_len), osl=float(output_len), prefill_tokens=chunk,
                                    **kv_keys(kw)))  # per rank x ep
    b_max = min(float(max_batch or eng.max_batch) * ep, cap, (chunk - ep) / rows)
    mem = {k: float(v) for k, v in mem.items() if k != "kv_cache"}
    mem["weights"] += drafter_bytes(kw, input_len + output_len / 2.0)[0]
    mem["kv_cache"] = max(b_max, 0.0) / ep * (float(PS.kv_bytes_per_seq(d, context=input_len + output_len / 2.0,
                                                                        tp=float(tp), pp=float(pp), kvbytes=kb))
                                              + drafter_bytes(kw, input_len + output_len / 2.0)[1])
    return ReplicaSetup(model=model, accelerator=acc, engine=eng, dims=d, kw=kw, b_max=b_max, kv_capacity=cap,
                        memory_bytes=mem, precision=names, gpus=tp * pp * ep)


def check_chunk(chunk_tokens, rows, ep, default) -> None:
    """The per-iteration token budget (per attention rank) must leave room for one sequence's `rows` decode rows
    beside a prompt chunk (b_max = (chunk - ep) / rows >= 1): below it the batch was 0, read as "the weights leave
    no room for one sequence's KV cache" (ServingLoadModel), or swept as a batch of 1 (serving_sweep)."""
    if (chunk_tokens * ep - ep) / rows < 1.0:
        need = int(-(-(ep + rows) // ep))
        raise ConfigError(f"chunk_tokens={chunk_tokens:g} tokens per iteration leave no room for one sequence's "
                          f"{rows:g} decode row{'s' if rows > 1 else ''} beside a prompt chunk: give chunk_tokens >= "
                          f"{need} (the engine default: {default:,})")


def kv_keys(kw):
    """The layout keys of `kw` that serving_load.kv_capacity takes (the drafter's where there is one)."""
    return {n: kw[n] for n in ("tp", "pp", "ep", "wbytes", "kvbytes", "draft", "mtp") if n in kw}


def drafter_bytes(kw, context):
    """(weight bytes per device, KV bytes per sequence at `context`) of the layout's drafter; (0, 0) without."""
    if "draft" not in kw:
        return 0.0, 0.0
    w, kv = SS.drafter_memory(kw["draft"], context=context, **{n: kw[n] for n in ("mtp", "tp", "pp", "ep", "wbytes",
                                                                                    "kvbytes")})
    return float(w), float(kv)


def spec_keys(kw):
    """The speculative-decoding settings of a layout `kw` (empty without)."""
    return {n: kw[n] for n in ("spec_k", "spec_accept", "draft", "mtp") if n in kw}


def spec_note(kw, model) -> str:
    """The assumption line of a layout of `model` with speculative decoding."""
    e, rows = SS.spec_factors(kw["spec_k"], kw["spec_accept"])
    who = "MTP modules" if kw["mtp"] else "the draft model"
    return (f"{kw['spec_k']:g} tokens drafted by {who} per iteration, acceptance {kw['spec_accept']:g}: "
            f"{e:.3g} tokens per sequence per iteration (Leviathan et al. 2023), {rows:g} verification rows each; "
            f"acceptance independent of the batch; its spread over a request widens the TPOT tail (physics/serving_spec.py)"
            + (f"; {mtp_note(model, int(kw['spec_k']))}" if kw["mtp"] else ""))


# The bracket of the fitted host overhead per iteration: 1 s is ~200x TensorRT-LLM's fitted 5 ms (an assumption: a
# slower "engine" is a unit or layout mistake, not an overhead).
MAX_CALIBRATED_OVERHEAD_S = 1.0


def calibrate_engine(measured_tokens_per_s, model, hardware, *, input_len, output_len, tp=1, pp=1, precision=None,
                     engine=None, name="calibrated"):
    """An EngineProfile fitted to one measured point of your own engine: the offline (maximum-load) output
    tokens/s of one replica at the given lengths and layout. One number fits one quantity: the host overhead per
    iteration (the other quantities keep the base profile's fitted values). ConfigError when the measurement is
    faster than the base profile with no host overhead at all."""
    import dataclasses
    import math
    from ..units import si
    target = si(measured_tokens_per_s, "1/s", "measured_tokens_per_s")
    base = engine_profile(engine)

    def tokens(overhead_s):
        s = replica_setup(model, hardware, input_len=input_len, output_len=output_len, tp=tp, pp=pp,
                          precision=precision, engine=dataclasses.replace(base, step_overhead_s=overhead_s))
        if s.b_max < 1:  # was fitted on a batch of one that has no room (a "faster than" message)
            raise ConfigError(f"{s.model.name} at {'/'.join(s.precision)} does not fit on TP{tp} x PP{pp} "
                              f"{s.accelerator.name} with room for one sequence's KV cache: calibrate the layout "
                              f"that was measured (a larger tp=, pp= or a narrower precision=)")
        return float(SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf,
                                 **s.kw)["tokens_per_s"])
    if tokens(MAX_CALIBRATED_OVERHEAD_S) > target:  # the bisection would stop at its bound, fitting nothing
        raise ConfigError(f"measured {target:,.3g} tokens/s is slower than {base.key} with "
                          f"{MAX_CALIBRATED_OVERHEAD_S:g} s of host overhead per iteration "
                          f"({tokens(MAX_CALIBRATED_OVERHEAD_S):,.0f}): check the units (output tokens/s of the "
                          f"whole replica), the layout and the lengths")
    if tokens(0.0) < target:
        raise ConfigError(f"measured {target:,.0f} tokens/s is faster than {base.key} with no host overhead "
                          f"({tokens(0.0):,.0f}): check the layout and precision, or calibrate a profile with higher "
                          f"gemm_fraction / hbm_fraction")
    lo, hi = 0.0, MAX_CALIBRATED_OVERHEAD_S
    for _ in range(40):  # tokens/s falls as the overhead grows: bisection
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if tokens(mid) > target else (lo, mid)
    return dataclasses.replace(base, step_overhead_s=0.5 * (lo + hi), name=f"{base.name}, {name}", key=name,
                               source=f"calibrated to {target:,.0f} output tokens/s (one measured point)")
