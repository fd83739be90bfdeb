"""Long prompts, short answers (100,000 tokens in, 10 out): a replica's prompt passes alone fill it before one
sequence is in flight, below the capacity grid's first point. ServingLoadModel then stopped at the offline count
(6 replicas: infeasible for a 6 s p99 TTFT that 8 meet), and plan_serving called every layout "no configuration
meets p99 TTFT <= 60 s ... TTFT inf ms" while ServingLoadModel served the same traffic with 6 replicas."""
from __future__ import annotations

import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import InfeasibleError
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_plan import plan_serving

L70, H100 = Models.Language.Llama3_70B, Hardware.Cloud.H100
KW = dict(qps=1, input_len=100_000, output_len=10, tp_size=8, precision="fp8")


def load(**kw):
    return ServingLoadModel().solve(L70, H100, **{**KW, **kw})


@pytest.mark.parametrize("slo", [60.0, 8.0, 6.0])
def test_the_fleet_is_the_fewest_replicas_meeting_the_slo(slo):
    r = load(ttft_slo=slo)
    assert r.feasible and r.ttft_p99_s <= slo
    # minimal: one replica fewer, given explicitly, misses the same SLO (or cannot keep up at all)
    fewer = load(ttft_slo=slo, replicas=r.replicas - 1)
    assert not fewer.feasible
    # whole TP8 replicas; and a hand floor on the per-replica rate: each replica prefills 100,000 tokens of Llama 3
    # 70B at >= 2 x 70.55e9 x 1e5 FLOP over 8 H100s at 1,979 TFLOP/s fp8 = 0.89 s, so it serves < 1 / 0.89 QPS
    assert r.gpus == 8 * r.replicas
    assert 1.0 / r.replicas < 1.0 / (2 * 70.55e9 * 1e5 / (8 * 1979e12))


def test_tighter_slo_more_replicas_and_an_unreachable_one_is_named():
    loose, tight = load(ttft_slo=60.0), load(ttft_slo=6.0)
    assert tight.replicas > loose.replicas
    # below the bare prompt pass no fleet helps: the TTFT at the lightest load is the floor
    floor = load(ttft_slo=60.0, replicas=64).ttft_p99_s
    r = load(ttft_slo=0.9 * floor)
    assert not r.feasible and "prompt pass alone" in r.binding


def test_the_planner_agrees_with_the_solver():
    for slo in (60.0, 6.0):
        p = plan_serving(L70, qps=1, input_len=100_000, output_len=10, ttft_slo=slo, hardware=["H100"],
                         precisions=["fp8"], tp_sizes=[8], datacenters=["GCP_Iowa"])
        assert p.best["replicas"] == load(ttft_slo=slo).replicas
    floor = load(ttft_slo=60.0, replicas=64).ttft_p99_s
    with pytest.raises(InfeasibleError, match="closest: H100 fp8 TP8") as e:
        plan_serving(L70, qps=1, input_len=100_000, output_len=10, ttft_slo=0.9 * floor, hardware=["H100"],
                     precisions=["fp8"], tp_sizes=[8], datacenters=["GCP_Iowa"])
    assert "inf ms" not in str(e.value)
