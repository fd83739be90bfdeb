"""The report's words: a one-line verdict when the sweep found a better plan, everyday equivalents, and a
citable paragraph (Markdown or LaTeX). Numbers come from the outcome; no formula of its own."""
from __future__ import annotations

from ..cli._render import days, days_text, params_text, plan_label, sig3


def tonnes(t: float) -> str:
    """Three significant digits, thousands separated: 1,900 / 11.4 / 0.82 (never 0.82 -> '1')."""
    if t == 0:
        return "0"
    a = abs(t)
    if a >= 100:
        return f"{t:,.0f}"
    return f"{t:.3g}" if a >= 1 else f"{t:.2g}"


def approx(v: float) -> str:
    """A count as people say it: 7.8 million, 2,110, 408."""
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2g} million" if abs(v) < 1e7 else f"{v / 1e6:,.0f} million"
    return f"{float(f'{v:.3g}'):,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def count_tokens(n: float) -> str:
    return f"{n / 1e12:.3g}T" if n >= 1e12 else f"{n / 1e9:.3g}B"


def money(v: float) -> str:
    return f"${v / 1e6:,.2f}M" if abs(v) >= 1e6 else f"${v:,.0f}"


def embodied_known(s) -> bool:
    """Whether the fleet's embodied carbon is known (an unknown accelerator figure is left out of the sums)."""
    return s.fleet.node.accelerator.embodied_kgco2e is not None


# scenario constraint -> explorer row column
_LIMITS = {"deadline_days": "time_to_train_days", "budget_usd": "cost_usd", "max_carbon_t": "carbon_t",
           "max_memory_gb": "memory_gb", "max_gpus": "accelerators"}


def better_plan(sc, current: tuple, front: list[dict], x: str, y: str):
    """The front's plan that beats the scenario's on both axes (cheapest such), within its constraints; or None."""
    cx, cy = current
    if cx is None or cy is None:
        return None

    def ok(r):
        return all(r.get(col) is None or r[col] <= sc.constraints[k] for k, col in _LIMITS.items()
                   if k in sc.constraints)
    better = [r for r in front if ok(r) and r[x] <= cx and r[y] <= cy and (r[x] < cx * 0.999 or r[y] < cy * 0.999)]
    return min(better, key=lambda r: (r[y], r[x])) if better else None


def verdict(sc, data: dict) -> str | None:
    """'587.6 days and $7.35M instead of 677.3 days and $8.46M: TP4 PP1 DP64 ...' when the sweep found better."""
    pf = data.get("pareto") or {}
    if not pf.get("front"):
        return None
    x, y = pf["x"], pf["y"]
    r = better_plan(sc, pf.get("current") or (None, None), pf["front"], x, y)
    if r is None:
        return None
    cx, cy = pf["current"]
    fy = money if y.endswith("_usd") else (lambda v: f"{v:,.0f} GPU-hours" if y == "gpu_hours" else f"{v:,.4g}")
    where = f" in {r['datacenter']}" if r.get("datacenter") and sc.datacenter is not None \
        and r["datacenter"] != sc.datacenter.name else ""
    return (f"A better plan exists: {days_text(r[x])} days and {fy(r[y])} instead of {days_text(cx)} days and "
            f"{fy(cy)}: "
            f"{plan_label(r)} on {r['nodes']:,} nodes{where} (`mlsysim optimize --emit best.yaml` writes it "
            f"as a scenario).")


def facts(out) -> dict:
    """The numbers the paragraph cites."""
    from .. import __version__
    p, s, e = out.performance, out.sustainability, out.economics
    L, f = p.layout, p.fleet
    d = dict(model=p.model.name, params=params_text(p.model.params), tokens=p.tokens, n=f.total_accelerators,
             accelerator=f.accelerator.name, fleet=f.name, layout=f"TP{L['tp_size']} x PP{L['pp_size']} x "
             f"DP{L['dp_size']}", days=p.time_to_train_s / 86400, duration=days(p.time_to_train_s), mfu=p.mfu, feasible=bool(p.feasible),
             version=__version__)
    if s is not None:
        g = s.datacenter.grid
        d.update(energy_mwh=s.facility_energy_j / 3.6e9, pue=s.pue, carbon_t=s.location_kg / 1e3,
                 grid=g.name, gco2=g.gco2_per_kwh, basis=g.basis or "basis not stated", grid_year=g.year,
                 site=s.datacenter.name, embodied_t=sum(s.embodied_kg.values()) / 1e3 if embodied_known(s)
                 else None)
    if e is not None:
        d["cost_usd"] = e.total_usd
    return d


def paragraph(out, style: str = "markdown") -> str:
    """A paragraph to cite the estimate in a paper or a report: 'markdown' or 'latex'."""
    from ..equivalents import equivalents
    d = facts(out)
    if style not in ("markdown", "latex"):
        from ..errors import unknown
        raise unknown("paragraph style", style, ("markdown", "latex"))
    co2, times = "\x00CO2\x00", "\x00X\x00"  # markers, written after escaping
    text = (f"We estimate that training {d['model']} ({d['params']} parameters) on {count_tokens(d['tokens'])} "
            f"tokens with {d['n']:,} {d['accelerator']} accelerators ({d['layout'].replace(' x ', f' {times} ')}) "
            f"takes {d['duration']} at {d['mfu']:.1%} model FLOPs utilisation")
    if not d["feasible"]:
        text += " (but this layout does not fit in device memory, so the plan cannot run as given)"
    if "energy_mwh" in d:
        yr = f", {d['grid_year']}" if d.get("grid_year") else ""
        text += (f", using {sig3(d['energy_mwh'])} MWh of facility energy (PUE {d['pue']:g}) and emitting "
                 f"{tonnes(d['carbon_t'])} t {co2} (location-based: {d['grid']}, {d['gco2']:g} g{co2}/kWh, "
                 f"{d['basis']}{yr})")
        text += (f", plus {tonnes(d['embodied_t'])} t of amortised embodied carbon" if d["embodied_t"] is not None
                 else "; the accelerator's embodied carbon is unknown and not included")
        eq = {q["key"]: q for q in equivalents(d["carbon_t"], d["energy_mwh"])}
        text += (f". That is about as much {co2} as {approx(eq['car_km']['value'])} km driven by an average US car "
                 f"(EPA 2023) or {approx(eq['flights']['value'])} passengers flying New York - San Francisco and back "
                 f"(Strubell et al. 2019), and as much energy as {approx(eq['household_years']['value'])} US homes "
                 f"use in a year (EIA 2022)")
    if "cost_usd" in d:
        text += f"; its share of the fleet's cost of ownership is {money(d['cost_usd'])}"
    text += (f". Estimates from mlsysim {d['version']}, a first-principles analytical model of training time, "
             f"energy, carbon and cost; every constant is sourced in the tool.")
    if style == "latex":
        for a, b in (("\\", r"\textbackslash{}"), ("%", r"\%"), ("&", r"\&"), ("#", r"\#"), ("_", r"\_"),
                     ("$", r"\$")):
            text = text.replace(a, b)
        return text.replace(co2, "CO$_2$e").replace(times, r"$\times$")
    return text.replace(co2, "CO2e").replace(times, "x")
