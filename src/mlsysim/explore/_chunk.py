"""One evaluated chunk as an open mesh: columns are flattened to the chunk's rows only when a reducer asks for
them, and the winners' stored columns are gathered straight from the mesh (no full-length copy)."""
from __future__ import annotations

import numpy as np

from ._columns import DERIVED, PERF, PHYSICS, derive, physics_columns, stored_physics

_INT_AXES = {"tp": "tp", "pp": "pp", "dp": "dp", "cp": "cp", "ep": "ep", "microbatch": "microbatch",
             "interleave": "interleave", "zero": "zero", "seq_len": "seq_len",
             "global_batch_size": "global_batch_size", "recompute_id": "recompute"}


class Chunk:
    """Columns of configurations [start, start + N) of one group, computed from mesh-shaped values on demand.

    `mesh`: axis values (floats or arrays shaped to broadcast to `shape`); `out`: the physics' outputs on the
    mesh (None when no row of the chunk is valid); `valid`, `feas`, `bits`: full-length row masks and reason
    bits; `rows`: the kept positions (None: all).
    """

    def __init__(self, plan, g, start, shape, mesh, out, valid, feas, bits, rows):
        self.plan, self.g, self.start, self.shape = plan, g, start, shape
        self.N = int(np.prod(shape))
        self.mesh, self.out = mesh, out
        self.valid, self.feas, self.bits, self.rows = valid, feas, bits, rows
        self.invalid = None if valid.all() else ~valid
        self._cache = {}
        self._stored_phys = stored_physics(out) if out is not None else None
        self._phys = None

    @property
    def n(self) -> int:
        return self.N if self.rows is None else len(self.rows)

    def has(self, name) -> bool:
        return name in self.plan.dtypes or name in DERIVED or name in PHYSICS

    # -------------------------------------------------------------------------------- mesh-level values
    def _mesh_value(self, name):
        """The mesh-shaped value of a column (before flattening, NaN masking and row selection)."""
        if name in _INT_AXES:
            return self.mesh[_INT_AXES[name]]
        if name in self.plan.dtypes and name not in ("step_s", "mfu", "memory_b"):
            raise KeyError(name)
        if self.out is None:
            return np.nan if name in PERF else self._derived(name)
        if name in ("step_s", "mfu", "memory_b"):
            return self._stored_phys[name]
        if name in PHYSICS:
            if self._phys is None:
                self._phys = physics_columns(self.out)
            return self._phys[name]
        return self._derived(name)

    def _derived(self, name):
        g = self.g
        return derive(name, self._mesh_value, float(g.n), g.nodes, g.capacity, self.plan.tokens)

    def _dtype(self, name):
        if name in self.plan.dtypes:
            return self.plan.dtypes[name]
        return np.dtype(np.int64) if name in ("nodes", "accelerators", "batch_tokens") else np.dtype(float)

    def _prepared(self, name):
        """The mesh value in the column's dtype (dp of an invalid layout, a fraction, becomes 0)."""
        with np.errstate(all="ignore"):
            a = np.asarray(self._mesh_value(name))
            if name == "dp":
                a = np.where(np.isfinite(a), a, 0)
            return a.astype(self._dtype(name), copy=False)

    # -------------------------------------------------------------------------------- columns
    def __getitem__(self, name):
        col = self._cache.get(name)
        if col is None:
            col = self._cache[name] = self._column(name)
        return col

    def _column(self, name):
        R = self.n
        if name == "config_id":
            pos = np.arange(self.start, self.start + self.N, dtype=np.int64) if self.rows is None \
                else self.start + self.rows.astype(np.int64)
            return self.g.offset + pos * self.plan.n_dc
        if name in ("fleet_id", "precision_id"):
            return np.full(R, getattr(self.g, name), self.plan.dtypes[name])
        if name == "feasible":
            return self.feas if self.rows is None else self.feas[self.rows]
        if name == "reason_bits":
            return self.bits if self.rows is None else self.bits[self.rows]
        a = self._prepared(name)
        full = np.empty(self.N, a.dtype)
        np.copyto(full.reshape(self.shape), a)
        if self.invalid is not None and name in PERF:
            np.copyto(full, np.nan, where=self.invalid)
        return full if self.rows is None else full[self.rows]

    def all_stored(self) -> dict:
        return {k: self[k] for k in self.plan.dtypes}

    def fill(self, cols, pos) -> int:
        """Write every stored column of this chunk (all rows kept) into `cols` at `pos`; returns the row count."""
        assert self.rows is None
        for k, dest in cols.items():
            d = dest[pos:pos + self.N]
            if k in _INT_AXES or k in ("step_s", "mfu", "memory_b"):
                np.copyto(d.reshape(self.shape), self._prepared(k))
                if self.invalid is not None and k in PERF:
                    np.copyto(d, np.nan, where=self.invalid)
            else:
                d[...] = self[k]
        return self.N

    def take(self, idx, names=()) -> dict:
        """Stored columns (and `names`) of kept rows at positions `idx`, gathered from the mesh."""
        idx = np.asarray(idx, np.intp)
        p = idx if self.rows is None else self.rows[idx]
        mi = np.unravel_index(p, self.shape)
        nd = len(self.shape)
        bad = None if self.invalid is None else self.invalid[p]
        out = {}
        for k in tuple(self.plan.dtypes) + tuple(n for n in names if n not in self.plan.dtypes):
            if k == "config_id":
                out[k] = self.g.offset + (self.start + p.astype(np.int64)) * self.plan.n_dc
            elif k in ("fleet_id", "precision_id"):
                out[k] = np.full(len(p), getattr(self.g, k), self.plan.dtypes[k])
            elif k == "feasible":
                out[k] = self.feas[p]
            elif k == "reason_bits":
                out[k] = self.bits[p]
            else:
                a = np.asarray(self._mesh_value(k))
                if a.ndim == 0:
                    a = np.full(len(p), a)
                else:  # index the mesh directly: broadcast dimensions (length 1) take index 0
                    a = a.reshape((1,) * (nd - a.ndim) + a.shape)
                    a = a[tuple(m if a.shape[d] != 1 else 0 for d, m in enumerate(mi))]
                if k == "dp":
                    a = np.where(np.isfinite(a), a, 0)
                a = a.astype(self._dtype(k), copy=False)
                if bad is not None and k in PERF:
                    a = np.where(bad, np.nan, a)
                out[k] = a
        return out
