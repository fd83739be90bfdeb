"""The explorer's serving face (explore.serving_sweep / pareto) is the same physics as ServingLoadModel."""
import math

import pytest

from mlsysim import Hardware, explore
from mlsysim.solvers.serving_load import ServingLoadModel

KW = dict(hardware=("H100", "H200"), precisions=("fp8",), tp_sizes=(1, 2), lengths=((1000, 200),),
          max_batches=(64, 2048), chunks=(8192,), ttft_slos=(0.5,))


@pytest.fixture(scope="module")
def res():
    return explore.serving_sweep("Llama3_70B", **KW)


def test_rows_cover_the_grid(res):
    # 2 hardware x 1 precision x 2 TP x 1 length x 2 max batches x 1 chunk x 1 SLO = 8 rows
    assert len(res) == 8
    assert set(res["hardware"]) == {"H100", "H200"}


@pytest.mark.parametrize("hw, tp", [("H100", 2), ("H200", 1), ("H200", 2)])
def test_sweep_rows_equal_serving_load_model(res, hw, tp):
    i = next(j for j in range(len(res)) if res[j]["hardware"] == hw and res[j]["tp"] == tp
             and res[j]["max_batch"] == 2048)
    row = res[i]
    r = ServingLoadModel().solve("Llama3_70B", getattr(Hardware.Cloud, hw), qps=1.0, input_len=1000,
                                 output_len=200, tp_size=tp, precision="fp8", ttft_slo=0.5, max_batch=2048,
                                 chunk_tokens=8192)
    # the same max_load; where the TTFT SLO (not max batch or KV) binds, B* is interpolated on a concurrency grid
    # spanning 1 .. the largest max batch of the call, which differs between a sweep and one solve: max_load's
    # docstring bounds that interpolation at 0.5 %
    assert row["qps_per_replica"] == pytest.approx(r.qps_per_replica_max, rel=5e-3)
    # tokens/s per GPU = replica QPS x output tokens / GPUs in the replica (Little's law over one replica)
    assert row["tokens_per_s_per_gpu"] == pytest.approx(row["qps_per_replica"] * 200 / tp, rel=1e-9)


def test_pareto_front_is_non_dominated(res):
    front = explore.pareto(res, ("tokens_per_s_per_gpu", "tokens_per_s_per_user"))
    ok = res.feasible()
    pts = [(ok[j]["tokens_per_s_per_gpu"], ok[j]["tokens_per_s_per_user"]) for j in range(len(ok))]
    for k in range(len(front)):
        a, b = front[k]["tokens_per_s_per_gpu"], front[k]["tokens_per_s_per_user"]
        assert not any(x >= a and y >= b and (x > a or y > b) for x, y in pts)
    # every feasible row off the front is dominated by some front row (both maximised)
    fr = {(front[k]["tokens_per_s_per_gpu"], front[k]["tokens_per_s_per_user"]) for k in range(len(front))}
    for x, y in pts:
        assert (x, y) in fr or any(a >= x and b >= y for a, b in fr)
    assert all(math.isfinite(v) for v in front["tokens_per_s_per_user"])


def test_notebook_reprs(res):
    r = ServingLoadModel().solve("Llama3_70B", Hardware.Cloud.H100, qps=10.0, input_len=1000, output_len=200,
                                 tp_size=4, precision="fp8", ttft_slo=0.5)
    html = r._repr_html_()
    assert "<table" in html and "TTFT p50 / p99 (ms)" in html
    assert res._repr_html_().count("<tr>") == len(res) + 1  # header + one row per configuration (8 < 20 shown)
