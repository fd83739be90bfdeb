"""The explorer's serving face: every serving configuration as one row of a table, from the planner's single
vectorised call (solvers/serving_sweep.serving_sweep -> physics/serving_load.max_load), with Pareto fronts that
serving people read (throughput per GPU vs tokens/s per user).

    >>> from mlsysim import explore
    >>> res = explore.serving_sweep("Llama3_70B", hardware=("H100", "H200"), precisions=("fp8",), tp_sizes=(1, 2),
    ...                             lengths=((1000, 200),), max_batches=(64, 256), chunks=(8192,), ttft_slos=(0.5,))
    >>> front = explore.pareto(res, ("tokens_per_s_per_gpu", "tokens_per_s_per_user"))
    >>> bool(len(front) >= 1)
    True
"""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, unknown

# larger is better; everything else is minimised
_MAXIMIZE = {"tokens_per_s_per_gpu", "tokens_per_s_per_user", "qps_per_replica", "concurrency"}
_LABELS = ("hardware", "precision")


class ServingSweepResult:
    """Serving configurations, one row each, in numpy columns (units in the names): hardware, precision, tp,
    input_len, output_len, max_batch, chunk_tokens, ttft_slo_s, qps_per_replica, tokens_per_s_per_gpu,
    tokens_per_s_per_user (1 / TPOT), concurrency, ttft_p_s, tpot_p_s (at the sweep's percentile), feasible
    (False where even the lightest load misses the SLO; a replica that prompt passes fill is sized below one
    sequence in flight, as ServingLoadModel sizes it). `res["col"]` is a column, `res[i]` row i as a dict."""

    def __init__(self, columns: dict, *, skipped=None, settings=None):
        self._cols = columns
        self.skipped = dict(skipped or {})
        self.settings = dict(settings or {})

    def __len__(self):
        return len(next(iter(self._cols.values())))

    @property
    def columns(self) -> list[str]:
        return list(self._cols)

    def column(self, name):
        if name not in self._cols:
            raise unknown("serving sweep column", name, self.columns)
        return self._cols[name]

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, (int, np.integer)):
            n = len(self)
            if not -n <= key < n:
                raise IndexError(f"row {key} out of range for a serving sweep of {n} rows")
            return {k: v[key].item() if hasattr(v[key], "item") else v[key] for k, v in self._cols.items()}
        return ServingSweepResult({k: v[key] for k, v in self._cols.items()}, skipped=self.skipped,
                                  settings=self.settings)

    def feasible(self) -> "ServingSweepResult":
        return self[np.flatnonzero(self._cols["feasible"])]

    def sort(self, by="tokens_per_s_per_gpu", descending=None) -> "ServingSweepResult":
        desc = by in _MAXIMIZE if descending is None else descending
        order = np.argsort(self.column(by), kind="stable")
        return self[order[::-1] if desc else order]

    def pareto(self, objectives=("tokens_per_s_per_gpu", "tokens_per_s_per_user"), feasible_only=True):
        """Non-dominated rows for `objectives` (columns; throughput-like ones maximised, '-col' maximises any),
        sorted by the first."""
        from .pareto import pareto_mask
        if isinstance(objectives, str) or not isinstance(objectives, (list, tuple)):
            objectives = (objectives,)  # one name (its letters were read as columns: "unknown column 't'")
        if not all(isinstance(o, str) for o in objectives):
            raise ConfigError(f"pareto: objectives are column names, e.g. ('tokens_per_s_per_gpu', "
                              f"'tokens_per_s_per_user'); got {objectives!r}")
        cols = [(o[1:], True) if o.startswith("-") else (o, o in _MAXIMIZE) for o in objectives]
        if not cols:
            raise ConfigError("pareto: give at least one objective, e.g. ('tokens_per_s_per_gpu', "
                              "'tokens_per_s_per_user')")
        sub = self.feasible() if feasible_only else self
        pts = np.column_stack([sub.column(c).astype(float) for c, _ in cols])
        front = sub[np.flatnonzero(pareto_mask(pts, [m for _, m in cols]))]
        return front.sort(cols[0][0], descending=cols[0][1])

    def to_pandas(self):
        """A pandas DataFrame (pandas is imported here, not at `import mlsysim`)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("to_pandas() needs pandas: pip install 'mlsysim[explore]'") from exc
        return pd.DataFrame(self._cols)

    def to_csv(self, path, **kwargs) -> None:
        """Write the table as CSV, as SweepResult.to_csv does (it had none: AttributeError)."""
        kwargs.setdefault("index", False)
        self.to_pandas().to_csv(path, **kwargs)

    def _skipped_text(self) -> str:
        """The layouts left out of the table and why (a precision the chip lacks, no room for the KV cache): they
        vanished from the view, so an fp8 sweep on an A100 read as if the A100 had been tried."""
        if not self.skipped:
            return ""
        why = [f"{k[0]} {k[1]} TP{k[2]}: {v}" for k, v in list(self.skipped.items())[:3]]
        more = f" and {len(self.skipped) - 3} more" if len(self.skipped) > 3 else ""
        return f"{len(self.skipped)} layouts not in the table (.skipped): {'; '.join(why)}{more}"

    def __repr__(self):
        import shutil
        import textwrap
        width = max(shutil.get_terminal_size((80, 24)).columns, 40)
        text = f"ServingSweepResult({len(self)} rows; columns {', '.join(self.columns)})"
        return "\n".join(w for t in (text, self._skipped_text()) if t
                         for w in textwrap.wrap(t, width, subsequent_indent="  "))

    def _repr_html_(self, max_rows: int = 20) -> str:
        import html
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v[i]))}</td>" for v in self._cols.values()) + "</tr>"
                       for i in range(min(len(self), max_rows)))
        more = f"<p>... {len(self) - max_rows:,} more rows (to_pandas() for all)</p>" if len(self) > max_rows else ""
        skipped = f"<p>{html.escape(self._skipped_text())}</p>" if self.skipped else ""
        return (f"<table><caption>{len(self)} serving configurations</caption><tr>{head}</tr>{body}</table>"
                f"{more}{skipped}")


def _fmt(v):
    return f"{v:,.4g}" if isinstance(v, (float, np.floating)) else str(v)


def serving_sweep(model, **kw) -> ServingSweepResult:
    """Every serving configuration (hardware x precision x TP x lengths x max batch x prefill budget x TTFT SLO)
    as a table; keyword arguments as solvers.serving_sweep.serving_sweep (hardware=, precisions=, tp_sizes=,
    lengths=, max_batches=, chunks=, ttft_slos=, tpot_slo=, percentile=, engine=, arrival_cv=, input_cv=,
    output_cv=, draft_model= or mtp_depth=, draft_acceptance_rate=, draft_tokens=)."""
    from ..solvers.serving_sweep import serving_sweep as grid
    g = grid(model, **kw)
    shape = np.shape(g["qps"])
    idx = np.indices(shape).reshape(len(shape), -1)
    lay = [g["layouts"][i] for i in idx[0]]
    tpot = np.asarray(g["tpot_q_s"], float).ravel()
    cols = {"hardware": np.array([x[0] for x in lay], object), "precision": np.array([x[1] for x in lay], object),
            "tp": np.array([x[2] for x in lay], int), "input_len": np.array([x[3] for x in lay], float),
            "output_len": np.array([x[4] for x in lay], float),
            "max_batch": np.asarray(g["max_batch"], float)[idx[1]],
            "chunk_tokens": np.asarray(g["chunk"], float)[idx[2]],
            "ttft_slo_s": np.asarray(g["ttft_slo"], float)[idx[3]],
            "qps_per_replica": np.asarray(g["qps"], float).ravel(),
            "tokens_per_s_per_gpu": np.asarray(g["tokens_per_s_per_gpu"], float).ravel(),
            "tokens_per_s_per_user": 1.0 / tpot, "concurrency": np.asarray(g["conc"], float).ravel(),
            "ttft_p_s": np.asarray(g["ttft_q_s"], float).ravel(), "tpot_p_s": tpot,
            "feasible": np.asarray(g["ok"], bool).ravel()}
    return ServingSweepResult(cols, skipped=g["skipped"], settings=kw)


__all__ = ["serving_sweep", "ServingSweepResult"]
