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
# Least configurations per local worker-process task: amortises sending the task and pickling its part (~ms).
MIN_ROWS_PER_PROCESS_TASK = 1 << 16
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
            return _run_processes(plan, reducer, tasks, scheduler, bar, budget)
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


_JOB = None  # in a worker: (key, plan, reducer) of the sweep its last task belonged to
_POOL = None  # in the caller: (workers, ProcessPoolExecutor, pid, Board), kept warm between sweeps
_BOARD = None  # in a worker: the Board it was started with
_calls = 0


class Board:
    """Shared memory through which this process and its workers claim a sweep's batches one at a time (a locked
    counter: microseconds per claim, so whoever falls idle takes the next batch and all finish within one small
    batch of each other). Fields: the sweep's number (0: stop), the next batch, the bytes of parts kept so far."""

    def __init__(self, ctx):
        self.lock, self.cells = ctx.Lock(), ctx.RawArray("q", 3)

    def open(self, sweep: int) -> None:
        with self.lock:
            self.cells[0], self.cells[1], self.cells[2] = sweep, 0, 0

    def stop(self) -> None:
        with self.lock:
            self.cells[0] = 0

    def claim(self, sweep: int, batches: int) -> int:
        """The next batch of sweep `sweep`, or -1 when none is left or the sweep was stopped."""
        with self.lock:
            i = self.cells[1]
            if self.cells[0] != sweep or i >= batches:
                return -1
            self.cells[1] = i + 1
            return i

    def hold(self, sweep: int, nbytes: int) -> int:
        """Add a kept part's bytes to sweep `sweep`'s total (a stopped sweep's late part adds nothing) and return
        the bytes all processes keep, or 0 for a stopped sweep."""
        with self.lock:
            if self.cells[0] != sweep:
                return 0
            self.cells[2] += nbytes
            return self.cells[2]

    def claimed(self) -> int:
        """Batches claimed so far (finished or in progress)."""
        return self.cells[1]


def _start_worker(board) -> None:
    global _BOARD
    _BOARD = board


def _claim_batches(plan, reducer, batches, board, sweep, budget, done_rows=None, bar=None):
    """Claim and evaluate batches until none is left: [(batch index, part, rows)]; stops every process and
    raises ConfigError once the parts kept by all of them exceed `budget` bytes. In the caller, `bar` shows the
    rows of every batch claimed so far (`done_rows[i]`: rows of batches [0, i))."""
    out = []
    while (i := board.claim(sweep, len(batches))) >= 0:
        part, rows = _dask_task(plan, reducer, batches[i])
        held = board.hold(sweep, _part_bytes(part))
        if held > budget:
            board.stop()
            raise _too_big(held, budget, done_rows[board.claimed()] if done_rows else rows, plan.total)
        out.append((i, part, rows))
        if bar is not None:
            bar.update(done_rows[board.claimed()] - bar.done)
    return out


def _worker_task(key, job, batches, budget):
    """Runs in a worker: the plan and reducer arrive pickled once per sweep; claims batches like the caller."""
    global _JOB
    if _JOB is None or _JOB[0] != key:
        import pickle
        _JOB = (key, *pickle.loads(job))
    return _claim_batches(_JOB[1], _JOB[2], batches, _BOARD, key[1], budget)


def _pool(workers):
    """(ProcessPoolExecutor, Board): the worker processes, forked once and reused by later sweeps (a fresh fork
    costs each process thousands of first-touch page faults, as its heap is copy-on-write; a warm worker none).
    Rebuilt for another worker count or after a worker died; they exit with this process (an idle worker holds
    its heap, ~30 MB, meanwhile)."""
    global _POOL
    if _POOL is not None and _POOL[2] != os.getpid():  # inherited through a fork of this process: not ours
        _POOL = None
    if _POOL is not None and (_POOL[0] != workers or getattr(_POOL[1], "_broken", False)):
        _POOL[1].shutdown(wait=False, cancel_futures=True)
        _POOL = None
    if _POOL is None:
        import atexit
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
        atexit.unregister(_close_pool)  # registered once
        atexit.register(_close_pool)
        board = Board(ctx)
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start_worker,
                                   initargs=(board,))
        _POOL = (workers, pool, os.getpid(), board)
    return _POOL[1], _POOL[3]


def _close_pool():
    """At exit: stop the kept workers while the interpreter is whole."""
    global _POOL
    if _POOL is not None and _POOL[2] == os.getpid():
        _POOL[1].shutdown(wait=True, cancel_futures=True)
    _POOL = None


def _guided_batches(plan, tasks, workers):
    """Consecutive chunks grouped into batches of about 1/(4 x workers) of the configurations still left (at least
    MIN_ROWS_PER_PROCESS_TASK): big batches first, small ones last, so all processes finish together."""
    left = sum(plan.rows_of(t) for t in tasks)
    out, cur, rows = [], [], 0
    for t in tasks:
        cur.append(t)
        rows += plan.rows_of(t)
        if rows >= max(left / (4 * workers), MIN_ROWS_PER_PROCESS_TASK):
            out.append(cur)
            left -= rows
            cur, rows = [], 0
    if cur:
        out.append(cur)
    return out


def _run_processes(plan, reducer, tasks, workers, bar, budget):
    """`workers` processes on this machine (one per core by default, `scheduler=` an int to choose): this process
    and workers - 1 forked ones each take one task per sweep and claim batches of consecutive chunks from a
    shared counter as they fall idle; parts are combined in chunk order, so the result equals the in-process one.
    This process works too: its heap and caches are warm, and its parts need no pickling."""
    import pickle

    n = cores() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"executor='processes' takes scheduler=None (one worker per core) or a worker count >= 1, "
                          f"got {workers!r}")
    batches = _guided_batches(plan, tasks, n)
    if n == 1 or len(batches) == 1:
        parts, held = [], 0
        for b in batches:
            part, rows = _dask_task(plan, reducer, b)
            held += _part_bytes(part)
            if held > budget:
                raise _too_big(held, budget, bar.done, plan.total)
            parts.append(part)
            bar.update(rows)
        return reducer.combine(parts)
    global _calls
    _calls += 1
    key = (os.getpid(), _calls)
    pool, board = _pool(n - 1)
    board.open(_calls)
    job = pickle.dumps((plan, reducer))  # ~8 kB, once per worker and sweep
    futures = [pool.submit(_worker_task, key, job, batches, budget) for _ in range(n - 1)]
    done_rows = np.cumsum([0] + [sum(plan.rows_of(t) for t in b) for b in batches]).tolist()
    try:
        got = _claim_batches(plan, reducer, batches, board, _calls, budget, done_rows, bar)
        for fut in futures:
            got += fut.result()
    except BaseException:
        board.stop()  # the workers stop after their current batch
        for fut in futures:
            fut.cancel()
        raise
    bar.update(plan.total - bar.done)
    parts = [None] * len(batches)
    for i, part, _ in got:
        parts[i] = part
    return reducer.combine(parts)


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
