"""Operating points of a serving fleet: co-located continuous batching (prefill chunks inside the decode
iterations) or prefill/decode disaggregation (DistServe, Zhong et al. OSDI 2024; Splitwise, Patel et al. ISCA
2024): groups of P prefill + D decode replicas, the prompt's KV cache sent from one to the other over the
fabric. Both return the same dict, so ServingLoadModel composes either one."""
from __future__ import annotations

from ..errors import ConfigError
from ..physics import serving_load as SL
from ..units import count

INF = float("inf")
_PREFILL_KEYS = ("tp", "pp", "ep", "peak", "ceiling", "mem_bw", "attn_eff", "wbytes", "su_bw", "su_lat", "overhead_s")


def colocated(s, lam, s_ttft, s_tpot, q, replicas):
    """Replicas that each batch prefill chunks with decode: (replicas, operating point, max QPS per replica,
    the capacity search at the SLO)."""
    d, kw, b = s.dims, s.kw, max(s.b_max, 1.0)
    cap = SL.max_load(d, b_max=b, slo_ttft_s=s_ttft, slo_tpot_s=s_tpot, q=q, **kw)
    q_max = cap["qps"] if s.b_max >= 1.0 and cap["ok"] else 0.0
    sized = replicas is None
    offline = None
    if s.b_max >= 1.0 and not cap["ok"] and float(cap["rho"]) >= 1.0:
        # prompt-bound: under one sequence in flight per replica, below max_load's grid (its max QPS read 0)
        offline = SL.max_load(d, b_max=b, slo_ttft_s=INF, slo_tpot_s=INF, q=q, **kw)["qps"]
        below = prompt_bound_point(s, s_ttft, s_tpot, q, offline)
        q_max = below["qps"] if below["ok"] else 0.0
    if sized:
        if offline is None:
            offline = SL.max_load(d, b_max=b, slo_ttft_s=INF, slo_tpot_s=INF, q=q, **kw)["qps"]
        # no q_max: even the lightest load misses the SLO (or no sequence fits); sized for throughput
        replicas = int(SL.replicas_needed(lam, q_max if q_max > 0 else offline))
    at = _point(s, lam / replicas, q)
    if sized and q_max > 0 and not _meets(at, s_ttft, s_tpot):
        replicas, at = _top_up(s, lam, s_ttft, s_tpot, q, replicas, at)
    return replicas, at, q_max, cap


def _top_up(s, lam, s_ttft, s_tpot, q, n, at):
    """The capacity search interpolates, so lam / q_max replicas can sit a hair over the SLO at their operating
    point (by ~0.2 % in TPOT); a fleet of thousands then needs more than a few extra replicas. The fewest from n + 1
    up that meet it: steps doubling from 1, then bisection; n and its point where even 2n + 64 miss."""
    step = 1
    while True:
        hi = n + step
        top = _point(s, lam / hi, q)
        if _meets(top, s_ttft, s_tpot):
            break
        if step > n + 64:
            return n, at
        step *= 2
    lo = n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        p = _point(s, lam / mid, q)
        if _meets(p, s_ttft, s_tpot):
            hi, top = mid, p
        else:
            lo = mid
    return hi, top


def _point(s, qps, q):
    return {k: float(v) for k, v in SL.at_qps(s.dims, qps=qps, b_max=max(s.b_max, 1.0), q=q, **s.kw).items()}


def _meets(at, s_ttft, s_tpot) -> bool:
    return bool(at["stable"]) and at["ttft_q_s"] <= s_ttft and at["tpot_q_s"] <= s_tpot


def prompt_bound_point(s, s_ttft, s_tpot, q, qps_hi, **engine):
    """One replica whose prompt passes alone fill it (max_load's grid starts at one sequence in flight, so it finds
    no point): the operating point at the highest QPS below `qps_hi` that meets the SLO (bisection in log QPS: the
    tails grow with the load), or at the lightest load where none does, with "ok". `engine`: chunk= or b_max= in
    place of the replica's own."""
    b = engine.pop("b_max", max(s.b_max, 1.0))
    kw = {**s.kw, **engine}

    def point(qps):
        return {k: float(v) for k, v in SL.at_qps(s.dims, qps=qps, b_max=b, q=q, **kw).items()}
    lo, hi = qps_hi * 1e-9, qps_hi
    best = point(lo)
    if not _meets(best, s_ttft, s_tpot):
        return {**best, "ok": False}
    for _ in range(40):
        mid = (lo * hi) ** 0.5
        p = point(mid)
        lo, hi, best = (mid, hi, p) if _meets(p, s_ttft, s_tpot) else (lo, mid, best)
    return {**best, "ok": True}


def disaggregated(s, lam, s_ttft, s_tpot, q, groups, ratio, fabric):
    """Groups of P prefill + D decode replicas: (replicas, operating point, max QPS per replica, binding)."""
    if not (isinstance(ratio, (tuple, list)) and len(ratio) == 2):
        raise ConfigError(f"disaggregation must be (prefill replicas, decode replicas) per group, e.g. (1, 2); "
                          f"got {ratio!r}")
    n_p, n_d = count(ratio[0], "prefill replicas"), count(ratio[1], "decode replicas")
    d, kw, b = s.dims, s.kw, max(s.b_max, 1.0)
    pre = SL.prefill_only_s(d, isl=kw["isl"], **{k: kw[k] for k in _PREFILL_KEYS})
    xfer = SL.kv_transfer_s(d, isl=kw["isl"], tp=kw["tp"], pp=kw["pp"], kvbytes=kw["kvbytes"],
                            bw=fabric.port_bw * fabric.efficiency, lat=fabric.latency_s)
    dec = SL.max_load(d, b_max=b, slo_ttft_s=INF, slo_tpot_s=s_tpot, q=q, mixed=False, **kw)
    q_dec = dec["qps"] if s.b_max >= 1.0 and dec["ok"] else 0.0
    ca = kw.get("arrival_cv", 1.0)
    rho = SL.max_prefill_rho(s_ttft, prefill_s=pre, base_s=pre + xfer + dec["step_s"], input_cv=kw["input_cv"],
                             q=q, arrival_cv=ca)
    q_pre = rho / pre
    per_group = min(n_p * q_pre, n_d * q_dec)
    binding = ("prefill pool (TTFT SLO)" if n_p * q_pre < n_d * q_dec else "decode pool (TPOT SLO or KV capacity)")
    if groups is None:
        offline = n_d * SL.max_load(d, b_max=b, slo_ttft_s=INF, slo_tpot_s=INF, q=q, mixed=False, **kw)["qps"]
        groups = int(SL.replicas_needed(lam, per_group if per_group > 0 else min(offline, n_p / pre)))
    at = {k: float(v) for k, v in SL.at_qps(d, qps=lam / (groups * n_d), b_max=b, q=q, mixed=False, **kw).items()}
    p50, pq = SL.disaggregated_ttft_s(lam / groups, n_prefill=n_p, prefill_s=pre, transfer_s=xfer,
                                      decode_step_s=at["step_s"], input_cv=kw["input_cv"], q=q,
                                      arrival_cv=ca)
    rho_now = lam / (groups * n_p) * pre
    at.update(ttft_p50_s=float(p50), ttft_q_s=float(pq), rho=rho_now, prefill_s=pre + xfer + at["step_s"],
              wait_mean_s=float(SL.gg1_wait_s(rho_now, pre, ca * ca, kw["input_cv"] ** 2)),
              prefill_share=n_p / (n_p + n_d), stable=bool(at["stable"]) and rho_now < 1.0,
              kv_transfer_s=float(xfer), prefill_pass_s=float(pre))
    return groups * (n_p + n_d), at, per_group / (n_p + n_d), binding
