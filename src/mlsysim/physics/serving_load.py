"""A serving replica under load: continuous batching in steady state, queueing, the SLO tail, replicas for a QPS,
prefill/decode disaggregation. Pure functions of floats or numpy arrays (the planner broadcasts whole grids
through the same lines). Times in s, sizes in bytes, rates in 1/s.

Steady state of continuous batching (Orca, Yu et al. OSDI 2022; chunked prefill, Agrawal et al. 2024
"Sarathi-Serve" arXiv:2403.02310) at concurrency B (sequences decoding), mean input I and output O tokens:
- every iteration emits one token per decoding sequence, so B/O requests finish per step and, in balance,
  B x I / O prompt tokens must be prefilled per step, interleaved as chunks with the decode batch;
- the mixed step is one pass: its GEMMs run over the decode batch + chunk rows (one weight read, the compute of
  both), the attention of each part adds (physics/serving.mixed_pass_time);
- Little's law: QPS = B / (O x t_step); output tokens/s = B / t_step; TPOT = t_step.
Queueing of prompts (TTFT): the prefill budget of C tokens per step is an M/G/1 server with service time
S = I x t_step / C and utilisation rho = QPS x S; mean wait by Pollaczek-Khinchine, the tail by the exponential
approximation P(W > t) = rho exp(-rho t / E[W]) (exact for M/M/1; Kingman 1962 heavy-traffic form). Arrivals
burstier than Poisson (inter-arrival CV c_a) wait Kingman's G/G/1 mean, rho/(1-rho) (c_a^2 + c_s^2)/2 S, which is
Pollaczek-Khinchine at c_a = 1. Before any of that, a request waits for the iteration in flight (uniform over
one step: admit_wait_s); a tail of the sum is taken as the sum of the tails (an upper bound). Output lengths with CV c_o: a sequence found in the batch is length-biased, so its
mean context is I + O (1 + c_o^2) / 2 (renewal theory: the mean age of a length-biased draw). The number of
sequences in decode is Poisson (M/G/inf) with variance B; a request's TPOT is its own mean step time (MLPerf,
vLLM: (latency - TTFT) / (tokens - 1)), and the concurrency averaged over one request lifetime has variance 2B/3
(triangular autocorrelation of M/D/inf over the lifetime), so the p99 TPOT is the step time at
B + z99 sqrt(2B/3).
"""
from __future__ import annotations

from . import collectives as col
from ._np import vceil, vlog, vmax, vsqrt, vwhere
from .serving import kv_bytes_per_seq, mixed_pass_time, pass_time
from .serving_spec import draft_s, drafter_memory, spec_factors, tpot_spread

Z = {0.5: 0.0, 0.9: 1.2816, 0.95: 1.6449, 0.99: 2.3263, 0.999: 3.0902}  # standard-normal quantiles
LIFETIME_VAR = 2.0 / 3.0  # variance share left after averaging M/D/inf concurrency over one lifetime: the
# integral over [0, 1]^2 of (1 - |x - y|) = 2/3


def batch_context(isl, osl, output_cv=0.0):
    """Mean context of a sequence in the decode batch: I + O (1 + c_o^2) / 2. Sequences stay in the batch in
    proportion to their output length, so the batch holds a length-biased sample (mean E[O^2]/E[O]) at a uniform
    point of its generation (half of it on average)."""
    return isl + osl * (1.0 + output_cv * output_cv) / 2.0


def kv_capacity(d, *, mem_bytes, kv_fraction, isl, osl, prefill_tokens, tp, pp, ep, wbytes, kvbytes, output_cv=0.0,
                draft=None, mtp=False):
    """Sequences whose KV fits beside weights, activations and workspace: paged KV holds each sequence's
    current context, batch_context() tokens on average (Kwon et al. 2023, vLLM/PagedAttention). A drafter
    (`draft` dims, `mtp`: MTP modules; physics/serving_spec.drafter_memory) adds its weights and, per sequence,
    its own KV cache."""
    from .serving import memory
    m = memory(d, batch=0.0, context=isl + osl, prefill_tokens=prefill_tokens, tp=tp, pp=pp, ep=ep, wbytes=wbytes,
               kvbytes=kvbytes)
    ctx = batch_context(isl, osl, output_cv)
    per_seq = kv_bytes_per_seq(d, context=ctx, tp=tp, pp=pp, kvbytes=kvbytes)
    weights = m["weights"]
    if draft is not None:
        w, kv = drafter_memory(draft, mtp=mtp, context=ctx, tp=tp, pp=pp, ep=ep, wbytes=wbytes, kvbytes=kvbytes)
        weights, per_seq = weights + w, per_seq + kv
    free = (mem_bytes - weights - m["activations"] - m["workspace"]) * kv_fraction
    return vmax(free, 0.0) / per_seq


def gg1_wait_s(rho, service_s, ca2, cs2):
    """Mean wait in a G/G/1 queue, Kingman's approximation (Kingman 1961): rho S (ca^2 + cs^2) / (2 (1 - rho)),
    ca^2 / cs^2 the squared CVs of the inter-arrival and service times; exact for M/G/1 (ca^2 = 1, Pollaczek-
    Khinchine), asymptotically exact as rho -> 1. inf at rho >= 1."""
    ok = rho < 1.0
    return vwhere(ok, rho * service_s * (ca2 + cs2) / (2.0 * vwhere(ok, 1.0 - rho, 1.0)), float("inf"))


def mg1_wait_s(rho, service_s, cs2):
    """Mean wait in an M/G/1 queue (Pollaczek-Khinchine): rho S (1 + cs^2) / (2 (1 - rho)); inf at rho >= 1."""
    return gg1_wait_s(rho, service_s, 1.0, cs2)


def wait_quantile_s(q, rho, mean_wait_s):
    """q-quantile of an M/G/1 wait with P(W > t) = rho exp(-rho t / E[W]): (E[W]/rho) ln(rho / (1 - q)), 0 when
    fewer than 1 - q of the requests wait at all."""
    r = vmax(rho, 1e-12)
    return vwhere(rho > 1.0 - q, mean_wait_s / r * vlog(vmax(r / (1.0 - q), 1.0)), 0.0)


def admit_wait_s(step_s, q):
    """Wait for the iteration in flight: a new request joins the batch at the next iteration boundary (iteration-
    level scheduling, Yu et al. OSDI 2022 "Orca"; TensorRT-LLM and vLLM schedule the same way), and an arrival
    independent of the engine's clock lands uniformly within an iteration of `step_s` (renewal theory: the
    residual of a deterministic interval), so its q-quantile is q x step_s and its mean step_s / 2."""
    return q * step_s


def little_concurrency(qps, latency_s):
    """Little's law: requests in the system = arrival rate x time each spends there."""
    return qps * latency_s


def replicas_needed(qps, qps_per_replica):
    """Replicas for a total QPS when each sustains `qps_per_replica` within the SLO (ceil, at least 1)."""
    return vmax(vceil(qps / vmax(qps_per_replica, 1e-30) - 1e-9), 1.0)


def step_time_s(d, conc, *, isl, osl, tp, pp, ep, peak, ceiling, mem_bw, attn_eff, wbytes, kvbytes, su_bw, su_lat,
                overhead_s, overhead_per_seq_s=0.0, kv_bw_fraction=1.0, mixed=True, output_cv=0.0, prompt=None,
                spec_k=0.0, spec_accept=0.0, draft=None, mtp=False):
    """(iteration s, iteration s without its prefill chunk, iteration s that carries one whole prompt) at
    concurrency `conc`. pp micro-batches are in flight, each carrying conc/pp sequences through every stage.
    `mixed`: the iteration also prefills its share of prompts (conc x I / O tokens on average); False for a
    decode-only replica (disaggregated serving). `kv_bw_fraction`: the share of streaming bandwidth that paged
    decode attention reaches reading the KV cache (scattered blocks). `output_cv`: the output lengths' CV (the
    batch's mean context, batch_context()); `prompt`: the whole prompt of the third time (default the mean I).
    Speculative decoding (physics/serving_spec.py): `spec_k` tokens drafted per iteration by the draft model's
    dims `draft` (or the model's MTP modules, `mtp`), accepted per token at `spec_accept`."""
    hw = dict(tp=tp, pp=pp, ep=ep, peak=peak, ceiling=ceiling, mem_bw=mem_bw, attn_eff=attn_eff, wbytes=wbytes,
              su_bw=su_bw, su_lat=su_lat)
    host = overhead_s + overhead_per_seq_s * conc
    ctx_len = batch_context(isl, osl, output_cv)
    e, rows = spec_factors(spec_k, spec_accept)
    ctx = dict(batch=conc / pp, context=ctx_len, kvbytes=kvbytes / kv_bw_fraction)
    t_d = pass_time(d, new_tokens=rows, decode=True, **ctx, **hw)[0]
    sp = dict(mtp=mtp, k=spec_k, **ctx, **hw)
    if spec_k:
        t_d = t_d + draft_s(d, draft, **sp)
    if not mixed:
        return t_d + host, t_d + host, t_d + host
    chunk = vmax(conc * isl * e / osl / pp, 1.0)  # requests finish E x faster: E x the prompts per iteration
    t = mixed_pass_time(d, chunk=chunk, prompt_context=isl, new_tokens=rows, **ctx, **hw)[0]
    p = isl if prompt is None else prompt
    t_prompt = mixed_pass_time(d, chunk=p, prompt_context=p, new_tokens=rows, **ctx, **hw)[0]
    if spec_k:
        t = t + draft_s(d, draft, chunk=chunk, prompt_context=isl, **sp)
        t_prompt = t_prompt + draft_s(d, draft, chunk=p, prompt_context=p, **sp)
    return t + host, t_d + host, t_prompt + host


def queue_point(conc, t, t_q, t_nopre, t_prompt, *, isl, osl, chunk, input_cv=0.0, q=0.99, mixed=True,
                arrival_cv=1.0, spec_k=0.0, spec_accept=0.0):
    """Throughput, the prompt queue and the SLO figures from the iteration times at the concurrency (t), at its
    q-quantile (t_q), without the prefill chunk (t_nopre) and with one whole prompt (t_prompt). The prefill budget
    serves prompts at `budget` tokens per iteration; once admitted, a prompt's compute takes one iteration with
    it plus the decode work of every further chunk it spans. A decode-only replica queues no prompts.
    `arrival_cv`: the inter-arrival times' CV at the replica (1: Poisson; > 1: bursty, Kingman's G/G/1).
    Speculative decoding: each sequence emits E tokens per iteration and takes k + 1 rows of the budget."""
    e, rows = spec_factors(spec_k, spec_accept)
    qps = conc * e / (osl * t)
    budget = vmax(chunk - conc * rows, 1.0)
    service = (isl if mixed else 0.0) * t / budget
    rho = qps * service
    w = gg1_wait_s(rho, service, arrival_cv * arrival_cv, input_cv * input_cv)
    first = vwhere(mixed, t_prompt + (vceil(isl / budget) - 1.0) * t_nopre, t)
    tpot_q = t_q / e
    if spec_k:  # the accepted tokens' spread, in quadrature with the concurrency's (physics/serving_spec.py)
        tpot_q = t / e + vsqrt(((t_q - t) / e) ** 2 + (Z[q] * t / e * tpot_spread(spec_k, spec_accept, osl)) ** 2)
    return {"step_s": t, "qps": qps, "tokens_per_s": conc * e / t, "rho": rho,
            "ttft_p50_s": wait_quantile_s(0.5, rho, w) + admit_wait_s(t, 0.5) + first,
            "ttft_q_s": wait_quantile_s(q, rho, w) + admit_wait_s(t, q) + first,
            "ttft_mean_s": w + admit_wait_s(t, 0.5) + first, "wait_mean_s": w, "prefill_s": first, "tpot_p50_s": t / e, "tpot_q_s": tpot_q,
            "prefill_share": (t - t_nopre) / t}


def _spec(layout):
    """The speculative-decoding settings of a layout, for queue_point."""
    return {k: layout[k] for k in ("spec_k", "spec_accept") if k in layout}


def load_point(d, *, conc, isl, osl, chunk, input_cv=0.0, q=0.99, mixed=True, arrival_cv=1.0, **layout):
    """One replica at a steady concurrency `conc` (sequences decoding): a dict of step time, throughput, QPS,
    prompt-queue utilisation and the p50 / q-quantile TTFT and TPOT. `chunk`: prefill budget in tokens per step
    (decode tokens included, as TensorRT-LLM's max_num_tokens and vLLM's max_num_batched_tokens count them)."""
    t, t0, t1 = step_time_s(d, conc, isl=isl, osl=osl, mixed=mixed, **layout)
    tq = step_time_s(d, conc + Z[q] * vsqrt(LIFETIME_VAR * conc), isl=isl, osl=osl, mixed=mixed, **layout)[0]
    return queue_point(conc, t, tq, t0, t1, isl=isl, osl=osl, chunk=chunk, input_cv=input_cv, q=q, mixed=mixed,
                       arrival_cv=arrival_cv, **_spec(layout))


def kv_transfer_s(d, *, isl, tp, pp, kvbytes, bw, lat):
    """Disaggregation: moving one prompt's KV cache from a prefill to a decode replica, each device's shard over
    its own link in parallel (point-to-point, alpha-beta)."""
    return col.p2p(kv_bytes_per_seq(d, context=isl, tp=tp, pp=pp, kvbytes=kvbytes), bw, lat)


def prefill_only_s(d, *, isl, tp, pp, ep, peak, ceiling, mem_bw, attn_eff, wbytes, su_bw, su_lat, overhead_s):
    """A dedicated prefill replica's time for one prompt (disaggregated serving)."""
    return pass_time(d, batch=1.0, new_tokens=isl, context=isl, decode=False, tp=tp, pp=pp, ep=ep, peak=peak,
                     ceiling=ceiling, mem_bw=mem_bw, attn_eff=attn_eff, wbytes=wbytes, su_bw=su_bw,
                     su_lat=su_lat)[0] + overhead_s


def disaggregated_ttft_s(qps, *, n_prefill, prefill_s, transfer_s, decode_step_s, input_cv=0.0, q=0.99,
                         arrival_cv=1.0):
    """(p50, q-quantile) TTFT with `n_prefill` prefill replicas, each a G/G/1 queue at QPS / n_prefill (M/G/1 for
    Poisson arrivals), plus the KV transfer and the first decode step."""
    rho = qps / n_prefill * prefill_s
    w = gg1_wait_s(rho, prefill_s, arrival_cv * arrival_cv, input_cv * input_cv)
    base = prefill_s + transfer_s + decode_step_s
    return wait_quantile_s(0.5, rho, w) + base, wait_quantile_s(q, rho, w) + base


def max_prefill_rho(slo_s, *, prefill_s, base_s, input_cv=0.0, q=0.99, iters=50, arrival_cv=1.0):
    """Highest utilisation of a prefill replica (an M/G/1 queue of service `prefill_s`) whose q-quantile TTFT,
    wait + `base_s`, stays within `slo_s`; 0 where even an idle queue misses it. Bisection (the wait grows with
    rho)."""
    import numpy as np
    lo, hi = np.zeros(np.shape(slo_s)), np.full(np.shape(slo_s), 1.0 - 1e-9)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        ok = wait_quantile_s(q, mid, gg1_wait_s(mid, prefill_s, arrival_cv ** 2, input_cv ** 2)) + base_s <= slo_s
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    out = np.where(base_s <= slo_s, lo, 0.0)
    return float(out) if np.ndim(out) == 0 else out


def _slack(r, slo_ttft_s, slo_tpot_s):
    """Smallest log-margin of the three limits (TTFT, TPOT, prompt-queue utilisation < 1): >= 0 where all hold.
    An infinite SLO is no limit at all (its margin is +inf even where the queue saturates and the TTFT is
    infinite), so the queue's own smooth margin -log(rho) locates the offline maximum."""
    import numpy as np
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ttft = np.where(np.isinf(slo_ttft_s), np.inf, np.log(slo_ttft_s / r["ttft_q_s"]))
        tpot = np.where(np.isinf(slo_tpot_s), np.inf, np.log(slo_tpot_s / r["tpot_q_s"]))
        g = np.minimum(np.minimum(ttft, tpot), -np.log(np.maximum(r["rho"], 1e-30)))
    return np.clip(np.nan_to_num(g, nan=-50.0), -50.0, 50.0)


def max_load(d, *, b_max, slo_ttft_s, slo_tpot_s, isl, osl, chunk, input_cv=0.0, points=48, q=0.99, mixed=True,
             arrival_cv=1.0, **layout):
    """The steady state with the highest QPS whose q-quantile TTFT and TPOT meet the SLO (inf: no limit, the
    offline maximum), at concurrency <= b_max and prompt-queue utilisation < 1. TTFT and TPOT grow with the
    concurrency, so the feasible concurrencies are an interval [1, B*].

    The iteration time depends on the replica layout and the lengths only, so it is evaluated once on a shared
    geometric grid of `points` concurrencies (1 .. max b_max) and broadcast against the engine settings (chunk,
    b_max) and SLOs; B* is the linear interpolation of the SLO margin's zero crossing, and the figures there use
    iteration times interpolated linearly in B (the iteration time is near-affine in B: < 0.5 % error at 48
    points). Arguments may be arrays of configurations (leading axes); layout arrays may carry fewer dimensions
    than the engine settings (broadcasting). Returns queue_point's dict at B* plus "conc" and "ok" (False where
    even one sequence misses the SLO)."""
    import numpy as np
    top = max(float(np.max(b_max)), 1.0 + 1e-9)
    grid = top ** np.linspace(0.0, 1.0, points)
    e = lambda v: v[..., None] if isinstance(v, np.ndarray) else v  # noqa: E731
    lay = {k: e(v) for k, v in layout.items()}
    t, t0, t1 = step_time_s(d, grid, isl=e(isl), osl=e(osl), mixed=mixed, **lay)
    tq = step_time_s(d, grid + Z[q] * np.sqrt(LIFETIME_VAR * grid), isl=e(isl), osl=e(osl), mixed=mixed, **lay)[0]
    r = queue_point(grid, t, tq, t0, t1, isl=e(isl), osl=e(osl), chunk=e(chunk), input_cv=e(input_cv), q=q, mixed=mixed,
                    arrival_cv=e(arrival_cv), **_spec(layout))
    g = _slack(r, e(np.asarray(slo_ttft_s, dtype=float)), e(np.asarray(slo_tpot_s, dtype=float)))
    shape = np.broadcast_shapes(g.shape, np.shape(b_max) + (1,))
    g = np.broadcast_to(g, shape)
    n_ok = np.cumprod(g >= 0, axis=-1).sum(axis=-1)
    i = np.clip(n_ok - 1, 0, points - 2)[..., None]
    g0, g1 = np.take_along_axis(g, i, -1)[..., 0], np.take_along_axis(g, i + 1, -1)[..., 0]
    f = np.where(n_ok >= points, 1.0, np.clip(g0 / np.where(g0 > g1, g0 - g1, 1.0), 0.0, 1.0))
    x = np.log(grid)
    b_slo = np.exp(x[i[..., 0]] + f * (x[1] - x[0]))
    conc = np.where(n_ok > 0, np.minimum(b_slo, np.maximum(np.asarray(b_max, dtype=float), 1.0)), 1.0)
    k = np.clip(np.floor(np.log(conc) / (x[1] - x[0])), 0, points - 2).astype(int)[..., None]
    lo, hi = grid[k[..., 0]], grid[k[..., 0] + 1]
    w = (conc - lo) / (hi - lo)

    def at(v):
        v = np.broadcast_to(v, shape)
        a, b = np.take_along_axis(v, k, -1)[..., 0], np.take_along_axis(v, k + 1, -1)[..., 0]
        return a + w * (b - a)
    out = queue_point(conc, at(t), at(tq), at(t0), at(t1), isl=isl, osl=osl, chunk=chunk, input_cv=input_cv, q=q,
                      mixed=mixed, arrival_cv=arrival_cv, **_spec(layout))
    out["conc"] = conc
    out["ok"] = n_ok > 0
    if np.ndim(conc) == 0:
        out = {k_: (bool(v) if k_ == "ok" else float(v)) for k_, v in out.items()}
    return out


def at_qps(d, *, qps, b_max, points=40, q=0.99, **kw):
    """One replica offered `qps` (Poisson): the concurrency B that solves Little's law B = qps x O x t_step(B),
    found by log-interpolation on a geometric grid 0.01 .. b_max (QPS grows with B), and load_point's dict there,
    plus "conc" and "stable" (False where the offered load exceeds what b_max sequences or the prompt budget
    sustain: the queue grows without bound)."""
    import numpy as np
    ex = {k: (v[..., None] if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
    hi = np.maximum(np.asarray(b_max, dtype=float), 0.02)
    grid = 0.01 * (hi / 0.01)[..., None] ** np.linspace(0.0, 1.0, points)
    g = load_point(d, conc=grid, q=q, **ex)["qps"]
    lam = np.asarray(qps, dtype=float)[..., None]
    j = np.clip((g < lam).sum(axis=-1), 1, points - 1)[..., None]
    g0, g1 = np.take_along_axis(g, j - 1, -1), np.take_along_axis(g, j, -1)
    b0, b1 = np.take_along_axis(grid, j - 1, -1), np.take_along_axis(grid, j, -1)
    f = np.clip(np.log(lam / g0) / np.log(g1 / g0), 0.0, 1.0)
    conc = (b0 * (b1 / b0) ** f)[..., 0]
    if conc.ndim == 0:
        conc = float(conc)
    out = load_point(d, conc=conc, q=q, **kw)
    out["conc"] = conc
    out["stable"] = (np.asarray(qps) <= g[..., -1] * (1 + 1e-9)) & (out["rho"] < 1.0)
    return out


__all__ = ["Z", "LIFETIME_VAR", "batch_context", "kv_capacity", "gg1_wait_s", "mg1_wait_s", "wait_quantile_s",
           "little_concurrency", "replicas_needed", "step_time_s", "queue_point", "load_point", "kv_transfer_s",
           "prefill_only_s",
           "disaggregated_ttft_s", "max_prefill_rho", "max_load", "at_qps"]
