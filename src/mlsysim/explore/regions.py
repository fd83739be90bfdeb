"""Searches built on optimize's streaming search: the smallest fleet that meets a deadline, and the best region for
a run given a carbon price (with the concatenation of per-region results)."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, InfeasibleError
from .optimize import OptimizeResult, _explain, _finish, _search
from .result import SweepResult
from .sweep import result_of


class _CarbonPriced:
    """Derived columns: carbon_cost_usd = price x carbon (location- or market-based); cost_with_carbon_usd."""

    def __init__(self, usd_per_t, basis="location"):
        self.usd_per_t, self.col = usd_per_t, {"location": "carbon_t", "market": "carbon_market_t"}[basis]

    def __call__(self, cols):
        cc = self.usd_per_t * cols[self.col]
        return {"carbon_cost_usd": cc, "cost_with_carbon_usd": cols["cost_usd"] + cc}



def _default_counts(max_nodes):
    out = set()
    p = 1
    while p <= max_nodes:
        out.add(p)
        if 3 * p // 2 <= max_nodes and p >= 2:
            out.add(3 * p // 2)
        p *= 2
    return sorted(out)


def smallest_fleet(model, node, fabric, deadline_days, *, counts=None, max_nodes=4096, minimize="nodes",
                   datacenters=None, constraints=None, runners_up=5, batch_tolerance=0.25,
                   **sweep_kwargs) -> OptimizeResult:
    """The smallest fleet of `node`s on `fabric` (or the cheapest plan, minimize="cost") that trains `model`
    within `deadline_days`, with its best layout. `counts`: the node counts to try (default 1, 2, 3, 4, 6, 8, 12,
    ... up to `max_nodes`); every count is evaluated, so no monotonicity is assumed. `batch_tolerance`: as in
    optimize().

        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import smallest_fleet
        >>> plan = smallest_fleet(Models.Language.Llama3_70B, Systems.Nodes.DGX_H100, Systems.Fabrics.InfiniBand_NDR,
        ...                       deadline_days=60, tp=[4, 8], pp=[1, 2, 4, 8])
        >>> plan.best["time_to_train_days"] <= 60
        True
    """
    from ..units import count, si
    from .sweep import fleet_grid
    deadline = si(deadline_days, "day", "deadline_days")
    counts = _default_counts(count(max_nodes, "max_nodes")) if counts is None else counts
    fleets = fleet_grid(node, counts, fabric)
    cons = dict(constraints or {})
    if "deadline_days" in cons:
        raise ConfigError("give the deadline once: deadline_days=..., not also in constraints")
    cons["deadline_days"] = deadline
    if minimize == "nodes":
        objective = ("nodes", "time_to_train")
    elif minimize == "cost":
        if datacenters is None:
            raise ConfigError("minimize='cost' needs datacenters=[...] (electricity price, PUE)")
        objective = ("cost_usd",)
    else:
        from ..errors import unknown
        raise unknown("minimize option", minimize, ("nodes", "cost"))
    out, keys, cons_l, plan = _search(model, objective, cons, runners_up,
                                      dict(sweep_kwargs, fleets=fleets, datacenters=datacenters),
                                      batch_tolerance=batch_tolerance)
    return _finish(out, keys, cons_l, plan, f"smallest fleet ({minimize}) within {deadline:g} days")


def best_region(model, fleet, datacenters=None, *, carbon_price_usd_per_t=0.0, carbon_basis="location",
                constraints=None, batch_tolerance=0.25, **sweep_kwargs) -> SweepResult:
    """Rank regions for a run by cost + carbon price x carbon, the layout re-optimised in each region.

    `fleet`: one fleet for every region, or {datacenter (or its name): fleet} where regions differ in hardware.
    Returns a SweepResult with one row per region (its best layout), best first, with `carbon_cost_usd` and
    `cost_with_carbon_usd` columns. Regions where nothing satisfies the constraints are left out (an
    InfeasibleError if none remain). `batch_tolerance`: as in optimize().

        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import best_region
        >>> r = best_region(Models.Language.Llama3_70B, Systems.Clusters.Research_256, ["GCP_Iowa"],
        ...                 carbon_price_usd_per_t=100, tp=[8], pp=[1, 2, 4])
        >>> r[0]["datacenter"].startswith("Google")
        True
    """
    from ..units import si
    from ._plan import resolve_datacenters
    price = si(carbon_price_usd_per_t, "", "carbon_price_usd_per_t", allow_zero=True)
    if carbon_basis not in ("location", "market"):
        from ..errors import unknown
        raise unknown("carbon basis", carbon_basis, ("location", "market"))
    if isinstance(fleet, dict):
        pairs = [(resolve_datacenters([dc])[0], fl) for dc, fl in fleet.items()]
        if datacenters is not None:
            raise ConfigError("give the regions either as datacenters=[...] or as the keys of fleet={dc: fleet}")
    else:
        dcs = resolve_datacenters(datacenters)
        if not dcs:
            raise ConfigError("best_region: give at least one datacenter")
        pairs = [(dc, fleet) for dc in dcs]
    derive = _CarbonPriced(price, carbon_basis)
    extra = ("carbon_cost_usd", "cost_with_carbon_usd")
    rows, failures = [], []
    for dc, fl in pairs:
        out, keys, cons, plan = _search(model, "cost_with_carbon_usd", constraints, 0,
                                        dict(sweep_kwargs, fleets=[fl], datacenters=[dc]), derive, extra,
                                        batch_tolerance)
        if out["cols"] and len(out["cols"]["config_id"]):
            rows.append(result_of(plan, out["cols"]))
        else:
            failures.append(f"{dc.name}: " + _explain(out["stats"], cons, keys))
    if not rows:
        raise InfeasibleError("no region can run it:\n" + "\n".join(failures))
    if failures:  # a region asked for and missing from the table, with no word of why
        import warnings

        from ..errors import InfeasibleResultWarning
        why = ["; ".join(x.strip() for x in f.splitlines()[1:-1]) or f.splitlines()[0] for f in failures]
        warnings.warn("best_region left out " + " | ".join(f"{f.split(': no configuration')[0]} ({w})"
                                                            for f, w in zip(failures, why))
                      + ": nothing there satisfies the constraints", InfeasibleResultWarning, stacklevel=2)
    return concat(rows).sort("cost_with_carbon_usd")


def concat(results) -> SweepResult:
    """One SweepResult from several (their fleets, precisions and datacenters merged, codes remapped)."""
    results = list(results)
    if not results:
        raise ConfigError("concat: nothing to concatenate")
    fleets, precs, dcs = [], [], []
    parts = []
    for r in results:
        cols = dict(r._cols)
        for attr, lst, key in (("fleets", fleets, "fleet_id"), ("precisions", precs, "precision_id"),
                               ("datacenters", dcs, "datacenter_id")):
            items = getattr(r, attr)
            remap = []
            for it in items:
                if it not in lst:
                    lst.append(it)
                remap.append(lst.index(it))
            if key in cols and remap:
                cols[key] = np.asarray(remap, np.int16)[cols[key]]
        parts.append(cols)
    keys = parts[0].keys()
    for p in parts[1:]:
        if p.keys() != keys:
            raise ConfigError("concat: the results have different columns")
    merged = {k: np.concatenate([p[k] for p in parts]) for k in keys}
    r0 = results[0]
    return SweepResult(merged, model=r0.model, fleets=fleets, precisions=precs, datacenters=dcs,
                       settings=r0.settings, evaluated=sum(r.evaluated for r in results))
