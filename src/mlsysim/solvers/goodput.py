"""GoodputModel: time-to-train at scale once failures, checkpoints, restarts and stragglers are counted.

    >>> from mlsysim import Models, Systems, DistributedModel
    >>> from mlsysim.solvers.goodput import GoodputModel
    >>> perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
    ...                                 tp_size=8, pp_size=1, zero_stage=2)
    >>> good = GoodputModel().solve(performance=perf)
    >>> 0.9 < good.goodput < 1 and good.latency > perf.latency
    True

The result can be passed on as `performance=` (it has .fleet, .model, .tokens, .mfu, .latency, .step_s,
.time_to_train_s): energy, carbon and cost then cover the effective wall-clock time, failures included.
The physics (one formula each) lives in mlsysim.physics.reliability.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, unexpected_keywords
from ..physics import reliability as R
from ..physics.training import precision_bytes
from ..physics.transformer import param_counts
from ..units import quantity, si
from ._common import INFEASIBLE_ROW, TableRepr, carried_feasibility, finite

_SOURCES = {
    "default": "pooled node failure rate of independent A100 clusters (Kokolis et al. 2024 RSC-1 6.5 and RSC-2 2.34, "
               "OPT-175B 13.4, BLOOM 4.5 per 1,000 node-days; geometric mean {:.2f}, 90 % for a new cluster "
               "x{:.2f}-{:.2f}), split by the root-cause shares of Meta's FT-HSDP 32K-H100 run (arXiv:2602.00277)"
               .format(R.POOLED_NODE_FAILURES_PER_1000_NODE_DAYS, *R.RATE_SCALE_90),
    "kokolis2024": "Kokolis et al. 2024 (arXiv:2410.21680) RSC-1 node failure rate 6.5 per 1,000 node-days, split "
                   "by the root-cause shares of Meta's FT-HSDP 32K-H100 run (arXiv:2602.00277)",
    "llama3": "Llama 3 405B Table 5 (arXiv:2407.21783): 419 unexpected interruptions in 54 days on 16,384 H100s "
              "(the validation target itself: not an independent prediction)",
}
PRESETS = {"default": R.DEFAULT_FAILURE_RATES, "pooled": R.DEFAULT_FAILURE_RATES,
           "kokolis2024": R.KOKOLIS_FAILURE_RATES, "llama3": R.LLAMA3_FAILURE_RATES}


@dataclass(frozen=True)
class GoodputResult(TableRepr):
    """A training run at scale: useful compute, plus checkpoints, restarts and recomputed work after failures.

    Floats are SI (s, bytes, bytes/s, per s); pint views are properties. `latency` / `time_to_train_s` are the
    EFFECTIVE wall-clock time (failures included); `useful_time_s` is the failure-free time of the performance
    result (which already contains the straggler tail). `mfu` is the MFU while computing (as the performance
    result); `effective_mfu` = mfu x goodput is the MFU over the whole wall-clock time.
    """

    performance: object
    model: object
    fleet: object
    tokens: float
    mfu: float
    step_s: float
    steps: float
    useful_time_s: float
    time_to_train_s: float
    goodput: float
    failure_rates_per_s: dict          # by component, across the fleet
    mtbi_s: float
    expected_interruptions: float
    checkpoint_bytes: float
    storage_bw: float
    checkpoint_write_s: float
    checkpoint_interval_s: float
    interval_rule: str
    restart_s: float
    lost_s: dict                       # checkpoint, restart, rework (seconds over the run)
    straggler_s: float                 # straggler tail summed over all steps (inside useful_time_s)
    assumptions: dict = field(default_factory=dict)
    feasible: bool = True              # False when built from an infeasible performance result
    inputs: dict = field(default_factory=dict)  # its reliability keywords (UncertaintyModel starts from them)

    # --- what the energy / cost solvers need ---
    latency = quantity("time_to_train_s", "s", to="day")

    time_to_train = latency

    step_latency = quantity("step_s", "s")

    @property
    def layout(self) -> dict:
        return self.performance.layout

    @property
    def time_split_s(self) -> dict:
        """Wall-clock time by activity: computing (first time), recomputing lost work, writing checkpoints,
        restarting. Accelerators are busy in the first two and near idle in the last two."""
        return {"training": self.useful_time_s, "rework": self.lost_s["rework"],
                "checkpoint": self.lost_s["checkpoint"], "restart": self.lost_s["restart"]}

    @property
    def busy_s(self) -> float:
        return self.useful_time_s + self.lost_s["rework"]

    @property
    def idle_s(self) -> float:
        return self.lost_s["checkpoint"] + self.lost_s["restart"]

    @property
    def effective_mfu(self) -> float:
        return self.mfu * self.goodput

    @property
    def gpu_hours(self) -> float:
        return self.time_to_train_s / 3600.0 * self.fleet.total_accelerators

    # --- quantity views ---
    useful_time = quantity("useful_time_s", "s", to="day")

    mtbi = quantity("mtbi_s", "s", to="hour")

    @property
    def checkpoint_size(self):
        from ..units import Q
        return Q(self.checkpoint_bytes / 1e12, "TB")

    checkpoint_write_time = quantity("checkpoint_write_s", "s")

    checkpoint_interval = quantity("checkpoint_interval_s", "s", to="minute")

    restart_time = quantity("restart_s", "s", to="minute")

    @property
    def lost_time(self) -> dict:
        from ..units import Q
        return {k: Q(v, "s").to("day") for k, v in self.lost_s.items()}

    @property
    def efficiency_loss(self) -> dict:
        """Shares of the effective wall-clock time: 'ideal' (no stragglers, no failures), then each loss.
        The shares sum to 1."""
        w = self.time_to_train_s
        out = {"ideal": (self.useful_time_s - self.straggler_s) / w, "straggler tail": self.straggler_s / w,
               "checkpoint writes": self.lost_s["checkpoint"] / w, "restarts": self.lost_s["restart"] / w,
               "recomputed work": self.lost_s["rework"] / w}
        return out

    def _rows(self):
        days = 1.0 / R.SECONDS_PER_DAY
        rows = [] if self.feasible else [INFEASIBLE_ROW]
        rows += [("effective time to train", self.latency),
                ("failure-free time to train", self.useful_time),
                ("goodput (useful / wall time)", self.goodput),
                ("MFU while computing / effective", f"{self.mfu:.3f} / {self.effective_mfu:.3f}"),
                ("mean time between interruptions", self.mtbi),
                ("expected interruptions", self.expected_interruptions)]
        rows += [(f"  {c} failures per day", r * R.SECONDS_PER_DAY)
                 for c, r in self.failure_rates_per_s.items()]
        rows += [("checkpoint size", self.checkpoint_size),
                 ("storage bandwidth (GB/s)", self.storage_bw / 1e9),
                 ("checkpoint write time", self.checkpoint_write_time),
                 (f"checkpoint interval ({self.interval_rule})", self.checkpoint_interval),
                 ("restart time", self.restart_time),
                 ("efficiency loss", "share of wall time (days)")]
        labels = {"ideal": self.useful_time_s - self.straggler_s, "straggler tail": self.straggler_s,
                  "checkpoint writes": self.lost_s["checkpoint"],
                  "restarts": self.lost_s["restart"], "recomputed work": self.lost_s["rework"]}
        shares = self.efficiency_loss
        for k, v in labels.items():
            rows.append((f"  {k}", f"{100 * shares[k]:.2f} %  ({v * days:.3g} d)"))
        return rows

    def _title(self):
        return f"Goodput: {self.model.name} on {self.fleet.name}"


def resolve_failure_rates(failure_rates):
    """(rates per component per second, per-what map, source) from None, a preset name, or a dict of
    component -> rate (failures per component per hour, or a pint 1/time quantity), or (rate, "accelerator"|"node")
    for a component of your own."""
    if failure_rates is None or isinstance(failure_rates, str):
        name = "default" if failure_rates is None else failure_rates
        if name not in PRESETS:
            from ..errors import unknown
            raise unknown("failure-rate preset", name, PRESETS)
        return dict(PRESETS[name]), dict(R.PER), _SOURCES["default" if name == "pooled" else name]
    if not isinstance(failure_rates, dict) or not failure_rates:
        raise ConfigError("failure_rates must be a preset name ('default', 'kokolis2024', 'llama3') or a dict of component -> "
                          "failures per component-hour, e.g. {'gpu': 2e-6, 'host': 1e-5}")
    rates, per = {}, {}
    for comp, val in failure_rates.items():
        if isinstance(val, tuple):
            if len(val) != 2 or val[1] not in ("accelerator", "node"):
                raise ConfigError(f"failure_rates[{comp!r}]: give (rate per hour, 'accelerator' | 'node'), got {val!r}")
            val, per[comp] = val
        elif comp in R.PER:
            per[comp] = R.PER[comp]
        else:
            raise ConfigError(f"failure_rates[{comp!r}]: unknown component; known: {', '.join(R.PER)}; for your "
                              f"own give (rate per hour, 'accelerator' | 'node')")
        rates[comp] = si(val, "1/hour", f"failure_rates[{comp!r}]", allow_zero=True) / R.SECONDS_PER_HOUR
    return rates, per, "given"


def reliability_inputs(perf, *, failure_rates=None, failure_rate_scale=1.0, storage_bw=None, checkpoint_size=None,
                       checkpoint_interval=None, restart_time=None, relaunch_time=None) -> dict:
    """The nominal reliability inputs of a run (validated, SI floats) and where each came from. Shared by
    GoodputModel and the Monte Carlo in mlsysim.uncertainty, so both start from the same numbers."""
    fleet, model = perf.fleet, perf.model
    n_acc, n_nodes = float(fleet.total_accelerators), float(fleet.count)
    rates, per, rate_src = resolve_failure_rates(failure_rates)
    scale = si(failure_rate_scale, "", "failure_rate_scale", allow_zero=True)
    comp = R.component_failure_rates(n_acc, n_nodes, rates, per, scale)
    lam = sum(comp.values())
    if lam <= 0:
        raise ConfigError("all failure rates are zero: goodput would be 1 with no checkpoints. Give a positive "
                          "rate (or use the performance result directly)")
    precision = perf.layout.get("precision", "bf16")
    bytes_w = precision_bytes(precision)[0]
    if checkpoint_size is None:
        ck_bytes = R.checkpoint_bytes(float(param_counts(model)["total"]), bytes_w)
        ck_src = f"{R.checkpoint_bytes_per_param(bytes_w):g} B/param ({precision} weights + fp32 master + Adam m, v)"
    else:
        ck_bytes, ck_src = si(checkpoint_size, "byte", "checkpoint_size"), "given"
    if storage_bw is None:
        bw = R.storage_bandwidth(n_nodes)
        bw_src = (f"min({int(n_nodes)} nodes x {R.STORAGE_BW_PER_NODE / 1e9:g} GB/s per node (assumption), "
                  f"{R.STORAGE_BW_AGGREGATE / 1e12:g} TB/s aggregate (Meta Tectonic, Llama 3 Sec 3.3.1))")
    else:
        bw, bw_src = si(storage_bw, "byte/s", "storage_bw"), "given"
    delta = R.transfer_s(ck_bytes, bw)
    if restart_time is not None and relaunch_time is not None:
        raise ConfigError("give either restart_time (the whole failure-to-training time) or relaunch_time (the "
                          "overhead before the checkpoint read, which is then added), not both")
    relaunch = R.RELAUNCH_S if relaunch_time is None else si(relaunch_time, "s", "relaunch_time", allow_zero=True)
    if restart_time is None:
        restart = R.restart_s(delta, relaunch)
        rs_src = (f"{relaunch / 60:g} min relaunch ({'given' if relaunch_time is not None else 'assumption'}) "
                  f"+ checkpoint read {delta:.3g} s")
    else:
        restart, rs_src = si(restart_time, "s", "restart_time", allow_zero=True), "given"
    interval = None
    if checkpoint_interval is not None:
        interval = si(checkpoint_interval, "s", "checkpoint_interval", positive=False)
        if interval <= 0:
            raise ConfigError(f"checkpoint_interval must be > 0 (compute time between checkpoints), got "
                              f"{checkpoint_interval!r}; omit it to use the Young/Daly optimum")
    return {"component_rates": comp, "rate_per_s": lam, "mtbi_s": 1.0 / lam, "checkpoint_bytes": ck_bytes,
            "storage_bw": bw, "delta_s": delta, "relaunch_s": relaunch, "restart_s": restart,
            "interval_s": interval,
            "sources": {"failure rates": rate_src + (f" x {scale:g}" if scale != 1 else ""),
                        "checkpoint size": ck_src, "storage bandwidth": bw_src, "restart time": rs_src}}


class GoodputModel:
    """Effective time to train under failures (Young/Daly checkpointing) with the straggler tail beside them.

    solve(performance=perf) uses: the fleet's accelerator and node counts x per-component failure rates
    (sourced defaults, a preset, or yours); the checkpoint size from the model's parameters and Adam state; the
    write time from storage bandwidth; the restart time; the checkpoint interval that minimises lost time (Daly
    2006), or yours.
    """

    def solve(self, performance=None, *, checkpoint_interval=None, failure_rates=None, failure_rate_scale=1.0,
              storage_bw=None, restart_time=None, relaunch_time=None, checkpoint_size=None,
              interval_rule: str | None = None, **unexpected) -> GoodputResult:
        """
        performance: a DistributedModel result (its time_to_train_s, steps and straggler tail are used).
        checkpoint_interval: compute time between checkpoints (pint time or seconds); default: the optimum.
        failure_rates: preset name ("default" = pooled independent clusters x FT-HSDP split; "kokolis2024" =
            Meta RSC-1 alone; "llama3" = Llama 3 Table 5, the validation target) or a
            dict component -> failures per component-hour. failure_rate_scale multiplies them all.
        storage_bw: checkpoint write/read bandwidth (bytes/s or pint); default min(nodes x 25 GB/s, 2 TB/s).
        restart_time: failure-to-training time (s or pint), replacing relaunch_time + checkpoint read.
        relaunch_time: detect + relaunch overhead before the checkpoint read (default 10 min).
        checkpoint_size: bytes (or pint) instead of params x 14 B.
        interval_rule: "daly" (higher order, default) or "young" for the optimal interval (not with a given
            checkpoint_interval).
        """
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        perf = performance
        if isinstance(perf, GoodputResult):
            raise ConfigError("GoodputModel: performance is already a GoodputResult; pass its .performance")
        for attr in ("fleet", "model", "time_to_train_s", "steps", "breakdown_s", "mfu"):
            if not hasattr(perf, attr):
                raise ConfigError(f"GoodputModel: performance must be a DistributedModel result "
                                  f"(DistributedModel().solve(...)), got {type(perf).__name__}")
        if interval_rule is not None and checkpoint_interval is not None:
            raise ConfigError(f"give either checkpoint_interval (your interval) or interval_rule={interval_rule!r} "
                              f"(the optimum by that rule), not both")
        interval_rule = "daly" if interval_rule is None else interval_rule
        if interval_rule not in ("daly", "young"):
            from ..errors import unknown
            raise unknown("checkpoint interval rule", interval_rule, ("daly", "young"))
        x = reliability_inputs(perf, failure_rates=failure_rates, failure_rate_scale=failure_rate_scale,
                               storage_bw=storage_bw, checkpoint_size=checkpoint_size,
                               checkpoint_interval=checkpoint_interval, restart_time=restart_time,
                               relaunch_time=relaunch_time)
        model, fleet = perf.model, perf.fleet
        comp, mtbi, delta, restart = x["component_rates"], x["mtbi_s"], x["delta_s"], x["restart_s"]
        if x["interval_s"] is None:
            tau = R.daly_interval_s(delta, mtbi) if interval_rule == "daly" else R.young_interval_s(delta, mtbi)
            rule = "Daly 2006 optimum" if interval_rule == "daly" else "Young 1974 optimum"
        else:
            tau, rule = x["interval_s"], "given"
        work = float(perf.time_to_train_s)
        wall = R.expected_wall_s(work, tau, delta, restart, mtbi)
        g = R.goodput(work, wall)
        if not (g > 1e-6) or wall > 1e300:
            raise ConfigError(
                f"GoodputModel: with an interruption every {mtbi / 60:.3g} min, a restart of {restart / 60:.3g} min "
                f"and a checkpoint interval of {tau / 60:.3g} min the run would practically never finish; lower the "
                f"failure rates or restart time" + (", or checkpoint more often" if rule == "given" else
                                                    f" (the interval is already the {rule})"))
        lost = R.lost_time_s(work, wall, tau, delta, restart)
        n_int = R.expected_interruptions(wall, mtbi)
        strag = float(perf.breakdown_s.get("straggler", 0.0)) * float(perf.steps)
        finite({"wall": wall, "goodput": g, "interruptions": n_int, **lost}, "GoodputModel")
        assumptions = {
            "failure rates": x["sources"]["failure rates"],
            "failure counting": "GPU, HBM and network link per accelerator; host, software and other per node; "
                                "a synchronous job stops at any failure (rates add)",
            "checkpoint size": x["sources"]["checkpoint size"],
            "storage bandwidth": x["sources"]["storage bandwidth"],
            "checkpoint write": "synchronous (training pauses while it writes)",
            "restart time": x["sources"]["restart time"],
            "checkpoint interval": rule,
            "wall-time model": "Daly 2006 (exponential failures, interruptible restarts)",
            "not counted": "planned maintenance (Llama 3: 47 planned interruptions in 54 days), slow-downs "
                           "without a failure",
        }
        return GoodputResult(
            performance=perf, model=model, fleet=fleet, tokens=float(perf.tokens), mfu=float(perf.mfu),
            step_s=float(perf.step_s), steps=float(perf.steps), useful_time_s=work, time_to_train_s=float(wall),
            goodput=float(g), failure_rates_per_s={c: float(v) for c, v in comp.items()}, mtbi_s=float(mtbi),
            expected_interruptions=float(n_int), checkpoint_bytes=float(x["checkpoint_bytes"]),
            storage_bw=float(x["storage_bw"]),
            checkpoint_write_s=float(delta), checkpoint_interval_s=float(tau), interval_rule=rule,
            restart_s=float(restart), lost_s={k: float(v) for k, v in lost.items()}, straggler_s=strag,
            assumptions=assumptions, feasible=carried_feasibility(perf, "GoodputModel"),
            inputs={k: v for k, v in (("failure_rates", failure_rates), ("failure_rate_scale", failure_rate_scale),
                                      ("storage_bw", storage_bw), ("checkpoint_size", checkpoint_size),
                                      ("checkpoint_interval", checkpoint_interval), ("restart_time", restart_time),
                                      ("relaunch_time", relaunch_time), ("interval_rule", interval_rule))
                    if v is not None})
