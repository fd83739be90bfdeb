"""The data behind the plots, computed with the solvers (no formula of their own): scaling curves, carbon by
grid region, and a Pareto front from the explorer. Each returns plain rows (dicts with units in the keys)."""
from __future__ import annotations

import dataclasses


def _pow2_counts(lo: int, hi: int) -> list[int]:
    out, c = [], 1
    while c <= hi:
        if c >= lo:
            out.append(c)
        c *= 2
    return out


def scaling(performance, *, node_counts=None, max_factor: int = 8, progress=None) -> list[dict]:
    """Strong scaling of a run: the same workload, layout (tp, pp, cp, ...) and global batch on fleets of more or
    fewer nodes; dp takes the rest. Rows: nodes, gpus, dp, global_batch_size, time_to_train_days, step_time_s,
    mfu, speedup (vs the smallest fleet), scaling_efficiency (DistributedModel's: compute time / step time),
    feasible, current (the scenario's fleet).

    Points stop where dp x microbatch exceeds the global batch (the batch can no longer be split)."""
    from ..solvers.distributed import DistributedModel
    from ..systems.system import Fleet
    p = performance
    f, L = p.fleet, dict(p.layout)
    gpn = f.node.accelerators_per_node
    fixed = L["tp_size"] * L["pp_size"] * L["cp_size"]
    lo = max(1, -(-fixed // gpn))
    if node_counts is None:
        node_counts = sorted(set(_pow2_counts(lo, f.count * max_factor)) | {f.count})
    gbs, mb = L["global_batch_size"], L["microbatch_size"]
    kw = {k: L[k] for k in ("tp_size", "pp_size", "cp_size", "ep_size", "microbatch_size", "precision",
                            "recompute", "zero_stage", "interleave", "flash_attention", "sequence_parallel",
                            "dp_overlap", "seq_len")}
    straggler = p.assumptions.get("straggler CV per rank")
    rows = []
    for n in node_counts:
        if progress:
            progress()
        g = n * gpn
        if g % fixed:
            continue
        dp = g // fixed
        if dp * mb > gbs:
            break
        batch = gbs if gbs % (dp * mb) == 0 else max(1, round(gbs / (dp * mb))) * dp * mb
        fl = f if n == f.count else Fleet(node=f.node, count=n, fabric=f.fabric, name=f"{n}x {f.node.name}")
        try:
            r = DistributedModel().solve(model=p.model, fleet=fl, global_batch_size=batch, tokens=p.tokens,
                                         straggler_cv=straggler, **kw)
        except Exception:  # a layout rule this fleet size breaks (e.g. ep vs dp): skip the point
            continue
        rows.append(dict(nodes=n, gpus=g, dp=dp, global_batch_size=batch, time_to_train_days=r.time_to_train_s / 86400,
                         step_time_s=r.step_s, mfu=r.mfu, scaling_efficiency=r.scaling_efficiency, feasible=bool(r.feasible), current=n == f.count,
                         memory_total_gb=sum(r.memory_bytes.values()) / 1e9))
    if rows:
        ref = rows[0]
        for r in rows:
            r["speedup"] = ref["time_to_train_days"] / r["time_to_train_days"]
    return rows


def basis_class(basis: str | None) -> str:
    """The family of a grid intensity's basis: 'lifecycle', 'direct' (combustion/operational) or 'as published'
    (a paper's or the tutorial's figure, basis as its source used it). Bars of different families never share
    one label."""
    b = (basis or "").lower()
    if "lifecycle" in b:
        return "lifecycle"
    if "direct" in b or "combustion" in b:
        return "direct"
    return "as published"


def regions(performance, datacenter, *, grids=None, progress=None) -> list[dict]:
    """The same run (same fleet, same datacenter PUE) on every grid region: carbon from SustainabilityModel.
    Rows sorted from cleanest: grid_key, grid, country, gco2_per_kwh, basis, basis_class, year, carbon_t,
    current."""
    from ..infrastructure.registry import Infrastructure
    from ..solvers.sustainability import SustainabilityModel
    grids = list(Infrastructure.Grids) if grids is None else grids
    rows = []
    for g in grids:
        if progress:
            progress()
        dc = dataclasses.replace(datacenter, grid=g, name=f"{datacenter.name} on {g.name}")
        s = SustainabilityModel().solve(performance=performance, datacenter=dc)
        rows.append(dict(grid_key=g.key, grid=g.name, country=g.country, gco2_per_kwh=g.gco2_per_kwh,
                         basis=g.basis, basis_class=basis_class(g.basis), year=g.year, carbon_t=s.carbon_footprint,
                         current=g == datacenter.grid))
    rows.sort(key=lambda r: r["carbon_t"])
    return rows


def pareto_front(scenario, performance, *, x: str = "time_to_train_days", y: str | None = None,
                 current=None, max_points: int = 4000, progress=None) -> dict:
    """The scenario's design space (its `search` section, else layouts, micro-batch, ZeRO and node counts
    around it; `Scenario.sweep_kwargs`) swept with the explorer, and the Pareto front on (x, y); y defaults to
    cost_usd with a datacenter, else gpu_hours. Returns {x, y, points: [(x, y)] (a sample of the feasible ones),
    front: [row dicts], evaluated, current: the scenario's (x, y) as given}. ImportError without the explorer."""
    from .. import explore
    kw = scenario.sweep_kwargs()
    y = y or ("cost_usd" if "datacenters" in kw else "gpu_hours")
    res = explore.sweep(performance.model, keep="feasible", progress=False, **kw)
    if progress:
        progress()
    if len(res) == 0:
        return dict(x=x, y=y, points=[], front=[], current=current, evaluated=res.evaluated)
    xs, ys = res[x].astype(float), res[y].astype(float)
    step = max(1, len(xs) // max_points)
    front = explore.pareto(res, (x, y))
    return dict(x=x, y=y, points=list(zip(xs[::step].tolist(), ys[::step].tolist())),
                front=[front[i] for i in range(len(front))], evaluated=res.evaluated, current=current)
