"""Where a sweep's chunks are evaluated: in this process, in worker processes on this machine, or sharded over a
Dask cluster. The default, "auto", takes the worker processes for large streaming searches and this process
otherwise.

A reducer turns the columns of one chunk into a part (`local`) and merges parts (`combine`, associative, order
preserving). Both executors cut the plan into the same chunks, apply `local` to each and `combine` in chunk order,
so they return identical results. Dask is imported only when `executor="dask"` (extra: `mlsysim[dask]`).
"""
from __future__ import annotations

import os
import sys

import numpy as np

from ..errors import ConfigError, unknown
from .progress import Progress, progress_enabled

EXECUTORS = ("auto", "local", "processes", "dask")
# "auto" forks worker processes past this many configurations (issue 17: a local multi-core executor by default
# past 1e7). Assumption, from benchmarks/bench_parallel.py: 1e7 rows take ~0.5-1 s on one core here, so the ~0.06 s
# of CPU a freshly forked worker spends touching its copy-on-write heap is small beside the work it takes over.
AUTO_PROCESS_ROWS = 10_000_000
# Configurations per Dask task: enough work (~0.2 s) to amortise the scheduler's per-task overhead.
ROWS_PER_DASK_TASK = 1 << 20
# glibc returns freed heap to the OS after every chunk (trim) and serves the ~100 kB chunk columns with mmap, so
# each call page-faults tens of thousands of times; keeping that memory in the heap avoids it (issue 17: 34-59 K
# faults per optimize call -> ~1 K). Values are glibc mallopt parameter numbers (malloc.h): M_TRIM_THRESHOLD -1,
# M_MMAP_THRESHOLD -3.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_HEAP_KEEP_BYTES = 256 << 20
_tuned = False


def keep_heap() -> None:
    """Once per process, on glibc: keep freed chunk buffers in the heap (no trim, no mmap below 32 MB)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_KEEP_BYTES)
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to tune
        pass


def available_memory_bytes() -> float:
    """Memory this process may still use: MemAvailable from /proc/meminfo, else physical pages, else 4 GB."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4e9


def _part_bytes(part) -> int:
    if isinstance(part, dict):
        return sum(_part_bytes(a) if isinstance(a, dict) else getattr(a, "nbytes", 0) for a in part.values())
    return getattr(part, "nbytes", 0)


def cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one, as containers set it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def resolve_executor(executor, total: int, scheduler=None) -> str:
    """The executor a call runs on: "auto" is "processes" for more than AUTO_PROCESS_ROWS configurations on a
    multi-core Linux machine whose process runs no other thread (forking a threaded process, e.g. a web server,
    can deadlock a copied lock), else "local". A scheduler needs an executor that uses one."""
    if executor not in EXECUTORS:
        raise unknown("executor", executor, EXECUTORS)
    if scheduler is not None and executor in ("auto", "local"):
        raise ConfigError(f"scheduler={scheduler!r} needs executor='processes' (a worker count) or executor='dask' "
                          f"(a Client or an address); executor={executor!r} does not use one")
    if executor != "auto":
        return executor
    forkable = sys.platform.startswith("linux") and not _other_threads()
    return "processes" if total > AUTO_PROCESS_ROWS and forkable and cores() > 1 else "local"


def _other_threads() -> list:
    """Threads of this process besides the main one and the worker pools' own (their manager and queue feeder
    threads: a pool forks its workers before starting them, and a forked child never uses another pool's queues)."""
    import threading
    manager = getattr(sys.modules.get("concurrent.futures.process"), "_ExecutorManagerThread", ())
    return [t for t in threading.enumerate() if t is not threading.main_thread() and not isinstance(t, manager)
            and t.name != "QueueFeederThread"]


def run(plan, reducer, *, executor="auto", scheduler=None, progress=None, memory_budget=None):
    """Evaluate every chunk of `plan`, reduce, and return the combined part.

    `memory_budget` (bytes) bounds what the kept parts may occupy; exceeding it raises ConfigError (never a
    MemoryError) with advice, before more memory is taken.
    """
    executor = resolve_executor(executor, plan.total, scheduler)
    keep_heap()
    tasks = plan.tasks()
    bar = Progress(plan.total, progress_enabled(progress, plan.total))
    budget = available_memory_bytes() * 0.5 if memory_budget is None else float(memory_budget)
    try:
        if executor == "local":
            parts, held = [], 0
            fold = getattr(reducer, "fold_every", None)
            for t in tasks:
                part = reducer.local(plan.chunk(*t))
                held += _part_bytes(part)
                if held > budget:
                    raise _too_big(held, budget, bar.done, plan.total)
                parts.append(part)
                if fold and len(parts) >= fold:  # small reductions (top-k, fronts): merge as we go
                    parts = [reducer.combine(parts)]
                    held = _part_bytes(parts[0])
                bar.update(plan.rows_of(t))
            return reducer.combine(parts)
        if executor == "processes":
            from . import processes
            return processes.run_processes(plan, reducer, tasks, scheduler, bar, budget)
        return _run_dask(plan, reducer, tasks, scheduler, bar, budget)
    finally:
        bar.close()


def run_into(plan, *, progress=None) -> dict:
    """In-process sweep keeping every row: chunks are written straight into preallocated columns (one pass over
    the result's memory instead of parts + concatenation; first-touching fresh memory is the slow part)."""
    keep_heap()
    tasks = plan.tasks()
    bar = Progress(plan.total, progress_enabled(progress, plan.total))
    cols = {k: np.empty(plan.total, a.dtype) for k, a in plan.empty_columns().items()}
    pos = 0
    try:
        for t in tasks:
            chunk = plan.chunk(*t)
            if hasattr(chunk, "fill"):
                n = chunk.fill(cols, pos)
            else:
                n = chunk.n
                for k, a in chunk.all_stored().items():
                    cols[k][pos:pos + n] = a
            pos += n
            bar.update(n)
    finally:
        bar.close()
    return cols


def _too_big(held, budget, done, total):
    return ConfigError(
        f"the sweep's kept rows exceed the memory budget ({held / 1e9:.2f} GB > {budget / 1e9:.2f} GB after "
        f"{done:,} of {total:,} configurations); narrow the axes, pass keep='feasible', raise max_memory_gb, or "
        f"use explore.optimize()/explore.pareto(model, ...) which stream and keep only the best rows")


def _batches(plan, tasks, rows_per_task=None):
    """Group consecutive chunks into tasks of about `rows_per_task` (default ROWS_PER_DASK_TASK) configurations."""
    rows_per_task = ROWS_PER_DASK_TASK if rows_per_task is None else rows_per_task
    out, cur, rows = [], [], 0
    for t in tasks:
        cur.append(t)
        rows += plan.rows_of(t)
        if rows >= rows_per_task:
            out.append(cur)
            cur, rows = [], 0
    if cur:
        out.append(cur)
    return out


def _dask_task(plan, reducer, batch):
    """Runs on a worker: evaluate a batch of chunks and combine them (same order as in-process)."""
    keep_heap()
    return reducer.combine([reducer.local(plan.chunk(*t)) for t in batch]), sum(plan.rows_of(t) for t in batch)


def _run_dask(plan, reducer, tasks, scheduler, bar, budget):
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise ConfigError("executor='dask' needs dask.distributed: pip install 'mlsysim[dask]'") from exc
    own_cluster = own_client = None
    if scheduler is None:
        own_cluster = LocalCluster(n_workers=min(4, os.cpu_count() or 1), threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        client = own_client = Client(own_cluster)
    elif isinstance(scheduler, Client):
        client = scheduler
    elif isinstance(scheduler, str):
        client = own_client = Client(scheduler)
    else:
        raise ConfigError(f"scheduler must be None (a LocalCluster), a scheduler address 'tcp://host:port' or a "
                          f"dask.distributed.Client, got {scheduler!r}")
    try:
        batches = _batches(plan, tasks)
        [plan_f] = client.scatter([plan], broadcast=True)
        futures = [client.submit(_dask_task, plan_f, reducer, b, pure=False) for b in batches]
        index = {f.key: i for i, f in enumerate(futures)}
        parts, held = [None] * len(futures), 0
        for fut in as_completed(futures):
            part, rows = fut.result()
            held += _part_bytes(part)
            if held > budget:
                client.cancel(futures)
                raise _too_big(held, budget, bar.done, plan.total)
            parts[index[fut.key]] = part
            bar.update(rows)
        return reducer.combine(parts)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


# ------------------------------------------------------------------------------------------------ reducers
class KeepAll:
    """Reducer of a plain sweep: keep the chunk's rows (already filtered by the plan's `keep`), concatenate."""

    def local(self, chunk):
        return chunk.all_stored()

    def combine(self, parts):
        parts = [p for p in parts if p]
        if not parts:
            return {}
        if len(parts) == 1:
            return parts[0]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
