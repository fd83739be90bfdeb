"""The bodies of the CLI commands (imported only when a command runs)."""
from __future__ import annotations

import sys
from pathlib import Path

from . import _json as J
from ._common import (EXIT_BAD_INPUT, EXIT_CONSTRAINT, EXIT_INFEASIBLE, EXIT_OK, STATUS_CODE, Failure, emit_json,
                      err, gb, guarded, one_line, progress, progress_enabled)


def _finish(code: int):
    import typer
    raise typer.Exit(code)


def _parse_sets(sets) -> list:
    import yaml
    out = []
    for s in sets:
        if "=" not in s:
            raise Failure(f"--set {s!r}: expected SECTION.KEY=VALUE, e.g. --set layout.tp_size=4")
        key, _, val = s.partition("=")
        try:
            value = yaml.safe_load(val) if val.strip() else None
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError):
            # ValueError & co: a scalar its tag cannot read (!!int abc, a date such as 2001-02-30)
            raise Failure(f"--set {s!r}: the value is not valid YAML (quote a string: KEY='\"text\"')") from None
        out.append((key.strip(), value))
    return out


def _scenario(path, overrides, sets):
    """Load a scenario file (or build one from options alone) with the command line's overrides."""
    from ..scenario import build_scenario, load_scenario
    over = list(overrides) + _parse_sets(sets)
    if path is None:
        given = {str(k).split(".")[0] for k, _ in over}
        if not {"workload", "system"} <= given:  # say it in options, not as a scenario file's missing section
            raise Failure("give a scenario file (e.g. examples/llama3_70b_research256.yaml) or both a model and a "
                          "system: --model Llama3_70B with --cluster Research_256 (train) or --hardware H100 (eval)")
        return build_scenario({}, {}, "command line", over)
    return load_scenario(path, over)


def _status_message(status: str, checks, perf=None) -> str:
    if status == "infeasible":
        used = sum(perf.memory_bytes.values()) / 1e9
        return (f"the layout needs {used:.1f} GB per device but {perf.fleet.accelerator.name} has "
                f"{gb(perf.memory_capacity_bytes)} GB (try zero_stage 2/3, a larger pp_size, "
                f"recompute=full or a smaller microbatch_size)")
    bad = [c.message for c in checks if not c.ok]
    return "; ".join(bad)


# ---------------------------------------------------------------------------------------------------- eval
def eval_cmd(path, opts, mode, batch_size, sets, json_out):
    with guarded("eval", json_out):
        from .eval_small import eval_small, small_model
        w = small_model(opts["model"]) if path is None else None
        if w is not None:  # a small network (SmallModels): one inference at the roofline
            _finish(eval_small(w, dict(opts, mode=mode), batch_size, json_out))
        mode = mode or "training"
        over = []
        if opts["model"]:
            over.append(("workload.model", opts["model"]))
        if opts["hardware"]:
            over.append(("system.accelerator", opts["hardware"]))
        if opts["seq_len"] is not None:
            over.append(("workload.seq_len", opts["seq_len"]))
        if opts["precision"]:
            over.append(("layout.precision", opts["precision"]))
        if opts["recompute"]:
            over.append(("layout.recompute", opts["recompute"]))
        sc = _scenario(path, over, sets)
        from ..scenario import check_constraints
        from ..solvers.single_node import SingleNodeModel
        acc = sc.accelerator
        if acc is None:
            raise Failure(f"{sc.where('system')}eval needs an accelerator: --hardware H100, or system.accelerator "
                          f"/ system.cluster / system.node in the scenario")
        L = sc.layout
        b = batch_size if batch_size is not None else L.get("microbatch_size", 1)
        # a scenario's training-only settings do not apply to a forward pass; ZeRO (the fleet's sharding over
        # data-parallel ranks) does not apply to one device
        keys = ("precision", "recompute", "flash_attention") if mode == "training" else ("precision", "flash_attention")
        kw = {k: L[k] for k in keys if k in L}
        try:
            r = SingleNodeModel().solve(sc.model, acc, mode=mode, batch_size=b, **kw)
        except Exception as exc:
            from ..errors import ConfigError
            if isinstance(exc, ConfigError):
                raise Failure(sc.locate(str(exc))) from None
            raise
        checks = []
        if "max_memory_gb" in sc.constraints:
            from types import SimpleNamespace
            checks = check_constraints(
                SimpleNamespace(constraints={"max_memory_gb": sc.constraints["max_memory_gb"]}),
                SimpleNamespace(memory_bytes=r.memory_bytes))
        status = "infeasible" if not r.feasible else ("constraint_violated" if any(not c.ok for c in checks)
                                                      else "ok")
        code = STATUS_CODE[status]
        if json_out:
            emit_json(J.single(r, code, status, checks))
        else:
            from ._render import render_single
            render_single(r, checks)
        if status == "infeasible":
            err(f"needs {sum(r.memory_bytes.values()) / 1e9:.1f} GB but {acc.name} has "
                f"{gb(acc.memory_bytes)} GB", "infeasible")
        elif status != "ok":
            err(_status_message(status, checks), "constraint")
    _finish(code)


# ---------------------------------------------------------------------------------------------------- train
def _save_plots(figs: dict, folder, fmt) -> dict:
    from ..report import atomic_write
    from ..report import plots as P
    fmt = fmt.lower()
    if fmt not in P.FORMATS:
        raise Failure(f"--format {fmt!r}: choose png or svg")
    d = Path(folder)
    if d.exists() and not d.is_dir():
        raise Failure(f"--plots {folder}: exists and is not a folder")
    d.mkdir(parents=True, exist_ok=True)
    data = {name: P.to_bytes(fig, fmt) for name, fig in figs.items()}  # render all before writing any
    out = {}
    for name, blob in data.items():
        p = d / f"{name}.{fmt}"
        atomic_write(p, blob)
        out[name] = str(p)
    return out


def scenario_figures(sc, out, *, pareto: bool = False, json_out: bool = True) -> tuple[dict, dict, list]:
    """The figures of a scenario outcome (and their data series); notes on what had to be skipped."""
    from ..report import plots as P
    from ..report import series as S
    figs, data, notes = {}, {}, []
    perf = out.performance
    figs["breakdown"] = P.breakdown(perf)
    enabled = progress_enabled(json_out)
    steps = 2 + (1 if pareto else 0)
    with progress(steps, "plots", enabled) as adv:
        data["scaling"] = S.scaling(perf)
        figs["scaling"] = P.scaling(data["scaling"])
        adv()
        if out.sustainability is not None:
            data["regions"] = S.regions(perf, sc.datacenter)
            figs["carbon_by_region"] = P.carbon_by_region(data["regions"], infeasible=not perf.feasible)
        else:
            notes.append("carbon by region: needs a datacenter (and SustainabilityModel)")
        adv()
        if out.economics is not None:
            figs["cost_split"] = P.cost_split(out.economics)
        elif out.sustainability is not None:
            notes.append("cost split: economics not computed")
        if pareto:
            try:
                cur = (perf.time_to_train_s / 86400,
                       out.economics.total_usd if out.economics is not None else perf.gpu_hours)
                data["pareto"] = S.pareto_front(sc, perf, current=cur,
                                                y="cost_usd" if out.economics is not None else "gpu_hours")
                figs["pareto"] = P.pareto(data["pareto"])
            except ImportError as exc:
                notes.append(f"Pareto front: the explorer is not available ({exc})")
            adv()
    return figs, data, notes


def train_cmd(path, overrides, sets, plots, fmt, verbose, json_out):
    with guarded("train", json_out):
        sc = _scenario(path, overrides, sets)
        from ..report.serving_report import serving_only_note
        note = None if overrides else serving_only_note(sc, path)
        out = sc.evaluate()
        code = STATUS_CODE[out.status]
        if note:
            out.notes.append(note)
        saved = {}
        if plots:
            figs, _, notes = scenario_figures(sc, out, json_out=json_out)
            saved = _save_plots(figs, plots, fmt)
            out.notes.extend(notes)
        if json_out:
            d = J.outcome(out, code)
            d["plots"] = saved
            emit_json(d)
        else:
            from ._render import render_outcome
            render_outcome(out, verbose=verbose, plots=saved)
        if out.status != "ok":
            err(_status_message(out.status, out.checks, out.performance),
                "infeasible" if out.status == "infeasible" else "constraint")
    _finish(code)


# ------------------------------------------------------------------------------------------------- optimize
OBJECTIVES = {"time": "time_to_train", "cost": "cost", "carbon": "carbon"}


def optimize_cmd(path, objective, top, sets, plots, fmt, json_out, emit=None):
    with guarded("optimize", json_out):
        sc = _scenario(path, [], sets)
        try:
            from .. import explore
        except ImportError as exc:
            raise Failure(f"optimize needs the explorer (mlsysim.explore), which is not available in this build "
                          f"({exc})", 1, "unavailable") from None
        obj = objective or sc.search.get("objective", "time")
        if obj not in OBJECTIVES:
            from ..errors import unknown
            raise unknown("--objective", obj, OBJECTIVES)
        k = top if top is not None else sc.search.get("top", 10)
        from ..report.serving_report import serving_only_note
        note = serving_only_note(sc, path, "the training search below", layout=False)
        if note:
            err(note, "note")
        if k < 1:
            raise Failure(f"--top must be >= 1, got {k}")
        kw = sc.sweep_kwargs()
        if obj != "time" and "datacenters" not in kw:
            raise Failure(f"{sc.where('search')}objective {obj} needs a `datacenter:` (or search.datacenters)")
        cons = sc.explore_constraints()
        kw["progress"] = None if progress_enabled(json_out) else False
        try:
            res = explore.optimize(sc.model, OBJECTIVES[obj], cons, runners_up=k - 1, **dict(kw))
        except Exception as exc:
            from ..errors import ConfigError, InfeasibleError
            if isinstance(exc, InfeasibleError):
                raise InfeasibleError(sc.scenario_names(str(exc))) from None
            if isinstance(exc, ConfigError):
                raise Failure(sc.locate(str(exc))) from None
            raise
        y = "cost_usd" if "datacenters" in kw else "gpu_hours"
        if y == "cost_usd" and res.table[0].get("cost_usd") != res.table[0].get("cost_usd"):
            y = "carbon_t"  # NaN cost: an accelerator without a price (TPU) has a time-carbon front, not none
        if obj == "carbon":
            y = "carbon_t"
        # the front among plans that meet the scenario's constraints (the ranking's own, batch window included)
        front = explore.pareto(sc.model, ("time_to_train_days", y), constraints=res.constraints, **dict(kw))
        front_rows = [front[i] for i in range(len(front))]
        ranking = [res.table[i] for i in range(len(res.table))]
        saved = {}
        if plots:
            from ..report import plots as P
            best = ranking[0]
            fig = P.pareto({"x": "time_to_train_days", "y": y, "points": [], "front": front_rows,
                            "evaluated": res.evaluated, "current": (best["time_to_train_days"], best.get(y))},
                           title=f"Pareto front: time vs {y} ({len(front_rows)} plans); star = best {obj}")
            saved = _save_plots({"pareto": fig}, plots, fmt)
        if emit:
            from ..plans import plan_yaml
            from ..report import atomic_write
            header = f"best {obj} plan found by `mlsysim optimize {sc.path}`; reload: mlsysim train {emit}"
            atomic_write(emit, plan_yaml(sc, ranking[0], header=header, objective=obj))
        body = dict(scenario={"name": sc.name, "file": sc.path}, emitted=emit,
                    objective={"name": obj, "column": res.keys[0][0]}, constraints=cons,
                    evaluated=res.evaluated, feasible=res.n_feasible, satisfying=res.n_satisfying,
                    rejected=res.rejected, violations=res.violations, best=ranking[0], ranking=ranking,
                    pareto={"x": "time_to_train_days", "y": y, "front": front_rows}, plots=saved)
        if json_out:
            emit_json(J.envelope("optimize", "ok", 0, **body))
        else:
            from ._render import render_optimize
            render_optimize(body)
    _finish(EXIT_OK)


# ------------------------------------------------------------------------------------------------- validate
def validate_cmd(json_out, wide=False):
    with guarded("validate", json_out):
        from ..validation import format_sections, sections
        secs = sections(wide)
        if json_out:
            emit_json(J.envelope("validate", "ok", 0, **{name: {k: v for k, v in sec.items() if k != "text"}
                                                           for name, sec in secs.items()}))
        else:
            print(format_sections(secs, wide))
    _finish(EXIT_OK)


# --------------------------------------------------------------------------------------------------- report
def report_cmd(path, output, plots, fmt, pareto, sets, json_out, style=None):
    with guarded("report", json_out):
        if style and json_out:
            raise Failure("--json already carries the paragraph (paragraph.markdown / .latex); drop --"
                          f"{style} or --json")
        sc = _scenario(path, [], sets)
        from ..report.serving_report import serving_only
        if serving_only(sc):
            _finish(_serving_report(sc, output, plots, style, json_out))
        out = sc.evaluate()
        code = STATUS_CODE[out.status]
        from ..report.summary import paragraph
        if output is None and not style:
            output = "report.html"
        html, figs, saved = "", {}, {}
        if output or plots:
            if output and not str(output).lower().endswith((".html", ".htm")):
                raise Failure(f"--output {output}: the report is HTML; name it *.html")
            figs, data, notes = scenario_figures(sc, out, pareto=pareto, json_out=json_out)
            out.notes.extend(notes)
            saved = _save_plots(figs, plots, fmt) if plots else {}
        if output:
            from ..report import atomic_write
            from ..report.html import render_report
            html = render_report(sc, out, figs, data)
            atomic_write(output, html)
        if json_out:
            d = J.outcome(out, code)
            d["command"] = "report"
            d["report"] = {"html": str(output), "bytes": len(html.encode("utf-8"))}
            d["plots"] = saved
            d["paragraph"] = {"markdown": paragraph(out, "markdown"), "latex": paragraph(out, "latex")}
            emit_json(d)
        elif style:
            print(paragraph(out, style))
            if output:
                print(f"wrote {output}", file=sys.stderr)
        else:
            print(f"wrote {output} ({len(html.encode('utf-8')) / 1e3:,.0f} kB, {len(figs)} plots)"
                  + (f"; plots in {plots}" if saved else ""))
        if out.status != "ok":
            err(_status_message(out.status, out.checks, out.performance)
                + (f" (the report shows it: {output})" if output else ""),
                "infeasible" if out.status == "infeasible" else "constraint")
    _finish(code)


def _serving_report(sc, output, plots, style, json_out) -> int:
    """A scenario with only a `serving:` section: its serving report, exit 0 when the fleet meets the SLO, else 4."""
    if style or plots:
        raise Failure(f"--{style or 'plots'} shows a training run; this scenario has only a `serving:` section: "
                      f"drop it (or add a layout to the scenario)")
    from ..report import atomic_write
    from ..report.serving_report import render_serving_report
    html, r = render_serving_report(sc)
    output = output or "report.html"
    if not str(output).lower().endswith((".html", ".htm")):
        raise Failure(f"--output {output}: the report is HTML; name it *.html")
    atomic_write(output, html)
    code = EXIT_OK if r.feasible else EXIT_INFEASIBLE
    if json_out:
        from .serve import _fields
        emit_json(J.envelope("report", "ok" if code == EXIT_OK else "infeasible", code,
                             serving=_fields(r),
                             report={"html": str(output), "bytes": len(html.encode("utf-8"))}))
    else:
        print(f"wrote {output} ({len(html.encode('utf-8')) / 1e3:,.0f} kB, serving only)")
        if code != EXIT_OK:
            err(f"the serving fleet misses its target: {r.binding} "
                f"(the report shows it: {output})", "infeasible")
    return code


# --------------------------------------------------------------------------------------------------- schema
def schema_cmd(output, json_out):
    with guarded("schema", json_out):
        import json

        from ..scenario import json_schema
        text = json.dumps(json_schema(), indent=2) + "\n"
        if output:
            from ..report import atomic_write
            atomic_write(output, text)
            print(f"wrote {output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    _finish(EXIT_OK)


__all__ = ["eval_cmd", "train_cmd", "optimize_cmd", "validate_cmd", "report_cmd", "schema_cmd",
           "EXIT_BAD_INPUT", "EXIT_CONSTRAINT", "EXIT_INFEASIBLE", "one_line"]
