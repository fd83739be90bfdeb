"""The traffic a serving fleet is offered: Poisson at a QPS, bursty arrivals given their CV (Kingman's G/G/1), or a
trace of arrival times (and per-request lengths) replayed through the replicas; output-length spread; a daily load
profile. ServingLoadModel takes a Traffic from `traffic()` and, for a trace, sizes the fleet with `size_for_trace`
(physics/serving_traffic.py, physics/serving_load.py)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import ConfigError
from ..physics import serving_load as SL
from ..physics import serving_traffic as ST
from ..physics.serving_spec import spec_factors
from ..units import si

GAP_S = 1e6  # separation between replicas in the vectorised replay: longer than any wait a stable replica sees
OVER_S = 1e9  # TTFT / TPOT of a request that arrives into a backlog (a surge beyond capacity): unbounded, kept finite


@dataclass(frozen=True)
class Traffic:
    """What arrives: mean rate (1/s), inter-arrival CV, mean lengths and their CVs; for a trace, the arrival times
    (s, sorted) and per-request lengths (or None)."""

    rate: float
    arrival_cv: float
    input_len: float
    output_len: float
    input_cv: float
    output_cv: float
    arrivals: object = None
    input_lens: object = None
    output_lens: object = None

    @property
    def label(self) -> str:
        if self.arrivals is not None:
            return f"trace of {len(self.arrivals):,} arrivals (inter-arrival CV {self.arrival_cv:.2f})"
        return "Poisson" if self.arrival_cv == 1.0 else f"G/G/1, inter-arrival CV {self.arrival_cv:g}"


def _array(v, what, *, lengths=False):
    import numpy as np
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be a sequence of numbers, got {type(v).__name__}") from None
    if a.ndim != 1:
        raise ConfigError(f"{what} must be a flat sequence (one value per request), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ConfigError(f"{what} has NaN or infinite entries (first at index {int(np.argmin(np.isfinite(a)))}): "
                          f"drop or fix those requests")
    if lengths and np.any(a < 1):
        raise ConfigError(f"{what} must be >= 1 token per request (index {int(np.argmax(a < 1))} is "
                          f"{a[np.argmax(a < 1)]:g})")
    return a


def _cv(a) -> float:
    return float(a.std() / a.mean())


def traffic(*, qps=None, arrivals=None, input_lens=None, output_lens=None, arrival_cv=None, input_len=1024,
            output_len=256, input_cv=0.0, output_cv=0.0) -> Traffic:
    """Validate a traffic description. `arrivals`: sorted times in s (a trace); with `qps` too, the trace is
    replayed time-scaled to that mean rate. Per-request `input_lens` / `output_lens` (aligned with `arrivals`) set
    the mean lengths and their CVs. Without a trace: Poisson at `qps`, or G/G/1 with `arrival_cv`."""
    import numpy as np
    a_cv = 1.0 if arrival_cv is None else si(arrival_cv, "", "arrival_cv", allow_zero=True)
    i_cv, o_cv = (si(v, "", w, allow_zero=True) for v, w in ((input_cv, "input_cv"), (output_cv, "output_cv")))
    if arrivals is None:
        if input_lens is not None or output_lens is not None:
            raise ConfigError("input_lens / output_lens are per-request lengths of a trace: give arrivals= too "
                              "(or the means as input_len=, output_len= with input_cv=, output_cv=)")
        if qps is None:
            raise ConfigError("give qps= (Poisson requests/s) or arrivals= (a trace of arrival times in s)")
        return Traffic(si(qps, "1/s", "qps"), a_cv, float(input_len), float(output_len), i_cv, o_cv)
    if arrival_cv is not None:
        raise ConfigError("arrival_cv= describes traffic without a trace; a trace's CV is measured from its "
                          "arrivals: drop arrival_cv=")
    a = _array(arrivals, "arrivals")
    if a.size < 2:
        raise ConfigError(f"a trace needs at least 2 arrivals to have a rate, got {a.size}; give qps= instead")
    if np.any(a < 0):
        raise ConfigError(f"arrival times must be >= 0 s (index {int(np.argmax(a < 0))} is {a[np.argmax(a < 0)]:g}); "
                          f"shift the trace so it starts at 0")
    if np.any(np.diff(a) < 0):
        k = int(np.argmax(np.diff(a) < 0))
        raise ConfigError(f"arrival times must be sorted (index {k + 1}: {a[k + 1]:g} s comes after {a[k]:g} s): "
                          f"sort the trace (and its lengths) by arrival time")
    if a[-1] <= a[0]:
        raise ConfigError("all arrivals fall at the same instant: a trace needs a time span to have a rate")
    rate = float(ST.trace_rate(a))
    if qps is not None:
        target = si(qps, "1/s", "qps")
        a, rate = a * (rate / target), target
    lens = {}
    for v, w, mean, cv in ((input_lens, "input_lens", input_len, i_cv), (output_lens, "output_lens", output_len,
                                                                          o_cv)):
        if v is None:
            lens[w] = (None, float(mean), cv)
            continue
        x = _array(v, w, lengths=True)
        if x.size != a.size:
            raise ConfigError(f"{w} has {x.size} entries for {a.size} arrivals: give one length per request")
        lens[w] = (x, float(x.mean()), _cv(x))
    (il, i_mean, i_cv), (ol, o_mean, o_cv) = lens["input_lens"], lens["output_lens"]
    return Traffic(rate, ST.interarrival_cv(a), i_mean, o_mean, i_cv, o_cv, a, il, ol)


def load_trace(path) -> dict:
    """A CSV trace: a header with `arrival_s` (seconds) and optionally `input_len`, `output_len`; one request per
    row. Returns the keyword arguments of traffic()."""
    import csv
    from pathlib import Path
    try:
        with Path(path).open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such trace file (a CSV with columns arrival_s[,input_len,output_len])") \
            from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the trace: {exc}") from None
    if not rows or "arrival_s" not in rows[0]:
        raise ConfigError(f"{path}: a trace needs a header row with an `arrival_s` column and one row per request "
                          f"(optional columns: input_len, output_len)")
    out = {}
    for col, key in (("arrival_s", "arrivals"), ("input_len", "input_lens"), ("output_len", "output_lens")):
        if col in rows[0]:
            try:
                out[key] = [float(r[col]) for r in rows]
            except (TypeError, ValueError):
                bad = next(i for i, r in enumerate(rows) if not _is_float(r[col]))
                raise ConfigError(f"{path}: row {bad + 2}, column {col}: {rows[bad][col]!r} is not a number") \
                    from None
    return out


def _is_float(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def load_profile(v) -> tuple:
    """Multipliers of the peak QPS over equal periods (e.g. 24 hours), each in [0, 1], at least one > 0; a single
    number is a constant share of the peak."""
    import numpy as np
    m = _array([v] if isinstance(v, (int, float)) else v, "load_profile")
    if m.size == 0:
        raise ConfigError("load_profile is empty: give multipliers of the peak QPS, e.g. 24 hourly values in [0, 1]")
    if np.any(m < 0) or np.any(m > 1):
        bad = float(m[np.argmax((m < 0) | (m > 1))])
        raise ConfigError(f"load_profile values are shares of the peak QPS, each in [0, 1]; got {bad:g} (qps= is the "
                          f"peak: divide the profile by its largest value and give that as qps)")
    if not np.any(m > 0):
        raise ConfigError("load_profile is all zeros: a fleet that serves nothing has no cost per request; give at "
                          "least one period with load")
    return tuple(float(x) for x in m)


def profile_formula(profile, load_factor: float, most: int = 8) -> str:
    """The load factor's arithmetic for a reader: '(1 + 0.5 + 0.25 + 0.25) / 4 = 0.5' (first `most` terms)."""
    terms = " + ".join(f"{x:g}" for x in profile[:most]) + (" + ..." if len(profile) > most else "")
    return f"({terms}) / {len(profile)} = {load_factor:.3g}"


def check_context(model, tr: Traffic, what="") -> dict:
    """The traffic against the model's maximum context (`what`: whose, e.g. the draft model's): the mean lengths
    and, in a trace, its longest request (models/context.py); returns the what-if note of the model's limit ({} for a
    published one)."""
    from ..models.context import check_context as check
    if tr.input_lens is not None or tr.output_lens is not None:
        import numpy as np
        i = tr.input_lens if tr.input_lens is not None else np.full(len(tr.arrivals), tr.input_len)
        o = tr.output_lens if tr.output_lens is not None else np.full(len(tr.arrivals), tr.output_len)
        k = int(np.argmax(i + o))
        where = f"the trace's request at index {k} (its longest)"
        check(model, float(i[k]), float(o[k]), f"{what}, {where}" if what else where)
    return check(model, tr.input_len, tr.output_len, what)


def with_traffic(s, tr: Traffic):
    """The replica setup with the traffic's arrival CV and output-length CV: the length-biased batch context
    shrinks the KV capacity (physics/serving_load.batch_context). A trace's longest request must fit in the
    model's maximum context (the mean lengths were checked by replica_setup)."""
    check_context(s.model, tr)
    kw = dict(s.kw, arrival_cv=tr.arrival_cv, output_cv=tr.output_cv)
    if tr.output_cv == 0.0:
        return dataclasses.replace(s, kw=kw)
    from ..physics.serving import kv_bytes_per_seq
    from .serving_setup import drafter_bytes, kv_keys
    k = kv_keys(kw)
    cap = float(SL.kv_capacity(s.dims, mem_bytes=s.accelerator.memory_bytes, kv_fraction=s.engine.kv_fraction,
                               prefill_tokens=kw["chunk"], output_cv=tr.output_cv, isl=kw["isl"], osl=kw["osl"], **k))
    b_max = min(s.b_max, cap)
    ctx = SL.batch_context(kw["isl"], kw["osl"], tr.output_cv)
    per = float(kv_bytes_per_seq(s.dims, context=ctx, tp=k["tp"], pp=k["pp"], kvbytes=k["kvbytes"])) \
        + drafter_bytes(kw, ctx)[1]
    mem = dict(s.memory_bytes, kv_cache=max(b_max, 0.0) * per)
    return dataclasses.replace(s, kw=kw, b_max=b_max, kv_capacity=cap, memory_bytes=mem)


_QUEUE_KEYS = ("chunk", "input_cv", "arrival_cv", "isl", "osl")


def curve(s, tr: Traffic, points=64) -> dict:
    """One replica's steady states on a geometric grid of concurrencies (0.01 .. b_max): QPS, prompt-queue
    utilisation and the three iteration times; the whole-prompt time also over a grid of prompt lengths when the
    trace gives them. The replay interpolates these (iteration times are near-affine in the concurrency:
    physics/serving_load.max_load), so a million requests cost a few grid evaluations, not a million."""
    import numpy as np
    d, kw = s.dims, s.kw
    grid = 0.01 * (max(s.b_max, 1.0) / 0.01) ** np.linspace(0.0, 1.0, points)
    g = SL.load_point(d, conc=grid, **kw)
    lay = {k: v for k, v in kw.items() if k not in _QUEUE_KEYS}
    t, t0, t1 = SL.step_time_s(d, grid, isl=kw["isl"], osl=kw["osl"], **lay)
    c = {"x": np.log(grid), "qps": g["qps"], "sustained": float(np.max(np.where(g["rho"] < 1.0, g["qps"], 0.0))),
         "t": t, "t0": t0, "t1": t1}
    if tr.input_lens is not None:
        lo, hi = float(tr.input_lens.min()), float(tr.input_lens.max())
        c["p"] = np.linspace(lo, hi, 24) if hi > lo else np.array([lo, lo + 1.0])
        c["t1"] = SL.step_time_s(d, grid[:, None], isl=kw["isl"], osl=kw["osl"], prompt=c["p"][None, :], **lay)[2]
    return c


def _bilinear(xg, yg, z, x, y):
    """z[i, j] on the grid (xg, yg) at the points (x, y), linear in each (clamped to the grid)."""
    import numpy as np
    i = np.clip(np.searchsorted(xg, x) - 1, 0, xg.size - 2)
    j = np.clip(np.searchsorted(yg, y) - 1, 0, yg.size - 2)
    fx = np.clip((x - xg[i]) / (xg[i + 1] - xg[i]), 0.0, 1.0)
    fy = np.clip((y - yg[j]) / (yg[j + 1] - yg[j]), 0.0, 1.0)
    return (z[i, j] * (1 - fx) * (1 - fy) + z[i + 1, j] * fx * (1 - fy) + z[i, j + 1] * (1 - fx) * fy
            + z[i + 1, j + 1] * fx * fy)


def replay(s, tr: Traffic, n: int, q: float, at: dict, c: dict) -> dict:
    """Replay the trace through n replicas (round-robin dispatch). Each request sees the local arrival rate of its
    replica over its lifetime (the requests whose lifetimes, O x the mean-rate iteration time, overlap its own) and
    the steady state of continuous batching at that rate (quasi-static: the concurrency B solving Little's law
    B = rate x O x step(B), as at_qps); its iterations take the step time at B (TPOT), it joins at the next
    iteration boundary (engine clock from t = 0), its prompt waits in the
    replica's FCFS prompt queue (Lindley) for I x step / prefill budget, then takes its own prefill (TTFT). A
    request whose local rate exceeds what the replica sustains (KV capacity, max batch, prefill budget) arrives
    into a growing backlog: it counts as missing both SLOs (OVER_S). `c`: the replica's curve(). Returns the
    per-request TTFT / TPOT, their p50 / q-quantiles, the mean wait and the share that arrived over capacity."""
    import numpy as np
    a = tr.arrivals
    order, rep = ST.round_robin(a.size, n)
    e, rows = spec_factors(s.kw.get("spec_k", 0.0), s.kw.get("spec_accept", 0.0))  # speculative decoding
    life = tr.output_len / e * at["step_s"]
    t_sep = ST.separate(a[order], rep, GAP_S + 2.0 * life)
    rate = np.maximum(ST.lifetime_concurrency(t_sep, life) - 1.0, 0.0) / life
    over = rate > c["sustained"]
    x = np.clip(np.interp(rate, c["qps"], c["x"]), 0.0, c["x"][-1])  # log B, at least one sequence
    t, t_nopre = np.interp(x, c["x"], c["t"]), np.interp(x, c["x"], c["t0"])
    if tr.input_lens is None:
        isl, t_prompt = tr.input_len, np.interp(x, c["x"], c["t1"])
    else:
        isl = tr.input_lens[order]
        t_prompt = _bilinear(c["x"], c["p"], c["t1"], x, isl)
    budget = np.maximum(s.kw["chunk"] - np.exp(x) * rows, 1.0)
    wait = ST.lindley_waits(t_sep, isl * t / budget)
    admit = t - np.mod(a[order], t)  # the iteration in flight: the clock's phase at arrival (SL.admit_wait_s)
    ttft = np.where(over, OVER_S, admit + wait + t_prompt + (np.ceil(isl / budget) - 1.0) * t_nopre)
    tpot = np.where(over, OVER_S, t / e)
    return {"ttft": ttft, "tpot": tpot, "wait_mean_s": float(wait.mean()),
            "ttft_p50_s": float(np.quantile(ttft, 0.5)), "ttft_q_s": float(np.quantile(ttft, q)),
            "tpot_p50_s": float(np.quantile(tpot, 0.5)), "tpot_q_s": float(np.quantile(tpot, q)),
            "over_capacity": float(np.mean(over))}


def _point(s, tr, n, q, s_ttft, s_tpot, c):
    at = {k: float(v) for k, v in SL.at_qps(s.dims, qps=tr.rate / n, b_max=max(s.b_max, 1.0), q=q, **s.kw).items()}
    r = replay(s, tr, n, q, at, c)
    ok = (r["ttft"] <= s_ttft) & (r["tpot"] <= s_tpot)
    at.update({k: v for k, v in r.items() if k not in ("ttft", "tpot")}, share_ok=float(ok.mean()))
    at["meets"] = bool(at["stable"]) and r["ttft_q_s"] <= s_ttft and r["tpot_q_s"] <= s_tpot
    at["ttft_tight"] = r["ttft_q_s"] / s_ttft >= r["tpot_q_s"] / s_tpot  # the nearer (or further missed) SLO
    return at


def size_for_trace(s, tr: Traffic, s_ttft, s_tpot, q, start: int, replicas=None):
    """(replicas, operating point, the point with one replica fewer or None): the fewest replicas whose replay
    meets both SLOs at the percentile (and whose mean load each replica sustains), searched from the G/G/1 estimate `start` by doubling then bisection (more
    replicas never lengthen a round-robin queue's waits in practice); `replicas` given: that fleet's replay.
    Where no fleet of up to one replica per request meets the SLO, the G/G/1 estimate's point (it misses)."""
    c = curve(s, tr)
    if replicas is not None:
        return replicas, _point(s, tr, replicas, q, s_ttft, s_tpot, c), None
    top = max(int(tr.arrivals.size), 1)
    n = max(1, min(start, top))
    pts = {n: _point(s, tr, n, q, s_ttft, s_tpot, c)}
    if pts[n]["meets"]:
        lo, hi = 0, n
    else:
        lo, hi = n, None
        while hi is None and lo < top:
            m = min(2 * lo, top)
            pts[m] = _point(s, tr, m, q, s_ttft, s_tpot, c)
            lo, hi = (lo, m) if pts[m]["meets"] else (m, None)
        if hi is None:
            return n, pts[n], None
    while hi - lo > 1:  # invariant: hi meets, lo does not (0: none tried)
        mid = (lo + hi) // 2
        pts[mid] = _point(s, tr, mid, q, s_ttft, s_tpot, c)
        lo, hi = (lo, mid) if pts[mid]["meets"] else (mid, hi)
    return hi, pts[hi], pts.get(hi - 1)
