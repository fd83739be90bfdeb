"""Energy, carbon and cost columns of swept rows (the physics of SustainabilityModel and EconomicsModel, applied
to arrays), and the names of objectives and constraints."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, unknown

# objective name -> (column, sense): "min" or "max"
OBJECTIVES = {
    "time_to_train": ("time_to_train_days", "min"), "step_time": ("step_s", "min"),
    "cost": ("cost_usd", "min"), "carbon": ("carbon_t", "min"), "carbon_market": ("carbon_market_t", "min"),
    "carbon_total": ("carbon_total_t", "min"), "energy": ("energy_mwh", "min"), "water": ("water_m3", "min"),
    "gpu_hours": ("gpu_hours", "min"), "memory": ("memory_gb", "min"), "mfu": ("mfu", "max"),
    "throughput": ("tokens_per_s", "max"),
}
# columns produced by RunCosts (present only when the sweep has datacenters)
SUSTAIN_COLUMNS = ("power_kw", "energy_mwh", "it_energy_mwh", "carbon_t", "carbon_market_t", "embodied_t",
                   "carbon_total_t", "water_m3", "capex_amortized_usd", "energy_usd", "maintenance_usd", "cost_usd")

# constraint name -> (column, bound kind): "max" means column <= value, "min" means column >= value
CONSTRAINTS = {
    "deadline_days": ("time_to_train_days", "max"), "budget_usd": ("cost_usd", "max"),
    "carbon_t": ("carbon_t", "max"), "carbon_market_t": ("carbon_market_t", "max"),
    "energy_mwh": ("energy_mwh", "max"), "memory_headroom": ("memory_headroom", "min"),
    "min_mfu": ("mfu", "min"), "max_step_s": ("step_s", "max"), "max_nodes": ("nodes", "max"),
    "max_gpus": ("accelerators", "max"),  # a scenario file's name for it (was unknown in Python)
}


def objective_column(name: str, available=None) -> tuple[str, str]:
    """(column, 'min'|'max') for an objective name, or a column name itself ('-col' maximises it)."""
    from .result import MAXIMIZE
    if not isinstance(name, str) or not name:
        raise ConfigError(f"objective must be a name such as 'time_to_train' or 'cost', got {name!r}")
    if name in OBJECTIVES:
        col, sense = OBJECTIVES[name]
    else:
        col, sense = (name[1:], "max") if name.startswith("-") else (name, "max" if name in MAXIMIZE else "min")
        if available is not None and col not in available and col not in SUSTAIN_COLUMNS:
            raise _unknown_objective(name, available)
    if available is not None and col not in available:
        if col in SUSTAIN_COLUMNS:
            raise ConfigError(f"objective {name!r} needs energy/carbon/cost columns: pass datacenters=[...] "
                              f"(e.g. Infrastructure.Datacenters.GCP_Iowa) to the sweep")
        raise _unknown_objective(name, available)
    return col, sense


def _unknown_objective(name: str, available) -> ConfigError:
    """The named objectives first ('time' -> time_to_train, not optimizer_s), then close sweep columns; the
    message always lists the named objectives (it offered 'water' for 'latency')."""
    import difflib

    from ..errors import UnknownNameError
    from .result import _CATEGORICAL, _HIDDEN
    low, names = name.lstrip("-").lower(), list(OBJECTIVES)
    if low in _CATEGORICAL or low == "reason":  # a label: it was answered "did you mean fleet_id?" (a stored code)
        return UnknownNameError(f"'{low}' is a label, not a number to rank by: choose the rows with it instead "
                                f"(res[res['{low}'] == ...]) and give a numeric objective, e.g. {', '.join(names[:4])}")
    available = [c for c in available if c not in _HIDDEN]
    close = [n for n in names if n.startswith(low)] + difflib.get_close_matches(low, names, 3, 0.6) \
        + [n for n in names if low in n]
    if not close:
        cols = [c for c in available if c not in names]
        close = difflib.get_close_matches(low, cols, 3, 0.6) + [c for c in cols if low in c]
    close = list(dict.fromkeys(close))[:3]
    hint = f"did you mean {', '.join(close)}? " if close else ""
    return UnknownNameError(f"unknown objective '{name}'; {hint}objectives: {', '.join(names)}, or a column of "
                            f"the sweep (e.g. 'step_s'; '-column' maximises it)")


_SUFFIX_UNITS = (("_per_s", "1/s"), ("_days", "day"), ("_usd", "USD"), ("_t", "t"), ("_mwh", "MWh"), ("_gb", "GB"),
                 ("_kw", "kW"), ("_m3", "m**3"), ("_s", "s"))


def column_unit(col: str) -> str:
    """The unit a sweep column's number is in, from its name (a bound may be a quantity: Q(30, 'day'))."""
    return next((u for suffix, u in _SUFFIX_UNITS if col.endswith(suffix)), "")


def parse_constraints(constraints, available) -> list[tuple[str, str, str, float]]:
    """[(name, column, 'max'|'min', bound)]. Keys: those in CONSTRAINTS, or 'max_<column>' / 'min_<column>'.
    Contradictions (a minimum above a maximum on one column, a headroom >= 1) raise ConfigError."""
    from ..units import si
    if constraints is None:
        return []
    if not isinstance(constraints, dict):
        raise ConfigError(f"constraints must be a dict such as {{'deadline_days': 90, 'budget_usd': 5e7}}, "
                          f"got {constraints!r}")
    out = []
    for name, value in constraints.items():
        if name in CONSTRAINTS:
            col, kind = CONSTRAINTS[name]
        elif isinstance(name, str) and name[:4] in ("max_", "min_") and name[4:] in available:
            col, kind = name[4:], name[:3]
        else:
            raise unknown("constraint", name, list(CONSTRAINTS) + [f"max_{c}" for c in ("cost_usd", "energy_mwh")])
        if col not in available:
            hint = (" pass datacenters=[...] to the sweep" if col in SUSTAIN_COLUMNS else "")
            raise ConfigError(f"constraint {name!r} needs the column {col!r}, which this sweep lacks;{hint}")
        bound = si(value, column_unit(col), f"constraint {name}", positive=False)
        if name == "memory_headroom" and not 0 <= bound < 1:
            raise ConfigError(f"memory_headroom is the share of device memory to leave free, in [0, 1); got {bound}")
        if kind == "max" and bound < 0 and col not in ("memory_headroom",):  # 0 is legal: no recompute, no bubble
            raise ConfigError(f"constraint {name}={bound:g} cannot be met: {col} is never negative; give a positive "
                              f"bound (or 0: none at all)")
        out.append((name, col, kind, bound))
    by_col = {}
    for name, col, kind, bound in out:
        by_col.setdefault(col, {}).setdefault(kind, []).append((name, bound))
    for col, kinds in by_col.items():
        if "max" in kinds and "min" in kinds:
            hi = min(kinds["max"], key=lambda t: t[1])
            lo = max(kinds["min"], key=lambda t: t[1])
            if lo[1] > hi[1]:
                raise ConfigError(f"contradictory constraints: {lo[0]}={lo[1]:g} asks {col} >= {lo[1]:g} but "
                                  f"{hi[0]}={hi[1]:g} asks {col} <= {hi[1]:g}")
    return out


class RunCosts:
    """Adds energy, carbon, water and cost columns to a chunk of swept rows, per (fleet, datacenter), using the
    physics functions SustainabilityModel and EconomicsModel call (physics.power, physics.carbon, physics.cost)
    on arrays. Each value equals what `SustainabilityModel().solve(performance=perf, datacenter=dc)` and
    `EconomicsModel().solve(performance=perf, datacenter=dc)` report for that row (tests check it)."""

    def __init__(self, fleets, datacenters):
        from ..physics import carbon as PC
        from ..physics import cost as PX
        from ..solvers.sustainability import DEFAULT_TRAINING_MFU, accelerator_idle_w, fleet_power
        self.fleet_consts = []
        for fleet in fleets:
            acc, node = fleet.node.accelerator, fleet.node
            power, _, _ = fleet_power(fleet, DEFAULT_TRAINING_MFU)  # hosts and network do not depend on MFU
            c = dict(n=float(fleet.total_accelerators), tdp=acc.tdp_w, hosts_w=power["hosts"],
                     network_w=power["network"],
                     idle=accelerator_idle_w(acc), measured=acc.measured_system_w or 0.0,
                     emb_acc=fleet.total_accelerators * (acc.embodied_kgco2e or 0.0),
                     emb_srv=fleet.count * (node.embodied_kgco2e or 0.0))
            if acc.price_usd:
                from ..solvers._capex import fleet_capex, split_it_facility
                c["capex_it"], c["capex_fac"] = split_it_facility(fleet_capex(fleet, acc.price_usd)[0])
                c["capex"] = c["capex_it"] + c["capex_fac"]
            else:  # no price in the registry: cost unknown (EconomicsModel raises)
                c["capex"] = c["capex_it"] = c["capex_fac"] = np.nan
            self.fleet_consts.append(c)
        self.dc = {k: np.array([getattr(dc, k) for dc in datacenters], float)
                   for k in ("pue", "wue_l_per_kwh", "contractual_fraction")}
        self.dc["residual"] = np.array([dc.market_residual_gco2_per_kwh for dc in datacenters], float)
        # a site without an electricity price: energy cost unknown, NaN (EconomicsModel raises for it)
        self.dc["electricity_usd_per_kwh"] = np.array([dc.electricity_usd_per_kwh or np.nan for dc in datacenters])
        self.dc["gco2"] = np.array([dc.grid.gco2_per_kwh for dc in datacenters], float)
        self.dc["grid_water"] = np.array([dc.grid.water_l_per_kwh or 0.0 for dc in datacenters], float)
        self.life_s = PC.SERVICE_LIFE_S
        self.dep_life_s, self.fac_life_s = PX.DEPRECIATION_LIFE_S, PX.FACILITY_LIFE_S
        self.maint = PX.MAINTENANCE_FRACTION_PER_YEAR

    def columns(self, cols, plan) -> dict:
        from ..physics import carbon as PC
        from ..physics import cost as PX
        from ..physics import power as PP
        n_rows = len(cols["config_id"])
        if n_rows == 0:
            return {k: np.empty(0) for k in SUSTAIN_COLUMNS}
        c = self.fleet_consts[int(cols["fleet_id"][0])]  # a chunk belongs to one group, hence one fleet
        dc = cols["datacenter_id"]
        pue, price, wue = self.dc["pue"][dc], self.dc["electricity_usd_per_kwh"][dc], self.dc["wue_l_per_kwh"][dc]
        dur = cols["time_to_train_days"] * PP.SECONDS_PER_DAY
        mfu = cols["mfu"]
        acc_w = PP.fleet_power_w(mfu, c["n"], c["tdp"], c["idle"], 0.0, 0.0, 0.0, 0.0, c["measured"])["accelerators"]
        it_w = acc_w + c["hosts_w"] + c["network_w"]
        it_j = PP.energy_j(it_w, dur)
        fac_j = PP.facility_energy_j(it_j, pue)
        loc = PC.location_based_kg(fac_j, self.dc["gco2"][dc])
        market = PC.market_based_kg(fac_j, self.dc["residual"][dc], self.dc["contractual_fraction"][dc])
        emb = PC.embodied_amortized_kg(c["emb_acc"], dur, self.life_s) + \
            PC.embodied_amortized_kg(c["emb_srv"], dur, self.life_s)
        water = PC.water_l(it_j, wue) + PC.water_l(0.0, 0.0, fac_j, self.dc["grid_water"][dc])
        amort = PX.amortized_parts_usd(c["capex_it"], c["capex_fac"], dur, self.dep_life_s, self.fac_life_s)
        energy_usd = PX.energy_cost_usd(fac_j, price)
        maint = PX.maintenance_usd(c["capex"], dur, self.maint)
        kwh = PP.J_PER_KWH
        return {"power_kw": it_w * pue / 1e3, "energy_mwh": fac_j / kwh / 1e3, "it_energy_mwh": it_j / kwh / 1e3,
                "carbon_t": loc / 1e3, "carbon_market_t": market / 1e3, "embodied_t": emb / 1e3,
                "carbon_total_t": (loc + emb) / 1e3, "water_m3": water / 1e3, "capex_amortized_usd": amort,
                "energy_usd": energy_usd, "maintenance_usd": maint, "cost_usd": amort + energy_usd + maint}


def require_prices(plan, columns):
    """Refuse (as EconomicsModel does) a cost objective or constraint where a price it needs is unknown: an
    accelerator without a registry price, a site without an electricity price."""
    if plan.sustain is None:
        return
    for col in columns:
        if col in ("cost_usd", "capex_amortized_usd", "maintenance_usd", "cost_with_carbon_usd") and \
                any(np.isnan(c["capex"]) for c in plan.sustain.fleet_consts):
            bad = [f for f, c in zip(plan.fleets, plan.sustain.fleet_consts) if np.isnan(c["capex"])]
            chips = list(dict.fromkeys(f.node.accelerator.name for f in bad))  # one name per chip, not per size
            names = ", ".join(f.name for f in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            raise ConfigError(f"cost needs an accelerator price; none in the registry for the {', '.join(chips)} "
                              f"({names}); give one with Node(accelerator=dataclasses.replace(<chip>, "
                              f"price_usd=...), ...), or optimise time or carbon")
        if col in ("cost_usd", "cost_with_carbon_usd", "energy_usd") and \
                np.isnan(plan.sustain.dc["electricity_usd_per_kwh"]).any():
            bad = [d.name for d, p in zip(plan.datacenters, plan.sustain.dc["electricity_usd_per_kwh"]) if np.isnan(p)]
            raise ConfigError(f"{col} needs an electricity price; none for the site(s): {', '.join(bad)}; set "
                              f"Datacenter.electricity_usd_per_kwh (e.g. replace(dc, electricity_usd_per_kwh=0.08)) "
                              f"or leave those sites out")


def run_costs(fleets, datacenters):
    """A RunCosts for the sweep, or None when no datacenter is given (performance columns only)."""
    if not datacenters:
        return None
    return RunCosts(fleets, datacenters)
