"""The best configuration of a sweep under constraints, with runners-up, streamed: memory stays bounded. The fleet
and region searches built on it are in regions.py."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, InfeasibleError
from ._objectives import objective_column, parse_constraints, require_prices
from ._plan import BIT, MEMORY_REASON, REASONS
from .executors import run
from .result import SweepResult
from .sweep import make_plan, result_of


def reason_counts(bits) -> dict:
    """{reason: rows with that bit set}, counting each distinct bit pattern once (a chunk has few)."""
    counts = np.bincount(bits) if bits.size else np.zeros(1, np.int64)
    out = {r: 0 for r in REASONS}
    for pattern in np.flatnonzero(counts[1:]) + 1:
        for r in REASONS:
            if pattern & int(BIT[r]):
                out[r] += int(counts[pattern])
    return out


class TopK:
    """Reducer: rows that run and satisfy the constraints, best `k` by lexicographic keys (ties: config_id),
    plus the counts that explain an empty answer."""

    fold_every = 256  # merge parts in-process every 256 chunks: memory stays bounded

    def __init__(self, keys, k, constraints, derive=None):
        self.keys, self.k, self.constraints, self.derive = list(keys), k, list(constraints), derive

    def _rank(self, cols, idx):
        """`idx` ordered best first and cut to k (argpartition on the primary key, then an exact lexsort)."""
        if idx.size == 0:
            return idx
        prim_col, prim_sense = self.keys[0]
        prim = cols[prim_col][idx] * (-1.0 if prim_sense == "max" else 1.0)
        if idx.size > self.k:
            thr = np.partition(prim, self.k - 1)[self.k - 1]
            sel = prim <= thr
            idx, prim = idx[sel], prim[sel]
        arrays = [cols["config_id"][idx]]
        for col, sense in reversed(self.keys[1:]):
            arrays.append(cols[col][idx] * (-1.0 if sense == "max" else 1.0))
        arrays.append(prim)
        return idx[np.lexsort(arrays)][: self.k]

    def local(self, cols):
        """`cols`: a chunk (Chunk or Table); ranks it on the key and constraint columns alone and returns the
        stored columns of its best rows."""
        if self.derive is not None and cols.n:
            cols = cols.with_columns(self.derive(cols))
        feas = cols["feasible"]
        stats = {"n": cols.n, "feasible": int(np.count_nonzero(feas)), "reasons": reason_counts(cols["reason_bits"]),
                 "violations": {}, "closest": {}}
        ok = feas.copy()
        for name, col, kind, bound in self.constraints:
            v = cols[col]
            with np.errstate(invalid="ignore"):
                good = v <= bound if kind == "max" else v >= bound
            stats["violations"][name] = int(np.count_nonzero(feas & ~good))
            fv = v[feas]
            fv = fv[~np.isnan(fv)]
            if fv.size:
                stats["closest"][name] = float(fv.min() if kind == "max" else fv.max())
            ok &= good
        for col, _ in self.keys:
            ok &= ~np.isnan(cols[col])
        stats["ok"] = int(np.count_nonzero(ok))
        top = self._rank(cols, np.flatnonzero(ok))
        return {"cols": cols.take(top, self.columns()), "stats": stats}

    def columns(self) -> list:
        """The columns ranking needs, kept with the winners (whether stored or derived)."""
        return [c for c, _ in self.keys] + [c for _, c, _, _ in self.constraints]

    def combine(self, parts):
        parts = [p for p in parts if p]
        stats = {"n": 0, "feasible": 0, "ok": 0, "reasons": {r: 0 for r in REASONS}, "violations": {},
                 "closest": {}}
        kinds = {name: kind for name, _, kind, _ in self.constraints}
        for p in parts:
            s = p["stats"]
            for key in ("n", "feasible", "ok"):
                stats[key] += s[key]
            for r, c in s["reasons"].items():
                stats["reasons"][r] += c
            for name, c in s["violations"].items():
                stats["violations"][name] = stats["violations"].get(name, 0) + c
            for name, v in s["closest"].items():
                old = stats["closest"].get(name)
                better = min if kinds[name] == "max" else max
                stats["closest"][name] = v if old is None else better(old, v)
        tables = [p["cols"] for p in parts if p["cols"]]
        if not tables:
            return {"cols": {}, "stats": stats}
        cols = {k: np.concatenate([t[k] for t in tables]) for k in tables[0]} if len(tables) > 1 else tables[0]
        top = self._rank(cols, np.arange(len(cols["config_id"])))
        return {"cols": {k: a[top] for k, a in cols.items()}, "stats": stats}


class OptimizeResult:
    """The best configuration (`best`, a dict row), the ranked table (`table`, best first; `runners_up` =
    the rest), and what was rejected and why (`rejected`, `violations`)."""

    def __init__(self, table: SweepResult, *, objective, keys, constraints, stats):
        self.table = table
        self.objective = objective
        self.keys = keys
        self.constraints = constraints
        self.evaluated = stats["n"]
        self.n_feasible = stats["feasible"]
        self.n_satisfying = stats["ok"]
        self.rejected = {r: c for r, c in stats["reasons"].items() if c}
        self.violations = dict(stats["violations"])
        self.closest = dict(stats["closest"])

    @property
    def best(self) -> dict:
        return self.table.row(0)

    @property
    def runners_up(self) -> SweepResult:
        return self.table[1:]

    @property
    def fleet(self):
        """The Fleet of the best configuration."""
        return self.table.fleets[int(self.table._cols["fleet_id"][0])]

    @property
    def value(self) -> float:
        return self.best[self.keys[0][0]]

    def solve(self):
        """The best configuration through the scalar solver (a full DistributedResult)."""
        return self.table.solve(0)

    def __repr__(self) -> str:
        """Two wrapped lines (the best and the counts) over the table of the best and its runners-up, as wide as
        the terminal (COLUMNS)."""
        import shutil
        import textwrap
        width = max(shutil.get_terminal_size((80, 24)).columns, 40)
        b = self.best
        col = self.keys[0][0]
        lines = [f"OptimizeResult: best {col} = {b[col]:.4g} ({self.objective}); {self.evaluated:,} configurations "
                 f"evaluated, {self.n_feasible:,} run, {self.n_satisfying:,} satisfy the constraints",
                 f"best: {b['fleet']}, tp={b['tp']} pp={b['pp']} dp={b['dp']} cp={b['cp']} ep={b['ep']} "
                 f"mb={b['microbatch']} v={b['interleave']} recompute={b['recompute']} zero={b['zero']} "
                 f"precision={b['precision']}" + (f" at {b['datacenter']}" if "datacenter" in b else "")]
        text = [w for ln in lines for w in textwrap.wrap(ln, width, subsequent_indent="  ")]
        return "\n".join(text) + "\n" + self.table._text(title=False)


def _keys(objective, available):
    objs = [objective] if isinstance(objective, str) or not isinstance(objective, (list, tuple)) else list(objective)
    if not objs:
        raise ConfigError("objective: give a name such as 'time_to_train', 'step_time', 'cost', 'carbon', 'energy'")
    return [objective_column(o, available) for o in objs]


def _batch_constraints(model, constraints, sweep_kwargs, batch_tolerance):
    """Hold the batch near the workload's published one when the sweep derives it: the solver's default rounds
    the batch to a multiple of dp x microbatch, so a large dp would otherwise "win" by training with a batch many
    times the published one (a different optimisation problem, with different convergence)."""
    if constraints is None:
        constraints = {}
    if not isinstance(constraints, dict):
        return constraints  # parse_constraints explains what is expected
    if batch_tolerance is None or sweep_kwargs.get("global_batch_size") is not None or \
            {"min_batch_tokens", "max_batch_tokens"} & set(constraints):
        return constraints
    from ..solvers._common import resolve_model
    from ..units import si
    from ..solvers.distributed import batch_target_tokens
    tol = si(batch_tolerance, "", "batch_tolerance", allow_zero=True)
    target = batch_target_tokens(resolve_model(model))
    return {**constraints, "min_batch_tokens": target * max(1.0 - tol, 0.0),
            "max_batch_tokens": target * (1.0 + tol)}


def _search(model, objective, constraints, runners_up, sweep_kwargs, derive=None, extra_columns=(),
            batch_tolerance=None):
    """Stream a sweep through TopK; (reduced part, keys, constraints, plan)."""
    from ..units import count
    k = count(runners_up, "runners_up", minimum=0) + 1
    constraints = _batch_constraints(model, constraints, sweep_kwargs, batch_tolerance)
    executor = sweep_kwargs.pop("executor", "auto")
    scheduler = sweep_kwargs.pop("scheduler", None)
    progress = sweep_kwargs.pop("progress", None)
    if "keep" in sweep_kwargs:
        raise ConfigError("optimize() keeps only the best rows; 'keep' is a sweep() option")
    plan = make_plan(model, keep="all", **sweep_kwargs)
    available = plan.column_names() | set(extra_columns)
    keys = _keys(objective, available)
    cons = parse_constraints(constraints, available)
    require_prices(plan, [c for c, _ in keys] + [c[1] for c in cons])
    red = TopK(keys, k, cons, derive)
    out = run(plan, red, executor=executor, scheduler=scheduler, progress=progress)
    return out, keys, cons, plan


def optimize(model, objective="time_to_train", constraints=None, *, runners_up=5, batch_tolerance=0.25,
             **sweep_kwargs) -> OptimizeResult:
    """The best configuration of a sweep for `objective`, subject to `constraints`, with its runners-up.

    objective: "time_to_train", "step_time", "cost", "carbon" (location-based), "carbon_market", "energy",
        "mfu", "throughput", any column name ('-col' to maximise), or a list of them (lexicographic).
    constraints: {"deadline_days": 90, "budget_usd": 5e7, "carbon_t": 1000, "energy_mwh": ..., "memory_headroom":
        0.1 (leave 10 % of device memory free), "min_mfu": ..., "max_<column>": ..., "min_<column>": ...}.
    sweep_kwargs: the axes of `sweep()` (fleets=..., tp=..., datacenters=...; cost/carbon/energy need datacenters).
    batch_tolerance: when global_batch_size is not swept, keep only configurations whose derived batch is within
        this fraction of the workload's published batch in tokens (default 0.25; None: no limit). The solver's
        default batch is rounded to a multiple of dp x microbatch, so without it a large dp "wins" by training
        with a batch many times the published one.

    Raises InfeasibleError, with the count per reason and the closest value reached per constraint, when nothing
    satisfies the constraints; ConfigError for bad names or contradictory constraints.

        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import optimize
        >>> opt = optimize(Models.Language.Llama3_70B, "time_to_train", {"memory_headroom": 0.1},
        ...                fleets=Systems.Clusters.Research_256, tp=[2, 4, 8], pp=[1, 2, 4, 8])
        >>> opt.best["memory_headroom"] >= 0.1
        True
    """
    out, keys, cons, plan = _search(model, objective, constraints, runners_up, dict(sweep_kwargs),
                                    batch_tolerance=batch_tolerance)
    return _finish(out, keys, cons, plan, objective)


def _finish(out, keys, cons, plan, objective):
    stats = out["stats"]
    if not out["cols"] or not len(out["cols"]["config_id"]):
        raise InfeasibleError(_explain(stats, cons, keys))
    table = result_of(plan, out["cols"])
    return OptimizeResult(table, objective=objective, keys=keys, constraints=cons, stats=stats)


_BATCH_NAMES = ("min_batch_tokens", "max_batch_tokens")  # added by _batch_constraints, not by the user
# what to change when no row runs, per reason (the memory advice was given for a token budget below one batch)
_FIXES = {MEMORY_REASON: "widen the axes (more pp/tp, recompute='full', zero=[1, 2, 3], a smaller microbatch) or "
                         "use a larger fleet",
          "token budget below one global batch": "raise tokens= or sweep a smaller global_batch_size",
          "precision not supported by the accelerator": "sweep a precision the accelerator has",
          "tp*pp*cp does not divide the fleet's accelerators": "sweep tp, pp, cp whose product divides the fleet"}


def _explain(stats, cons, keys) -> str:
    msg = [f"no configuration satisfies the constraints: {stats['n']:,} evaluated, {stats['feasible']:,} run"]
    bad = {r: c for r, c in stats["reasons"].items() if c}
    if bad:
        msg.append("  cannot run: " + "; ".join(f"{r} ({c:,})" for r, c in sorted(bad.items(), key=lambda t: -t[1])))
    for name, col, kind, bound in cons:
        v = stats["violations"].get(name, 0)
        if v:
            near = stats["closest"].get(name)
            best = f"; the {'lowest' if kind == 'max' else 'highest'} {col} reached is {near:.4g}" \
                if near is not None else ""
            why = (" (batch_tolerance holds the derived batch near the workload's published one: widen it, or "
                   "batch_tolerance=None)" if name in _BATCH_NAMES else "")
            msg.append(f"  {name}={bound:.4g}: {v:,} of the {stats['feasible']:,} that run miss it{best}{why}")
    if stats["feasible"] and not cons and not stats["ok"]:
        msg.append(f"  the objective {keys[0][0]} is unknown (NaN) for every row that runs")
    if not stats["feasible"]:
        fixes = [_FIXES.get(r, "change the axes named above") for r in sorted(bad, key=lambda t: -bad[t])]
        msg.append("  " + "; ".join(dict.fromkeys(fixes)))
    else:
        msg.append("  relax a constraint or widen the axes (e.g. more nodes for a deadline)")
    return "\n".join(msg)
