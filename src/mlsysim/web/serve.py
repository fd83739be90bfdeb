"""One serving request -> the page's answer: a fleet under Poisson or bursty traffic (ServingLoadModel) in each
region, and a short ranking of plans (plan_serving). The work is bounded: at most MAX_REGIONS regions and a plan
search of at most MAX_HARDWARE x MAX_PRECISIONS x MAX_TP configurations.

No fastapi here: the API and the tests call `serve(request_dict)` and `plan(request_dict)` directly.
"""
from __future__ import annotations

import math

from ..errors import ConfigError, InfeasibleError
from ..solvers.serving import MAX_DRAFT  # drafted tokens or MTP modules per iteration: the solvers' bound

MAX_REGIONS = 4
MAX_HARDWARE, MAX_PRECISIONS, MAX_TP = 4, 3, 4
MAX_QPS = 1e6  # requests/s: beyond any single service, and keeps every per-request figure finite
MAX_TOKENS = 1_000_000  # tokens per prompt or answer
MAX_SLO_MS = 1e7
MAX_CV = 100.0  # a coefficient of variation beyond any published LLM trace's (Azure 2023: ~2 to ~5 at 1 s bins)
MAX_PERIODS = 8784  # load-profile periods: the hours of a leap year
RANKING = 5
DEFAULTS = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "pp_size": 1, "qps": 10,
            "input_len": 1000, "output_len": 200, "ttft_slo_ms": 1000, "tpot_slo_ms": 50, "percentile": 0.99}
PLAN_HARDWARE = ("H100", "H200", "B200")  # plan_serving's own defaults
PLAN_PRECISIONS = ("fp16", "fp8", "int4")
PLAN_TP = (1, 2, 4, 8)


def _show(v) -> str:
    """A bad value for a message: numbers as written, anything else quoted and cut to 40 characters."""
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else repr(str(v)[:40])


def _get(req, key):
    v = req.get(key)
    return DEFAULTS.get(key) if v in (None, "") else v


def _number(req, key, hi, unit):
    """A positive finite number no larger than `hi`; strings and the rest go to the solver, which names the fix."""
    v = _get(req, key)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v > hi:
        raise ConfigError(f"{key} must be at most {hi:g} {unit} in the web calculator, got {v:g}")
    return v


def _slo_s(req, key):
    """A TTFT/TPOT target in ms (from the form) as seconds; empty means no target."""
    if key in req and req[key] in (None, ""):
        return None
    v = _get(req, key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= MAX_SLO_MS:
        raise ConfigError(f"{key} must be a number of milliseconds > 0 and <= {MAX_SLO_MS:g} (or empty for no "
                          f"target), got {_show(v)}")
    return v / 1e3


def _cv(req, key):
    """A coefficient of variation (None: the default, Poisson arrivals or equal output lengths)."""
    v = req.get(key)
    if v in (None, ""):
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v > MAX_CV:
        raise ConfigError(f"{key} must be at most {MAX_CV:g} in the web calculator, got {v:g}")
    return v


def _profile(req):
    """A load profile: shares of the peak QPS, as a list or comma-separated text ('1, 0.6, 0.3'); the solver
    checks each is in [0, 1]."""
    v = req.get("load_profile")
    if v in (None, "", []):
        return None
    if isinstance(v, str):
        parts = [x.strip() for x in v.replace(";", ",").split(",") if x.strip()]
        try:
            v = [float(x) for x in parts]
        except ValueError:
            raise ConfigError(f"load_profile must be comma-separated shares of the peak QPS in [0, 1], e.g. "
                              f"1, 0.6, 0.3; got {_show(v)}") from None
    if not isinstance(v, list) or len(v) > MAX_PERIODS:
        raise ConfigError(f"load_profile must list 1 to {MAX_PERIODS} shares of the peak QPS (e.g. 24 hourly values)")
    return v


def _datacenters(req):
    from ..infrastructure.registry import Infrastructure
    names = req.get("datacenters") or ["GCP_Iowa"]
    if isinstance(names, str):
        names = [n for n in names.split(",") if n]
    if not isinstance(names, list) or not 1 <= len(names) <= MAX_REGIONS:
        raise ConfigError(f"datacenters must be a list of 1 to {MAX_REGIONS} region names (the traffic is split "
                          f"equally over them)")
    if len(set(names)) != len(names):
        raise ConfigError("datacenters lists a region twice: name each region once")
    return [Infrastructure.Datacenters[str(n)] for n in names]


def _inputs(req: dict) -> dict:
    if not isinstance(req, dict):
        raise ConfigError("the request must be a JSON object")
    p = req.get("percentile")
    p = DEFAULTS["percentile"] if p in (None, "") else p
    from ..physics.serving_load import Z
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p not in Z:
        raise ConfigError(f"percentile must be one of {sorted(Z)}, got {_show(p)}")
    return {"model": _get(req, "model"), "hardware": _get(req, "hardware"), "precision": _get(req, "precision"),
            "tp_size": _number(req, "tp_size", 1024, "GPUs"), "pp_size": _number(req, "pp_size", 1024, "GPUs"),
            "qps": _number(req, "qps", MAX_QPS, "requests/s"),
            "input_len": _number(req, "input_len", MAX_TOKENS, "tokens"),
            "output_len": _number(req, "output_len", MAX_TOKENS, "tokens"),
            "ttft_slo": _slo_s(req, "ttft_slo_ms"), "tpot_slo": _slo_s(req, "tpot_slo_ms"),
            "percentile": p, "arrival_cv": _cv(req, "arrival_cv"), "output_cv": _cv(req, "output_cv"),
            "load_profile": _profile(req), **_draft(req)}


def _draft(req) -> dict:
    """Speculative decoding as ServingLoadModel takes it (empty or "none": no draft model); the solver checks the
    combination and names the fix."""
    m = req.get("draft_model")
    m = None if m in (None, "", "none") else m
    if m is not None:
        from ..models.registry import Models
        if m not in Models.Language.names():
            raise ConfigError(f"draft_model must be one of the registry's language models (e.g. Llama3_8B) or "
                              f"empty for none, got {_show(m)}")
    out = {"draft_model": m,
           "draft_acceptance_rate": None if req.get("draft_acceptance_rate") in (None, "") else
           req["draft_acceptance_rate"]}
    for k in ("mtp_depth", "draft_tokens"):
        out[k] = None if req.get(k) in (None, "") else _number(req, k, MAX_DRAFT, "tokens per iteration")
    return out


def serve(req: dict) -> dict:
    """Evaluate a serving request: the fleet for the traffic in each region (QPS split equally), headline numbers
    with formulas, and (unless plan is false) a short ranking of plans."""
    from .. import __version__
    from ..cli import _json as J
    from ..solvers.serving_load import ServingLoadModel
    a = _inputs(req)
    dcs = _datacenters(req)
    rent = req.get("rent_usd_per_gpu_hour")
    rent = None if rent in (None, "") else _number(req, "rent_usd_per_gpu_hour", 1e4, "USD per GPU-hour")
    share = a["qps"] / len(dcs) if isinstance(a["qps"], (int, float)) and not isinstance(a["qps"], bool) \
        else a["qps"]
    kw = {k: a[k] for k in ("tp_size", "pp_size", "input_len", "output_len", "precision", "ttft_slo", "tpot_slo",
                            "percentile")}
    kw.update(_traffic_kw(a))
    runs = [ServingLoadModel().solve(a["model"], a["hardware"], qps=share, datacenter=dc,
                                     rent_usd_per_gpu_hour=rent, **kw) for dc in dcs]
    r = runs[0]
    regions = [_region(x) for x in runs]
    res = {"mlsysim_version": __version__, "status": "ok" if all(x.feasible for x in runs) else "infeasible",
           "inputs": {k: v for k, v in a.items() if v is not None}, "title": _title(a, runs),
           "fleet": _fleet(runs), "traffic": _traffic(r, a), "headline": _headline(a, runs, regions),
           "regions": regions,
           "assumptions": r.assumptions}
    if req.get("plan", True) is not False:
        res["plan"] = _plan(req, a, dcs)
    return J.clean(res)


def _traffic_kw(a) -> dict:
    """The traffic and speculative-decoding options the request gives (left out: Poisson, equal output lengths,
    flat at the peak, no draft)."""
    return {k: a[k] for k in ("arrival_cv", "output_cv", "load_profile", "draft_model", "mtp_depth",
                              "draft_acceptance_rate", "draft_tokens") if a[k] is not None}


def _traffic(r, a) -> dict:
    """The traffic as the solver read it: its label, the CVs and the load profile's mean share of the peak."""
    out = {"label": r.traffic, "arrival_cv": r.arrival_cv, "output_cv": r.output_cv, "load_factor": r.load_factor}
    m = a["load_profile"]
    if m is not None:
        from ..solvers.serving_traffic import profile_formula
        out.update(periods=len(m), formula=f"mean share of the peak = {profile_formula(m, r.load_factor)}")
    return out


def plan(req: dict) -> dict:
    """Only the plan ranking (POST /api/serve-plan)."""
    from ..cli import _json as J
    a = _inputs(req)
    return J.clean(_plan(req, a, _datacenters(req)))


def _title(a, runs) -> str:
    r, n = runs[0], len(runs)
    where = ", ".join(x.datacenter.name for x in runs) if n == 1 else f"{n} regions"
    return (f"Serving {r.model.name} at {a['qps']:g} QPS on {r.gpus * n} x {r.accelerator.name} "
            f"({r.replicas * n} replica{'s' if r.replicas * n != 1 else ''} of TP{r.tp} x PP{r.pp}, {'/'.join(r.precision)}), {where}")


def _fleet(runs) -> dict:
    r = runs[0]
    return {"replicas": sum(x.replicas for x in runs), "gpus": sum(x.gpus for x in runs),
            "replicas_per_region": r.replicas, "gpus_per_replica": r.tp * r.pp, "tp": r.tp, "pp": r.pp,
            "engine": r.engine, "precision": list(r.precision), "percentile": r.percentile,
            "qps_per_replica_max": r.qps_per_replica_max, "concurrency_per_replica": r.concurrency_per_replica,
            "ttft_p50_ms": r.ttft_p50_s * 1e3, "ttft_q_ms": r.ttft_p99_s * 1e3, "tpot_p50_ms": r.tpot_p50_s * 1e3,
            "tpot_q_ms": r.tpot_p99_s * 1e3, "tokens_per_s_per_gpu": r.tokens_per_s_per_gpu,
            "goodput_qps": sum(x.goodput_qps for x in runs), "kv_capacity": int(r.kv_capacity),  # whole sequences
            "memory_gb": {k: v / 1e9 for k, v in r.memory_bytes.items()},
            "feasible": all(x.feasible for x in runs), "binding": r.binding}


def _region(x) -> dict:
    dc, pr = x.datacenter, x.per_request
    out = {"key": dc.key, "name": dc.name, "qps": x.qps, "replicas": x.replicas, "gpus": x.gpus,
           "grid_gco2_per_kwh": dc.grid.gco2_per_kwh, "pue": dc.pue, "cfe_fraction": dc.cfe_fraction,
           "contractual_fraction": dc.contractual_fraction, "market_gco2_per_kwh": dc.market_residual_gco2_per_kwh,
           "feasible": x.feasible}
    if pr:
        out.update(wh_per_request=pr["energy_j"] / 3600.0, g_location=pr["carbon_location_kg"] * 1e3,
                   g_market=pr["carbon_market_kg"] * 1e3,
                   g_embodied=None if x.accelerator.embodied_kgco2e is None else pr["carbon_embodied_kg"] * 1e3,
                   usd_per_request=pr["usd"], usd_per_m_input=x.usd_per_m_input, usd_per_m_output=x.usd_per_m_output)
    return out


def _mean(regions, key):
    vals = [g[key] for g in regions if key in g]
    return sum(vals) / len(vals) if len(vals) == len(regions) else None


def _headline(a, runs, regions) -> dict:
    """The cards: each value with the arithmetic that gives it (figures of the first region; several regions
    carry equal traffic, so per-request figures are their mean)."""
    r, g0, n = runs[0], regions[0], len(runs)
    from ..solvers.serving_load import pct as label
    pct = label(r.percentile)
    per = r.qps_per_replica_max
    need = max(math.ceil(r.qps / per - 1e-9), 1) if per > 0 else 0
    more = (f" = {need * n}, + {(r.replicas - need) * n} to meet the SLO at the operating point (the capacity "
            f"search interpolates)" if r.replicas > need else "")
    head = {"replicas": {"value": sum(x.replicas for x in runs), "formula": (
                f"ceil(QPS per region / max QPS per replica within the SLO) x regions = ceil({r.qps:g} / {per:.4g})"
                f" x {n}{more} = {r.replicas * n}" if per > 0 else
                f"no replica meets the SLO ({r.binding}); sized for throughput: {r.replicas} per region x {n}")},
            "gpus": {"value": sum(x.gpus for x in runs), "formula":
                     f"replicas x TP x PP = {r.replicas * n} x {r.tp} x {r.pp} = {r.gpus * n}"},
            "tokens_per_s_per_gpu": {"value": r.tokens_per_s_per_gpu, "formula":
                                     f"QPS x output tokens / GPUs = {r.qps * n:g} x {r.output_len:g} / {r.gpus * n} "
                                     f"= {r.tokens_per_s_per_gpu:,.4g}"},
            "ttft_ms": {"value": r.ttft_p99_s * 1e3, "formula":
                        f"{pct} time to first token (p50 {r.ttft_p50_s * 1e3:,.1f} ms): prefill + {_queue(r)} queue "
                        f"wait at {r.qps:g} / {r.replicas} QPS per replica"},
            "tpot_ms": {"value": r.tpot_p99_s * 1e3, "formula":
                        f"{pct} time per output token (p50 {r.tpot_p50_s * 1e3:,.1f} ms) at "
                        f"{r.concurrency_per_replica:,.4g} sequences per replica"}}
    if r.load_factor < 1.0:
        head["load_factor"] = {"value": r.load_factor, "formula": _traffic(r, a)["formula"] +
                               f": {r.qps * n:g} QPS at the peak, {r.qps * n * r.load_factor:.4g} on average; the "
                               f"fleet is sized for the peak"}
    if "wh_per_request" not in g0:
        return head
    mean_qps = r.qps * r.load_factor  # per region: the day's mean rate
    many = f"mean over {n} regions (table below); {g0['key']}: " if n > 1 else ""
    wh, gl, gm = (_mean(regions, k) for k in ("wh_per_request", "g_location", "g_market"))
    it_kw = g0["wh_per_request"] * 3.6 * mean_qps / g0["pue"]  # facility J = IT W x (1/QPS) s x PUE
    w = g0["usd_per_m_input"] / g0["usd_per_m_output"] if g0["usd_per_m_output"] else 0.0
    head["usd_per_m_output"] = {"value": _mean(regions, "usd_per_m_output"), "formula":
                                f"{many}cost per request / (output + w x input tokens) = "
                                f"${g0['usd_per_request']:.3g} / ({r.output_len:g} + {w:.3g} x {r.input_len:g}) x 1e6 "
                                f"= ${g0['usd_per_m_output']:.3g}"}
    head["usd_per_m_input"] = {"value": _mean(regions, "usd_per_m_input"), "formula":
                               f"{many}$/M output x w, an input token's weight (its prefill share of GPU time) = "
                               f"{g0['usd_per_m_output']:.3g} x {w:.3g} = ${g0['usd_per_m_input']:.3g}"}
    head["wh_per_request"] = {"value": wh, "formula":
                              f"{many}{'mean ' if r.load_factor < 1 else ''}fleet IT power x PUE / "
                              f"{'mean ' if r.load_factor < 1 else ''}QPS = {it_kw:.3g} kW x {g0['pue']:g} / "
                              f"{mean_qps:.4g} per s = {g0['wh_per_request']:.3g} Wh"}
    head["g_location"] = {"value": gl, "formula":
                          f"{many}energy x grid = {g0['wh_per_request']:.3g} Wh x {g0['grid_gco2_per_kwh']:g} "
                          f"gCO2e/kWh / 1000 = {g0['g_location']:.3g} g"}
    head["g_market"] = {"value": gm, "formula":
                        f"{many}GHG Protocol Scope 2: energy x (1 - contract share) x residual mix (else grid) = "
                        f"{g0['wh_per_request']:.3g} Wh x (1 - {g0['contractual_fraction']:g}) x "
                        f"{g0['market_gco2_per_kwh']:g} gCO2e/kWh / 1000 = {g0['g_market']:.3g} g"}
    return head


def _queue(r) -> str:
    return "M/G/1" if r.arrival_cv == 1.0 else f"G/G/1 (Kingman, arrival CV {r.arrival_cv:g})"


def _choices(req, key, default, most, kind=str):
    v = req.get(key)
    if v in (None, "", []):
        return tuple(default)
    if isinstance(v, str):
        v = [x for x in v.split(",") if x]
    if not isinstance(v, list) or not 1 <= len(v) <= most or \
            not all(isinstance(x, kind) and not isinstance(x, bool) and (kind is str or 1 <= x <= 1024) for x in v):
        raise ConfigError(f"{key} must list 1 to {most} {'names' if kind is str else 'integers from 1 to 1024'} "
                          f"(the plan's search is bounded)")
    return tuple(v)


def _plan(req, a, dcs) -> dict:
    """plan_serving over a bounded search; an unreachable SLO is an answer (`error`: the closest TTFT/TPOT)."""
    from ..solvers.serving_plan import plan_serving
    own = (a["hardware"],) if isinstance(a["hardware"], str) else ()
    hw = _choices(req, "plan_hardware", tuple(dict.fromkeys(own + PLAN_HARDWARE))[:MAX_HARDWARE], MAX_HARDWARE)
    prec = _choices(req, "plan_precisions", PLAN_PRECISIONS, MAX_PRECISIONS)
    tps = _choices(req, "plan_tp_sizes", PLAN_TP, MAX_TP, kind=int)
    budget = req.get("budget_usd")
    if budget in (None, ""):
        budget = None
    elif isinstance(budget, bool) or not isinstance(budget, (int, float)) or not 0 < budget < 1e15:
        raise ConfigError(f"budget_usd must be a positive number of US dollars per year, got {_show(budget)}")
    if a["ttft_slo"] is None:
        return {"error": "the plan needs a TTFT target: fill ttft_slo_ms"}
    objective = req.get("objective") or "cost"
    try:
        p = plan_serving(a["model"], qps=a["qps"], input_len=a["input_len"], output_len=a["output_len"],
                         ttft_slo=a["ttft_slo"], tpot_slo=a["tpot_slo"], percentile=a["percentile"], hardware=hw,
                         precisions=prec, tp_sizes=tps, datacenters=dcs, objective=objective, budget_usd=budget,
                         **_traffic_kw(a))
    except InfeasibleError as e:
        return {"error": str(e), "searched": {"hardware": hw, "precisions": prec, "tp_sizes": tps}}
    return {"objective": p.objective, "feasible": p.feasible, "binding": p.binding, "best": p.best,
            "ranking": p.rows[:RANKING], "configurations": len(p.rows), "skipped": p.skipped,
            "searched": {"hardware": hw, "precisions": prec, "tp_sizes": tps}, "assumptions": p.assumptions}
