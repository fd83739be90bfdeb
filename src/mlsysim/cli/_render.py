"""Terminal views of results with rich: tables, bars for the step-time and memory split, a status line."""
from __future__ import annotations

from ._common import console, gb


def E(x) -> str:
    """Escape text from data (names, notes, sources) so rich does not read [brackets] as markup."""
    from rich.markup import escape
    return escape(str(x))

BAR = 28


def _table(title, *cols, **kw):
    from rich import box
    from rich.table import Table
    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False,
              collapse_padding=True, **kw)
    for c in cols:
        if isinstance(c, tuple):
            t.add_column(c[0], justify=c[1], no_wrap=True)
        else:
            t.add_column(c, no_wrap=True)
    return t


def _bar(frac: float, color: str = "cyan") -> str:
    frac = max(0.0, min(1.0, frac))
    n = frac * BAR
    full = int(n)
    part = " ▏▎▍▌▋▊▉"[int((n - full) * 8)] if full < BAR else ""
    return f"[{color}]{'█' * full}{part.strip()}[/]"


def num(v, digits=4) -> str:
    from ..solvers._common import format_number
    return format_number(v, digits) if v is None or isinstance(v, (bool, int, float)) else E(v)


def usd(v) -> str:
    return "–" if v is None else f"${v:,.0f}"


def days(s: float) -> str:
    """A duration in seconds as people read it: days from 2 days, hours from 1 h, minutes from 1 min, else s
    (a 38-minute run read '2.26e+03 s')."""
    d = s / 86400
    if d >= 2:
        return f"{d:,.1f} days"
    h = s / 3600
    if h >= 1:
        return f"{h:.2f} h"
    return f"{s / 60:.3g} min" if s >= 60 else f"{s:.3g} s"


def days_text(d: float) -> str:
    """Days to one decimal, or three significant figures under a day (a short run read '0.0 days')."""
    return f"{d:,.1f}" if d >= 1 else f"{d:.3g}"


def sig3(v: float) -> str:
    """Three significant digits, thousands separated (a short run's 0.136 MWh read '0 MWh')."""
    from ..solvers._common import format_number
    return format_number(float(v), 3)


def params_text(n: float) -> str:
    """A parameter count: '70.6B', or '70M' under a billion (Pythia 70M read '0.1B')."""
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.3g}M"


STATUS_STYLE = {"ok": "[bold green]OK[/]", "constraint_violated": "[bold yellow]CONSTRAINT VIOLATED[/]",
                "infeasible": "[bold red]INFEASIBLE (out of memory)[/]"}


def render_outcome(out, *, verbose=False, plots=None):
    from rich.columns import Columns

    from ..solvers.distributed import SCALING_EFFICIENCY
    c = console()
    sc, p = out.scenario, out.performance
    L = p.layout
    c.print(f"[bold]{E(sc.name)}[/]  {STATUS_STYLE[out.status]}")
    if sc.description:
        c.print(f"[dim]{E(sc.description.strip())}[/]")
    c.print(f"{E(p.model.name)} ({params_text(p.model.params)} params) on {E(p.fleet.name)}: "
            f"{p.fleet.total_accelerators:,} x {E(p.fleet.accelerator.name)}; layout tp={L['tp_size']} pp={L['pp_size']} dp={L['dp_size']} "
            f"cp={L['cp_size']} ep={L['ep_size']} mb={L['microbatch_size']} gbs={L['global_batch_size']} "
            f"zero={L['zero_stage']} {L['precision']} recompute={L['recompute']}")
    c.print()

    t = _table("Performance", "metric", ("value", "right"))
    for k, v in [("time to train", days(p.time_to_train_s)), ("step time", f"{p.step_s:.4g} s"),
                 ("steps", num(p.steps)), ("tokens", num(p.tokens)),
                 ("MFU / HFU", f"{p.mfu:.1%} / {p.hfu:.1%}"), ("tokens/s", num(p.tokens_per_s)),
                 ("TFLOP/s per GPU", f"{p.flops_per_device / 1e12:.0f}"),
                 (SCALING_EFFICIENCY, f"{p.scaling_efficiency:.1%}"), ("GPU-hours", num(p.gpu_hours))]:
        t.add_row(k, v)
    side = [t]

    total = p.step_s or 1.0
    b = _table("Step time breakdown", "part", ("s/step", "right"), ("share", "right"), "")
    for k, v in p.breakdown_s.items():
        if v > 0:
            b.add_row(k, f"{v:.4g}", f"{v / total:.0%}", _bar(v / total, "magenta" if "comm" in k or k == "bubble"
                                                                else "cyan"))
    side.append(b)
    c.print(Columns(side, padding=(0, 4)))

    cap = p.memory_capacity_bytes
    m = _table(f"Memory per device (capacity {gb(cap)} GB)", "part", ("GB", "right"), "")
    for k, v in p.memory_bytes.items():
        m.add_row(k, f"{v / 1e9:.1f}", _bar(v / cap, "blue"))
    used = sum(p.memory_bytes.values())
    m.add_row("[bold]total[/]", f"[bold]{used / 1e9:.1f}[/]", _bar(used / cap, "green" if p.feasible else "red"))
    panels = [m]

    s = out.sustainability
    if s is not None:
        from ..report.summary import embodied_known, tonnes
        e = _table(f"Energy & carbon ({E(sc.datacenter.name)})", "metric", ("value", "right"))
        for k, v in [("IT power", f"{sum(s.power_w.values()) / 1e3:,.0f} kW"), ("PUE", f"{s.pue:g}"),
                     ("facility energy", f"{sig3(s.facility_energy_j / 3.6e9)} MWh"),
                     ("grid", f"{sc.datacenter.grid.gco2_per_kwh:g} gCO2e/kWh"),
                     ("carbon (location)", f"{tonnes(s.location_kg / 1e3)} t"),
                     ("carbon (market)", f"{tonnes(s.market_kg / 1e3)} t"),
                     ("embodied (amortised)", f"{tonnes(sum(s.embodied_kg.values()) / 1e3)} t"
                      if embodied_known(s) else "unknown (not in totals)"),
                     ("water", f"{sig3((s.water_onsite_l + s.water_offsite_l) / 1e3)} m³")]:
            e.add_row(k, v)
        panels.append(e)
    ec = out.economics
    if ec is not None:
        x = _table("Cost", "item", ("USD", "right"))
        x.add_row("CapEx amortised", usd(ec.amortized_capex_usd))
        x.add_row("energy", usd(ec.energy_usd))
        x.add_row("maintenance & staff", usd(ec.maintenance_usd))
        x.add_row("[bold]run total[/]", f"[bold]{usd(ec.total_usd)}[/]")
        x.add_row("fleet CapEx", usd(sum(ec.capex_parts_usd.values())))
        x.add_row("per GPU-hour", f"${ec.cost_per_gpu_hour_usd:.2f}")
        if ec.cloud_cost_usd is not None:
            x.add_row("renting instead", usd(ec.cloud_cost_usd))
        panels.append(x)
    c.print(Columns(panels, padding=(0, 4)))

    if out.checks:
        k = _table("Constraints", "constraint", ("limit", "right"), ("predicted", "right"), "")
        for ch in out.checks:
            k.add_row(E(ch.name), num(ch.limit), num(ch.value), "[green]✓[/]" if ch.ok else "[red]✗ violated[/]")
        c.print(k)
    for n in out.notes:
        c.print(f"[dim]note: {E(n)}[/]")
    if plots:
        c.print("plots: " + E(", ".join(plots.values())))
    if verbose:
        a = _table("Assumptions", "solver", "assumption", "value")
        groups = [("performance", p.assumptions)]
        if s is not None:
            groups.append(("sustainability", s.assumptions))
        if ec is not None:
            groups.append(("economics", ec.assumptions))
        for g, d in groups:
            for key, v in d.items():
                a.add_row(g, E(key), num(v) if isinstance(v, (int, float)) else E(v))
        c.print(a)
    elif not verbose:
        c.print("[dim](--verbose lists every assumption; --json for machine-readable output)[/]")


def render_single(r, checks=()):
    c = console()
    t = _table(f"{E(r.model.name)} on {E(r.accelerator.name)}: {r.mode}, batch {r.batch_size} x {r.seq_len}",
               "metric", ("value", "right"))
    lat = r.latency_s
    rows = [("FLOPs", num(r.flops)), ("HBM bytes", num(r.bytes_moved)),
            ("arithmetic intensity", f"{r.arithmetic_intensity:,.1f} FLOP/B"),
            ("ridge point", f"{r.ridge_point:,.1f} FLOP/B"),
            ("bound", f"[bold]{r.bound}[/]"),
            ("latency", f"{lat * 1e3:.4g} ms" if lat < 10 else f"{lat:.4g} s"),
            ("efficiency (of peak)", f"{r.efficiency:.1%}")]
    for k, v in rows:
        t.add_row(k, v)
    cap = r.accelerator.memory_bytes
    m = _table(f"Memory (capacity {gb(cap)} GB)", "part", ("GB", "right"), "")
    f = (lambda v: f"{v / 1e9:.2f}") if cap >= 1e9 else (lambda v: f"{v / 1e9:.3g}")  # a microcontroller's KB
    for k, v in r.memory_bytes.items():
        m.add_row(k, f(v), _bar(v / cap, "blue"))
    used = sum(r.memory_bytes.values())
    m.add_row("[bold]total[/]", f"[bold]{f(used)}[/]", _bar(used / cap, "green" if r.feasible else "red"))
    from rich.columns import Columns
    c.print(Columns([t, m], padding=(0, 4)))
    for ch in checks:
        c.print(("[green]✓[/] " if ch.ok else "[red]✗[/] ") + E(ch.message))


ZOO_COLUMNS = {
    "TransformerWorkload": [("params", "params"), ("active_params", "active"), ("n_layers", "L"),
                            ("hidden", "hidden"), ("n_heads", "heads"), ("n_kv_heads", "kv"),
                            ("seq_len", "seq"), ("tokens", "tokens")],
    "InferenceWorkload": [("gflop", "GFLOP"), ("params", "params"), ("task", "task")],
    "Accelerator": [("bf16_tflops", "bf16 TF/s"), ("fp8_tflops", "fp8 TF/s"),
                    ("memory_gb", "GB"), ("memory_bw_tb_per_s", "TB/s"), ("tdp_w", "W"), ("price_usd", "USD")],
    "Node": [("accelerator", "accelerator"), ("accelerators_per_node", "per node"),
             ("scaleup_gb_per_s", "scale-up GB/s"), ("nic_gbit_per_s", "NIC Gb/s"), ("max_power_kw", "kW")],
    "Fabric": [("port_gbit_per_s", "Gb/s per port"), ("latency_us", "latency µs"), ("efficiency", "efficiency"),
               ("oversubscription", "oversub.")],
    "Fleet": [("node", "node"), ("nodes", "nodes"), ("accelerators", "GPUs"), ("fabric", "fabric")],
    "Grid": [("gco2_per_kwh", "gCO2e/kWh"), ("country", "country"), ("basis", "basis")],
    "Datacenter": [("grid", "grid"), ("gco2_per_kwh", "gCO2e/kWh"), ("pue", "PUE"),
                   ("electricity_usd_per_kwh", "USD/kWh")],
}


_ZOO_TEXT = {"accelerator": 15, "node": 15, "fabric": 17, "grid": 20, "country": 14, "basis": 18, "task": 24}  # keys: never cut


def _zoo_val(key, v):
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 100_000:
        return str(v)
    if key in ("params", "active_params", "tokens") and isinstance(v, (int, float)):
        return f"{v / 1e12:.3g}T" if v >= 1e12 else f"{v / 1e9:.3g}B" if v >= 1e9 else f"{v / 1e6:.3g}M"
    return num(v)


def render_zoo(rows, detail=False):
    c = console()
    if not rows:
        c.print("no entries match")
        return
    if detail:
        render_entry(rows[0])
        return
    wide = c.width >= 130
    groups = {}
    for r in rows:
        groups.setdefault((r["registry"], r["category"], r["kind"]), []).append(r)
    for (reg, cat, kind), items in groups.items():
        cols = ZOO_COLUMNS.get(kind, [])
        if kind == "TransformerWorkload" and all(r.get("n_experts", 1) == 1 for r in items):
            cols = [c for c in cols if c[0] != "active_params"]
        # free text cut with an ellipsis; below 130 columns two-line numeric headers (80 columns fit)
        heads = [(h if wide or k in _ZOO_TEXT else h.replace(" ", "\n", 1), "right") for k, h in cols]
        t = _table(f"{reg}.{cat} ({len(items)})", "key", *heads, ("year", "right"), *(["source"] if wide else []),
                   show_edge=False)
        for col, k in zip(t.columns[1:], [k for k, _ in cols]):
            col.max_width = _ZOO_TEXT.get(k) if not wide or k != "basis" else 30
        for r in items:
            src = str(r.get("source") or "")
            t.add_row(E(r["key"]), *[_zoo_val(k, r.get(k)) for k, _ in cols], _zoo_val("year", r.get("year")),
                      *([E(src if len(src) <= 60 else src[:59] + "…")] if wide else []))
        c.print(t)
        c.print()
    c.print("[dim]mlsysim zoo KEY shows one entry in full with its source" +
            ("" if wide else " (a wider terminal shows sources in the tables)") + "; --json for machine-readable "
            "output[/]")


def render_entry(r):
    """One registry entry in full: every field with its value, unit and source (sources wrap, never cut)."""
    from rich import box
    from rich.table import Table

    from ..views import _value_text
    c = console()
    c.print(f"[bold]{E(r['registry'])}.{E(r['category'])}.{E(r['key'])}[/]: {E(r['name'])} ({E(r['kind'])})")
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, expand=False)
    t.add_column("field", no_wrap=True)
    t.add_column("value", max_width=30, overflow="fold")  # a long text value wraps, leaving room for the source
    t.add_column("source", overflow="fold", ratio=1, min_width=20)
    for f in r.get("fields") or []:
        src = "record source (below)" if f["source"] and f["source"] == r.get("source") else f["source"] or "–"
        t.add_row(E(f["field"]), E(_value_text(f)), "[dim]" + E(src) + "[/]")
    c.print(t)
    if r.get("source"):
        c.print(f"source: {E(r['source'])}", soft_wrap=False)
    if r.get("notes"):
        c.print(f"[dim]notes: {E(r['notes'])}[/]")


def _short(s, n=30) -> str:
    s = str(s)
    return E(s if len(s) <= n else s[:n - 1] + "…")


def _money(v) -> str:
    """$981k, $1.01M: short enough for a column at any width (the winner line gives the full figure)."""
    if v is None or v != v:
        return "–"
    return f"${v / 1e6:.3g}M" if abs(v) >= 1e6 else f"${v / 1e3:.3g}k" if abs(v) >= 1e3 else f"${v:.0f}"


def _dc_key(name):
    """The registry key of a datacenter given its name (short, and what a user types back)."""
    from ..infrastructure.registry import Infrastructure
    dcs = Infrastructure.Datacenters
    for k in dcs.names():
        if dcs[k].name == name:
            return k
    return name


def plan_label(r) -> str:
    """TP4 PP1 DP128 mb1 ZeRO-3 selective: the layout of a sweep row in one phrase."""
    extra = "".join(f" {a.upper()}{r[a]}" for a in ("cp", "ep") if r.get(a, 1) != 1)
    il = f" v{r['interleave']}" if r.get("interleave", 1) != 1 else ""
    return (f"TP{r['tp']} PP{r['pp']} DP{r['dp']}{extra}{il} mb{r['microbatch']} ZeRO-{r['zero']} "
            f"{r['recompute']} recompute")


# (row key, header, formatter) of the runners-up; only the columns whose values differ are shown
_OPT_COLS = [("nodes", "nodes", lambda v: f"{v:,}"), ("datacenter", "region", _dc_key),
             ("tp", "tp", str), ("pp", "pp", str), ("dp", "dp", str), ("cp", "cp", str), ("ep", "ep", str),
             ("microbatch", "mb", str), ("zero", "zero", str), ("recompute", "recomp.", lambda v: str(v)[:4]),
             ("time_to_train_days", "days", days_text), ("mfu", "MFU", lambda v: f"{v:.1%}"),
             ("cost_usd", "cost", _money), ("carbon_t", "tCO2e", lambda v: f"{v:.3g}")]


def winner_lines(r, objective: str) -> list[str]:
    """The best plan in words: layout, fleet, region, days, MFU, $ and tCO2e (wraps, never truncates)."""
    out = [f"[bold]Best {E(objective)}:[/] {E(plan_label(r))}, {r['nodes']:,} nodes ({r['accelerators']:,} "
           f"accelerators, {E(r['fleet'])})"]
    if r.get("datacenter"):
        out.append(f"  region: {E(_dc_key(r['datacenter']))} ({E(r['datacenter'])})")
    nums = [f"{days_text(r['time_to_train_days'])} days", f"MFU {r['mfu']:.1%}", f"{r['memory_gb']:.1f} GB/device"]
    if r.get("cost_usd") is not None:
        c = r["cost_usd"]
        nums.append(f"${c:,.0f}" if c == c else "cost n/a (no accelerator price)")  # NaN: unpriced (TPU)
    if r.get("carbon_t") is not None:
        nums.append(f"{sig3(r['carbon_t'])} tCO2e (location-based)")
    out.append("  " + " · ".join(nums))
    return out


def _hang(c, line: str, indent: str = "      "):
    """Print a line of words (rich markup); where it wraps, the rest is indented rather than back at column 0."""
    import textwrap

    from rich.text import Text
    text = Text.from_markup(line)
    plain, starts, pos = text.plain, [], 0
    pieces = textwrap.wrap(plain, c.width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False)
    for i, piece in enumerate(pieces):
        pos = plain.index(piece[len(indent):] if i else piece, pos)
        starts.append(pos)
    for i, part in enumerate(text.divide(starts[1:])):
        part.rstrip()
        c.print(Text(indent) + part if i else part)


def render_optimize(body):
    c = console()
    obj = body["objective"]
    _hang(c, f"[bold]{E(body['scenario']['name'])}[/]: {body['evaluated']:,} configurations evaluated, "
             f"{body['feasible']:,} run, {body['satisfying']:,} satisfy the constraints")
    if body["rejected"]:
        c.print("[dim]rejected: " + E("; ".join(f"{k} ({v:,})" for k, v in body["rejected"].items())) + "[/]")
    over = {k: v for k, v in (body.get("violations") or {}).items() if v}
    if over:  # plans that ran but broke a constraint (a plan may break several)
        _hang(c, "[dim]over a constraint: " + E("; ".join(f"{k} ({v:,})" for k, v in over.items())) + "[/]")
    rows = body["ranking"]
    for line in winner_lines(rows[0], obj["name"]):
        _hang(c, line)
    if len(rows) > 1:
        cols = [(k, h, f) for k, h, f in _OPT_COLS
                if k in rows[0] and rows[0][k] is not None and len({str(r.get(k)) for r in rows}) > 1]
        # the title on its own line: as a table title it wrapped inside a table narrower than itself
        t = _table(None, ("#", "right"),
                   *[(h, "left" if k in ("datacenter", "recompute") else "right") for k, h, _ in cols])
        for i, r in enumerate(rows[1:], 2):
            t.add_row(str(i), *[E(f(r[k])) for k, _, f in cols])
        if c.measure(t).minimum <= c.width:
            c.print("[bold]Runners-up (columns that differ)[/]")
            c.print(t)
        else:  # too narrow for a table: one plan per line
            c.print("[bold]Runners-up[/]")
            for i, r in enumerate(rows[1:], 2):
                c.print(f"  {i}. " + ", ".join(f"{h} {E(f(r[k]))}" for k, h, f in cols))
    pf = body["pareto"]
    uniq, seen = [], set()
    for r in pf["front"]:
        key = (round(r[pf["x"]], 6), round(r[pf["y"]], 6))
        if key not in seen:
            seen.add(key)
            uniq.append(r)
    fy = _money if pf["y"].endswith("_usd") else (lambda v: f"{v:,.4g}")
    c.print(f"[bold]Pareto front[/] (days vs {pf['y']}, plans meeting the constraints): {len(uniq)} plans")
    for r in uniq[:8]:
        where = f" in {_dc_key(r['datacenter'])}" if r.get("datacenter") else ""
        _hang(c, f"  {r[pf['x']]:.1f} d / {fy(r[pf['y']])}: {r['nodes']:,} nodes{where}, {E(plan_label(r))}")
    if body.get("plots"):
        c.print("plots: " + E(", ".join(body["plots"].values())))
    if body.get("emitted"):
        c.print(f"wrote the best plan to {E(body['emitted'])} (reload: mlsysim train {E(body['emitted'])})")
