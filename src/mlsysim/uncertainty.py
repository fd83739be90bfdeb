"""Honest uncertainty: give the inputs that are really uncertain as ranges, get a median and an interval.

    >>> from mlsysim import Models, Systems, DistributedModel
    >>> from mlsysim.uncertainty import UncertaintyModel
    >>> perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
    ...                                 tp_size=8, pp_size=1, zero_stage=2)
    >>> mc = UncertaintyModel().solve(performance=perf, ranges={"matmul_efficiency_scale": (0.9, 1.05),
    ...                                                         "failure_rate_scale": ("loguniform", 0.5, 2)},
    ...                               samples=1000, seed=0)
    >>> lo, mid, hi = mc.interval("mfu")
    >>> lo <= mid <= hi
    True

Vectorised Monte Carlo: every sample goes through the same physics as the scalar solvers in one numpy pass
(physics.training.evaluate for the step, physics.reliability for failures and checkpoints, physics.power /
carbon / cost for energy, carbon and cost when a datacenter is given). Seeded: the same seed gives the same
numbers.

A range is (low, high) (uniform), ("uniform", low, high), ("loguniform", low, high), ("lognormal", p5, p95),
("triangular", low, mode, high), a single number (held fixed), or a 1-D numpy array of draws (resampled).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ConfigError, unexpected_keywords, unknown
from .uncertainty_ranges import DEFAULT_RANGES, PARAMETERS, draw, parse_range  # noqa: F401  (public here)
from .solvers._common import INFEASIBLE_ROW, TableRepr, carried_feasibility

# The most samples one call may draw: ~18 float64 arrays per sample (draws, metrics, intermediates) make 10**6
# samples ~150 MB, within any laptop; more would only refine percentiles that 2,000 samples already give to ~1 %.
MAX_SAMPLES = 1_000_000

METRICS = {  # name: (unit, description)
    "time_to_train": ("day", "effective time to train (failures included)"),
    "useful_time": ("day", "failure-free time to train"),
    "step_time": ("s", "step time"),
    "mfu": ("", "MFU while computing"),
    "goodput": ("", "goodput (useful / wall time)"),
    "effective_mfu": ("", "MFU over the wall time"),
    "interruptions": ("", "expected interruptions"),
    "energy": ("MWh", "facility energy"),
    "carbon": ("t", "operational carbon CO2e, location-based"),
    "cost": ("USD", "cost of ownership for the run"),
}


# --------------------------------------------------------------------------------------- re-evaluating a result
def evaluate_performance(perf, *, ceiling_scale=1.0, bandwidth_scale=1.0, straggler_cv=None):
    """Re-run a DistributedModel result's exact configuration through physics.training.evaluate with the matmul
    ceiling, link bandwidths and straggler CV perturbed (floats or numpy arrays). scale 1 reproduces `perf`."""
    from .physics import constants as C
    from .physics.training import RECOMPUTE, evaluate, precision_bytes
    from .solvers.distributed import _dims, hardware_args

    for attr in ("model", "fleet", "layout", "tokens", "memory_capacity_bytes"):
        if not hasattr(perf, attr):
            raise ConfigError(f"performance must be a DistributedModel result, got {type(perf).__name__}")
    L = perf.layout
    hw = hardware_args(perf.fleet, L["precision"], L.get("stack"))
    hw["ceiling"] = hw["ceiling"] * ceiling_scale
    if hw["lin_ceiling"] is not None:
        hw["lin_ceiling"] = hw["lin_ceiling"] * ceiling_scale
    if hw["attn_eff"] is not None:
        hw["attn_eff"] = hw["attn_eff"] * ceiling_scale
    hw["su_bw"] = hw["su_bw"] * bandwidth_scale
    hw["ib_bw"] = hw["ib_bw"] * bandwidth_scale
    if straggler_cv is None:
        straggler_cv = float(perf.assumptions.get("straggler CV per rank", C.STRAGGLER_CV))
    bytes_el, bytes_grad = precision_bytes(L["precision"])
    return evaluate(_dims(perf.model), tp=float(L["tp_size"]), pp=float(L["pp_size"]), dp=float(L["dp_size"]),
                    cp=float(L["cp_size"]), ep=float(L["ep_size"]), mb=float(L["microbatch_size"]),
                    gbs=float(L["global_batch_size"]), seq=float(L["seq_len"]), v=float(L["interleave"]),
                    recompute=RECOMPUTE[L["recompute"]], zero=L["zero_stage"], flash=bool(L["flash_attention"]),
                    sp=bool(L["sequence_parallel"]), tokens=perf.tokens, capacity=perf.memory_capacity_bytes,
                    bytes_el=bytes_el, bytes_grad=bytes_grad, dp_overlap=1.0 if L["dp_overlap"] else 0.0,
                    tp_overlap=float(L["tp_overlap"]), ep_overlap=float(L["ep_overlap"]),
                    straggler_cv=straggler_cv, hw=hw)


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class UncertaintyResult(TableRepr):
    """Monte Carlo summary: for each metric the median and a central interval (default 90 %: 5th-95th
    percentile), the deterministic point estimate, and the samples themselves (numpy arrays)."""

    performance: object
    samples_n: int
    seed: object
    level: float
    ranges: dict                 # name -> (kind, values) actually used
    draws: dict                  # name -> np.ndarray of input draws
    samples: dict                # metric -> np.ndarray
    point: dict                  # metric -> deterministic estimate (inputs at their nominal values)
    stats: dict                  # metric -> (low, median, high)
    assumptions: dict = field(default_factory=dict)
    feasible: bool = True        # False when built from an infeasible performance result

    def interval(self, metric: str):
        """(low, median, high) of a metric as plain floats in its unit (METRICS)."""
        if metric not in self.stats:
            raise unknown("metric", metric, self.stats)
        return self.stats[metric]

    def quantity(self, metric: str):
        """(low, median, high) as pint quantities."""
        from .units import Q
        unit = METRICS[metric][0] or ""
        return tuple(Q(v, unit) for v in self.interval(metric))

    @property
    def latency(self):
        """Median effective time to train (pint)."""
        from .units import Q
        return Q(self.stats["time_to_train"][1], "day")

    def _title(self):
        return f"Uncertainty: {self.performance.model.name} on {self.performance.fleet.name}"

    def _rows(self):
        pct = f"{self.level:.0%}"
        rows = [] if self.feasible else [INFEASIBLE_ROW]
        rows.append(("metric", f"median  [{pct} interval]  (point estimate)"))
        for k, (lo, mid, hi) in self.stats.items():
            unit = METRICS[k][0]
            rows.append((f"{METRICS[k][1]}{' (' + unit + ')' if unit else ''}",
                         f"{mid:.4g}  [{lo:.4g}, {hi:.4g}]  ({self.point[k]:.4g})"))
        rows.append(("samples / seed", f"{self.samples_n} / {self.seed}"))
        for name, (kind, vals) in self.ranges.items():
            shown = f"{len(vals)} draws" if kind == "empirical" else ", ".join(f"{v:g}" for v in vals)
            rows.append((f"input {name}", f"{kind} {shown}"))
        return rows


class UncertaintyModel:
    """Vectorised Monte Carlo over the uncertain inputs of a training run.

    solve(performance=perf, ranges={...}, datacenter=None, samples=2000, seed=0):
    - `ranges`: name -> range (see module doc); names in PARAMETERS. None: DEFAULT_RANGES (matmul efficiency,
      straggler CV, failure rates, relaunch time). Inputs not named stay at their nominal values.
    - `goodput` (default True): include failures, checkpoints and restarts (physics.reliability, Daly-optimal
      interval unless `checkpoint_interval` is given; `failure_rates`, `storage_bw`, `relaunch_time` as in
      GoodputModel give the nominal values the scales multiply; a GoodputResult as `performance` brings its own,
      interval rule and restart time included); False: failure-free time.
    - `datacenter` (Datacenter or registry name): adds energy, carbon and cost; its PUE, grid intensity and
      electricity price are the nominal values for the ranges "pue", "grid_gco2_per_kwh", "electricity_usd_per_kwh".
    """

    def solve(self, performance=None, ranges=None, *, datacenter=None, samples: int = 2000, seed=0,
              level: float = 0.90, goodput: bool = True, checkpoint_interval=None, failure_rates=None,
              storage_bw=None, relaunch_time=None, **unexpected) -> UncertaintyResult:
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        from .physics import reliability as R
        from .units import count, flag, si

        perf, carried = performance, {}
        if perf is not None and hasattr(perf, "performance") and hasattr(perf, "goodput"):
            carried = dict(getattr(perf, "inputs", {}))  # a GoodputResult: its failure, checkpoint, restart inputs
            perf = perf.performance                       # are the nominal values, on its underlying run
        if perf is None or not all(hasattr(perf, a) for a in ("model", "fleet", "layout", "tokens", "steps")):
            raise ConfigError(f"UncertaintyModel: give performance=<DistributedModel result>, got "
                              f"{type(perf).__name__}")
        if seed is not None and not isinstance(seed, np.random.Generator):
            seed = count(seed, "seed", minimum=0)
        n = count(samples, "samples", minimum=10)
        if n > MAX_SAMPLES:
            arrays = len(METRICS) + 8
            raise ConfigError(f"samples={n:,} exceeds the limit of {MAX_SAMPLES:,} (each sample keeps ~{arrays} "
                              f"float arrays: {n * arrays * 8 / 1e9:.3g} GB); use samples <= {MAX_SAMPLES:,} "
                              f"(2,000 give the 5th-95th percentiles to about a percent)")
        goodput = flag(goodput, "goodput")
        lvl = si(level, "", "level")
        if not (0 < lvl < 1):
            raise ConfigError(f"level must be in (0, 1) (e.g. 0.9 for a 90 % interval), got {lvl}")
        ranges = DEFAULT_RANGES if ranges is None else ranges
        if not isinstance(ranges, dict):
            raise ConfigError("ranges must be a dict of input name -> (low, high) or a distribution, e.g. "
                              "{'pue': (1.08, 1.2)}")
        parsed = {k: parse_range(k, v) for k, v in ranges.items()}
        needs_dc = {"pue", "grid_gco2_per_kwh", "electricity_usd_per_kwh", "price_scale"} & set(parsed)
        if needs_dc and datacenter is None:
            raise ConfigError(f"ranges {sorted(needs_dc)} need datacenter=... (energy, carbon and cost are only "
                              f"computed for a site)")
        if not goodput:
            bad = {"failure_rate_scale", "relaunch_time_s", "storage_bw_scale"} & set(parsed)
            if bad:
                raise ConfigError(f"ranges {sorted(bad)} only matter with goodput=True")
            ignored = [k for k, v in (("checkpoint_interval", checkpoint_interval), ("failure_rates", failure_rates),
                                      ("storage_bw", storage_bw), ("relaunch_time", relaunch_time)) if v is not None]
            if ignored:
                raise ConfigError(f"{', '.join(ignored)} only matter with goodput=True (failures and checkpoints); "
                                  f"omit them or set goodput=True")
        rng = np.random.default_rng(seed)
        draws = {k: draw(kind, vals, n, rng) for k, (kind, vals) in parsed.items()}
        if "matmul_efficiency_scale" in draws:  # an achieved ceiling above the peak made MFUs above 1
            from .solvers.distributed import hardware_args
            hw = hardware_args(perf.fleet, perf.layout["precision"], perf.layout.get("stack"))
            top = max(v for v in (hw["ceiling"], hw["lin_ceiling"], hw["attn_eff"]) if v is not None)
            hi = float(np.max(draws["matmul_efficiency_scale"]))
            if hi * top > 1.0 + 1e-9:
                raise ConfigError(f"range 'matmul_efficiency_scale': a scale of {hi:.4g} puts GEMMs above the chip's "
                                  f"peak (achieved ceiling {top:.3f} of peak x {hi:.4g} > 1, an MFU above 1); keep "
                                  f"it <= {1.0 / top:.4g}")

        def arr(name, nominal):
            return draws[name] if name in draws else np.full(n, float(nominal))

        def run(get):
            out = evaluate_performance(perf, ceiling_scale=get("matmul_efficiency_scale", 1.0),
                                       bandwidth_scale=get("bandwidth_scale", 1.0),
                                       straggler_cv=get("straggler_cv", perf.assumptions.get(
                                           "straggler CV per rank", 0.004)))
            res = {"step_time": out["step"], "mfu": out["mfu"], "useful_time": out["time_to_train"]}
            work = out["time_to_train"]
            if goodput:
                rate = rel["rate_per_s"] * get("failure_rate_scale", 1.0)
                # A sample whose run expects no failure at all (scale 0) has goodput 1 and needs no checkpoint; it
                # is computed with a stand-in rate (no division by zero) and then set to that exactly.
                quiet = rate * work < 1e-12
                mtbi = 1.0 / np.where(quiet, 1.0 / work, rate)
                delta = R.transfer_s(rel["checkpoint_bytes"], rel["storage_bw"] * get("storage_bw_scale", 1.0))
                restart = (rel["restart_s"] + 0.0 * delta if fixed_restart
                           else R.restart_s(delta, get("relaunch_time_s", rel["relaunch_s"])))
                tau = optimum(delta, mtbi) if rel["interval_s"] is None else rel["interval_s"] + 0.0 * delta
                wall = np.where(quiet, work, R.expected_wall_s(work, tau, delta, restart, mtbi))
                lost = {k: np.where(quiet, 0.0, v) for k, v in R.lost_time_s(work, wall, tau, delta, restart).items()}
                res.update(goodput=work / wall, interruptions=wall * rate)
            else:
                wall = work
                lost = {"checkpoint": 0.0 * work, "restart": 0.0 * work, "rework": 0.0 * work}
                res.update(goodput=work / wall, interruptions=0.0 * work)
            res["time_to_train"] = wall
            res["effective_mfu"] = res["mfu"] * res["goodput"]
            if datacenter is not None:
                res.update(_energy_carbon_cost(perf, dc, res["mfu"], work + lost["rework"],
                                               lost["checkpoint"] + lost["restart"], wall, get))
            return res

        rel, optimum, fixed_restart = None, R.daly_interval_s, False
        if goodput:
            from .solvers.goodput import reliability_inputs
            mine = {"failure_rates": failure_rates, "storage_bw": storage_bw,
                    "checkpoint_interval": checkpoint_interval, "relaunch_time": relaunch_time}
            clash = sorted(k for k, v in mine.items() if v is not None and carried.get(k) is not None)
            if clash:
                raise ConfigError(f"UncertaintyModel: {', '.join(clash)} already set by the GoodputResult given as "
                                  f"performance; omit them here, or pass its .performance to start afresh")
            kw = {**carried, **{k: v for k, v in mine.items() if v is not None}}
            optimum = R.young_interval_s if kw.pop("interval_rule", "daly") == "young" else R.daly_interval_s
            fixed_restart = kw.get("restart_time") is not None
            if fixed_restart and "relaunch_time_s" in parsed:
                raise ConfigError("range 'relaunch_time_s': the GoodputResult given fixes the whole restart_time; "
                                  "pass its .performance (and relaunch_time=) to vary the relaunch")
            rel = reliability_inputs(perf, **kw)
        dc = None
        if datacenter is not None:
            from .solvers.sustainability import resolve_datacenter
            dc = resolve_datacenter(datacenter)
            if "electricity_usd_per_kwh" in parsed and not dc.electricity_usd_per_kwh:
                raise ConfigError(f"range 'electricity_usd_per_kwh': datacenter {dc.name} has no electricity price "
                                  f"to vary; give it one (Datacenter.electricity_usd_per_kwh)")
        acc_priced = bool(perf.fleet.node.accelerator.price_usd)
        if "price_scale" in parsed and not (acc_priced and dc.electricity_usd_per_kwh):  # was silently no effect
            raise ConfigError("range 'price_scale' varies the cost, which is not computed: " + (
                f"datacenter {dc.name} has no electricity price (Datacenter.electricity_usd_per_kwh)" if acc_priced
                else f"{perf.fleet.node.accelerator.name} has no price (Accelerator.price_usd)"))
        nominal = {"pue": dc.pue, "grid_gco2_per_kwh": dc.grid.gco2_per_kwh,
                   "electricity_usd_per_kwh": dc.electricity_usd_per_kwh} if dc is not None else {}
        sampled = run(lambda k, d: arr(k, nominal.get(k, d)))
        point = run(lambda k, d: float(nominal.get(k, d)))
        if goodput and np.any(sampled["goodput"] < 1e-6):
            raise ConfigError("UncertaintyModel: some samples make the run practically never finish (failures "
                              "faster than checkpoints + restarts); narrow failure_rate_scale / relaunch_time_s")
        pts = [(1 - lvl) / 2 * 100, 50.0, (1 + lvl) / 2 * 100]
        stats, samples_out, points = {}, {}, {}
        for k in METRICS:
            if k not in sampled:
                continue
            x = np.asarray(sampled[k], dtype=float) * _TO_UNIT.get(k, 1.0)
            if not np.all(np.isfinite(x)):
                raise ConfigError(f"UncertaintyModel: {k} is not finite for some samples; please report these "
                                  f"ranges")
            samples_out[k] = x
            points[k] = float(point[k]) * _TO_UNIT.get(k, 1.0)
            lo, mid, hi = np.percentile(x, pts)
            stats[k] = (float(lo), float(mid), float(hi))
        assumptions = {name: PARAMETERS[name][0] for name in parsed}
        assumptions["method"] = (f"Monte Carlo, {n} samples, numpy default_rng(seed={seed}); interval = "
                                 f"{pts[0]:g}th-{pts[2]:g}th percentile")
        if dc is not None:
            assumptions["energy"] = ("accelerators at the MFU power curve while computing or recomputing, at idle "
                                     "during checkpoint writes and restarts; hosts and switches throughout; x PUE")
            assumptions["cost"] = (
                "CapEx built from the records as EconomicsModel (accelerators, servers, network, facility), IT "
                "amortised over its depreciation life and the facility over its own + maintenance + electricity "
                "(physics.cost)" if "cost" in stats else
                "not computed: " + (f"{dc.name} has no electricity price" if acc_priced else
                                    f"{perf.fleet.node.accelerator.name} has no price"))
        return UncertaintyResult(performance=perf, samples_n=n, seed=seed, level=lvl, ranges=parsed, draws=draws,
                                 samples=samples_out, point=points, stats=stats, assumptions=assumptions,
                                 feasible=carried_feasibility(perf, "UncertaintyModel"))


_TO_UNIT = {"time_to_train": 1 / 86400.0, "useful_time": 1 / 86400.0, "energy": 1 / 3.6e9, "carbon": 1e-3}


def _energy_carbon_cost(perf, dc, mfu, busy_s, idle_s, wall_s, get):
    """Facility energy (J), location-based carbon (kg) and cost (USD) per sample."""
    from .physics import carbon as PC
    from .physics import cost as PK
    from .physics import power as PP
    from .solvers.sustainability import accelerator_idle_w, fleet_power

    fleet = perf.fleet
    acc = fleet.node.accelerator
    n = float(fleet.total_accelerators)
    parts, _, _ = fleet_power(fleet, float(np.median(mfu)))
    other_w = parts["hosts"] + parts["network"]
    if acc.measured_system_w:
        busy_w = idle_w = acc.measured_system_w + 0.0 * mfu
    else:
        idle = accelerator_idle_w(acc)
        busy_w = PP.accelerator_power_w(mfu, acc.tdp_w, idle)
        idle_w = idle
    it_j = n * (busy_w * busy_s + idle_w * idle_s) + other_w * wall_s
    fac_j = PP.facility_energy_j(it_j, get("pue", dc.pue))
    out = {"energy": fac_j, "carbon": PC.location_based_kg(fac_j, get("grid_gco2_per_kwh", dc.grid.gco2_per_kwh))}
    if acc.price_usd and dc.electricity_usd_per_kwh:  # as EconomicsModel: never a silent $0 of electricity
        from .solvers._capex import fleet_capex, split_it_facility
        it_usd, fac_usd = split_it_facility(fleet_capex(fleet, acc.price_usd)[0])
        it_usd = it_usd + n * acc.price_usd * (get("price_scale", 1.0) - 1.0)  # the accelerator price varies
        capex = it_usd + fac_usd
        out["cost"] = (PK.amortized_parts_usd(it_usd, fac_usd, wall_s) + PK.maintenance_usd(capex, wall_s)
                       + PK.energy_cost_usd(fac_j, get("electricity_usd_per_kwh", dc.electricity_usd_per_kwh)))
    return out


def monte_carlo(performance, ranges=None, **kwargs) -> UncertaintyResult:
    """Shorthand for UncertaintyModel().solve(performance=..., ranges=..., **kwargs)."""
    return UncertaintyModel().solve(performance=performance, ranges=ranges, **kwargs)
