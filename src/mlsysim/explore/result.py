"""SweepResult: the table a sweep returns, as numpy columns with units in their names."""
from __future__ import annotations

import numpy as np

from ..errors import ConfigError, unknown
from ..physics.training import RECOMPUTE
from ._columns import DERIVED, ORDER, PHYSICS, Context, Table
from ._plan import BIT, MEMORY_REASON, REASONS

RECOMPUTE_NAMES = {code: name for name, code in RECOMPUTE.items()}
# Decoded categorical columns: public name -> (stored code column, labels attribute).
_CATEGORICAL = {"fleet": "fleet_id", "precision": "precision_id", "datacenter": "datacenter_id",
                "recompute": "recompute_id"}
_HIDDEN = {"fleet_id", "precision_id", "datacenter_id", "recompute_id", "reason_bits", "memory_b"}
_PUBLIC = {v: c for c, v in _CATEGORICAL.items()}
# Columns where larger is better (pareto/optimize maximise them).
MAXIMIZE = {"mfu", "hfu", "tokens_per_s", "tflops_per_device", "scaling_efficiency", "memory_headroom"}


class SweepResult:
    """Every configuration of a sweep, one row each, in numpy columns (units in the names: `step_s`,
    `time_to_train_days`, `memory_gb`, `energy_mwh`, `carbon_t`, `cost_usd`, ...).

    Rows that cannot run keep their numbers where they exist (out of memory) or NaN (invalid layouts), with
    `feasible=False` and a `reason`. Column access returns numpy arrays (`res["mfu"]`); `res[i]` is row i as a
    dict; `res[mask]` / `res[indices]` are sub-tables.

        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import sweep
        >>> res = sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[4, 8], pp=[1, 2, 4])
        >>> len(res), res.columns[:3]
        (12, ['config_id', 'fleet', 'precision'])
        >>> ok = res.feasible().sort("time_to_train_days")
        >>> bool(ok["feasible"].all())
        True
    """

    def __init__(self, columns: dict, *, model, fleets, precisions, datacenters, settings: dict,
                 evaluated: int | None = None):
        lengths = {len(a) for a in columns.values()}
        if len(lengths) > 1:
            raise ConfigError(f"SweepResult: columns of different lengths {sorted(lengths)}")
        self._cols = columns
        self.model = model
        self.fleets = list(fleets)
        self.precisions = list(precisions)
        self.datacenters = list(datacenters)
        self.settings = dict(settings)
        #: configurations the sweep evaluated (rows kept may be fewer with keep="feasible")
        self.evaluated = len(self) if evaluated is None else evaluated
        self._table = None
        self._sorted_by: tuple = ()  # sort()'s keys: the views keep them in sight

    def _tab(self) -> Table:
        """Derived and re-evaluated columns, computed on first access (narrow stored rows, issue 17)."""
        if self._table is None:
            ctx = Context.of(self.model, self.fleets, self.precisions, self.settings)
            self._table = Table(self._cols, ctx, BIT[MEMORY_REASON])
        return self._table

    # ------------------------------------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(next(iter(self._cols.values()))) if self._cols else 0

    def _stored_or_derived(self, name) -> bool:
        if name in self._cols:
            return True
        return "step_s" in self._cols and (name in DERIVED or name in PHYSICS)

    @property
    def columns(self) -> list[str]:
        """Public column names (categorical ones decoded: fleet, precision, datacenter, recompute; plus reason)."""
        out = [_PUBLIC.get(k, k) for k in ORDER if k != "reason_bits" and self._stored_or_derived(k)]
        out += [k for k in self._cols if k not in ORDER and k not in _HIDDEN]
        return out + ["reason"]

    def has(self, name: str) -> bool:
        return (name in self._cols and name not in _HIDDEN) or (name not in self._cols and
                                                                self._stored_or_derived(name)) \
            or (name in _CATEGORICAL and _CATEGORICAL[name] in self._cols) or name == "reason"

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and self.has(name)

    def column(self, name: str) -> np.ndarray:
        """One column as a numpy array (categorical columns as arrays of names, `reason` as strings)."""
        if name in self._cols and name not in _HIDDEN:
            return self._cols[name]
        if name == "reason":
            return self.reasons()
        if name in _CATEGORICAL and _CATEGORICAL[name] in self._cols:
            codes = self._cols[_CATEGORICAL[name]]
            labels = self._labels(name)
            return np.asarray(labels, dtype=object)[codes] if len(labels) else np.empty(0, object)
        if name not in _HIDDEN and self._stored_or_derived(name):
            return self._tab()[name]
        raise unknown("column", name, self.columns)

    def _labels(self, name):
        if name == "fleet":
            return [f.name for f in self.fleets]
        if name == "precision":
            return list(self.precisions)
        if name == "datacenter":
            return [dc.name for dc in self.datacenters]
        return [RECOMPUTE_NAMES[i] for i in range(max(RECOMPUTE_NAMES) + 1)]

    def reasons(self) -> np.ndarray:
        """Why each row is infeasible ('' where feasible); several reasons are joined with '; '."""
        bits = self._cols["reason_bits"]
        out = np.empty(len(bits), dtype=object)
        uniq, inv = np.unique(bits, return_inverse=True)
        text = [reason_text(int(b)) for b in uniq]
        out[:] = np.asarray(text, dtype=object)[inv] if len(text) else []
        return out

    def reason_counts(self) -> dict:
        """{reason: number of rows it applies to} over the infeasible rows."""
        bits = self._cols["reason_bits"]
        return {r: int(np.count_nonzero(bits & BIT[r])) for r in REASONS if np.any(bits & BIT[r])}

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.column(key)
        if isinstance(key, (int, np.integer)):
            return self.row(int(key))
        return self._take(key)

    def _take(self, idx) -> "SweepResult":
        out = SweepResult({k: a[idx] for k, a in self._cols.items()}, model=self.model, fleets=self.fleets,
                          precisions=self.precisions, datacenters=self.datacenters, settings=self.settings,
                          evaluated=self.evaluated)
        out._sorted_by = self._sorted_by
        return out

    def row(self, i: int) -> dict:
        """Row i as a dict of Python scalars (decoded names for categorical columns)."""
        return self._row(i, self.columns)

    def _row(self, i: int, names) -> dict:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} out of range for a SweepResult of {n} rows")
        one = self._take(np.array([i % n]))  # derived and re-evaluated columns of this row only
        out = {}
        for name in names:
            if name == "reason":
                out[name] = reason_text(int(one._cols["reason_bits"][0]))
            elif name in _CATEGORICAL:
                out[name] = one._labels(name)[int(one._cols[_CATEGORICAL[name]][0])]
            else:
                out[name] = one.column(name)[0].item()
        return out

    # ----------------------------------------------------------------------------------- sub-tables
    def feasible(self) -> "SweepResult":
        """The rows that run: a valid layout that fits in memory."""
        return self._take(np.flatnonzero(self._cols["feasible"]))

    def infeasible(self) -> "SweepResult":
        return self._take(np.flatnonzero(~self._cols["feasible"]))

    def sort(self, by="time_to_train_days", descending: bool = False) -> "SweepResult":
        """Rows ordered by one column or several (a list: the first is the primary key); NaN last; stable."""
        keys = [by] if isinstance(by, str) else list(by)
        if not keys:
            raise ConfigError("sort: give at least one column")
        arrays = []
        for k in reversed(keys):
            a = self.column(k)
            if a.dtype == object:
                a = a.astype(str)
            elif descending:
                a = -a.astype(float)
            arrays.append(a)
        order = np.lexsort(arrays)
        if descending and self.column(keys[0]).dtype == object:
            order = order[::-1]
        out = self._take(order)
        out._sorted_by = tuple(keys)
        return out

    def head(self, n: int = 10) -> "SweepResult":
        return self._take(slice(0, n))

    # ----------------------------------------------------------------------------------- the scalar face
    def solver_kwargs(self, i: int) -> dict:
        """Keyword arguments that make `DistributedModel().solve(**kw)` evaluate row i (the same physics).
        The global batch is passed only where the sweep fixed it; otherwise the solver derives it the same way."""
        r = self._row(i, ("tp", "pp", "dp", "cp", "ep", "seq_len", "microbatch", "precision", "recompute", "zero",
                          "interleave", "global_batch_size"))
        s = self.settings
        kw = dict(model=self.model, fleet=self.fleets[int(self._cols["fleet_id"][i])], tp_size=r["tp"],
                  pp_size=r["pp"], dp_size=r["dp"], cp_size=r["cp"], ep_size=r["ep"], seq_len=r["seq_len"],
                  microbatch_size=r["microbatch"], precision=r["precision"], recompute=r["recompute"],
                  zero_stage=r["zero"], interleave=r["interleave"], tokens=s["tokens"],
                  flash_attention=s["flash_attention"], sequence_parallel=s["sequence_parallel"],
                  dp_overlap=s["dp_overlap"], straggler_cv=s["straggler_cv"], stack=s.get("stack"),
                  tp_overlap=s.get("tp_overlap", 0.0) if r["tp"] > 1 else 0.0, ep_overlap=s.get("ep_overlap", 0.0))
        if not s.get("global_batch_derived", True):
            kw["global_batch_size"] = r["global_batch_size"]
        return kw

    def solve(self, i: int = 0):
        """Row i re-evaluated by the scalar solver: a full `DistributedResult` (breakdown, assumptions)."""
        from ..solvers.distributed import DistributedModel
        return DistributedModel().solve(**self.solver_kwargs(i))

    # ----------------------------------------------------------------------------------- export
    def to_dict(self) -> dict:
        """{column: numpy array} with categorical columns decoded."""
        return {c: self.column(c) for c in self.columns}

    def to_pandas(self):
        """A pandas DataFrame (pandas is imported here, not at `import mlsysim`)."""
        try:
            import pandas as pd
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError("to_pandas() needs pandas: pip install 'mlsysim[explore]'") from exc
        data = {}
        for c in self.columns:
            a = self.column(c)
            data[c] = pd.Categorical(a) if c in _CATEGORICAL or c == "reason" else a
        return pd.DataFrame(data)

    def to_csv(self, path, **kwargs) -> None:
        """Write the table as CSV (through pandas when available, else numpy)."""
        import importlib.util
        if importlib.util.find_spec("pandas") is None:
            self._to_csv_numpy(path)
            return
        kwargs.setdefault("index", False)
        self.to_pandas().to_csv(path, **kwargs)

    def _to_csv_numpy(self, path):
        import csv
        cols = self.columns
        data = [self.column(c) for c in cols]
        with open(path, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for i in range(len(self)):
                w.writerow([d[i] for d in data])

    def to_parquet(self, path, **kwargs) -> None:
        """Write the table as Parquet (needs pandas and pyarrow)."""
        kwargs.setdefault("index", False)
        self.to_pandas().to_parquet(path, **kwargs)

    # ----------------------------------------------------------------------------------- display
    def _shown(self) -> list[str]:
        """The columns a view shows: the layout, the answers, fleet/datacenter when more than one was swept, the
        reason when a row is infeasible, and the columns the rows are sorted by."""
        bits = self._cols.get("reason_bits")
        shown = [c for c in ("fleet", "datacenter", "tp", "pp", "dp", "cp", "microbatch", "interleave", "recompute",
                             "zero", "step_s", "time_to_train_days", "mfu", "memory_gb", "cost_usd", "carbon_t",
                             "reason")
                 if self.has(c) and (c != "fleet" or len(self.fleets) > 1)
                 and (c != "datacenter" or len(self.datacenters) > 1)
                 and (c != "reason" or bits is None or bool(np.any(bits)))]
        return shown + [c for c in self._sorted_by if c not in shown and self.has(c)]

    def _head(self) -> str:
        n, nf = len(self), int(np.count_nonzero(self._cols["feasible"])) if self._cols else 0
        fleets = ", ".join(f.name for f in self.fleets[:3]) + (" ..." if len(self.fleets) > 3 else "")
        return f"SweepResult: {n:,} configurations ({nf:,} feasible) of {self.model.name} on {fleets}"

    def __repr__(self) -> str:
        """The first rows, as wide as the terminal (COLUMNS): fleets and sites by registry key, and the least
        telling columns left out (named below the table) until the rest fits."""
        return self._text()

    def _text(self, title: bool = True) -> str:
        """The text view; without its title line(s) for a view that leads with its own (OptimizeResult)."""
        import shutil
        import textwrap
        width = max(shutil.get_terminal_size((80, 24)).columns, 40)
        n, head = len(self), textwrap.wrap(self._head(), width, subsequent_indent="  ") if title else []
        if not n:
            return "\n".join(head)
        short = {f.name: f.key for f in self.fleets if getattr(f, "key", None)}
        short.update({d.name: d.key for d in self.datacenters if getattr(d, "key", None)})
        show = self._shown()
        cells = {c: [c] + [short.get(v, v) for v in (_fmt(self.column(c)[i]) for i in range(min(n, 8)))]
                 for c in show}
        hidden = []
        for c in _DROP_FIRST:
            if sum(max(map(len, cells[x])) + 2 for x in show) - 2 <= width:
                break
            room = width - sum(max(map(len, cells[x])) + 2 for x in show if x != c)
            if c == "reason" and c in show and room >= 16:  # why a row has no numbers: cut, never hidden
                cells[c] = [v if len(v) <= room else v[:room - 3] + "..." for v in cells[c]]
                break
            if c in show and c not in self._sorted_by:
                show.remove(c)
                hidden.append(c)
        widths = [max(map(len, cells[c])) for c in show]
        lines = ["  ".join(cells[c][i].rjust(w) for c, w in zip(show, widths)) for i in range(len(cells[show[0]]))]
        tail = (["..."] if n > 8 else []) + textwrap.wrap(
            f"not shown: {', '.join(hidden)} (res.column(name), to_pandas())" if hidden else "", width)
        return "\n".join(head + lines + tail)

    def _repr_html_(self, max_rows: int = 20) -> str:
        """A notebook table of the first rows (the same columns as the text view)."""
        import html
        n, show = len(self), self._shown()
        head = "<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in show) + "</tr>"
        body = "".join("<tr>" + "".join(f"<td style='text-align:{'left' if c in _TEXT else 'right'}'>"
                                        f"{html.escape(_fmt(self.column(c)[i]))}</td>" for c in show) + "</tr>"
                       for i in range(min(n, max_rows)))
        more = f"<p>... {n - max_rows:,} more rows (to_pandas() for all)</p>" if n > max_rows else ""
        return (f"<div><b>{html.escape(self._head())}</b>"
                + (f"<table>{head}{body}</table>{more}" if n else "") + "</div>")


_TEXT = {"fleet", "datacenter", "recompute", "reason"}
# the text view leaves these out first when the terminal is narrow (the layout's core and the answers stay)
_DROP_FIRST = ("interleave", "cp", "step_s", "zero", "microbatch", "recompute", "carbon_t", "cost_usd", "memory_gb",
               "reason")


def reason_text(bits: int) -> str:
    return "; ".join(r for r in REASONS if bits & int(BIT[r]))


def _fmt(v) -> str:
    """Numbers as the CLI prints them (thousands separators, 4 significant digits)."""
    if isinstance(v, (float, np.floating)):
        from ..solvers._common import format_number
        return "nan" if v != v else format_number(float(v))
    return str(v)
