"""`mlsysim regions SCENARIO.yaml`: the scenario's run at its datacenter on several grids (the tutorial's
geography table), with each region's own site (PUE, water, price) beside it."""
from __future__ import annotations

from ._common import STATUS_CODE, Failure, emit_json, err, guarded


def regions_cmd(path, grids, sets, plots, fmt, json_out, width=None):
    import shutil

    from .commands import _finish, _save_plots, _scenario, _status_message
    code = 0  # guarded() exits with its own code on an error
    with guarded("regions", json_out):
        sc = _scenario(path, [], sets)
        if sc.datacenter is None:
            raise Failure(f"{sc.where('datacenter')}regions needs a `datacenter:` (the facility every grid is "
                          f"tried at), e.g. datacenter: US_Colo")
        from ..report.serving_report import serving_only_note
        note = serving_only_note(sc, path, "the training run in this table")
        if note:
            err(note, "note")
        out = sc.evaluate()  # the scenario's own constraints are checked as `train` checks them
        perf = out.performance
        from ..solvers.regions import regions
        names = _split(grids)
        if grids and not names:  # `-g ""` printed the default four as if asked for them
            raise Failure("--grid is empty: give grid or datacenter names, e.g. --grid Quebec,Poland (or omit "
                          "--grid for the tutorial's four regions)")
        res = regions(perf, sc.datacenter, names or None)
        saved = _save_plots({"regions": res.figure()}, plots, fmt) if plots else {}
        feasible = bool(getattr(perf, "feasible", True))
        code = STATUS_CODE[out.status]
        if json_out:
            from ._json import constraints, envelope
            emit_json(envelope("regions", out.status, code,
                               facility=sc.datacenter.name, facility_pue=sc.datacenter.pue,
                               energy_mwh=res.energy_mwh, ratio_dirtiest_to_cleanest=res.ratio, feasible=feasible,
                               constraints=constraints(out.checks), regions=res.to_rows(), plots=saved))
        else:
            cols = width or shutil.get_terminal_size((80, 24)).columns
            print(res.table(max(60, min(cols, 120))))
            for name, p in saved.items():
                print(f"plot {name}: {p}")
        if not feasible:
            err("the layout does not fit in device memory: these are the numbers of a plan that cannot run",
                "infeasible")
        elif out.status != "ok":  # a deadline, budget, carbon or memory limit of the scenario: exit 3 as `train`
            err(_status_message(out.status, out.checks), "constraint")
    _finish(code)


def _split(grids) -> list:
    """--grid may repeat or hold a comma-separated list; a name given twice is one row (it printed twice)."""
    return list(dict.fromkeys(g.strip() for item in grids or [] for g in item.split(",") if g.strip()))
