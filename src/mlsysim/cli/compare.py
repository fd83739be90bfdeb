"""`mlsysim compare a.yaml b.yaml ...`: plans side by side in one table (rows that differ marked, the best value
of each numeric row highlighted), as text, JSON or a self-contained HTML page."""
from __future__ import annotations

from pathlib import Path

from ._common import EXIT_OK, Failure, emit_json, err, guarded
from ._render import days_text, sig3


def _layout(p) -> str:
    L = p.layout
    extra = "".join(f" {k.upper()}{L[k + '_size']}" for k in ("cp", "ep") if L.get(k + "_size", 1) != 1)
    return (f"TP{L['tp_size']} PP{L['pp_size']} DP{L['dp_size']}{extra} mb{L['microbatch_size']} "
            f"ZeRO-{L['zero_stage']} {L['recompute']}")


# (label, value of an outcome, unit, which is better: "low", "high" or None, text format)
def metrics():
    def dc(o):
        d = o.scenario.datacenter
        return None if d is None else (getattr(d, "key", "") or d.name)

    def sus(f):
        return lambda o: None if o.sustainability is None else f(o.sustainability)

    return [
        ("model", lambda o: o.performance.model.name, "", None, str),
        ("fleet", lambda o: f"{o.performance.fleet.total_accelerators:,} x {o.performance.fleet.accelerator.name}",
         "", None, str),
        ("layout", lambda o: _layout(o.performance), "", None, str),
        ("datacenter", dc, "", None, str),
        ("status", lambda o: o.status.replace("_", " "), "", None, str),
        ("time to train", lambda o: o.performance.time_to_train_s / 86400, "days", "low", days_text),
        ("MFU", lambda o: o.performance.mfu, "", "high", "{:.1%}".format),
        ("step time", lambda o: o.performance.step_s, "s", "low", "{:.3g}".format),
        ("tokens/s", lambda o: o.performance.tokens_per_s, "", "high", "{:,.0f}".format),
        ("memory per device", lambda o: sum(o.performance.memory_bytes.values()) / 1e9, "GB", "low",
         "{:.1f}".format),
        ("GPU-hours", lambda o: o.performance.gpu_hours, "", "low", "{:,.0f}".format),
        ("energy", sus(lambda s: s.facility_energy_j / 3.6e9), "MWh", "low", sig3),
        ("carbon, location-based", sus(lambda s: s.location_kg / 1e3), "t CO2e", "low", sig3),
        ("cost (TCO share)", lambda o: None if o.economics is None else o.economics.total_usd, "USD", "low",
         "${:,.0f}".format),
    ]


def compare_rows(outcomes) -> list[dict]:
    """One row per metric: values per plan, whether they differ, and the index of the best (numeric rows)."""
    rows = []
    for label, get, unit, better, fmt in metrics():
        vals = [get(o) for o in outcomes]
        shown = ["–" if v is None else fmt(v) for v in vals]
        nums = [(v, i) for i, v in enumerate(vals) if isinstance(v, (int, float)) and outcomes[i].feasible]
        best = None
        if better and len({round(v, 12) for v, _ in nums}) > 1:
            best = (min if better == "low" else max)(nums)[1]
        rows.append(dict(metric=label, unit=unit, values=vals, text=shown, differs=len(set(shown)) > 1,
                         better=better, best=best))
    return rows


def _titles(outcomes) -> list[str]:
    names = [o.scenario.name for o in outcomes]
    if len(set(names)) < len(names):
        names = [f"{Path(o.scenario.path).name}: {o.scenario.name}" for o in outcomes]
    return names


def render_text(outcomes, rows):
    from rich import box
    from rich.table import Table

    from ._common import console
    from ._render import E
    c = console()
    t = Table(title=f"{len(outcomes)} plans side by side (▶ marks rows that differ; green = best)",
              title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    # numbers never fold across lines (a 4-plan table at 80 columns printed "$6,182,85" over "1"): each plan's
    # column is at least as wide as its widest number, and the metric labels wrap instead
    t.add_column("", min_width=12)
    for i, name in enumerate(_titles(outcomes)):
        widest = max((len(r["text"][i]) for r in rows
                      if isinstance(r["values"][i], (int, float)) and not isinstance(r["values"][i], bool)), default=0)
        t.add_column(E(name), justify="right", overflow="fold", min_width=widest or None)
    for r in rows:
        label = r["metric"] + (f" ({r['unit']})" if r["unit"] and r["unit"] != "USD" else "")
        cells = [(f"[bold green]{E(x)}[/]" if i == r["best"] else E(x)) for i, x in enumerate(r["text"])]
        t.add_row(("[bold yellow]▶ " if r["differs"] else "  ") + E(label) + ("[/]" if r["differs"] else ""),
                  *cells)
    c.print(t)
    for o in outcomes:
        if not o.feasible:
            c.print(f"[red]{E(o.scenario.path)}: does not fit in device memory: its numbers are for a plan that "
                    f"cannot run[/]")


CSS = ("tr.diff td:first-child{font-weight:600}tr.diff{background:#fff8e1}td.best{color:#2e7d32;font-weight:600}"
       "@media print{tr.diff{background:none}tr.diff td:first-child::before{content:'▶ '}}")


def render_html(outcomes, rows) -> str:
    from ..report.html import CSS as BASE
    from ..report.html import esc
    head = "".join(f"<th>{esc(n)}<br><small>{esc(o.scenario.path)}</small></th>"
                   for n, o in zip(_titles(outcomes), outcomes))
    body = []
    for r in rows:
        label = r["metric"] + (f" ({r['unit']})" if r["unit"] and r["unit"] != "USD" else "")
        cells = "".join(f"<td class='n{' best' if i == r['best'] else ''}'>{esc(x)}</td>"
                        for i, x in enumerate(r["text"]))
        body.append(f"<tr class='{'diff' if r['differs'] else 'same'}'><td>{esc(label)}</td>{cells}</tr>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>mlsysim compare</title>"
            f"<style>{BASE}{CSS}</style></head><body><h1>{len(outcomes)} plans side by side</h1>"
            f"<p class='note'>Highlighted rows differ between the plans; the best value of a row is green "
            f"(among plans that fit in memory).</p><table><tr><th></th>{head}</tr>{''.join(body)}</table>"
            f"</body></html>")


def compare_cmd(paths, sets, output, json_out):
    with guarded("compare", json_out):
        if len(paths) < 2:
            raise Failure("compare needs at least two scenario files, e.g. mlsysim compare a.yaml b.yaml")
        from .commands import _scenario
        from ..report.serving_report import serving_only_note
        scenarios = [_scenario(p, [], sets) for p in paths]
        for sc, p in zip(scenarios, paths):
            note = serving_only_note(sc, p, "its training column")
            if note:
                err(f"{p}: {note}", "note")
        outcomes = [sc.evaluate() for sc in scenarios]
        rows = compare_rows(outcomes)
        if output:
            if not str(output).lower().endswith((".html", ".htm")):
                raise Failure(f"--output {output}: the comparison is HTML; name it *.html")
            from ..report import atomic_write
            atomic_write(output, render_html(outcomes, rows))
        if json_out:
            from . import _json as J
            emit_json(J.envelope("compare", "ok", 0, plans=[J.outcome(o, 0) for o in outcomes],
                                 rows=[{k: r[k] for k in ("metric", "unit", "values", "differs", "better", "best")}
                                       for r in rows], report=output))
        else:
            render_text(outcomes, rows)
            if output:
                print(f"wrote {output}")
    import typer
    raise typer.Exit(EXIT_OK)
