"""What a serving user reads when the answer is no: the binding reason names the real cause."""
from __future__ import annotations

from mlsysim import Hardware, Models
from mlsysim.solvers.serving_load import ServingLoadModel


def test_an_unreachable_ttft_slo_is_not_blamed_on_replicas_nobody_gave():
    # Hand: Llama 3 70B's prefill of 1,024 tokens is at least 2 x 70.55e9 x 1024 = 1.445e14 FLOP over 8 H100s at
    # 989.5 TFLOP/s dense bf16 = 18.3 ms, so a 1 ms p99 TTFT cannot be met at any load by any number of replicas.
    r = ServingLoadModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, qps=10, tp_size=8,
                                 ttft_slo=0.001)
    assert not r.feasible and r.qps_per_replica_max == 0.0
    assert r.ttft_p99_s > 2 * 70.55e9 * 1024 / (8 * 989.5e12)
    assert "given replicas" not in r.binding and "even one sequence" in r.binding
    # with replicas given, the same miss is theirs
    g = ServingLoadModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, qps=10, tp_size=8,
                                 ttft_slo=0.001, replicas=2)
    assert not g.feasible and "given replicas" in g.binding


def test_one_replica_is_singular_in_the_title():
    r = ServingLoadModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, qps=1, tp_size=8,
                                 replicas=1)
    assert "(1 replica of TP8" in r._title()


def test_the_web_title_and_the_plan_say_one_replica():
    pytest = __import__("pytest")
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from mlsysim.web import create_app
    from mlsysim.solvers.serving_plan import plan_serving
    body = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 1, "input_len": 1000,
            "output_len": 200, "ttft_slo_ms": 1000, "datacenters": ["GCP_Iowa"], "plan": False}
    # 1 QPS x 200 output tokens = 200 tokens/s: far below one TP4 replica's decode rate, so one replica serves it
    d = TestClient(create_app()).post("/api/serve", json=body).json()
    assert d["fleet"]["replicas"] == 1 and "(1 replica of TP4" in d["title"]
    p = plan_serving(Models.Language.Llama3_70B, qps=1, input_len=1000, output_len=200, ttft_slo=1.0,
                     hardware=["H100"], precisions=["fp8"], tp_sizes=[4], datacenters=["GCP_Iowa"])
    assert p.best["replicas"] == 1 and "(1 replica)" in dict(p._rows())["best"]
