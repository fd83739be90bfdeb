"""Plots people would rather look at than read. matplotlib is imported only here, on first use, with no pyplot
state (each function returns a `matplotlib.figure.Figure`, drawn off-screen; Jupyter shows it inline).

    breakdown(perf)                  where a step's time goes, and memory per device against capacity
    scaling(rows)                    time to train and scaling efficiency vs GPU count (the Amdahl trap)
    carbon_by_region(rows)           the same run on every grid (the tutorial's 41x chart)
    cost_split(econ)                 amortised CapEx / energy / maintenance, against renting
    pareto(front)                    time vs cost (or carbon): every configuration and the non-dominated ones

`save(fig, "x.png")` / `save(fig, "x.svg")` writes atomically; `encode(fig, "png")` gives base64 for HTML.
"""
from __future__ import annotations

import io

PALETTE = {"compute": "#4C72B0", "recompute": "#8172B2", "tp_comm": "#DD8452", "cp_comm": "#E5AE38",
           "ep_comm": "#C9A227", "pp_comm": "#55A868", "bubble": "#C44E52", "dp_comm": "#DA8BC3",
           "optimizer": "#8C8C8C", "straggler": "#937860"}
MEMORY_COLORS = {"weights": "#4C72B0", "gradients": "#DD8452", "optimizer": "#55A868", "activations": "#C44E52",
                 "reserved": "#8C8C8C", "kv_cache": "#8172B2"}
LABELS = {"compute": "compute", "recompute": "recompute", "tp_comm": "TP comm (exposed)",
          "cp_comm": "CP comm", "ep_comm": "EP all-to-all", "pp_comm": "PP p2p", "bubble": "pipeline bubble",
          "dp_comm": "DP comm (exposed)", "optimizer": "optimizer step", "straggler": "stragglers"}
FORMATS = ("png", "svg")
BASIS_COLORS = {"lifecycle": "#4C72B0", "direct": "#DD8452", "as published": "#8C8C8C"}
BASIS_LABELS = {"lifecycle": "lifecycle (incl. upstream)", "direct": "direct (combustion)",
                "as published": "as its source used it"}


_INLINE = []


def _inline_class():
    """A matplotlib Figure that a notebook shows inline on its own (`_repr_png_`), no `%matplotlib inline`
    and no pyplot state needed."""
    if not _INLINE:
        from matplotlib.figure import Figure

        class InlineFigure(Figure):
            def _repr_png_(self):
                return to_bytes(self, "png")
        _INLINE.append(InlineFigure)
    return _INLINE[0]


def _figure(w=9.0, h=4.0):
    return _inline_class()(figsize=(w, h), dpi=110, layout="constrained")


def _style(ax):
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="both", alpha=0.25, linewidth=0.6)
    ax.set_axisbelow(True)


def to_bytes(fig, fmt: str = "png") -> bytes:
    fmt = fmt.lower()
    if fmt not in FORMATS:
        from ..errors import unknown
        raise unknown("image format", fmt, FORMATS)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, metadata={"Software": "mlsysim"} if fmt == "png" else {"Creator": "mlsysim"})
    return buf.getvalue()


def encode(fig, fmt: str = "png") -> str:
    import base64
    return base64.b64encode(to_bytes(fig, fmt)).decode("ascii")


def save(fig, path, fmt: str | None = None):
    """Write the figure to `path` (format from the suffix, or `fmt`), completely or not at all."""
    from pathlib import Path

    from . import atomic_write
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "png").lower()
    return atomic_write(path, to_bytes(fig, fmt))


def _usd(v, _=None) -> str:
    if abs(v) >= 1e9:
        return f"${v / 1e9:.3g}B"
    if abs(v) >= 1e6:
        return f"${v / 1e6:.3g}M"
    if abs(v) >= 1e3:
        return f"${v / 1e3:.3g}k"
    return f"${v:.3g}"


def _plain(v, _=None) -> str:
    if abs(v) >= 1e6:
        return f"{v:.3g}"
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.3g}"


def _scale(ax, which: str, values, money: bool):
    """Log scale when the values span more than a factor 20, plain (or $) tick labels either way."""
    from matplotlib.ticker import FuncFormatter, NullFormatter
    vals = [v for v in values if v is not None and v > 0]
    axis = ax.xaxis if which == "x" else ax.yaxis
    if vals and max(vals) / min(vals) > 20:
        (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        axis.set_minor_formatter(NullFormatter())
    axis.set_major_formatter(FuncFormatter(_usd if money else _plain))


def _tonnes(t: float) -> str:
    from .summary import tonnes
    return tonnes(t)


def _fmt_s(s: float) -> str:
    if s >= 1:
        return f"{s:.3g} s"
    if s >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} µs"


# ----------------------------------------------------------------------------------------------- breakdown
def breakdown(perf, title: str | None = None):
    """Two panels: the step time split into compute / exposed communication / bubble / ...; memory per device
    by category against the device's capacity."""
    fig = _figure(10, 3.6)
    ax, ax2 = fig.subplots(1, 2, width_ratios=[3, 2])
    parts = [(k, v) for k, v in perf.breakdown_s.items() if v > 0]
    total = sum(v for _, v in parts) or 1.0
    left = 0.0
    for k, v in parts:
        ax.barh([0], [v], left=left, color=PALETTE.get(k, "#999999"), label=f"{LABELS.get(k, k)} "
                f"({v / total:.0%})", height=0.5)
        if v / total > 0.08:
            ax.text(left + v / 2, 0, f"{v / total:.0%}", ha="center", va="center", color="white", fontsize=9)
        left += v
    ax.set_yticks([])
    ax.set_xlabel("seconds per step")
    ax.set_xlim(0, total * 1.02)
    ax.set_title(title or f"Where a {_fmt_s(perf.step_s)} step goes (MFU {perf.mfu:.0%})", loc="left",
                 fontsize=11)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, fontsize=8, frameon=False)
    _style(ax)

    cap = perf.memory_capacity_bytes / 1e9
    bottom = 0.0
    for k, v in perf.memory_bytes.items():
        ax2.bar([0], [v / 1e9], bottom=bottom, color=MEMORY_COLORS.get(k, "#999999"), label=f"{k} {v / 1e9:.1f}",
                width=0.5)
        bottom += v / 1e9
    ax2.axhline(cap, color="black", linestyle="--", linewidth=1)
    ax2.text(0.32, cap, f"capacity {cap:.0f} GB", va="bottom", fontsize=8)
    ax2.set_xlim(-0.5, 1.4)
    ax2.set_xticks([])
    ax2.set_ylabel("GB per device")
    ok = "fits" if perf.feasible else "DOES NOT FIT"
    ax2.set_title(f"Memory: {bottom:.1f} GB ({ok})", loc="left", fontsize=11,
                  color="black" if perf.feasible else "#C44E52")
    ax2.legend(loc="center right", fontsize=8, frameon=False)
    _style(ax2)
    return fig


# ------------------------------------------------------------------------------------------------- scaling
def scaling(rows, title: str | None = None):
    """Time to train (log-log, with the linear-scaling ideal) and scaling efficiency against GPU count."""
    fig = _figure(10, 3.8)
    ax, ax2 = fig.subplots(1, 2)
    if not rows:
        ax.text(0.5, 0.5, "no fleet size can run this layout", ha="center", transform=ax.transAxes)
        return fig
    g = [r["gpus"] for r in rows]
    t = [r["time_to_train_days"] for r in rows]
    eff = [100 * r["scaling_efficiency"] for r in rows]
    ideal = [t[0] * g[0] / x for x in g]
    ax.plot(g, ideal, "--", color="#8C8C8C", label="linear scaling")
    ax.plot(g, t, "-o", color="#4C72B0", label="predicted")
    ax2.plot(g, eff, "-o", color="#C44E52")
    ax2.axhline(100, color="#8C8C8C", linestyle="--", linewidth=1)
    for r, x, y, e in zip(rows, g, t, eff):
        if not r["feasible"]:
            ax.plot([x], [y], "x", color="#C44E52", markersize=9, markeredgewidth=2)
            ax2.plot([x], [e], "x", color="#C44E52", markersize=9, markeredgewidth=2)
        if r.get("current"):
            ax.annotate("this fleet", (x, y), textcoords="offset points", xytext=(8, 8), fontsize=8)
            ax2.annotate(f"{e:.0f}%", (x, e), textcoords="offset points", xytext=(6, 6), fontsize=8)
    if any(not r["feasible"] for r in rows):
        ax.plot([], [], "x", color="#C44E52", label="does not fit in memory")
    from matplotlib.ticker import FuncFormatter, NullFormatter
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xticks(g)
        a.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        a.xaxis.set_minor_formatter(NullFormatter())
        a.tick_params(axis="x", labelsize=8)
        a.set_xlabel("GPUs")
        _style(a)
    ax.set_yscale("log")
    ax.set_ylabel("days to train")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(title or "Time to train vs fleet size", loc="left", fontsize=11)
    ax2.set_ylabel("scaling efficiency (%): compute / step time")
    ax2.set_ylim(0, max(105, max(eff) * 1.05))
    ax2.set_title(f"The Amdahl trap: {eff[-1]:.0f}% efficient at {g[-1]:,} GPUs", loc="left", fontsize=11)
    return fig


# ---------------------------------------------------------------------------------------- carbon by region
def _pick(rows, max_bars):
    """Cleanest, dirtiest, the scenario's own region and evenly spaced ones between (rows sorted by carbon)."""
    if len(rows) <= max_bars:
        return rows
    n = len(rows)
    keep = {0, n - 1} | {i for i, r in enumerate(rows) if r.get("current")}
    k = max_bars - len(keep)
    keep |= {round(j * (n - 1) / (k + 1)) for j in range(1, k + 1)}
    return [rows[i] for i in sorted(keep)][:max_bars + 1]


MARK = "INFEASIBLE plan (does not fit in memory): "  # a chart of a plan that cannot run says so in its title


def carbon_by_region(rows, title: str | None = None, max_bars: int = 16, infeasible: bool = False):
    """The same training run on each grid: tonnes CO2e (operational, location-based), cleanest first; at most
    `max_bars` bars (the cleanest, the dirtiest, the scenario's region and a spread between; the title's ratio
    is over all rows)."""
    all_rows = rows
    rows = _pick(rows, max_bars)
    n = len(rows)
    fig = _figure(9, max(2.4, 0.38 * n + 1.2))
    ax = fig.subplots()
    if not rows:
        ax.text(0.5, 0.5, "no grid regions in the registry", ha="center", transform=ax.transAxes)
        return fig
    vals = [r["carbon_t"] for r in rows]
    classes = [r.get("basis_class", "as published") for r in rows]
    colors = [BASIS_COLORS.get(k, "#8C8C8C") for k in classes]
    y = list(range(n))[::-1]
    bars = ax.barh(y, vals, color=colors)
    for b, r in zip(bars, rows):
        if r.get("current"):
            b.set_edgecolor("black")
            b.set_linewidth(1.5)
    ax.set_yticks(y, [f"{r['grid'] or r['grid_key']} ({r['gco2_per_kwh']:.0f} g/kWh)" for r in rows], fontsize=8)
    for yy, v in zip(y, vals):
        ax.text(v, yy, f" {_tonnes(v)} t", va="center", fontsize=8)
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color=BASIS_COLORS.get(k, "#8C8C8C"), label=BASIS_LABELS.get(k, k))
                       for k in dict.fromkeys(classes)], fontsize=8, frameon=False, loc="upper right",
              title="grid intensity basis", title_fontsize=8)
    ax.set_xlabel("tonnes CO2e, operational, location-based (basis by colour)")
    ax.set_xlim(0, max(vals) * 1.18)
    cur = next((r for r in all_rows if r.get("current")), None)
    same = [r for r in all_rows if cur is not None and r.get("basis_class") == cur.get("basis_class")]
    pool = same if len(same) >= 3 else all_rows
    pool = [r for r in pool if r["carbon_t"] > 0] or pool
    lo, hi = min(pool, key=lambda r: r["carbon_t"]), max(pool, key=lambda r: r["carbon_t"])
    ratio = hi["carbon_t"] / lo["carbon_t"] if lo["carbon_t"] else float("inf")
    among = f" ({cur['basis_class']} basis)" if pool is same else " (mixed bases)"
    shown = "" if len(rows) == len(all_rows) else f"\n{len(rows)} of {len(all_rows)} regions shown"
    ax.set_title((MARK if infeasible else "") +
                 (title or f"Same run, different grid: {ratio:.0f}x cleanest to dirtiest{among}{shown}"),
                 loc="left", fontsize=10)
    _style(ax)
    ax.grid(axis="y", visible=False)
    return fig


# ------------------------------------------------------------------------------------------------ cost split
def cost_split(econ, title: str | None = None):
    """The run's cost of ownership split into amortised CapEx, energy and maintenance/staff; and renting."""
    fig = _figure(9, 2.8)
    ax = fig.subplots()
    parts = [("CapEx (amortised)", econ.amortized_capex_usd, "#4C72B0"), ("energy", econ.energy_usd, "#DD8452"),
             ("maintenance & staff", econ.maintenance_usd, "#55A868")]
    total = sum(v for _, v, _ in parts) or 1.0
    left = 0.0
    for label, v, c in parts:
        ax.barh([1], [v], left=left, color=c, label=f"{label}: ${v:,.0f} ({v / total:.0%})", height=0.55)
        if v / total > 0.08:
            ax.text(left + v / 2, 1, f"{v / total:.0%}", ha="center", va="center", color="white", fontsize=9)
        left += v
    from .summary import money
    ticks, labels = [1], [f"own\n{money(total)}"]  # ($0.00M for a $241 run)
    cloud = econ.cloud_cost
    if cloud is not None:
        ax.barh([0], [cloud.magnitude], color="#8C8C8C", height=0.55,
                label=f"rent at ${econ.cloud_usd_per_gpu_hour:.2f}/GPU-h")
        ticks.append(0)
        labels.append(f"rent\n{money(cloud.magnitude)}")
    ax.set_yticks(ticks, labels, fontsize=9)
    from matplotlib.ticker import FuncFormatter
    ax.xaxis.set_major_formatter(FuncFormatter(_usd))
    ax.set_xlabel("USD for this run")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    share = econ.accelerator_share_of_capex
    ax.set_title(("" if getattr(econ, "feasible", True) else MARK) +
                 (title or f"Cost of the run: ${total:,.0f} (GPUs are {share:.0%} of CapEx)"), loc="left",
                 fontsize=11)
    _style(ax)
    ax.grid(axis="y", visible=False)
    return fig


# --------------------------------------------------------------------------------------------------- pareto
AXIS_LABELS = {"time_to_train_days": "days to train", "cost_usd": "cost (USD)", "carbon_t": "tonnes CO2e",
               "gpu_hours": "GPU-hours", "energy_mwh": "energy (MWh)", "memory_gb": "GB per device"}


def pareto(front: dict, title: str | None = None):
    """Every feasible configuration (grey) and the Pareto front (no configuration is better on both axes)."""
    fig = _figure(8, 4.6)
    ax = fig.subplots()
    x, y = front["x"], front["y"]
    pts = front.get("points") or []
    if pts:
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=8, color="#BBBBBB", alpha=0.6,
                   label=f"configurations ({front.get('evaluated', len(pts)):,} evaluated)", linewidths=0)
    fr = sorted(front.get("front") or [], key=lambda r: r[x])
    if fr:
        ax.step([r[x] for r in fr], [r[y] for r in fr], where="post", color="#4C72B0", linewidth=1.2)
        ax.scatter([r[x] for r in fr], [r[y] for r in fr], s=30, color="#4C72B0", zorder=3,
                   label=f"Pareto front ({len(fr)})")
        seen = set()
        for r in fr[:: max(1, len(fr) // 6)]:
            tag = f"tp{r.get('tp')} pp{r.get('pp')} dp{r.get('dp')}"
            if "nodes" in r:
                tag = f"{r['nodes']} nodes, " + tag
            if tag not in seen:
                seen.add(tag)
                ax.annotate(tag, (r[x], r[y]), textcoords="offset points", xytext=(4, 6), fontsize=7,
                            rotation=20)
    cur = front.get("current")
    if cur and cur[0] is not None and cur[1] is not None:
        ax.scatter([cur[0]], [cur[1]], marker="*", s=160, color="#C44E52", zorder=4, label="this scenario")
    xs = [p[0] for p in pts] + [r[x] for r in fr]
    ys = [p[1] for p in pts] + [r[y] for r in fr]
    _scale(ax, "x", xs, x.endswith("_usd"))
    _scale(ax, "y", ys, y.endswith("_usd"))
    ax.set_xlabel(AXIS_LABELS.get(x, x))
    ax.set_ylabel(AXIS_LABELS.get(y, y))
    ax.set_title(title or f"Trade-off: {AXIS_LABELS.get(x, x)} vs {AXIS_LABELS.get(y, y)}", loc="left",
                 fontsize=11)
    ax.legend(fontsize=8, frameon=False)
    _style(ax)
    return fig
