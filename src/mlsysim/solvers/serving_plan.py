"""Capacity planning for serving: the cheapest (or fewest-GPU, or lowest-carbon) fleet that serves a QPS within a
TTFT / TPOT SLO, across accelerators x precision x tensor-parallel size x regions, on the same physics as
ServingLoadModel (physics/serving_load.max_load for each replica layout, physics/serving_econ for $ and CO2).

>>> from mlsysim import Models, Infrastructure
>>> p = plan_serving(Models.Language.Llama3_70B, qps=100, input_len=1000, output_len=200, ttft_slo=0.5,
...                  hardware=["H100"], precisions=["fp8"], datacenters=[Infrastructure.Datacenters.GCP_Iowa])
>>> p.best["tp"] in (1, 2, 4, 8)
True
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, InfeasibleError, unexpected_keywords
from ..physics import power as PW
from ..physics import serving_econ as SE
from ..physics import serving_load as SL
from ..physics import serving_spec as SS
from ..units import count, si
from ._common import TableRepr
from . import serving_disagg as SD
from . import serving_traffic as TT
from ._capex import serving_capex
from .serving_load import check_percentile, check_qps, check_tpot_slo, pct
from .serving import resolve_hardware, speculation
from .sustainability import resolve_datacenter
from ..physics.precision import serving_precision
from ._common import resolve_model
from .serving_setup import replica_setup, spec_keys, spec_note

OBJECTIVES = {"cost": "usd_per_year", "gpus": "gpus", "carbon": "carbon_t_per_year"}
SECONDS_PER_YEAR = PW.SECONDS_PER_YEAR


@dataclass(frozen=True)
class ServingPlan(TableRepr):
    """`rows`: every configuration evaluated (SLO-feasible ones), sorted by the objective; `best`: the first row
    within the budget (or the cheapest over it, with feasible=False and binding 'budget')."""

    objective: str
    qps: float
    ttft_slo_s: float
    tpot_slo_s: float
    percentile: float
    rows: list
    best: dict
    feasible: bool
    binding: str
    skipped: dict
    assumptions: dict = field(default_factory=dict)

    def pareto(self, x="usd_per_m_output", y="ttft_p99_ms", maximize=()):
        """The rows no other row beats on both columns (minimised, or maximised where named in `maximize`),
        sorted by x: e.g. pareto("tokens_per_s_per_gpu", "tpot_p99_ms", maximize=("tokens_per_s_per_gpu",))
        is the throughput-per-GPU vs per-user-speed front serving engineers read."""
        maximize = (maximize,) if isinstance(maximize, str) else tuple(maximize)  # "a" in "ab" was a match
        numeric = [k for k, v in self.rows[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        for name in (x, y, *maximize):
            if name not in numeric:  # was a KeyError, or a TypeError on a text column
                from ..errors import unknown
                raise unknown("plan column to compare", name, numeric)
        sx, sy = (-1.0 if x in maximize else 1.0), (-1.0 if y in maximize else 1.0)
        pts = sorted(self.rows, key=lambda r: (sx * r[x], sy * r[y]))
        front, best_y = [], float("inf")
        for r in pts:
            if sy * r[y] < best_y:
                front.append(r)
                best_y = sy * r[y]
        return front

    def _title(self):
        return f"Serving plan: {self.qps:g} QPS, {pct(self.percentile)} TTFT <= {self.ttft_slo_s * 1e3:g} ms"

    def _rows(self):
        b = self.best
        return [("traffic", self.assumptions.get("traffic", "")),
                ("best", f"{b['hardware']} {b['precision']} TP{b['tp']} x PP{b['pp']}: {b['gpus']} GPUs "
                         f"({b['replicas']} replica{'s' if b['replicas'] != 1 else ''})"),
                (f"{pct(self.percentile)} TTFT / TPOT (ms)", f"{b['ttft_p99_ms']:.1f} / {b['tpot_p99_ms']:.1f}"),
                ("CapEx (USD)", b["capex_usd"]), ("cost per year (USD)", b["usd_per_year"]),
                ("$ per M input / output tokens", f"{b['usd_per_m_input']:.3g} / {b['usd_per_m_output']:.3g}"),
                ("carbon (t CO2e/yr, location + embodied)", b["carbon_t_per_year"]),
                ("energy per request (Wh)", b["wh_per_request"]),
                *([("mean load over the profile (share of the peak)", b["load_factor"])] if b["load_factor"] < 1
                  else []),
                ("gCO2e per request (location + embodied / market)",
                 f"{b['g_per_request']:.3g} / {b['g_market_per_request']:.3g}"),
                ("configurations meeting the SLO", len(self.rows)),
                ("feasible", "yes" if self.feasible else f"NO: {self.binding}")]


def plan_serving(model, *, qps=None, input_len=1024, output_len=256, ttft_slo, tpot_slo=None, percentile=0.99,
                 hardware=("H100", "H200", "B200"), precisions=("fp16", "fp8", "int4"), tp_sizes=(1, 2, 4, 8),
                 pp_sizes=(1,),
                 datacenters=None, objective="cost", budget_usd=None, budget_basis="per_year",
                 engine=None, arrival_cv=None, input_cv=0.0, output_cv=0.0, load_profile=None, arrivals=None,
                 input_lens=None, output_lens=None, draft_model=None, mtp_depth=None, draft_acceptance_rate=None,
                 draft_tokens=None, **unexpected) -> ServingPlan:
    """Plan a fleet for `qps` requests/s split equally over `datacenters` (one fleet per region, each serving
    qps / regions). Cost per year = owning (CapEx amortised + maintenance + energy, physics/cost.py); the budget
    is compared with that yearly cost (budget_basis="per_year") or with the CapEx ("capex"). Raises
    InfeasibleError with the closest TTFT / TPOT reached when no configuration meets the SLO. Rows' `ttft_p99_ms`
    and `tpot_p99_ms` hold the tail at `percentile` (0.99 unless another is asked for).
    Traffic as ServingLoadModel takes it (serving_traffic.py): `arrival_cv` (Kingman's G/G/1), `input_cv`,
    `output_cv`, or a trace (`arrivals`, optional `input_lens` / `output_lens`; one region) replayed through each
    layout's fleet; `load_profile`: shares of the peak `qps` over equal periods, the fleet sized for the peak and
    $, energy and CO2 over the profile (idle replicas at idle power). Speculative decoding as ServingLoadModel
    takes it (`draft_model=` or `mtp_depth=`, `draft_acceptance_rate=`, `draft_tokens=`), in every layout."""
    if unexpected:  # precision= for precisions= was a TypeError
        raise unexpected_keywords(plan_serving, unexpected)
    spec = dict(draft_model=draft_model, mtp_depth=mtp_depth, draft_acceptance_rate=draft_acceptance_rate,
                draft_tokens=draft_tokens)
    model, hardware, precisions = _candidates(model, hardware, precisions)
    sp = speculation(**spec, target=model)  # bad options fail here, not as every layout skipped
    tp_sizes, pp_sizes = _listed(tp_sizes), _listed(pp_sizes)
    datacenters = None if datacenters is None else [resolve_datacenter(d) for d in _listed(datacenters)]
    tr = TT.traffic(qps=qps, arrivals=arrivals, input_lens=input_lens, output_lens=output_lens,
                    arrival_cv=arrival_cv, input_len=count(input_len, "input_len"),
                    output_len=count(output_len, "output_len"), input_cv=input_cv, output_cv=output_cv)
    profile = None if load_profile is None else TT.load_profile(load_profile)
    lam, isl, osl = check_qps(tr.rate), tr.input_len, tr.output_len
    context = TT.check_context(model, tr)  # here, not as every layout skipped ("change the candidate lists")
    if draft_model is not None:
        TT.check_context(resolve_model(draft_model), tr, "draft_model")
    tp_sizes = [count(t, "tp_sizes entry") for t in tp_sizes]
    pp_sizes = [count(t, "pp_sizes entry") for t in pp_sizes]
    check_percentile(percentile)
    s_ttft = si(ttft_slo, "s", "ttft_slo")
    s_tpot = float("inf") if tpot_slo is None else si(tpot_slo, "s", "tpot_slo")
    check_tpot_slo(osl, tpot_slo)
    if not isinstance(objective, str) or objective not in OBJECTIVES:  # a list was a TypeError
        raise ConfigError(f"objective must be one of {list(OBJECTIVES)}, got {objective!r}")
    if budget_basis not in ("per_year", "capex"):
        raise ConfigError(f"budget_basis must be 'per_year' or 'capex', got {budget_basis!r}")
    if budget_usd is not None:  # a negative budget read as "nothing fits" (exit 3) instead of a typo
        budget_usd = si(budget_usd, "USD", "budget_usd")
    if not datacenters:
        raise ConfigError("plan_serving needs datacenters=[...] (e.g. Infrastructure.Datacenters.GCP_Iowa)")
    names = [dc.key or dc.name for dc in datacenters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:  # the per-region dict held one of them: its $ and CO2 were counted once for two fleets
        raise ConfigError(f"datacenters lists {', '.join(twice)} more than once: give each region once (the QPS is "
                          f"split equally over the regions; for more traffic in one region raise qps=; two sites "
                          f"of one name: rename one, dataclasses.replace(dc, key=...))")
    regions = len(datacenters)
    if tr.arrivals is not None and regions > 1:
        raise ConfigError(f"a trace is replayed through one region's fleet, got {regions} datacenters: give one "
                          f"datacenter, or describe the traffic by its rate and CV (qps=, arrival_cv=)")
    for what, items in (("hardware", hardware), ("precisions", precisions), ("tp_sizes", tp_sizes),
                        ("pp_sizes", pp_sizes)):
        if not items:  # was "no configuration meets the SLO", as if one had been tried
            raise ConfigError(f"{what} is empty: give at least one candidate")
    rows, skipped, closest, invalid = [], {}, None, 0
    for hw, prec, tp, pp in ((h, p, t, q) for h in hardware for p in precisions for t in tp_sizes for q in pp_sizes):
        key = f"{getattr(hw, 'name', hw)} {prec} TP{tp} PP{pp}"
        try:
            s = TT.with_traffic(replica_setup(model, hw, input_len=isl, output_len=osl, tp=tp, pp=pp, precision=prec,
                                              engine=engine, input_cv=tr.input_cv, **spec), tr)
        except ConfigError as e:  # a precision the chip lacks, a TP that does not divide the heads
            skipped[key] = str(e).split(";")[0]
            invalid += 1
            continue
        if s.b_max < 1:
            skipped[key] = "does not fit in memory"
            continue
        if not s.accelerator.price_usd:
            skipped[key] = "no price_usd in the registry"
            continue
        r = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=s_ttft, slo_tpot_s=s_tpot, q=percentile, **s.kw)
        if not bool(r["ok"]):
            bound = float(r["rho"]) >= 1.0  # prompt-bound: sized below one sequence in flight, as ServingLoadModel
            if not (bound and SD._meets(SD.colocated(s, lam / regions, s_ttft, s_tpot, percentile, None)[1],
                                        s_ttft, s_tpot)):
                light = SD._point(s, 1e-9, percentile) if bound else r  # the tail at the lightest load
                reach = (float(light["ttft_q_s"]), float(light["tpot_q_s"]), key)
                closest = reach if closest is None or reach[0] < closest[0] else closest
                skipped[key] = ("the prompt pass alone misses the SLO, on any number of replicas" if bound
                                else "misses the SLO even at one sequence")
                continue
        row = _row(s, r, tr, lam / regions, regions, datacenters, prec, tp, pp, s_ttft, s_tpot, percentile, profile)
        if row is None:
            skipped[key] = "misses the SLO in the trace replay with up to one replica per request"
            continue
        rows.append(row)
    if not rows:
        msg = f"no configuration meets {pct(percentile)} TTFT <= {s_ttft * 1e3:g} ms"
        if tpot_slo is not None:
            msg += f" and TPOT <= {s_tpot * 1e3:g} ms"
        if closest:
            msg += (f"; closest: {closest[2]} reaches TTFT {closest[0] * 1e3:.1f} ms / TPOT {closest[1] * 1e3:.1f} "
                    f"ms at its lightest load: relax the SLO, shorten the prompts or add faster hardware")
        else:  # nothing was sized: say why each candidate was left out (was the bare SLO line)
            msg = "no configuration could be sized: " + _skip_reasons(skipped)
            if invalid == len(skipped):  # every candidate is an invalid layout or precision: bad input
                raise ConfigError(msg + "; change the candidate lists")
        raise InfeasibleError(msg)
    col = OBJECTIVES[objective]
    rows.sort(key=lambda x: (x[col], x["usd_per_year"]))
    bcol = "usd_per_year" if budget_basis == "per_year" else "capex_usd"
    within = [x for x in rows if budget_usd is None or x[bcol] <= budget_usd]
    best = within[0] if within else min(rows, key=lambda x: x[bcol])
    feasible = bool(within)
    binding = "" if feasible else f"budget: the cheapest plan needs ${best[bcol]:,.0f} ({budget_basis})"
    peak = " at the peak" if profile else ""
    assumptions = {"traffic": f"{tr.label}, {lam:g} QPS{peak} split equally over {regions} region(s)",
                   "cost": "own: CapEx from the records (accelerators + servers + network + facility per W, as "
                           "EconomicsModel), IT over 5 years and the facility over 15, + 5 %/yr maintenance + energy",
                   "budget": "compared with the fleet's " + ("yearly cost" if budget_basis == "per_year" else "CapEx"),
                   "percentile": percentile}
    assumptions.update(context)
    unknown = sorted({r["hardware"] for r in rows if not r["embodied_known"]})
    if unknown:  # "with embodied" figures of these chips hold none (the carbon objective favoured them)
        assumptions["embodied carbon"] = (f"unknown for {', '.join(unknown)} (no embodied_kgco2e in the registry): "
                                          f"not included in their t CO2e/year and gCO2e per request")
    if tr.output_cv > 0:
        assumptions["output lengths"] = (f"CV {tr.output_cv:.3g}: the batch holds length-biased sequences, mean "
                                         f"context {SL.batch_context(isl, osl, tr.output_cv):,.0f} tokens")
    if sp is not None:
        assumptions["speculative decoding"] = spec_note(dict(spec_accept=sp[0], spec_k=sp[1], mtp=sp[2]), model)
    if profile:
        assumptions["load profile"] = (f"{len(profile)} equal periods, mean {sum(profile) / len(profile):.3g} of "
                                       f"the peak: each fleet sized for the peak, $ / energy / CO2 over the profile "
                                       f"with idle replicas at idle power (physics/serving_econ.profile_it_power_w)")
    return ServingPlan(objective=objective, qps=lam, ttft_slo_s=s_ttft, tpot_slo_s=s_tpot, percentile=percentile,
                       rows=rows, best=best, feasible=feasible, binding=binding, skipped=skipped,
                       assumptions=assumptions)


def _skip_reasons(skipped: dict) -> str:
    """The reasons candidates were left out, each with up to three of the candidates it hit."""
    by = {}
    for key, why in skipped.items():
        by.setdefault(why, []).append(key)
    return "; ".join(f"{why} ({', '.join(keys[:3])}{f' and {len(keys) - 3} more' if len(keys) > 3 else ''})"
                     for why, keys in by.items())


def _listed(v) -> tuple:
    """A candidate list as given, or one candidate (a name, a number, a record) as a list of one."""
    return tuple(v) if isinstance(v, (list, tuple, set, frozenset, range)) else (v,)


def _candidates(model, hardware, precisions):
    """The model and the candidate lists, every name checked: a misspelt one fails here with suggestions (it was
    every layout skipped, then "no configuration meets the SLO"), and one name is a list of one (hardware="H100"
    was searched as "H", "1", "0", "0")."""
    hardware, precisions = _listed(hardware), _listed(precisions)
    for h in hardware:
        resolve_hardware(h)
    for p in precisions:
        serving_precision(p)
    return resolve_model(model), hardware, precisions


def _row(s, r, tr, lam_region, regions, datacenters, prec, tp, pp, s_ttft, s_tpot, q, profile):
    """One configuration's fleet over all regions: replicas, GPUs, SLO figures, $ and CO2 per year (over the load
    profile, sized for its peak); None where a trace's replay misses the SLO with any fleet. The same sizing and
    power as ServingLoadModel."""
    acc, isl, osl = s.accelerator, tr.input_len, tr.output_len
    n, at, _, _ = SD.colocated(s, lam_region, s_ttft, s_tpot, q, None)
    q_rep = float(r["qps"]) if bool(r["ok"]) else lam_region / n  # prompt-bound: the rate each replica serves
    if tr.arrivals is not None:
        n, at, _ = TT.size_for_trace(s, tr, s_ttft, s_tpot, q, start=n)
        if not at["meets"]:
            return None
        q_rep = lam_region / n
    gpus_region = n * s.gpus
    util = 2.0 * s.dims.mm_params * lam_region * (isl + osl) / (gpus_region * s.kw["peak"]) \
        * SS.flops_factor(s.dims, isl=isl, osl=osl, **spec_keys(s.kw))
    idle = acc.idle_w if acc.idle_w is not None else PW.default_idle_w(acc.tdp_w)
    m = profile or (1.0,)
    it = SE.profile_it_power_w(m, replicas=n, gpus_per_replica=s.gpus, peak_util=util, tdp_w=acc.tdp_w, idle_w=idle,
                               host_w_per_gpu=PW.HOST_W_PER_ACCELERATOR)
    load = sum(m) / len(m)
    lam_mean = lam_region * load
    it_capex, fac_capex, _ = serving_capex(acc, gpus_region)  # one fleet per region
    per_region = {}
    for dc in datacenters:
        pr = SE.per_request(qps=lam_mean, gpus=gpus_region, it_power_w=it, pue=dc.pue,
                            grid_gco2_per_kwh=dc.grid.gco2_per_kwh,
                            residual_gco2_per_kwh=dc.market_residual_gco2_per_kwh,
                            contractual_fraction=dc.contractual_fraction, cfe_fraction=dc.cfe_fraction,
                            embodied_kg_per_gpu=acc.embodied_kgco2e or 0.0, usd_per_kwh=dc.electricity_usd_per_kwh,
                            it_capex_usd=it_capex, facility_capex_usd=fac_capex, wue_l_per_kwh=dc.wue_l_per_kwh,
                            grid_water_l_per_kwh=dc.grid.water_l_per_kwh or 0.0)
        per_region[dc.key or dc.name] = {
            "usd_per_year": pr["usd"] * lam_mean * SECONDS_PER_YEAR,
            "carbon_t_per_year": (pr["carbon_location_kg"] + pr["carbon_embodied_kg"]) * lam_mean
            * SECONDS_PER_YEAR / 1e3,
            # location-based + embodied, as the plan's own g_per_request (the region's read location only)
            "g_per_request": (pr["carbon_location_kg"] + pr["carbon_embodied_kg"]) * 1e3,
            "g_market_per_request": pr["carbon_market_kg"] * 1e3,
            "g_embodied_per_request": pr["carbon_embodied_kg"] * 1e3, "wh_per_request": pr["energy_j"] / 3600.0,
            "ml_water_per_request": pr["water_l"] * 1e3}
    tot = {k: sum(v[k] for v in per_region.values()) for k in next(iter(per_region.values()))}
    # $ per M tokens as ServingLoadModel splits them: a prompt token at the prefill's relative GPU time
    usd_in, usd_out = SE.usd_per_million(tot["usd_per_year"] / (lam_mean * regions * SECONDS_PER_YEAR), isl, osl,
                                         SE.input_weight(at["prefill_share"], isl, osl))
    return {"hardware": acc.key or acc.name, "precision": prec, "tp": tp, "pp": pp, "replicas": n * regions,
            "gpus": gpus_region * regions, "qps_per_replica": q_rep, "load_factor": load,
            "ttft_p99_ms": float(at["ttft_q_s"]) * 1e3, "tpot_p99_ms": float(at["tpot_q_s"]) * 1e3,
            "tokens_per_s_per_gpu": lam_region * osl / gpus_region,
            "capex_usd": (it_capex + fac_capex) * regions,
            "usd_per_year": tot["usd_per_year"], "usd_per_m_input": usd_in, "usd_per_m_output": usd_out,
            "carbon_t_per_year": tot["carbon_t_per_year"], "wh_per_request": tot["wh_per_request"] / regions,
            "g_per_request": tot["g_per_request"] / regions,
            "g_market_per_request": tot["g_market_per_request"] / regions,
            "ml_water_per_request": tot["ml_water_per_request"] / regions, "regions": per_region,
            "embodied_known": acc.embodied_kgco2e is not None}
