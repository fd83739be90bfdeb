"""A self-contained HTML report of a scenario: summary cards, tables, plots embedded as base64 PNG, constraints
and every assumption with its source. No external assets, scripts or fonts: it opens anywhere, offline."""
from __future__ import annotations

import datetime as _dt
import html as _html

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:1100px;color:#222;
line-height:1.4;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}.sub{color:#666;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}.card{border:1px solid #ddd;border-radius:8px;
padding:.6rem .9rem;min-width:150px}.card .v{font-size:1.35rem;font-weight:600}.card .k{color:#666;font-size:.8rem}
.status{display:inline-block;padding:.15rem .6rem;border-radius:4px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.constraint_violated{background:#ef6c00}.infeasible{background:#c62828}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}td,th{padding:.25rem .7rem;border-bottom:1px solid
#eee;text-align:left;vertical-align:top}td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#f6f6f6}.grid{display:flex;flex-wrap:wrap;gap:2rem}.fig{margin:1rem 0}.fig img{max-width:100%;
border:1px solid #eee}.note{color:#666;font-size:.85rem}pre{background:#f6f6f6;padding:.8rem;overflow-x:auto;
font-size:.8rem}.bad{color:#c62828;font-weight:600}.good{color:#2e7d32}
.verdict{border-left:4px solid #2e7d32;background:#f1f8e9;padding:.5rem .8rem}blockquote{margin:.6rem 0;
padding:.4rem .9rem;border-left:4px solid #ccc;background:#fafafa}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10pt}h2{break-after:avoid;margin-top:1.2rem}
table,.fig,.cards,.card,blockquote,pre,.verdict{break-inside:avoid}.fig img{max-height:110mm;border:0}
.grid{gap:1rem}pre{white-space:pre-wrap}.status{border:1px solid #000;color:#000;background:none}}
"""

FIGURE_TEXT = {
    "breakdown": "Where each training step's time goes (compute, exposed communication, pipeline bubble, "
                 "stragglers), and memory per device against capacity.",
    "scaling": "Strong scaling: the same layout and global batch on more or fewer nodes. Communication and "
               "stragglers grow with the fleet, so each doubling buys less (the Amdahl trap).",
    "carbon_by_region": "The same run, same hardware and PUE, on each grid region in the registry: geography is "
                        "the biggest lever on carbon.",
    "cost_split": "The run's share of the total cost of ownership (amortised CapEx, energy, maintenance and "
                  "staff), against renting the same GPU-hours.",
    "pareto": "Configurations of a sweep around this scenario (layouts, micro-batch, ZeRO, node counts): the "
              "Pareto front holds the plans no other plan beats on both axes at once.",
}


from ..solvers.distributed import SCALING_EFFICIENCY  # noqa: E402  (one label, one definition)
from ..cli._render import days, params_text, sig3  # noqa: E402  (the CLI's formats: one text per number)
from .summary import embodied_known, paragraph, tonnes, verdict  # noqa: E402


def esc(x) -> str:
    return _html.escape(str(x), quote=True)


def _n(v, digits=4) -> str:
    from ..solvers._common import format_number
    return format_number(v, digits, tiny_digits=4) if v is None or isinstance(v, (bool, int, float)) else esc(v)


def table(rows, head=None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>")
    for r in rows:
        cells = []
        for v in r:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f"<td class='n'>{_n(v)}</td>")
            else:
                cells.append(f"<td>{esc(v) if not isinstance(v, _Raw) else v}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


class _Raw(str):
    """Trusted HTML (built here from escaped parts)."""


def _card(k, v) -> str:
    return f"<div class='card'><div class='v'>{esc(v)}</div><div class='k'>{esc(k)}</div></div>"


def equivalents_html(s) -> str:
    """The run's carbon and energy in everyday terms, each with its source."""
    from ..equivalents import equivalents
    from .summary import approx
    rows = [(approx(q["value"]), q["label"], q["source"])
            for q in equivalents(s.location_kg / 1e3, s.facility_energy_j / 3.6e9)]
    return ("<h3>In everyday terms</h3>" + table(rows, ("about", "equivalent (carbon: location-based; "
                                                          "homes: facility energy)", "source")))


def render_report(sc, out, figures: dict, data: dict | None = None, fmt: str = "png") -> str:
    """The whole report as one HTML string (figures: name -> matplotlib Figure, embedded as base64)."""
    from .. import __version__
    from . import plots as P
    data = data or {}
    p, s, e = out.performance, out.sustainability, out.economics
    L = p.layout
    status_text = {"ok": "OK", "constraint_violated": "constraint violated",
                   "infeasible": "infeasible: does not fit in memory"}[out.status]
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(sc.name)} · mlsysim"
             f"</title><meta name='generator' content='mlsysim {esc(__version__)}'><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>{esc(sc.name)}</h1><p class='sub'>mlsysim {esc(__version__)} · "
                 f"{esc(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} · scenario <code>{esc(sc.path)}</code> · "
                 f"<span class='status {esc(out.status)}'>{esc(status_text)}</span></p>")
    if sc.description:
        parts.append(f"<p>{esc(sc.description.strip())}</p>")
    parts.append(f"<p>{esc(p.model.name)} ({params_text(p.model.params)} parameters) on {esc(p.fleet.name)}: "
                 f"{p.fleet.total_accelerators:,} × {esc(p.fleet.accelerator.name)}, layout TP {L['tp_size']} · "
                 f"PP {L['pp_size']} · DP {L['dp_size']} · CP {L['cp_size']} · EP {L['ep_size']}, micro-batch "
                 f"{L['microbatch_size']}, global batch {L['global_batch_size']} × {L['seq_len']} tokens, "
                 f"{esc(L['precision'])}, recompute {esc(L['recompute'])}, ZeRO-{L['zero_stage']}.</p>")

    cards = [("time to train", days(p.time_to_train_s)), ("MFU", f"{p.mfu:.1%}"),
             ("step time", f"{p.step_s:.3g} s"),
             ("memory per device", f"{sum(p.memory_bytes.values()) / 1e9:.1f} / "
                                   f"{p.memory_capacity_bytes / 1e9:.0f} GB"),
             ("GPU-hours", f"{p.gpu_hours:,.0f}")]
    if s is not None:
        cards += [("energy", f"{sig3(s.facility_energy_j / 3.6e9)} MWh"),
                  ("carbon (location-based)", f"{tonnes(s.carbon_footprint)} t CO2e")]
    if e is not None:
        cards.append(("cost (TCO share)", f"${e.total_usd:,.0f}"))
    parts.append("<div class='cards'>" + "".join(_card(k, v) for k, v in cards) + "</div>")
    line = verdict(sc, data)
    if line:
        parts.append(f"<p class='verdict'>{esc(line)}</p>")

    if out.checks:
        rows = [(c.name, c.limit, c.value, _Raw("<span class='good'>✓ ok</span>" if c.ok else
                                                "<span class='bad'>✗ violated</span>")) for c in out.checks]
        parts.append("<h2>Constraints</h2>" + table(rows, ("constraint", "limit", "predicted", "")))

    def fig(name):
        if name not in figures:
            return ""
        b64 = P.encode(figures[name], fmt)
        mime = "image/png" if fmt == "png" else "image/svg+xml"
        return (f"<div class='fig'><img alt='{esc(name)}' src='data:{mime};base64,{b64}'>"
                f"<p class='note'>{esc(FIGURE_TEXT.get(name, ''))}</p></div>")

    from .serving_html import serving_section
    parts.append(serving_section(sc))
    parts.append("<h2>Performance</h2>")
    perf_rows = [("time to train (days)", p.time_to_train_s / 86400), ("step time (s)", p.step_s),
                 ("steps", p.steps), ("tokens", p.tokens), ("MFU", p.mfu), ("HFU", p.hfu),
                 ("tokens/s", p.tokens_per_s), ("TFLOP/s per GPU", p.flops_per_device / 1e12),
                 (SCALING_EFFICIENCY, p.scaling_efficiency), ("GPU-hours", p.gpu_hours)]
    bd = [(k, v, f"{v / p.step_s:.1%}") for k, v in p.breakdown_s.items()]
    mem = [(k, v / 1e9) for k, v in p.memory_bytes.items()] + \
        [("total", sum(p.memory_bytes.values()) / 1e9), ("capacity", p.memory_capacity_bytes / 1e9)]
    parts.append("<div class='grid'>" + table(perf_rows, ("metric", "value")) +
                 table(bd, ("step part", "s/step", "share")) + table(mem, ("memory per device", "GB")) + "</div>")
    parts.append(fig("breakdown"))

    parts.append("<h2>Scaling</h2>" + fig("scaling"))
    if data.get("scaling"):
        parts.append(table([(r["nodes"], r["gpus"], r["dp"], r["global_batch_size"], r["time_to_train_days"],
                             r["mfu"], r["scaling_efficiency"], "yes" if r["feasible"] else "no (memory)")
                            for r in data["scaling"]],
                           ("nodes", "GPUs", "DP", "global batch", "days", "MFU", "scaling efficiency", "fits")))

    if s is not None:
        parts.append(f"<h2>Energy and carbon: {esc(sc.datacenter.name)}</h2>")
        rows = [("average IT power (kW)", sum(s.power_w.values()) / 1e3)]
        rows += [(f"  {k} (kW)", v / 1e3) for k, v in s.power_w.items()]
        rows += [("power per accelerator (W)", s.accelerator_w), ("PUE", s.pue),
                 ("IT energy (MWh)", s.it_energy_j / 3.6e9), ("facility energy (MWh)", s.facility_energy_j / 3.6e9),
                 ("grid intensity (gCO2e/kWh)", sc.datacenter.grid.gco2_per_kwh),
                 ("carbon, location-based (t)", s.location_kg / 1e3), ("carbon, market-based (t)", s.market_kg / 1e3),
                 ("embodied carbon, amortised (t)", sum(s.embodied_kg.values()) / 1e3 if embodied_known(s) else
                  f"unknown: {p.fleet.accelerator.name} has no embodied figure in the registry; left out of "
                  f"every total"),
                 ("water on-site (m³)", s.water_onsite_l / 1e3), ("water off-site (m³)", s.water_offsite_l / 1e3)]
        parts.append(table(rows, ("metric", "value")))
        parts.append(equivalents_html(s))
        parts.append(fig("carbon_by_region"))
        if data.get("regions"):
            parts.append(table([(r["grid"], r["grid_key"], r["gco2_per_kwh"], r["carbon_t"],
                                 r.get("basis_class", ""), r["basis"] or "", str(r["year"] or "–"))
                                for r in data["regions"]],
                               ("grid", "key", "gCO2e/kWh", "t CO2e", "basis family", "basis", "year")))
    if e is not None:
        parts.append("<h2>Cost</h2>")
        rows = [("CapEx, amortised over the run (USD)", e.amortized_capex_usd), ("energy (USD)", e.energy_usd),
                ("maintenance and staff (USD)", e.maintenance_usd), ("run total (USD)", e.total_usd)]
        rows += [(f"fleet CapEx: {k} (USD)", v) for k, v in e.capex_parts_usd.items()]
        rows += [("accelerators' share of CapEx", e.accelerator_share_of_capex),
                 ("cost per GPU-hour (USD)", e.cost_per_gpu_hour.magnitude)]
        if e.cost_per_million_tokens is not None:
            rows.append(("cost per million tokens (USD)", e.cost_per_million_tokens.magnitude))
        if e.cloud_cost is not None:
            from ..solvers.economics import break_even_text
            rows += [("renting the same GPU-hours (USD)", e.cloud_cost.magnitude),
                     ("break-even utilisation (own vs rent)", break_even_text(e.break_even))]
        parts.append(table(rows, ("item", "value")))
        parts.append(fig("cost_split"))
    if "pareto" in figures:
        pf = data.get("pareto") or {}
        parts.append("<h2>Design space</h2>" + fig("pareto"))
        front = pf.get("front") or []
        if front:
            x, y = pf["x"], pf["y"]
            parts.append(table([(r.get("nodes"), r.get("tp"), r.get("pp"), r.get("dp"), r.get("microbatch"),
                                 r.get("zero"), r[x], r[y], r.get("mfu")) for r in front[:25]],
                               ("nodes", "TP", "PP", "DP", "micro-batch", "ZeRO", x, y, "MFU")))

    parts.append("<h2>Cite this estimate</h2><blockquote>" + esc(paragraph(out, "markdown")) + "</blockquote>"
                 "<p class='note'>LaTeX (also <code>mlsysim report SCENARIO --latex</code>):</p><pre>"
                 + esc(paragraph(out, "latex")) + "</pre>")
    parts.append("<h2>Assumptions</h2><p class='note'>Every number the prediction rests on, with its source."
                 "</p>")
    groups = [("performance", p.assumptions)]
    if s is not None:
        groups.append(("energy and carbon", s.assumptions))
    if e is not None:
        groups.append(("cost", e.assumptions))
    parts.append(table([(g, k, v if isinstance(v, (int, float)) else str(v)) for g, d in groups
                        for k, v in d.items()], ("solver", "assumption", "value")))
    if out.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in out.notes) + "</ul>")
    parts.append("<h2>Scenario</h2><p class='note'>Save as a .yaml file to rerun it: <code>mlsysim train "
                 "FILE.yaml</code>.</p><pre>" + esc(sc.to_yaml()) + "</pre>")
    sources = [("workload", p.model.source), ("accelerator", p.fleet.accelerator.source),
               ("node", p.fleet.node.source), ("fabric", p.fleet.fabric.source)]
    if sc.datacenter is not None:
        sources += [("datacenter", sc.datacenter.source), ("grid", sc.datacenter.grid.source)]
    parts.append("<h2>Sources</h2>" + table([(k, v) for k, v in sources if v], ("record", "source")))
    parts.append("</body></html>")
    return "".join(parts)
