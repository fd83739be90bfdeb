"""The local worker-process executor: this process and forked workers claim a sweep's batches from a shared
counter and return their parts, which are combined in chunk order (so the result equals the in-process one).
The workers are kept between sweeps, warm."""
from __future__ import annotations

import os

import numpy as np

from ..errors import ConfigError
from .executors import _dask_task, _part_bytes, _too_big, cores

# Least configurations per local worker-process task: amortises sending the task and pickling its part (~ms).
MIN_ROWS_PER_PROCESS_TASK = 1 << 16

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


def run_processes(plan, reducer, tasks, workers, bar, budget):
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
