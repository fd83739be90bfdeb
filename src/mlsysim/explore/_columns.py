"""The explorer's columns: which are stored (narrow dtypes), which are derived on demand, and the one call into the
training physics that both the chunk (open mesh) and the row (re-evaluation) paths make.

A kept row stores its configuration (small integers), step time, MFU, memory total, feasibility and reason bits
(~60 bytes). Time to train, throughput, GPU-hours, memory in GB and headroom are exact arithmetic on those
(`derive`); the step-time breakdown, memory by category, HFU and TFLOP/s are re-evaluated by the same physics
when first asked for (`physics_columns`), for the rows asked about.
"""
from __future__ import annotations

import numpy as np

from ..physics.training import evaluate, model_dims, precision_bytes
from ..solvers.distributed import BREAKDOWN_KEYS, default_sequence_parallel, hardware_args

# Public columns in table order (categorical ones by their stored code column).
ORDER = ("config_id", "fleet_id", "precision_id", "nodes", "accelerators", "tp", "pp", "dp", "cp", "ep",
         "microbatch", "interleave", "zero", "seq_len", "global_batch_size", "batch_tokens", "recompute_id",
         "step_s", "time_to_train_days", "mfu", "hfu", "tokens_per_s", "tflops_per_device", "scaling_efficiency",
         "steps", "microbatches", "gpu_hours", *(f"{k}_s" for k in BREAKDOWN_KEYS), "memory_gb", "weights_gb",
         "gradients_gb", "optimizer_gb", "activations_gb", "reserved_gb", "memory_capacity_gb", "memory_headroom",
         "feasible", "reason_bits", "datacenter_id")
AXIS_COLUMNS = ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "zero", "seq_len", "global_batch_size")
# Floats stored per row (the memory total in bytes is hidden: memory_gb and memory_headroom derive from it).
STORED_FLOAT = ("step_s", "mfu", "memory_b")
DERIVED = ("nodes", "accelerators", "batch_tokens", "time_to_train_days", "tokens_per_s", "steps", "microbatches",
           "gpu_hours", "memory_gb", "memory_capacity_gb", "memory_headroom")
MEMORY_PARTS = ("weights", "gradients", "optimizer", "activations", "reserved")
PHYSICS = ("hfu", "tflops_per_device", "scaling_efficiency", *(f"{k}_s" for k in BREAKDOWN_KEYS),
           *(f"{k}_gb" for k in MEMORY_PARTS))
PERF = STORED_FLOAT + DERIVED[3:] + PHYSICS  # float columns that are NaN for invalid layouts


def int_dtype(hi) -> np.dtype:
    """The narrowest signed integer dtype holding 0..hi."""
    for dt in (np.int8, np.int16, np.int32):
        if hi <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


class Context:
    """What turns stored columns into the others: the model, fleets, precisions and the sweep's settings."""

    def __init__(self, model, fleets, precisions, *, tokens, flash, sp, dp_overlap, cv, stack=None, tp_overlap=0.0,
                 ep_overlap=0.0):
        self.d = model_dims(model)
        self.stack = stack  # software-stack key (None: the default)
        self.fleets, self.precisions = list(fleets), list(precisions)
        self.tokens, self.flash, self.sp, self.dp_overlap, self.cv = tokens, bool(flash), sp, float(dp_overlap), cv
        self.tp_overlap, self.ep_overlap = float(tp_overlap), float(ep_overlap)  # scalars, as the solver takes them
        self.n = np.array([f.total_accelerators for f in self.fleets], float)
        self.nodes = np.array([f.count for f in self.fleets], np.int64)
        self.capacity = np.array([f.node.accelerator.memory_bytes for f in self.fleets], float)
        self._hw = {}

    @classmethod
    def of(cls, model, fleets, precisions, settings):
        return cls(model, fleets, precisions, tokens=settings["tokens"], flash=settings["flash_attention"],
                   sp=settings["sequence_parallel"], dp_overlap=1.0 if settings["dp_overlap"] else 0.0,
                   cv=settings["straggler_cv"], stack=settings.get("stack"),
                   tp_overlap=settings.get("tp_overlap", 0.0), ep_overlap=settings.get("ep_overlap", 0.0))

    def hardware(self, fi: int, pi: int):
        """(hardware_args, bytes_el, bytes_grad) of a (fleet, precision) pair, or None if unsupported."""
        key = (fi, pi)
        if key not in self._hw:
            from ..errors import ConfigError
            prec = self.precisions[pi]
            try:
                self._hw[key] = (hardware_args(self.fleets[fi], prec, self.stack),) + precision_bytes(prec)
            except ConfigError:
                self._hw[key] = None
        return self._hw[key]

    def physics(self, fi, pi, *, tp, pp, dp, cp, ep, mb, gbs, seq, v, rc, zero) -> dict:
        """evaluate() of the training physics for one (fleet, precision) on scalars or arrays."""
        hw, bytes_el, bytes_grad = self.hardware(fi, pi)
        return evaluate(self.d, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs, seq=seq, v=v, recompute=rc,
                        zero=zero, flash=self.flash, sp=default_sequence_parallel(tp, self.sp), tokens=self.tokens,
                        capacity=float(self.capacity[fi]), bytes_el=bytes_el, bytes_grad=bytes_grad,
                        dp_overlap=self.dp_overlap, tp_overlap=self.tp_overlap, ep_overlap=self.ep_overlap,
                        straggler_cv=self.cv, hw=hw)


def stored_physics(out) -> dict:
    """The stored float columns from evaluate()'s outputs (scalars or mesh-shaped arrays)."""
    return {"step_s": out["step"], "mfu": out["mfu"], "memory_b": out["memory_total"]}


def physics_columns(out) -> dict:
    """The re-evaluated columns from evaluate()'s outputs."""
    mem = out["memory"]
    cols = {"hfu": out["hfu"], "tflops_per_device": out["flops_per_device"] / 1e12,
            "scaling_efficiency": out["scaling_efficiency"]}
    for k in BREAKDOWN_KEYS:
        cols[f"{k}_s"] = out[k]
    for k in MEMORY_PARTS:
        cols[f"{k}_gb"] = mem[k] / 1e9
    return cols


def derive(name, get, n, nodes, capacity, tokens):
    """A derived column from stored ones (`get(name)`: floats or int arrays); n, nodes, capacity: per row or
    scalars. Same arithmetic, in the same order, as the physics' outputs it replaces."""
    if name == "nodes":
        return nodes
    if name == "accelerators":
        return n
    if name == "batch_tokens":
        return np.asarray(get("global_batch_size"), np.int64) * np.asarray(get("seq_len"), np.int64)
    step = get("step_s")
    if name in ("memory_gb", "memory_headroom"):
        mem = get("memory_b")
        return mem / 1e9 if name == "memory_gb" else 1.0 - mem / capacity
    if name == "memory_capacity_gb":
        return np.where(np.isnan(step), np.nan, capacity / 1e9)
    gbs = np.asarray(get("global_batch_size"), float)
    if name == "microbatches":
        with np.errstate(all="ignore"):
            return np.where(np.isnan(step), np.nan, gbs / (np.asarray(get("dp"), float) * get("microbatch")))
    tps = gbs * np.asarray(get("seq_len"), float)
    if name == "tokens_per_s":
        return tps / step
    if name == "steps":
        return np.where(np.isnan(step), np.nan, tokens / tps)
    ttt = step * tokens / tps
    if name == "time_to_train_days":
        return ttt / 86400.0
    if name == "gpu_hours":
        return ttt / 3600.0 * n
    raise KeyError(name)


ROWS_PER_BLOCK = 1 << 20  # rows re-evaluated at once: bounds the temporary memory (~0.3 KB per row)


def evaluate_rows(ctx: Context, get, valid, names=PHYSICS) -> dict:
    """The PHYSICS columns `names` of stored rows (`get(name)`: their stored columns; `valid`: rows whose layout
    is valid), by the same physics call as the chunks, on 1-D arrays per (fleet, precision), in blocks of rows."""
    fid, pid = np.asarray(get("fleet_id")), np.asarray(get("precision_id"))
    R = len(fid)
    out = {k: np.full(R, np.nan) for k in names}
    axes = {"tp": "tp", "pp": "pp", "dp": "dp", "cp": "cp", "ep": "ep", "mb": "microbatch",
            "gbs": "global_batch_size", "seq": "seq_len", "v": "interleave", "rc": "recompute_id", "zero": "zero"}
    for fi, pi in {(int(a), int(b)) for a, b in zip(fid[valid], pid[valid])}:
        if ctx.hardware(fi, pi) is None:
            continue
        rows = np.flatnonzero(valid & (fid == fi) & (pid == pi))
        for s in range(0, len(rows), ROWS_PER_BLOCK):
            idx = rows[s:s + ROWS_PER_BLOCK]
            res = physics_columns(ctx.physics(fi, pi, **{a: np.asarray(get(c))[idx].astype(float)
                                                         for a, c in axes.items()}))
            for k in names:
                out[k][idx] = res[k]
    return out


class Table:
    """Stored columns of some rows (a dict) with every other column computed on demand (cached)."""

    def __init__(self, stored: dict, ctx: Context, memory_bit):
        self.stored, self.ctx, self.memory_bit = stored, ctx, memory_bit
        self._extra = {}

    @property
    def n(self) -> int:
        return len(self.stored["config_id"])

    def has(self, name) -> bool:
        return name in self.stored or name in self._extra or name in DERIVED or name in PHYSICS

    def __getitem__(self, name):
        if name in self.stored:
            return self.stored[name]
        if name not in self._extra:
            if name in PHYSICS:  # small tables: every such column at once; large ones: the one asked for
                valid = (self.stored["reason_bits"] & ~self.memory_bit) == 0
                names = PHYSICS if self.n <= 65536 else (name,)
                self._extra.update(evaluate_rows(self.ctx, self.stored.__getitem__, valid, names))
            elif name in DERIVED:
                fid = self.stored["fleet_id"]
                val = derive(name, self.stored.__getitem__, self.ctx.n[fid], self.ctx.nodes[fid],
                             self.ctx.capacity[fid], self.ctx.tokens)
                self._extra[name] = val.astype(np.int64) if name in ("nodes", "accelerators") else val
            else:
                raise KeyError(name)
        return self._extra[name]

    def with_columns(self, extra: dict) -> "Table":
        t = Table({**self.stored, **extra}, self.ctx, self.memory_bit)
        return t

    def take(self, idx, names=()) -> dict:
        """Stored columns (and `names`) at positions `idx`."""
        out = {k: a[idx] for k, a in self.stored.items()}
        for k in names:
            if k not in out:
                out[k] = self[k][idx]
        return out

    def all_stored(self) -> dict:
        return self.stored
