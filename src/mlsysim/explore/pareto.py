"""Pareto fronts: the rows no other row beats on every objective at once."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ._objectives import objective_column, require_prices

DEFAULT_OBJECTIVES = ("time_to_train_days", "cost_usd")


def pareto_mask(points, maximize=None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of an (n, k) array (minimised; `maximize`: k booleans).

    Row a dominates row b when a <= b in every objective and a < b in at least one; equal rows do not dominate
    each other (all copies stay on the front). Rows with NaN are never on the front. O(n log n) for k <= 2;
    for k > 2 a blocked sweep in lexicographic order, O(n x front size).

        >>> pareto_mask([[1, 5], [2, 2], [3, 3], [4, 1]]).tolist()
        [True, True, False, True]
    """
    try:
        Y = np.array(points, dtype=float, copy=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"points must be an (n, k) array of numbers: {exc}") from None
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.ndim != 2:
        raise ConfigError(f"points must be an (n, k) array, got shape {Y.shape}")
    n, k = Y.shape
    if maximize is not None:
        mx = np.asarray(maximize, bool)
        if mx.shape != (k,):
            raise ConfigError(f"maximize must have one flag per objective ({k}), got {list(maximize)}")
        Y[:, mx] = -Y[:, mx]
    out = np.zeros(n, bool)
    ok = np.flatnonzero(~np.isnan(Y).any(axis=1))
    if ok.size == 0 or k == 0:
        return out
    Z = Y[ok]
    if k == 1:
        out[ok] = Z[:, 0] == Z[:, 0].min()
        return out
    order = np.lexsort(Z.T[::-1])  # by column 0, then 1, ...
    S = Z[order]
    keep = _front2(S) if k == 2 else _front_k(S)
    out[ok[order[keep]]] = True
    return out


def _front2(S):
    """Front of lexicographically sorted 2-D points: a point survives if its second objective is a new strict
    minimum, or equals the running minimum with the same first objective as the row that set it (a duplicate)."""
    a1, a2 = S[:, 0], S[:, 1]
    n = len(a1)
    prevmin = np.concatenate(([np.inf], np.minimum.accumulate(a2)[:-1]))
    record = a2 < prevmin
    last = np.maximum.accumulate(np.where(record, np.arange(n), -1))
    before = np.concatenate(([-1], last[:-1]))
    first1 = np.where(before >= 0, a1[np.maximum(before, 0)], np.nan)
    return np.flatnonzero(record | ((a2 == prevmin) & (a1 == first1)))


def _front_k(S, block=512):
    """Front of lexicographically sorted k-D points: only an earlier point can dominate a later one, and any
    dominated point is dominated by a front point, so each block is checked against the front so far and itself."""
    keep, F = [], S[:0]
    for s in range(0, len(S), block):
        B = S[s:s + block]
        alive = np.ones(len(B), bool)
        if len(F):
            le = (F[:, None, :] <= B[None, :, :]).all(-1)
            lt = (F[:, None, :] < B[None, :, :]).any(-1)
            alive &= ~(le & lt).any(0)
        idx = np.flatnonzero(alive)
        C = B[idx]
        le = (C[:, None, :] <= C[None, :, :]).all(-1)
        lt = (C[:, None, :] < C[None, :, :]).any(-1)
        idx = idx[~(le & lt).any(0)]
        keep.append(s + idx)
        F = np.concatenate([F, B[idx]])
    return np.concatenate(keep)


class ParetoReducer:
    """Streaming front: each chunk keeps its own front (feasible rows), fronts are merged and filtered again."""

    fold_every = 256  # merge parts in-process every 256 chunks: memory stays bounded

    def __init__(self, cols_senses, feasible_only=True, constraints=()):
        self.cols_senses = list(cols_senses)
        self.feasible_only = feasible_only
        self.constraints = list(constraints)

    def _front(self, cols):
        """The front of a chunk (Chunk or Table) or of merged fronts (a dict): its stored and ranked columns."""
        n = cols.n if hasattr(cols, "n") else len(cols["config_id"])
        if not n:
            return cols.take(np.arange(0), self.columns()) if hasattr(cols, "take") else cols
        keep = cols["feasible"].astype(bool) if self.feasible_only else np.ones(n, bool)
        keep = keep & _meets(cols, self.constraints, n)
        sel = np.flatnonzero(keep)
        pts = np.column_stack([cols[c][sel] for c, _ in self.cols_senses])
        m = pareto_mask(pts, [s == "max" for _, s in self.cols_senses])
        if hasattr(cols, "take"):
            return cols.take(sel[m], self.columns())
        return {k: a[sel[m]] for k, a in cols.items()}

    def columns(self) -> list:
        return [c for c, _ in self.cols_senses] + [c for _, c, _, _ in self.constraints]

    def local(self, cols):
        return self._front(cols)

    def combine(self, parts):
        parts = [p for p in parts if p]
        if not parts:
            return {}
        cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if len(parts) > 1 else parts[0]
        front = self._front(cols)
        order = np.argsort(front["config_id"], kind="stable")
        return {k: a[order] for k, a in front.items()}


def _meets(cols, constraints, n=None) -> np.ndarray:
    """Rows satisfying every parsed constraint (name, column, 'max'|'min', bound); NaN never satisfies."""
    ok = np.ones(len(cols["config_id"]) if n is None else n, bool)
    for _, col, kind, bound in constraints:
        v = np.asarray(cols[col], float)
        with np.errstate(invalid="ignore"):
            ok &= (v <= bound) if kind == "max" else (v >= bound)
    return ok


def pareto(result, objectives=DEFAULT_OBJECTIVES, *, feasible_only=True, constraints=None, **sweep_kwargs):
    """The non-dominated rows of a sweep for `objectives` (column names or objective names such as
    "time_to_train", "cost", "carbon"; larger-is-better columns such as mfu are maximised, or prefix '-').

    `result` is a SweepResult, or a model: then the sweep (`sweep_kwargs`: fleets=..., tp=..., datacenters=...)
    is streamed chunk by chunk, keeping only each chunk's front, so it fits in memory however large it is.
    `constraints` (the dict `optimize` takes, or its parsed `OptimizeResult.constraints`) keeps the front to
    plans that meet them: the front among the plans a user may pick, not one that breaks a deadline.
    Returns a SweepResult sorted by the first objective.

        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import sweep, pareto
        >>> res = sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[2, 4, 8], pp=[1, 2, 4, 8])
        >>> front = pareto(res, ("time_to_train", "memory_gb"))
        >>> bool((front["time_to_train_days"][1:] >= front["time_to_train_days"][:-1]).all())
        True
    """
    from .result import SweepResult
    if isinstance(objectives, str) or not isinstance(objectives, (list, tuple)):
        objectives = (objectives,)  # objective_column explains a value that is not a name
    objectives = list(objectives)
    if type(result).__name__ == "ServingSweepResult":  # the serving face (explore/serving.py)
        if constraints or sweep_kwargs:
            raise ConfigError("pareto(serving sweep, ...) takes objectives and feasible_only only")
        return result.pareto(objectives, feasible_only=feasible_only)
    if not objectives:
        raise ConfigError("pareto: give at least one objective, e.g. ('time_to_train', 'cost')")
    if isinstance(result, SweepResult):
        if sweep_kwargs:
            raise ConfigError(f"pareto(result, ...) takes no sweep arguments ({', '.join(sweep_kwargs)}); pass "
                              f"them to sweep(), or call pareto(model, ...) to stream a sweep")
        from .result import _CATEGORICAL
        numeric = set(result.columns) - set(_CATEGORICAL) - {"reason"}  # labels: the objective says so
        cs = [objective_column(o, numeric) for o in objectives]
        sub = result.feasible() if feasible_only else result
        cons = _constraints(constraints, set(result.columns))
        if cons:
            sub = sub[np.flatnonzero(_meets({c: sub.column(c) for c in ["config_id"] + [x[1] for x in cons]},
                                            cons))]
        pts = np.column_stack([sub.column(c).astype(float) for c, _ in cs])
        ok = result.feasible()  # rows that ran: NaN there means an unknown price, not a row that could not run
        unknown_cols = [c for c, _ in cs if np.isnan(ok.column(c).astype(float)).any()]
        if unknown_cols:
            raise ConfigError(f"pareto: {', '.join(unknown_cols)} is unknown (NaN) for some rows (a price or a "
                              f"datacenter missing); give the missing price or drop those rows/objectives")
        m = pareto_mask(pts, [s == "max" for _, s in cs])
        front = sub[np.flatnonzero(m)]
    else:
        from .executors import run
        from .sweep import make_plan, result_of
        executor = sweep_kwargs.pop("executor", "auto")
        scheduler = sweep_kwargs.pop("scheduler", None)
        progress = sweep_kwargs.pop("progress", None)
        sweep_kwargs.pop("keep", None)
        plan = make_plan(result, keep="feasible" if feasible_only else "all", **sweep_kwargs)
        cs = [objective_column(o, plan.column_names()) for o in objectives]
        cons = _constraints(constraints, plan.column_names())
        require_prices(plan, [c for c, _ in cs] + [c[1] for c in cons])
        cols = run(plan, ParetoReducer(cs, feasible_only, cons), executor=executor, scheduler=scheduler, progress=progress)
        front = result_of(plan, cols if cols else plan.empty_columns())
    return front.sort(cs[0][0], descending=cs[0][1] == "max")


def _constraints(constraints, available) -> list:
    """Parsed constraints from a dict (checked as `optimize` checks them) or an already parsed list."""
    if not constraints:
        return []
    if isinstance(constraints, dict):
        from ._objectives import parse_constraints
        return parse_constraints(constraints, available)
    return list(constraints)
