"""`sweep()`: every configuration of a product of axes, evaluated with the solvers' physics on numpy arrays."""
from __future__ import annotations

from ..errors import ConfigError, unexpected_keywords
from . import _objectives
from ._plan import build_plan
from .executors import KeepAll, available_memory_bytes, resolve_executor, run, run_into
from .result import SweepResult

# Configurations per vectorised chunk. Large chunks let more axes into the open mesh, so most intermediates of
# the physics involve a few axes only (measured, issue 17: 6.8 M/s at 16K, 23-26 M/s at 256K; ~2 MB per
# full-length column).
DEFAULT_CHUNK = 1 << 18


def make_plan(model, fleets=None, *, tp="auto", pp="auto", cp=(1,), ep=(1,), microbatch=(1, 2), interleave=(1,),
              recompute=("selective",), zero=(1,), precision=("bf16",), datacenters=None, seq_len=None,
              global_batch_size=None, tokens=None, flash_attention=True, sequence_parallel=None, dp_overlap=True,
              straggler_cv=None, keep="all", chunk_size=DEFAULT_CHUNK, stack=None, tp_overlap=0.0, ep_overlap=0.0,
              **unexpected):
    """The plan of a sweep (validated axes, groups, chunks) without evaluating it. Same arguments as sweep()."""
    if unexpected:  # tp_size= (the solvers' name) for tp= was a TypeError
        raise unexpected_keywords(make_plan, unexpected)
    plan = build_plan(model, fleets, tp=tp, pp=pp, cp=cp, ep=ep, microbatch=microbatch, interleave=interleave,
                      recompute=recompute, zero=zero, precision=precision, datacenters=datacenters, seq_len=seq_len,
                      global_batch_size=global_batch_size, tokens=tokens, flash_attention=flash_attention,
                      sequence_parallel=sequence_parallel, dp_overlap=dp_overlap, straggler_cv=straggler_cv,
                      keep=keep, chunk_size=chunk_size, stack=stack, tp_overlap=tp_overlap, ep_overlap=ep_overlap)
    plan.sustain = _objectives.run_costs(plan.fleets, plan.datacenters)
    plan.settings = dict(tokens=plan.tokens, flash_attention=plan.flash, sequence_parallel=sequence_parallel,
                         dp_overlap=bool(dp_overlap), straggler_cv=plan.cv,
                         global_batch_derived=global_batch_size is None, keep=keep, stack=plan.stack,
                         tp_overlap=plan.ctx.tp_overlap, ep_overlap=plan.ctx.ep_overlap)
    return plan


def result_of(plan, cols) -> SweepResult:
    return SweepResult(cols, model=plan.model, fleets=plan.fleets, precisions=plan.precisions,
                       datacenters=plan.datacenters, settings=plan.settings, evaluated=plan.total)


def bytes_per_row(plan) -> float:
    """Bytes one kept row occupies in the result (from the columns' dtypes)."""
    cols = plan.empty_columns()
    return float(sum(a.dtype.itemsize for a in cols.values()))


def sweep(model, fleets=None, *, tp="auto", pp="auto", cp=(1,), ep=(1,), microbatch=(1, 2), interleave=(1,),
          recompute=("selective",), zero=(1,), precision=("bf16",), datacenters=None, seq_len=None,
          global_batch_size=None, tokens=None, flash_attention=True, sequence_parallel=None, dp_overlap=True,
          straggler_cv=None, keep="all", chunk_size=DEFAULT_CHUNK, progress=None, executor="auto", scheduler=None,
          max_memory_gb=None, stack=None, tp_overlap=0.0, ep_overlap=0.0, **unexpected) -> SweepResult:
    """Evaluate every configuration in the product of the axes and return a `SweepResult` table.

    Categorical axes (each fleet, precision, datacenter) are looped over; numeric axes (tp, pp, cp, ep,
    microbatch, interleave, recompute, zero, seq_len, global_batch_size) are broadcast as numpy arrays through the
    same physics `DistributedModel.solve` uses, so each row equals the scalar solver's answer. dp is derived per
    fleet as accelerators / (tp*pp*cp); a product that does not divide the fleet is kept as an infeasible row.

    Arguments (lists, or a single value):
        model: a TransformerWorkload or a Models name.  fleets: a Fleet / Systems name, or a list of them
            (`fleet_grid(node, counts, fabric)` builds node-count or fabric sweeps).
        tp, pp: sizes, or "auto" (tp: divisors of the heads compatible with the KV heads, up to a node;
            pp: divisors of the fleet up to the layer count).  cp, ep, microbatch, interleave, zero: sizes.
        recompute: "none" / "selective" / "full".  precision: "bf16", "fp8", ...
        datacenters: Datacenter records or Infrastructure names; adds energy_mwh, carbon_t, cost_usd, ... columns.
        seq_len, global_batch_size (sequences): axes; default the workload's (batch rounded as the solver does).
        tokens: the training token budget (default the workload's).  flash_attention, sequence_parallel,
            dp_overlap, tp_overlap, ep_overlap (scalars: one share for every row), straggler_cv, stack: as in
            DistributedModel.solve. tp_overlap needs some tp > 1 and has no effect on tp = 1 rows.
        keep: "all" (default: infeasible rows too, with their reason), "valid" (drop invalid layouts), "feasible".
        chunk_size: configurations per vectorised chunk.  progress: None (auto: long sweeps on a terminal),
            True, False.  executor: "auto" (default: "processes" for streaming searches past 1e7 configurations on
            a multi-core machine, else "local"; keep="all" stays in this process), "local", "processes" (worker
            processes on this machine; scheduler: None for one per core, or a count) or "dask" (scheduler: None for
            a LocalCluster, an address or a Client).
        max_memory_gb: bound on the result's memory (default: half the available memory); a sweep that would
            exceed it raises ConfigError before running, never MemoryError.

    Example:
        >>> from mlsysim import Models, Systems
        >>> from mlsysim.explore import sweep
        >>> res = sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[2, 4, 8], pp=[1, 2, 4],
        ...             microbatch=[1, 2], recompute=["selective", "full"])
        >>> len(res)
        36
        >>> best = res.feasible().sort("time_to_train_days")[0]
        >>> best["tp"] * best["pp"] * best["dp"]
        256
    """
    if unexpected:
        raise unexpected_keywords(sweep, unexpected)
    plan = make_plan(model, fleets, tp=tp, pp=pp, cp=cp, ep=ep, microbatch=microbatch, interleave=interleave,
                     recompute=recompute, zero=zero, precision=precision, datacenters=datacenters, seq_len=seq_len,
                     global_batch_size=global_batch_size, tokens=tokens, flash_attention=flash_attention,
                     sequence_parallel=sequence_parallel, dp_overlap=dp_overlap, straggler_cv=straggler_cv,
                     keep=keep, chunk_size=chunk_size, stack=stack, tp_overlap=tp_overlap, ep_overlap=ep_overlap)
    budget = _budget(max_memory_gb)
    # keeping every row stays in this process unless asked: worker parts would be pickled back (twice the memory)
    executor = resolve_executor("local" if executor == "auto" and keep == "all" else executor, plan.total, scheduler)
    if keep == "all":
        # in-process rows go straight into preallocated columns; Dask parts are gathered, then concatenated
        need = bytes_per_row(plan) * plan.total * (1 if executor == "local" else 2)
        if need > budget:
            raise ConfigError(
                f"this sweep has {plan.total:,} configurations; keeping them all needs ~{need / 1e9:.1f} GB but the "
                f"budget is {budget / 1e9:.1f} GB. Narrow the axes, pass keep='feasible' (kept rows are counted as "
                f"the sweep runs), raise max_memory_gb, or use explore.optimize() / explore.pareto(model, ...), "
                f"which stream and keep only the best rows")
    if keep == "all" and executor == "local":
        cols = run_into(plan, progress=progress)
    else:
        cols = run(plan, KeepAll(), executor=executor, scheduler=scheduler, progress=progress,
                   memory_budget=budget / 2)
    if not cols:
        cols = plan.empty_columns()
    return result_of(plan, cols)


def _budget(max_memory_gb) -> float:
    if max_memory_gb is None:
        return available_memory_bytes() * 0.5
    from ..units import si
    return si(max_memory_gb, "GB", "max_memory_gb") * 1e9


def fleet_grid(node, counts, fabric, *, name=None) -> list:
    """Fleets of `node` x each node count x each fabric, for sweeping fleet size and network.

        >>> from mlsysim import Systems
        >>> fl = fleet_grid(Systems.Nodes.DGX_H100, [16, 32], Systems.Fabrics.InfiniBand_NDR)
        >>> [f.total_accelerators for f in fl]
        [128, 256]
    """
    from ..systems.registry import Systems
    from ..systems.system import Fabric, Fleet, Node
    from ._plan import _values
    nodes = node if isinstance(node, (list, tuple)) else [node]
    fabrics = fabric if isinstance(fabric, (list, tuple)) else [fabric]
    counts = _values(counts, "counts")
    out = []
    for nd in nodes:
        nd = Systems.Nodes[nd] if isinstance(nd, str) else nd
        if not isinstance(nd, Node):
            raise ConfigError(f"node must be a Node (e.g. Systems.Nodes.DGX_H100) or its name, got {nd!r}")
        for fb in fabrics:
            fb = Systems.Fabrics[fb] if isinstance(fb, str) else fb
            if not isinstance(fb, Fabric):
                raise ConfigError(f"fabric must be a Fabric (e.g. Systems.Fabrics.InfiniBand_NDR) or its name, "
                                  f"got {fb!r}")
            for c in counts:
                label = f"{c}x {nd.key or nd.name} on {fb.key or fb.name}" if name is None else f"{name} x{c}"
                out.append(Fleet(node=nd, count=c, fabric=fb, name=label))
    if not out:
        raise ConfigError("fleet_grid: empty (no nodes or fabrics)")
    return out
