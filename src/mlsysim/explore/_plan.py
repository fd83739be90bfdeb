"""The sweep plan: categorical groups (fleet x precision) whose numeric axes are broadcast as numpy arrays.

A plan is a picklable description of every configuration of a sweep. It is cut into chunks of `chunk_size`
configurations by position only (never by executor), and `Plan.evaluate(group, start, stop)` turns one chunk into
columns by calling the same physics as `DistributedModel.solve` (`layout_problems`, `evaluate`) on arrays; so the
in-process and the Dask executors produce bit-identical rows.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..errors import ConfigError, unknown
from ..physics.layout import layout_problems
from ..physics.training import RECOMPUTE, default_global_batch, evaluate, model_dims, precision_bytes
from ..solvers.distributed import (BREAKDOWN_KEYS, batch_target_tokens, default_sequence_parallel, hardware_args,
                                   resolve_straggler_cv, resolve_tokens, training_precision)

# Numeric axes, in the order they vary (the last one fastest within a group).
AXES = ("tp", "pp", "cp", "ep", "microbatch", "interleave", "recompute", "zero", "seq_len", "global_batch_size")

_LAYOUT_REASONS = tuple(layout_problems(SimpleNamespace(L=1.0, a=1.0, kv=1.0, E=1.0), n=1, tp=1, pp=1, dp=1, cp=1,
                                        ep=1, mb=1, gbs=1, v=1, seq=2))
DIVIDE_REASON = "tp*pp*cp does not divide the fleet's accelerators"
PRECISION_REASON = "precision not supported by the accelerator"
MEMORY_REASON = "out of memory"
#: Every reason a row can be infeasible for; row i's reasons are the set bits of its `reason_bits`.
REASONS = (DIVIDE_REASON, PRECISION_REASON) + _LAYOUT_REASONS + (MEMORY_REASON,)
BIT = {r: np.uint32(1 << i) for i, r in enumerate(REASONS)}

PERF_FLOAT = ("step_s", "time_to_train_days", "mfu", "hfu", "tokens_per_s", "tflops_per_device",
              "scaling_efficiency", "steps", "microbatches", "gpu_hours",
              *(f"{k}_s" for k in BREAKDOWN_KEYS),
              "memory_gb", "weights_gb", "gradients_gb", "optimizer_gb", "activations_gb", "reserved_gb",
              "memory_capacity_gb", "memory_headroom")

class Group:
    """One (fleet, precision) pair and its numeric axes; `size` configurations before datacenters."""

    __slots__ = ("fleet_id", "precision_id", "n", "nodes", "hw", "bytes_el", "bytes_grad", "capacity", "axes",
                 "shape", "size", "offset", "error_bit", "gbs_derived")


class Plan:
    def __init__(self, model, fleets, precisions, datacenters, groups, *, tokens, flash, sp, dp_overlap, cv,
                 keep, chunk_size, sustain):
        self.model, self.fleets, self.precisions, self.datacenters = model, fleets, precisions, datacenters
        self.d = model_dims(model)
        self.groups = groups
        self.tokens, self.flash, self.sp, self.dp_overlap, self.cv = tokens, flash, sp, dp_overlap, cv
        self.keep, self.chunk_size = keep, chunk_size
        self.sustain = sustain  # None, or an object with .columns(cols, plan) adding energy/carbon/cost
        self.n_dc = max(1, len(datacenters))
        off = 0
        for g in groups:
            g.offset = off
            off += g.size * self.n_dc
        self.total = off

    def tasks(self) -> list[tuple[int, int, int]]:
        """(group, start, stop) chunks covering every configuration, in order. A chunk fixes the leading axes,
        takes a slice of one axis and all values of the later ones, so that it is an open mesh (see evaluate)."""
        out = []
        for gi, g in enumerate(self.groups):
            j, inner = _split_axis(g.shape, self.chunk_size)
            step = max(1, self.chunk_size // inner) * inner
            span = g.shape[j] * inner
            for base in range(0, g.size, span):
                out += [(gi, s, min(s + step, base + span)) for s in range(base, base + span, step)]
        return out

    def rows_of(self, task) -> int:
        return (task[2] - task[1]) * self.n_dc

    def empty_columns(self) -> dict:
        """The columns of this plan with no rows (names and dtypes)."""
        return {k: a[:0] for k, a in self.evaluate(*self.tasks()[0]).items()}

    # ------------------------------------------------------------------------------------------ one chunk
    def evaluate(self, gi: int, start: int, stop: int) -> dict:
        """Columns for configurations [start, stop) of group `gi` (a chunk from `tasks()`), times the
        datacenters (innermost).

        The chunk is evaluated as an open mesh: each axis is a numpy array shaped to broadcast along its own
        dimension (a Python float when it has one value), so an intermediate in the physics costs only the product
        of the axes it involves; results are broadcast to the full mesh and flattened in C order, which is the
        order of `config_id`.
        """
        g = self.groups[gi]
        N = stop - start
        j, inner = _split_axis(g.shape, self.chunk_size)
        first = np.unravel_index(start, g.shape)
        a0 = int(first[j])
        span = N // inner
        if N % inner or any(int(i) for i in first[j + 1:]) or a0 + span > g.shape[j]:
            raise ValueError(f"chunk [{start}, {stop}) of group {gi} is not one of Plan.tasks()")
        local_shape = (span,) + tuple(g.shape[j + 1:])
        nd = len(local_shape)
        x = {}
        for k, name in enumerate(AXES):
            vals = g.axes[k]
            if k < j:
                x[name] = float(vals[first[k]])
                continue
            if k == j:
                vals = vals[a0:a0 + span]
            if len(vals) == 1:
                x[name] = float(vals[0])
            else:
                shape = [1] * nd
                shape[k - j] = -1
                x[name] = vals.reshape(shape)

        def flat(a):
            """A mesh-shaped (broadcastable) value as a flat, writable array of the chunk's N rows."""
            a = np.asarray(a)
            r = a.reshape(-1) if a.shape == local_shape else np.broadcast_to(a, local_shape).reshape(-1)
            return r if r.flags.writeable else r.copy()

        tp, pp, cp, ep, mb, v = x["tp"], x["pp"], x["cp"], x["ep"], x["microbatch"], x["interleave"]
        rc, zero, seq = x["recompute"], x["zero"], x["seq_len"]
        n = float(g.n)
        with np.errstate(all="ignore"):
            prod = tp * pp * cp
            div_bad = (n % prod) != 0
            dp = n / prod
            gbs = default_global_batch(batch_target_tokens(self.model), seq, dp, mb) if g.gbs_derived else x["global_batch_size"]
            sp = default_sequence_parallel(tp, self.sp)
            if g.error_bit:
                bits = np.full(N, g.error_bit, np.uint32)
            else:
                small = np.uint32(0)
                for reason, mask in layout_problems(self.d, n=n, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs,
                                                    v=v, seq=seq, tokens=self.tokens).items():
                    small = small | np.where(mask, BIT[reason], np.uint32(0))
                small = np.where(div_bad, BIT[DIVIDE_REASON], small)
                bits = flat(small.astype(np.uint32))
            valid = bits == 0
            all_valid = bool(valid.all())
            if g.error_bit or not valid.any():
                perf = {k: np.full(N, np.nan) for k in PERF_FLOAT}
                feas = np.zeros(N, bool)
            else:
                out = evaluate(self.d, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs, seq=seq, v=v,
                               recompute=rc, zero=zero, flash=self.flash, sp=sp, tokens=self.tokens,
                               capacity=g.capacity, bytes_el=g.bytes_el, bytes_grad=g.bytes_grad,
                               dp_overlap=self.dp_overlap, straggler_cv=self.cv, **g.hw)
                perf = _perf_columns(out, flat, g, N)
                feas = flat(out["feasible"]) & valid
                if not all_valid:
                    for a in perf.values():
                        a[~valid] = np.nan
        bits = bits | np.where(valid & ~feas, BIT[MEMORY_REASON], np.uint32(0))

        if self.keep == "all":
            rows = None
        else:
            rows = np.flatnonzero(feas if self.keep == "feasible" else valid)
            perf = {k: a[rows] for k, a in perf.items()}
            bits, feas = bits[rows], feas[rows]
        R = N if rows is None else rows.size
        take = flat if rows is None else (lambda a: flat(a)[rows])
        local = np.arange(start, stop, dtype=np.int64) if rows is None else start + rows.astype(np.int64)
        cols = {"config_id": g.offset + local * self.n_dc,
                "fleet_id": np.full(R, g.fleet_id, np.int16), "precision_id": np.full(R, g.precision_id, np.int16),
                "nodes": np.full(R, g.nodes, np.int64), "accelerators": np.full(R, g.n, np.int64)}
        for name, val in (("tp", tp), ("pp", pp), ("dp", dp), ("cp", cp), ("ep", ep), ("microbatch", mb),
                          ("interleave", v), ("zero", zero), ("seq_len", seq), ("global_batch_size", gbs)):
            a = take(val)
            if name == "dp":
                a = np.where(np.isfinite(a), a, 0)
            cols[name] = a.astype(np.int64 if name == "global_batch_size" else np.int32)
        cols["batch_tokens"] = cols["global_batch_size"] * cols["seq_len"].astype(np.int64)
        cols["recompute_id"] = take(rc).astype(np.int8)
        cols.update(perf)
        cols["feasible"] = np.asarray(feas, bool)
        cols["reason_bits"] = np.asarray(bits, np.uint32)
        if self.datacenters:
            k = len(self.datacenters)
            cols = {c: np.repeat(a, k) for c, a in cols.items()}
            cols["config_id"] = cols["config_id"] + np.tile(np.arange(k, dtype=np.int64), R)
            cols["datacenter_id"] = np.tile(np.arange(k, dtype=np.int16), R)
            if self.sustain is not None:
                cols.update(self.sustain.columns(cols, self))
        return cols


def _split_axis(shape, chunk_size) -> tuple[int, int]:
    """(j, inner): the axis a chunk slices and the number of configurations per index of it (product of the
    axes after j); j is the first axis whose later axes fit in one chunk."""
    inner = 1
    j = len(shape) - 1
    while j > 0 and inner * shape[j] <= chunk_size:
        inner *= shape[j]
        j -= 1
    return j, inner


def _perf_columns(out, flat, g, N) -> dict:
    """Result columns (own memory, float64, length N) from evaluate()'s mesh-shaped outputs."""
    b = lambda a: flat(np.asarray(a, float))
    mem = out["memory"]
    cols = {"step_s": b(out["step"]), "time_to_train_days": b(out["time_to_train"] / 86400.0),
            "mfu": b(out["mfu"]), "hfu": b(out["hfu"]), "tokens_per_s": b(out["tokens_per_s"]),
            "tflops_per_device": b(out["flops_per_device"] / 1e12),
            "scaling_efficiency": b(out["scaling_efficiency"]), "steps": b(out["steps"]),
            "microbatches": b(out["microbatches"]), "gpu_hours": b(out["time_to_train"] / 3600.0 * g.n)}
    for k in BREAKDOWN_KEYS:
        cols[f"{k}_s"] = b(out[k])
    cols["memory_gb"] = b(out["memory_total"] / 1e9)
    for k in ("weights", "gradients", "optimizer", "activations", "reserved"):
        cols[f"{k}_gb"] = b(mem[k] / 1e9)
    cols["memory_capacity_gb"] = np.full(N, g.capacity / 1e9)
    cols["memory_headroom"] = b(1.0 - out["memory_total"] / g.capacity)
    return cols


# ------------------------------------------------------------------------------------------------ building
#: The most values one numeric axis (or fleet_grid's node counts) may take: beyond it a sweep is a typo, not a plan.
MAX_AXIS_VALUES = 100_000


def _values(value, what, *, minimum=1, maximum=None):
    """A non-empty, de-duplicated list of integer counts from an int or an iterable of ints."""
    from ..units import count
    if isinstance(value, (str, bytes)):
        raise ConfigError(f"{what} must be an integer or a list of integers, got {value!r}")
    from itertools import islice
    vals = [value] if not hasattr(value, "__iter__") else list(islice(value, MAX_AXIS_VALUES + 1))
    if not vals:
        raise ConfigError(f"{what}: empty range; give at least one value (e.g. {what}=[1])")
    if len(vals) > MAX_AXIS_VALUES:
        raise ConfigError(f"{what}: more than {MAX_AXIS_VALUES:,} values on one axis; every axis multiplies the "
                          f"configurations evaluated: give at most {MAX_AXIS_VALUES:,} (e.g. powers of two)")
    out, seen = [], set()
    for x in vals:
        c = count(x, what, minimum=minimum)
        if maximum is not None and c > maximum:
            raise ConfigError(f"{what} must be between {minimum} and {maximum}, got {c}")
        if c not in seen:
            seen.add(c)
            out.append(c)
    return out


def _names(value, what, options):
    if isinstance(value, str):
        vals = [value]
    elif isinstance(value, (list, tuple, set, frozenset)):
        vals = list(value)
    else:
        raise ConfigError(f"{what} must be a name or a list of names (one of {', '.join(options)}), got {value!r}")
    if not vals:
        raise ConfigError(f"{what}: empty list; give at least one of {', '.join(options)}")
    out = []
    for x in vals:
        if x not in options:
            raise unknown(what, x, options)
        if x not in out:
            out.append(x)
    return out


def _auto_tp(model, fleet):
    from ..solvers._common import divisors
    return [t for t in divisors(model.n_heads) if t <= fleet.node.accelerators_per_node
            and (model.n_kv_heads % t == 0 or t % model.n_kv_heads == 0)]


def _auto_pp(model, fleet):
    from ..solvers._common import divisors
    return [p for p in divisors(fleet.total_accelerators) if p <= model.n_layers]


def resolve_fleets(fleets) -> list:
    from ..solvers._common import resolve_fleet
    if fleets is None:
        raise ConfigError("pass fleets=... (a Fleet, a Systems name such as 'Research_256', or a list of them; "
                          "explore.fleet_grid(node, counts, fabric) builds node-count sweeps)")
    if isinstance(fleets, str) or not hasattr(fleets, "__iter__"):
        fleets = [fleets]
    fleets = [resolve_fleet(f) for f in fleets]
    if not fleets:
        raise ConfigError("fleets: empty list; give at least one fleet")
    return fleets


def resolve_datacenters(datacenters) -> list:
    if datacenters is None:
        return []
    from ..infrastructure.registry import Infrastructure
    from ..infrastructure.site import Datacenter
    if isinstance(datacenters, (str, Datacenter)):
        datacenters = [datacenters]
    out = []
    for dc in datacenters:
        dc = Infrastructure.get(dc) if isinstance(dc, str) else dc
        if not isinstance(dc, Datacenter):
            raise ConfigError(f"datacenters must be Datacenter records or Infrastructure names, got {dc!r}")
        out.append(dc)
    if not out:
        raise ConfigError("datacenters: empty list; give at least one (or None for performance only)")
    return out


def build_plan(model, fleets, *, tp, pp, cp, ep, microbatch, interleave, recompute, zero, precision, datacenters,
               seq_len, global_batch_size, tokens, flash_attention, sequence_parallel, dp_overlap, straggler_cv,
               keep, chunk_size) -> Plan:
    from ..hardware.accelerator import PRECISIONS
    from ..solvers._common import resolve_model
    model = resolve_model(model)
    fleets = resolve_fleets(fleets)
    dcs = resolve_datacenters(datacenters)
    if keep not in ("all", "valid", "feasible"):
        raise unknown("keep option", keep, ("all", "valid", "feasible"))
    from ..units import count
    chunk_size = count(chunk_size, "chunk_size")
    precisions = [training_precision(p) for p in _names(precision, "precision", PRECISIONS)]
    rc = [float(RECOMPUTE[r]) for r in _names(recompute, "recompute policy", tuple(RECOMPUTE))]
    common = {
        "cp": _values(cp, "cp"), "ep": _values(ep, "ep"), "microbatch": _values(microbatch, "microbatch"),
        "interleave": _values(interleave, "interleave"), "zero": _values(zero, "zero", minimum=0, maximum=3),
        "seq_len": _values(seq_len, "seq_len") if seq_len is not None else [model.seq_len],
        "global_batch_size": _values(global_batch_size, "global_batch_size") if global_batch_size is not None
        else [0],
    }
    tok = resolve_tokens(model, tokens)
    cv = resolve_straggler_cv(straggler_cv)
    from ..units import flag
    sp = None if sequence_parallel is None else flag(sequence_parallel, "sequence_parallel")
    flash_attention, dp_overlap = flag(flash_attention, "flash_attention"), flag(dp_overlap, "dp_overlap")
    groups = []
    any_ok = False
    first_error = None
    for fi, fleet in enumerate(fleets):
        tps = _auto_tp(model, fleet) if _is_auto(tp) else _values(tp, "tp")
        pps = _auto_pp(model, fleet) if _is_auto(pp) else _values(pp, "pp")
        axes_vals = {"tp": tps, "pp": pps, **common, "recompute": rc}
        axes = [np.asarray(axes_vals[a], float) for a in AXES]
        for pi, prec in enumerate(precisions):
            g = Group()
            g.fleet_id, g.precision_id = fi, pi
            g.n, g.nodes = fleet.total_accelerators, fleet.count
            g.capacity = fleet.node.accelerator.memory_bytes
            g.bytes_el, g.bytes_grad = precision_bytes(prec)
            try:
                g.hw = hardware_args(fleet, prec)
                g.error_bit = 0
                any_ok = True
            except ConfigError as exc:
                g.hw, g.error_bit = {}, BIT[PRECISION_REASON]
                first_error = first_error or exc
            g.axes = axes
            g.shape = tuple(len(a) for a in axes)
            g.size = int(np.prod(g.shape))
            g.gbs_derived = global_batch_size is None
            groups.append(g)
    if not any_ok:
        raise first_error
    return Plan(model, fleets, precisions, dcs, groups, tokens=tok, flash=bool(flash_attention), sp=sp,
                dp_overlap=1.0 if dp_overlap else 0.0, cv=cv, keep=keep, chunk_size=chunk_size, sustain=None)


def _is_auto(v) -> bool:
    return v is None or (isinstance(v, str) and v == "auto")
