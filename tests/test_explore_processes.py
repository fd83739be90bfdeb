"""executor="processes" runs a sweep's chunks in local worker processes and returns exactly the in-process result."""
from __future__ import annotations

import numpy as np
import pytest

from mlsysim import ConfigError, Models, Systems
from mlsysim.explore import executors, optimize, pareto, processes, sweep

M70 = Models.Language.Llama3_70B
R256 = Systems.Clusters.Research_256
AXES = dict(tp=[1, 2, 4, 8], pp=[1, 2, 3, 4, 8], cp=[1, 2], microbatch=[1, 2], recompute=["selective", "full"],
            zero=[0, 1, 3], datacenters=["GCP_Iowa"], chunk_size=64)


@pytest.fixture(autouse=True)
def small_tasks(monkeypatch):
    monkeypatch.setattr(processes, "MIN_ROWS_PER_PROCESS_TASK", 100)  # many tasks over the two workers


def same(a, b):
    assert a.columns == b.columns
    for c in a.columns:
        x, y = a[c], b[c]
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), c


def test_processes_sweep_is_identical_to_in_process():
    local = sweep(M70, R256, keep="valid", **AXES)
    same(sweep(M70, R256, keep="valid", executor="processes", scheduler=2, **AXES), local)


def test_processes_optimize_and_pareto_are_identical():
    a = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, executor="processes", **AXES)
    b = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, **AXES)
    assert a.best["config_id"] == b.best["config_id"] and a.n_feasible == b.n_feasible
    same(pareto(M70, ("time_to_train", "cost"), fleets=R256, executor="processes", scheduler=2, **AXES),
         pareto(M70, ("time_to_train", "cost"), fleets=R256, **AXES))


@pytest.mark.parametrize("workers", [0, -1, 1.5, True, "two"])
def test_processes_rejects_bad_worker_counts(workers):
    with pytest.raises(ConfigError, match="worker count"):
        sweep(M70, R256, tp=[8], pp=[1, 2], keep="valid", executor="processes", scheduler=workers)


def test_kept_workers_serve_the_next_sweep_with_its_own_plan():
    """The worker processes outlive a sweep (warm heaps); each sweep's plan reaches them with its tasks, so a
    second sweep over other axes still equals its in-process run, and a new worker count starts new workers."""
    first = sweep(M70, R256, keep="valid", executor="processes", scheduler=3, **AXES)
    kept = set(processes._POOL[1]._processes)
    other = dict(AXES, tp=[2, 4], zero=[1, 2])
    same(sweep(M70, R256, keep="valid", executor="processes", scheduler=3, **other),
         sweep(M70, R256, keep="valid", **other))
    assert set(processes._POOL[1]._processes) == kept and len(kept) == 2  # this process is the third
    same(first, sweep(M70, R256, keep="valid", **AXES))
    sweep(M70, R256, keep="valid", executor="processes", scheduler=2, **AXES)
    assert len(processes._POOL[1]._processes) == 1 and not kept & set(processes._POOL[1]._processes)


def test_auto_forks_workers_only_past_ten_million_configurations(monkeypatch):
    """The issue-17 rule: worker processes by default for more than 1e7 configurations on a multi-core machine,
    this process otherwise, and never from a threaded process (a fork copies other threads' held locks)."""
    import sys
    import threading
    if not sys.platform.startswith("linux"):
        pytest.skip("fork-based workers are Linux-only here")
    other_threads = executors._other_threads
    monkeypatch.setattr(executors, "cores", lambda: 2)
    monkeypatch.setattr(executors, "_other_threads", lambda: [])  # other tests leave e.g. Dask's threads behind
    assert executors.resolve_executor("auto", 10_000_000) == "local"
    assert executors.resolve_executor("auto", 10_000_001) == "processes"
    assert executors.resolve_executor("local", 10**9) == "local"
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert t in other_threads()
        monkeypatch.setattr(executors, "_other_threads", other_threads)
        assert executors.resolve_executor("auto", 10**9) == "local"
    finally:
        stop.set()
        t.join()
    monkeypatch.setattr(executors, "_other_threads", lambda: [])
    monkeypatch.setattr(executors, "cores", lambda: 1)
    assert executors.resolve_executor("auto", 10**9) == "local"


def test_auto_past_the_threshold_runs_workers_with_identical_results(monkeypatch):
    monkeypatch.setattr(executors, "AUTO_PROCESS_ROWS", 100)
    monkeypatch.setattr(executors, "cores", lambda: 2)
    monkeypatch.setattr(executors, "_other_threads", lambda: [])
    ran = []
    real = processes.run_processes
    monkeypatch.setattr(processes, "run_processes", lambda *a: ran.append(a[3]) or real(*a))
    a = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, **AXES)
    assert ran == [None]  # the default executor took the worker processes (one per core)
    b = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, executor="local", **AXES)
    assert a.best["config_id"] == b.best["config_id"] and a.n_feasible == b.n_feasible
    same(sweep(M70, R256, **AXES), sweep(M70, R256, executor="local", **AXES))
    assert len(ran) == 1  # keep="all" stays in this process


def test_a_scheduler_needs_an_executor_that_uses_one():
    for ex in ("auto", "local"):
        with pytest.raises(ConfigError, match="executor='processes'"):
            optimize(M70, "cost", fleets=R256, tp=[8], pp=[1], datacenters=["GCP_Iowa"], executor=ex, scheduler=2)


def test_the_board_hands_out_each_batch_once_and_ignores_a_stopped_sweep():
    """The shared counter the processes claim batches from: three batches go out as 0, 1, 2 and then none; a
    stopped sweep's late claims and kept bytes count for nothing in the next sweep."""
    import multiprocessing as mp
    board = processes.Board(mp.get_context())
    board.open(7)
    assert [board.claim(7, 3) for _ in range(4)] == [0, 1, 2, -1]
    assert board.hold(7, 100) == 100 and board.hold(7, 28) == 128
    board.open(8)
    assert board.claim(7, 3) == -1 and board.hold(7, 10**9) == 0  # a worker still finishing sweep 7
    assert board.claim(8, 3) == 0 and board.hold(8, 5) == 5
    board.stop()
    assert board.claim(8, 3) == -1


def test_processes_stop_at_the_memory_budget_kept_by_all_of_them():
    """A keep-all sweep through workers is refused like the in-process one once the rows kept by every process
    exceed the budget (1e-8 GB = 10 bytes: the first kept row exceeds it), not after the workers ran out."""
    with pytest.raises(ConfigError, match="memory budget"):
        sweep(M70, R256, keep="valid", executor="processes", scheduler=2, max_memory_gb=1e-8, **AXES)
    same(sweep(M70, R256, keep="valid", executor="processes", scheduler=2, **AXES),
         sweep(M70, R256, keep="valid", **AXES))  # the kept workers serve the next sweep


def test_the_progress_bar_counts_every_process_rows(capsys):
    """With workers the bar counts the batches every process has taken, and ends at the sweep's size:
    4 x 5 x 2 x 2 x 2 x 3 = 480 configurations (one datacenter)."""
    optimize(M70, "cost", fleets=R256, executor="processes", scheduler=2, progress=True, **AXES)
    assert "480/480 configs" in capsys.readouterr().err
