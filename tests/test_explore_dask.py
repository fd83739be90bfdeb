"""The Dask executor shards a sweep over a local 2-worker cluster and returns exactly the in-process result."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask")
distributed = pytest.importorskip("dask.distributed")

from mlsysim import Models, Systems  # noqa: E402
from mlsysim.explore import executors, make_plan, optimize, pareto, sweep  # noqa: E402

M70 = Models.Language.Llama3_70B
R256 = Systems.Clusters.Research_256
AXES = dict(tp=[1, 2, 4, 8], pp=[1, 2, 3, 4, 8], cp=[1, 2], microbatch=[1, 2], recompute=["selective", "full"],
            zero=[0, 1, 3], datacenters=["GCP_Iowa"], chunk_size=64)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(autouse=True)
def small_tasks(monkeypatch):
    monkeypatch.setattr(executors, "ROWS_PER_DASK_TASK", 100)  # many tasks over the two workers


def same(a, b):
    assert a.columns == b.columns
    for c in a.columns:
        x, y = a[c], b[c]
        assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), c


def test_dask_sweep_is_identical_to_in_process(client):
    local = sweep(M70, R256, **AXES)
    plan = make_plan(M70, R256, **AXES)
    assert len(executors._batches(plan, plan.tasks())) >= 4
    same(sweep(M70, R256, executor="dask", scheduler=client, **AXES), local)
    same(sweep(M70, R256, executor="dask", scheduler=client.scheduler.address, keep="feasible", **AXES),
         sweep(M70, R256, keep="feasible", **AXES))


def test_dask_optimize_and_pareto_are_identical(client):
    a = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, executor="dask", scheduler=client, **AXES)
    b = optimize(M70, "cost", {"memory_headroom": 0.05}, fleets=R256, **AXES)
    same(a.table, b.table)
    assert a.rejected == b.rejected and a.evaluated == b.evaluated
    same(pareto(M70, ("time_to_train", "cost"), fleets=R256, executor="dask", scheduler=client, **AXES),
         pareto(M70, ("time_to_train", "cost"), fleets=R256, **AXES))


def test_bad_scheduler():
    from mlsysim.errors import ConfigError
    with pytest.raises(ConfigError, match="scheduler"):
        sweep(M70, R256, tp=[8], pp=[1], executor="dask", scheduler=42)


def test_default_scheduler_starts_and_stops_a_local_cluster():
    axes = dict(AXES, tp=[4, 8], pp=[1, 2])
    same(sweep(M70, R256, executor="dask", **axes), sweep(M70, R256, **axes))
