"""One training request -> the page's answer, through the scenario loader and the same solvers as the CLI.

No fastapi here: the API and the tests call `train(request_dict)` directly.
"""
from __future__ import annotations

from ..errors import ConfigError

LAYOUT_KEYS = ("tp_size", "pp_size", "dp_size", "zero_stage", "microbatch_size", "precision", "recompute", "stack")
MAX_SAMPLES = 500
MAX_HF_KEYS = 400


def scenario_dict(req: dict) -> dict:
    """The request as a scenario mapping (what the YAML download holds)."""
    if not isinstance(req, dict):
        raise ConfigError("the request must be a JSON object")
    w: dict = {}
    if req.get("hf_config"):
        cfg = req["hf_config"]
        if not isinstance(cfg, dict) or len(cfg) > MAX_HF_KEYS:
            raise ConfigError("hf_config must be a config.json object (a mapping of at most 400 keys)")
        from ..models.workload import TransformerWorkload
        from ..scenario import WORKLOAD
        m = TransformerWorkload.from_hf_config(cfg, name=str(cfg.get("_name_or_path") or "pasted config.json")[:80])
        w = {k: getattr(m, k) for k in WORKLOAD if hasattr(m, k) and getattr(m, k) not in (None, 0.0) and k != "model"}
    else:
        w["model"] = req.get("model") or "Llama3_70B"
    if req.get("seq_len") not in (None, ""):
        w["seq_len"] = req["seq_len"]
    s: dict = {}
    for k in ("cluster", "node", "nodes", "fabric"):
        if req.get(k) not in (None, ""):
            s[k] = req[k]
    if not s:
        s["cluster"] = "Research_256"
    raw = {"name": "web calculator run", "workload": w, "system": s}
    layout = {k: req[k] for k in LAYOUT_KEYS if req.get(k) not in (None, "")}
    if layout:
        raw["layout"] = layout
    if req.get("tokens") not in (None, ""):
        raw["tokens"] = req["tokens"]
    dc = req.get("datacenter") or "GCP_Iowa"
    raw["datacenter"] = {"name": dc, "grid": req["grid"]} if req.get("grid") else dc
    return raw


def _best_layout(raw: dict) -> dict:
    """The explorer's fastest layout on the requested fleet (bounded: one fleet size, a few thousand plans at most),
    expert parallelism included for a mixture of experts (its best was searched at EP 1 only: 121 days for
    DeepSeek-V3 on its 2,048 H800s, where EP 4 takes 96)."""
    from .. import explore
    from ..scenario import from_dict
    keep = ("precision", "recompute", "stack")
    probe = dict(raw, layout={k: v for k, v in (raw.get("layout") or {}).items() if k in keep})
    sc = from_dict(probe, path="request")
    n = sc.require_fleet().count
    probe["search"] = {"nodes": [n]}
    experts = getattr(sc.model, "n_experts", 1)
    if experts > 1:  # powers of two that divide the experts, up to the fleet
        gpus = sc.require_fleet().total_accelerators
        probe["search"]["ep_sizes"] = [e for e in (2 ** i for i in range(12)) if e <= min(experts, gpus)
                                       and experts % e == 0]
    sc = from_dict(probe, path="request")
    kw = sc.sweep_kwargs()
    kw["progress"] = False
    best = explore.optimize(sc.model, "time_to_train", {}, runners_up=0, **kw).best
    return dict(probe["layout"], tp_size=int(best["tp"]), pp_size=int(best["pp"]), dp_size=int(best["dp"]),
                ep_size=int(best["ep"]), microbatch_size=int(best["microbatch"]), zero_stage=int(best["zero"]))


def train(req: dict) -> dict:
    """Evaluate a training request: headline numbers with formulas, charts' data, range, regions, citation."""
    from .. import __version__
    from ..cli import _json as J
    from ..cli._render import days_text
    from ..scenario import from_dict
    from ..solvers._common import format_number
    raw = scenario_dict(req)

    def N(v):
        return format_number(v, 3)
    if req.get("best_layout"):
        raw["layout"] = _best_layout(raw)
    sc = from_dict(raw, path="request")
    out = sc.evaluate()
    res = J.outcome(out, 0)
    p, s, e = out.performance, out.sustainability, out.economics
    n = p.fleet.total_accelerators
    peak = p.fleet.node.accelerator.peak_flops.get(p.layout.get("precision", "bf16"), 0.0) or float("nan")
    head = {
        "time_to_train_days": {"value": p.time_to_train_s / 86400, "formula":
                               f"steps x step time = {p.steps:,.0f} x {p.step_s:.3g} s = "
                               f"{days_text(p.time_to_train_s / 86400)} days"},
        "mfu": {"value": p.mfu, "formula": f"model FLOP/s per device / peak = {p.flops_per_device / 1e12:,.0f} / "
                f"{peak / 1e12:,.0f} TFLOP/s = {p.mfu:.1%}"},
    }
    if s is not None:
        mwh = s.facility_energy_j / 3.6e9
        # 3 significant digits: a 2-hour run printed "248 kW x 2 h x 1.1 = 1 MWh" (it is 0.572 MWh)
        head["energy_mwh"] = {"value": mwh, "formula": f"IT power x time x PUE = {N(sum(s.power_w.values()) / 1e3)} kW"
                              f" x {N(s.duration_s / 3600)} h x {s.pue:g} = {N(mwh)} MWh"}
        g = s.datacenter.grid.gco2_per_kwh
        head["carbon_location_t"] = {"value": s.location_kg / 1e3, "formula":
                                     f"energy x grid = {N(mwh)} MWh x {g:g} gCO2e/kWh = {N(s.location_kg / 1e3)} t"}
        d = s.datacenter
        head["carbon_market_t"] = {"value": s.market_kg / 1e3, "formula":
                                   f"GHG Protocol market-based: energy x (1 - {d.contractual_fraction:g} covered by "
                                   f"RECs/PPAs) x {d.market_residual_gco2_per_kwh:g} gCO2e/kWh "
                                   f"{'residual mix' if d.grid.residual_gco2_per_kwh is not None else 'grid average'}"
                                   f" = {N(s.market_kg / 1e3)} t"}
    if e is not None:
        head["cost_usd"] = {"value": e.total_usd, "formula":
                            f"amortised CapEx + energy + maintenance = ${e.amortized_capex_usd:,.0f} + "
                            f"${e.energy_usd:,.0f} + ${e.maintenance_usd:,.0f} = ${e.total_usd:,.0f}"}
    res["headline"] = head
    res["range"] = _range(out, req)
    res["regions"] = _regions(out)
    from ..equivalents import equivalents
    res["equivalents"] = equivalents(s.location_kg / 1e3, s.facility_energy_j / 3.6e9) if s is not None else []
    res["cite"] = _cite(__version__, sc, out, n)
    import yaml
    res["scenario_yaml"] = "# reload with: mlsysim train this-file.yaml\n" + yaml.safe_dump(raw, sort_keys=False)
    return J.clean(res)


def _range(out, req) -> dict:
    from ..uncertainty import METRICS, UncertaintyModel
    n = req.get("samples", 200)
    if isinstance(n, bool) or not isinstance(n, int) or not 10 <= n <= MAX_SAMPLES:
        raise ConfigError(f"samples must be an integer from 10 to {MAX_SAMPLES}, got {n!r}")
    try:
        mc = UncertaintyModel().solve(performance=out.performance, datacenter=out.scenario.datacenter, samples=n,
                                      seed=0)
    except ConfigError as exc:  # e.g. a fleet so large that failures outpace checkpoints: the run's figures stand
        return {"level": 0.9, "samples": n, "error": str(exc)}
    # cost only where the accelerator has a price (a TPU has none: its range asked for a metric never sampled)
    keys = [k for k in ("time_to_train", "mfu", "energy", "carbon", "cost") if k in mc.stats]
    labels = {k: METRICS[k][1] + (f" ({METRICS[k][0]})" if METRICS[k][0] else "") for k in keys}
    return {"level": mc.level, "samples": n, "labels": labels, **{k: list(mc.interval(k)) for k in keys}}


def _regions(out) -> dict:
    """The same run (same fleet, layout, duration) in every registry datacenter: lowest carbon and cheapest."""
    from ..infrastructure.registry import Infrastructure
    from ..solvers import EconomicsModel, SustainabilityModel
    rows = []
    for name in Infrastructure.Datacenters.names():
        dc = Infrastructure.Datacenters[name]
        s = SustainabilityModel().solve(performance=out.performance, datacenter=dc)
        try:
            cost = EconomicsModel().solve(sustainability=s).total_usd
        except ConfigError:
            cost = None
        rows.append({"key": name, "name": dc.name, "carbon_t": s.location_kg / 1e3, "cost_usd": cost})
    low = min(rows, key=lambda r: r["carbon_t"])
    cheap = min((r for r in rows if r["cost_usd"] is not None), key=lambda r: r["cost_usd"], default=None)
    this = out.sustainability.location_kg / 1e3 if out.sustainability is not None else None
    return {"lowest_carbon": low, "cheapest": cheap, "rows": rows,
            "carbon_ratio": this / low["carbon_t"] if this and low["carbon_t"] > 0 else None}


def _cite(version, sc, out, n) -> dict:
    p = out.performance
    L = p.layout
    ep = f" EP{L['ep_size']}" if L.get("ep_size", 1) != 1 else ""
    what = (f"{sc.model.name} on {n} x {p.fleet.node.accelerator.name}, TP{L['tp_size']} PP{L['pp_size']} "
            f"DP{L['dp_size']}{ep}, {p.tokens:.3g} tokens"
            + (f", {sc.datacenter.name}" if sc.datacenter is not None else "")
            + ("; INFEASIBLE: the layout does not fit in device memory" if not p.feasible else ""))
    assume = "first-principles analytical model; grid average carbon intensity; assumptions listed in the JSON"
    return {"markdown": f"Estimated with mlsysim {version} ({what}; {assume}).",
            "latex": f"Estimated with \\texttt{{mlsysim}} {version} ({what}; {assume}).",
            "bibtex": "@software{mlsysim,\n  title = {mlsysim: first-principles analytical simulator of ML "
                      f"systems}},\n  version = {{{version}}},\n  year = {{2026}},\n  note = {{{what}; {assume}}}\n}}"}
