"""The sweep plan: categorical groups (fleet x precision) whose numeric axes are broadcast as numpy arrays.

A plan is a picklable description of every configuration of a sweep. It is cut into chunks of `chunk_size`
configurations by position only (never by executor), and `Plan.evaluate(group, start, stop)` turns one chunk into
columns by calling the same physics as `DistributedModel.solve` (`layout_problems`, `evaluate`) on arrays; so the
in-process and the Dask executors produce bit-identical rows.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ..errors import ConfigError, UnknownNameError, unknown
from ..physics.layout import layout_problems
from ..physics.training import RECOMPUTE, default_global_batch, precision_bytes
from ..solvers.distributed import (batch_target_tokens, hardware_args, overlap_shares, resolve_straggler_cv,
                                   resolve_tokens, training_precision)
from ._chunk import Chunk
from ._columns import DERIVED, PHYSICS, STORED_FLOAT, Context, Table, int_dtype

# Numeric axes, in the order they vary (the last one fastest within a group).
AXES = ("tp", "pp", "cp", "ep", "microbatch", "interleave", "recompute", "zero", "seq_len", "global_batch_size")

_LAYOUT_REASONS = tuple(layout_problems(SimpleNamespace(L=1.0, a=1.0, kv=1.0, E=1.0), n=1, tp=1, pp=1, dp=1, cp=1,
                                        ep=1, mb=1, gbs=1, v=1, seq=2))
DIVIDE_REASON = "tp*pp*cp does not divide the fleet's accelerators"
PRECISION_REASON = "precision not supported by the accelerator"
MEMORY_REASON = "out of memory"
#: Every reason a row can be infeasible for; row i's reasons are the set bits of its `reason_bits`.
REASONS = (DIVIDE_REASON, PRECISION_REASON) + _LAYOUT_REASONS + (MEMORY_REASON,)
BIT_DTYPE = np.dtype(np.uint16 if len(REASONS) <= 16 else np.uint32)
BIT = {r: BIT_DTYPE.type(1 << i) for i, r in enumerate(REASONS)}


class Group:
    """One (fleet, precision) pair and its numeric axes; `size` configurations before datacenters."""

    __slots__ = ("fleet_id", "precision_id", "n", "nodes", "hw", "bytes_el", "bytes_grad", "capacity", "axes",
                 "shape", "size", "offset", "error_bit", "gbs_derived")


class Plan:
    def __init__(self, model, fleets, precisions, datacenters, groups, *, tokens, flash, sp, dp_overlap, cv,
                 keep, chunk_size, sustain, stack=None, tp_overlap=0.0, ep_overlap=0.0):
        self.model, self.fleets, self.precisions, self.datacenters = model, fleets, precisions, datacenters
        self.stack = stack
        self.ctx = Context(model, fleets, precisions, tokens=tokens, flash=flash, sp=sp, dp_overlap=dp_overlap, cv=cv,
                           stack=stack, tp_overlap=tp_overlap, ep_overlap=ep_overlap)
        self.d = self.ctx.d
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
        self.dtypes = self._dtypes()

    def _dtypes(self) -> dict:
        """Stored columns and their dtypes: the narrowest integers that hold every value of the sweep."""
        hi = {a: max(float(g.axes[k].max()) for g in self.groups) for k, a in enumerate(AXES)}
        n_max = max(g.n for g in self.groups)
        if any(g.gbs_derived for g in self.groups):  # at most the target batch plus one dp x microbatch round-up
            seq_min = min(float(g.axes[AXES.index("seq_len")].min()) for g in self.groups)
            hi["global_batch_size"] = batch_target_tokens(self.model) / seq_min + n_max * hi["microbatch"] + 1
        dt = {"config_id": np.dtype(np.int64), "fleet_id": np.dtype(np.int16), "precision_id": np.dtype(np.int8)}
        for name in ("tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "zero", "seq_len",
                     "global_batch_size", "recompute_id"):
            dt[name] = int_dtype(n_max if name == "dp" else hi["recompute" if name == "recompute_id" else name])
        dt.update({k: np.dtype(float) for k in STORED_FLOAT})
        dt["feasible"], dt["reason_bits"] = np.dtype(bool), BIT_DTYPE
        return dt

    def column_names(self) -> set:
        """Every column a reducer may ask a chunk for (stored, derived, re-evaluated; energy/cost with datacenters)."""
        from ._objectives import SUSTAIN_COLUMNS
        names = set(self.dtypes) | set(DERIVED) | set(PHYSICS)
        return names | ({"datacenter_id", *SUSTAIN_COLUMNS} if self.datacenters else set())

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
        """The stored columns of this plan with no rows (names and dtypes)."""
        cols = {k: np.empty(0, dt) for k, dt in self.dtypes.items()}
        if self.datacenters:
            from ._objectives import SUSTAIN_COLUMNS
            cols["datacenter_id"] = np.empty(0, np.int16)
            cols.update({k: np.empty(0) for k in (SUSTAIN_COLUMNS if self.sustain is not None else ())})
        return cols

    def evaluate(self, gi: int, start: int, stop: int) -> dict:
        """The stored columns of a chunk (see `chunk`)."""
        return self.chunk(gi, start, stop).all_stored()

    # ------------------------------------------------------------------------------------------ one chunk
    def chunk(self, gi: int, start: int, stop: int):
        """Configurations [start, stop) of group `gi` (a chunk from `tasks()`), times the datacenters
        (innermost): a `Chunk` whose columns are built on demand, or, with datacenters, a `Table`.

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

        tp, pp, cp, ep, mb, v = x["tp"], x["pp"], x["cp"], x["ep"], x["microbatch"], x["interleave"]
        rc, zero, seq = x["recompute"], x["zero"], x["seq_len"]
        n = float(g.n)
        out = None
        with np.errstate(all="ignore"):
            prod = tp * pp * cp
            div_bad = (n % prod) != 0
            dp = n / prod
            gbs = default_global_batch(batch_target_tokens(self.model), seq, dp, mb) if g.gbs_derived else x["global_batch_size"]
            if g.error_bit:
                bits = np.full(N, g.error_bit, BIT_DTYPE)
            else:
                small = BIT_DTYPE.type(0)
                for reason, mask in layout_problems(self.d, n=n, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs,
                                                    v=v, seq=seq, tokens=self.tokens).items():
                    small = small | np.where(mask, BIT[reason], BIT_DTYPE.type(0))
                small = np.where(div_bad, BIT[DIVIDE_REASON], small)
                bits = np.empty(N, BIT_DTYPE)
                np.copyto(bits.reshape(local_shape), small, casting="unsafe")
            valid = bits == 0
            if g.error_bit or not valid.any():
                feas = np.zeros(N, bool)
            else:
                out = self.ctx.physics(g.fleet_id, g.precision_id, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs,
                                       seq=seq, v=v, rc=rc, zero=zero)
                feas = np.empty(N, bool)
                np.copyto(feas.reshape(local_shape), out["feasible"])
                feas &= valid
        mem_bad = valid & ~feas
        if mem_bad.any():
            bits = bits | np.where(mem_bad, BIT[MEMORY_REASON], BIT_DTYPE.type(0))

        if self.keep == "all":
            rows = None
        else:
            rows = np.flatnonzero(feas if self.keep == "feasible" else valid)
        mesh = dict(x, dp=dp, global_batch_size=gbs)
        chunk = Chunk(self, g, start, local_shape, mesh, out, valid, feas, bits, rows)
        if not self.datacenters:
            return chunk
        k = len(self.datacenters)
        cols = {c: np.repeat(a, k) for c, a in chunk.all_stored().items()}
        cols["config_id"] = cols["config_id"] + np.tile(np.arange(k, dtype=np.int64), chunk.n)
        cols["datacenter_id"] = np.tile(np.arange(k, dtype=np.int16), chunk.n)
        table = Table(cols, self.ctx, BIT[MEMORY_REASON])
        if self.sustain is not None:
            cols.update(self.sustain.columns(table, self))
        return table


def _split_axis(shape, chunk_size) -> tuple[int, int]:
    """(j, inner): the axis a chunk slices and the number of configurations per index of it (product of the
    axes after j); j is the first axis whose later axes fit in one chunk."""
    inner = 1
    j = len(shape) - 1
    while j > 0 and inner * shape[j] <= chunk_size:
        inner *= shape[j]
        j -= 1
    return j, inner


# ------------------------------------------------------------------------------------------------ building
#: The most values one numeric axis (or fleet_grid's node counts) may take: beyond it a sweep is a typo, not a plan.
MAX_AXIS_VALUES = 100_000


def _values(value, what, *, minimum=1, maximum=None):
    """A non-empty, de-duplicated list of integer counts from an int or an iterable of ints."""
    from ..units import count
    if isinstance(value, (str, bytes)):
        raise ConfigError(f"{what} must be an integer or a list of integers, got {value!r}")
    from itertools import islice
    # a pint quantity has __iter__ but is one value (iterating it was a TypeError): count() refuses it by name
    one = not hasattr(value, "__iter__") or hasattr(value, "units")
    vals = [value] if one else list(islice(value, MAX_AXIS_VALUES + 1))
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
    from ..infrastructure.site import Datacenter, Grid
    from ..solvers.sustainability import resolve_datacenter  # a grid is told the datacenters on it
    if isinstance(datacenters, (str, Datacenter, Grid)) or not hasattr(datacenters, "__iter__"):
        datacenters = [datacenters]  # one value: resolve_datacenter names what it should be (-1 was a TypeError)
    out = []
    for dc in datacenters:
        try:
            out.append(resolve_datacenter(dc))
        except UnknownNameError:
            raise
        except ConfigError as exc:  # the message names this argument
            raise ConfigError(f"datacenters: {exc}") from None
    if not out:
        raise ConfigError("datacenters: empty list; give at least one (or None for performance only)")
    twice = sorted({dc.key or dc.name for i, dc in enumerate(out) if dc in out[:i]})
    if twice:  # each was a second, identical row (best_region ranked a region against itself)
        raise ConfigError(f"datacenters lists {', '.join(twice)} more than once: give each region once")
    return out


def build_plan(model, fleets, *, tp, pp, cp, ep, microbatch, interleave, recompute, zero, precision, datacenters,
               seq_len, global_batch_size, tokens, flash_attention, sequence_parallel, dp_overlap, straggler_cv,
               keep, chunk_size, stack=None, tp_overlap=0.0, ep_overlap=0.0) -> Plan:
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
    from ..stacks import check_precision, resolve_stack
    stack = resolve_stack(stack)
    for prec in precisions:  # a stack without an fp8 recipe is bad input, as in solve (not an infeasible group)
        check_precision(stack, prec)
    tps_all = [_auto_tp(model, f) if _is_auto(tp) else _values(tp, "tp") for f in fleets]
    tpo, epo = overlap_shares(tp_overlap, ep_overlap, model, max(max(t) for t in tps_all) > 1, "every tp is 1")
    groups = []
    any_ok = False
    first_error = None
    for fi, fleet in enumerate(fleets):
        tps = tps_all[fi]
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
                g.hw = hardware_args(fleet, prec, stack)
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
    plan = Plan(model, fleets, precisions, dcs, groups, tokens=tok, flash=bool(flash_attention), sp=sp,
                dp_overlap=1.0 if dp_overlap else 0.0, cv=cv, keep=keep, chunk_size=chunk_size, sustain=None,
                stack=stack.key, tp_overlap=tpo, ep_overlap=epo)
    return plan


def _is_auto(v) -> bool:
    return v is None or (isinstance(v, str) and v == "auto")
