"""serving_sweep: every serving configuration (accelerator x precision x TP x lengths x max batch x prefill
budget x SLO) through the load physics in one vectorised call (physics/serving_load.max_load), for the explorer's
capacity search; plan_serving (serving_plan.py) sizes one fleet."""
from __future__ import annotations

from ..errors import ConfigError, InfeasibleError
from ..models.context import check_context
from ..physics import serving_load as SL
from ..units import count, si
from . import serving_traffic as TT
from ._common import resolve_model
from .serving import speculation
from .serving_load import check_percentile
from .serving_plan import _candidates, _listed
from .serving_setup import check_chunk, engine_profile, replica_setup, spec_keys


def serving_sweep(model, *, hardware=("H100", "H200", "B200"), precisions=("fp16", "fp8", "int4"),
                  tp_sizes=(1, 2, 4, 8), lengths=((1000, 200),), max_batches=(256, 2048), chunks=(2048, 8192),
                  ttft_slos=(0.1, 0.5), tpot_slo=float("inf"), percentile=0.99, engine=None, arrival_cv=None,
                  input_cv=0.0, output_cv=0.0, arrivals=None, load_profile=None, draft_model=None, mtp_depth=None,
                  draft_acceptance_rate=None, draft_tokens=None) -> dict:
    """Every serving configuration at once: (layouts x lengths) x max batch x prefill budget x TTFT SLO, through
    one vectorised call of serving_load.max_load (the iteration time is computed once per layout and lengths;
    engine settings and SLOs broadcast on top). Returns {"layouts": [(hardware, precision, tp, isl, osl)],
    "max_batch", "chunk", "ttft_slo": the axes, and arrays of shape (layouts, batches, chunks, slos): "qps"
    per replica, "tokens_per_s_per_gpu", "conc", "ttft_q_s", "tpot_q_s", "ok"}. Layouts that do not fit or
    lack the precision are left out (listed in "skipped"). `arrival_cv`, `input_cv`, `output_cv`: the traffic's
    CVs (Kingman's G/G/1 prompt queue, the length-biased batch context), as ServingLoadModel takes them; a trace or
    a load profile needs a fleet (plan_serving, ServingLoadModel), not a per-replica sweep: ConfigError. Speculative decoding as
    ServingLoadModel takes it (`draft_model=` or `mtp_depth=`, `draft_acceptance_rate=`, `draft_tokens=`), in every
    layout."""
    import numpy as np
    spec = dict(draft_model=draft_model, mtp_depth=mtp_depth, draft_acceptance_rate=draft_acceptance_rate,
                draft_tokens=draft_tokens)
    model, hardware, precisions = _candidates(model, hardware, precisions)
    sp = speculation(**spec, target=model)  # bad options fail here, not as every layout skipped
    tp_sizes = [count(t, "tp_sizes entry") for t in _listed(tp_sizes)]  # as plan_serving ("4": a TypeError)
    if not tp_sizes:
        raise ConfigError("tp_sizes is empty: give at least one candidate")
    lengths, max_batches, chunks, ttft_slos, tpot_slo = _sweep_axes(lengths, max_batches, chunks, ttft_slos,
                                                                    tpot_slo, percentile)
    if arrivals is not None:
        raise ConfigError("serving_sweep gives each replica's capacity in one vectorised call; replaying a trace needs "
                          "a fleet: use plan_serving(arrivals=...) or ServingLoadModel().solve(arrivals=...), or "
                          "sweep with the trace's inter-arrival CV (arrival_cv=)")
    if load_profile is not None:
        raise ConfigError("serving_sweep has no energy or cost for a load_profile to spread: use "
                          "plan_serving(load_profile=...) or ServingLoadModel().solve(load_profile=...)")
    for isl, osl in lengths:  # here, not as every layout skipped
        check_context(model, isl, osl, "lengths entry")
        if draft_model is not None:
            check_context(resolve_model(draft_model), isl, osl, "draft_model, lengths entry")
    setups, layouts, skipped = [], [], {}
    for hw, prec, tp, (isl, osl) in ((h, p, t, lo) for h in hardware for p in precisions for t in tp_sizes
                                     for lo in lengths):
        key = (getattr(hw, "key", hw), prec, tp, isl, osl)
        # the CVs and lengths, validated as ServingLoadModel does; the rate is moot: capacities are per replica
        tr = TT.traffic(qps=1.0, arrival_cv=arrival_cv, input_len=count(isl, "input_len"),
                        output_len=count(osl, "output_len"), input_cv=input_cv, output_cv=output_cv)
        try:
            s = TT.with_traffic(replica_setup(model, hw, input_len=isl, output_len=osl, tp=tp, precision=prec,
                                              engine=engine, input_cv=tr.input_cv, **spec), tr)
        except ConfigError as e:
            skipped[key] = str(e).split(";")[0]
            continue
        if s.kv_capacity < 1:
            skipped[key] = "does not fit in memory"
            continue
        setups.append(s)
        layouts.append(key)
    if not setups:
        raise InfeasibleError(f"no layout fits: {skipped}")
    # the speculative settings (spec_keys: drafted tokens, acceptance, the drafter's dims, MTP or not) are one for
    # every layout and pass as they are; the other numbers stack per layout
    one = spec_keys(setups[0].kw)
    lay = {k: one[k] if k in one else
           np.array([s.kw[k] for s in setups], float)[:, None, None, None] for k in setups[0].kw if k != "chunk"}
    cap = np.array([s.kv_capacity for s in setups])[:, None, None, None]
    chunk = np.asarray(chunks, float)[None, None, :, None]
    rows = 1.0 if sp is None else 1.0 + sp[1]  # verification rows per sequence in the token budget (replica_setup)
    for c in chunks:  # the rule replica_setup applies to one value (a budget of 1 token was swept as a batch of 1)
        check_chunk(c, rows, 1, engine_profile(engine).max_num_tokens)
    b_max = np.maximum(np.minimum(np.minimum(np.asarray(max_batches, float)[None, :, None, None], cap),
                                  (chunk - 1) / rows), 1)
    slo = np.asarray(ttft_slos, float)[None, None, None, :]
    b_max = np.broadcast_to(b_max, b_max.shape[:3] + (slo.shape[-1],))
    r = SL.max_load(setups[0].dims, b_max=b_max, slo_ttft_s=slo, slo_tpot_s=tpot_slo, chunk=chunk, q=percentile,
                    **lay)
    _below_one_sequence(r, setups, b_max, chunks, ttft_slos, tpot_slo, percentile)
    gpus = np.array([s.gpus for s in setups], float)[:, None, None, None]
    return {"layouts": layouts, "max_batch": tuple(max_batches), "chunk": tuple(chunks), "ttft_slo": tuple(ttft_slos),
            "qps": r["qps"], "tokens_per_s_per_gpu": r["tokens_per_s"] / gpus, "conc": r["conc"],
            "ttft_q_s": r["ttft_q_s"], "tpot_q_s": r["tpot_q_s"], "ok": r["ok"], "skipped": skipped}


def _below_one_sequence(r, setups, b_max, chunks, ttft_slos, tpot_slo, percentile):
    """Rows that miss the SLO at one sequence in flight (max_load's first point) are sized below it, as
    ServingLoadModel and plan_serving size them: long prompts, short answers and a small prefill budget fill a
    replica with prompt passes, and a lighter load meets the SLO (they read infeasible, the TTFT infinite).
    Rows that miss it even at the lightest load stay infeasible with that load's finite tails. Updates `r`."""
    import numpy as np
    from . import serving_disagg as SD
    missed = np.argwhere(~np.broadcast_to(np.asarray(r["ok"], bool), np.shape(b_max)))
    if not len(missed):
        return
    keys = ("qps", "tokens_per_s", "conc", "ttft_q_s", "tpot_q_s", "ok")
    for k in keys:
        r[k] = np.array(np.broadcast_to(r[k], np.shape(b_max)))
    for i, j, c, k in missed:
        p = SD.prompt_bound_point(setups[i], float(ttft_slos[k]), float(tpot_slo), percentile,
                                  float(r["qps"][i, j, c, k]), chunk=float(chunks[c]), b_max=float(b_max[i, j, c, k]))
        for key in keys if p["ok"] else ("ttft_q_s", "tpot_q_s"):
            if p["ok"] or not np.isfinite(r[key][i, j, c, k]):
                r[key][i, j, c, k] = p[key]


def _sweep_axes(lengths, max_batches, chunks, ttft_slos, tpot_slo, percentile):
    """serving_sweep's axes checked as ServingLoadModel checks one value of each (they went into numpy as given:
    a zero batch or a negative SLO swept silently, a quantity or a string failed inside numpy, an untabulated
    percentile was a KeyError)."""
    check_percentile(percentile)
    pairs = _listed(lengths)
    if not pairs or not all(isinstance(p, (tuple, list)) and len(p) == 2 for p in pairs):
        raise ConfigError(f"lengths must be (input_len, output_len) pairs, e.g. lengths=((1000, 200), (4000, 500)); "
                          f"got {lengths!r}")
    pairs = tuple((count(i, "input_len"), count(o, "output_len")) for i, o in pairs)
    out = [pairs]
    for what, items in (("max_batches", max_batches), ("chunks", chunks)):
        items = _listed(items)
        if not items:
            raise ConfigError(f"{what} is empty: give at least one value")
        out.append(tuple(count(v, f"{what} entry") for v in items))
    slos = _listed(ttft_slos)
    if not slos:
        raise ConfigError("ttft_slos is empty: give at least one TTFT target (s)")
    out.append(tuple(_slo(v, "ttft_slos entry") for v in slos))
    out.append(_slo(tpot_slo, "tpot_slo"))
    return out


def _slo(v, what) -> float:
    """A latency target in s; None or inf: no target."""
    return float("inf") if v is None or (isinstance(v, float) and v == float("inf")) else si(v, "s", what)
