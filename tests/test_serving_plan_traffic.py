"""The capacity planner and the serving sweep take the traffic ServingLoadModel takes (arrival CV, output CV, a
trace, a daily load profile) and give its numbers: every expected value is derived by hand in the comments or is
ServingLoadModel's figure for the same layout (one physics, two faces)."""
import math

import numpy as np
import pytest

from mlsysim import Hardware, Infrastructure, Models
from mlsysim.errors import ConfigError
from mlsysim.physics import serving_load as SL
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_plan import plan_serving
from mlsysim.solvers.serving_sweep import serving_sweep
from mlsysim.solvers.serving_setup import replica_setup

L70, H100 = Models.Language.Llama3_70B, Hardware.Cloud.H100
VA = Infrastructure.Datacenters.US_East_Virginia
ONE = dict(hardware=("H100",), precisions=("fp8",), tp_sizes=(4,), datacenters=[VA])
LENS = dict(input_len=2000, output_len=200)


def _solve(**kw):
    return ServingLoadModel().solve(L70, H100, tp_size=4, precision="fp8", datacenter=VA, **LENS, **kw)


def test_bursty_plan_needs_more_replicas_and_matches_the_fleet_solver():
    pois = plan_serving(L70, qps=40, ttft_slo=0.15, **LENS, **ONE).best
    burst = plan_serving(L70, qps=40, ttft_slo=0.15, arrival_cv=2.0, **LENS, **ONE)
    b = burst.best
    # Kingman: at the same utilisation a CV-2 arrival stream waits (4 + 0) / (1 + 0) = 4x the Poisson wait, so a
    # replica sustains less QPS within the TTFT target and the fleet grows
    assert b["qps_per_replica"] < pois["qps_per_replica"] and b["replicas"] > pois["replicas"]
    # ... exactly the fleet ServingLoadModel sizes for that layout and traffic
    r = _solve(qps=40, ttft_slo=0.15, arrival_cv=2.0)
    assert (b["replicas"], b["gpus"]) == (r.replicas, r.gpus)
    assert b["ttft_p99_ms"] == pytest.approx(r.ttft_p99_s * 1e3, rel=1e-12)
    assert (b["usd_per_m_input"], b["usd_per_m_output"]) == pytest.approx((r.usd_per_m_input, r.usd_per_m_output),
                                                                           rel=1e-9)
    assert burst.assumptions["traffic"].startswith("G/G/1, inter-arrival CV 2")
    # the replicas cover the load a replica sustains within the SLO: replicas >= 40 / max QPS per replica
    assert b["replicas"] >= 40.0 / b["qps_per_replica"]


def test_output_cv_plan_matches_the_fleet_solver():
    # output CV 1: a sequence in the batch holds 2,000 + 200 x (1 + 1) / 2 = 2,200 tokens, not 2,100
    p = plan_serving(L70, qps=40, ttft_slo=0.5, tpot_slo=0.05, output_cv=1.0, **LENS, **ONE)
    r = _solve(qps=40, ttft_slo=0.5, tpot_slo=0.05, output_cv=1.0)
    assert SL.batch_context(2000.0, 200.0, 1.0) == 2200.0
    assert (p.best["replicas"], p.best["tpot_p99_ms"]) == (r.replicas, pytest.approx(r.tpot_p99_s * 1e3))
    assert "2,200 tokens" in p.assumptions["output lengths"]


def test_flat_profile_is_no_profile():
    kw = dict(qps=20, ttft_slo=0.5, **LENS, **ONE)
    base, flat = plan_serving(L70, **kw).best, plan_serving(L70, load_profile=[1.0] * 24, **kw).best
    for k in ("replicas", "gpus", "usd_per_year", "carbon_t_per_year", "wh_per_request", "usd_per_m_output"):
        assert flat[k] == pytest.approx(base[k], rel=1e-12), k
    assert flat["load_factor"] == base["load_factor"] == 1.0


def test_load_profile_by_hand():
    kw = dict(qps=20, ttft_slo=0.5, **LENS, **ONE)
    base = plan_serving(L70, **kw).best
    # mean of the shares: (1 + 0.5 + 0.25 + 0.25) / 4 = 0.5
    assert plan_serving(L70, load_profile=[1.0, 0.5, 0.25, 0.25], **kw).best["load_factor"] == 0.5
    # half the day at the peak, half with no traffic: the fleet stays sized for the peak; mean facility power =
    # (peak + every GPU idle (90 W) with its host share (260 W), x PUE 1.15) / 2, over half the peak's requests
    half = plan_serving(L70, load_profile=[1.0, 0.0], **kw).best
    peak_w = base["wh_per_request"] * 3600 * 20.0
    idle_w = base["gpus"] * (90.0 + 260.0) * 1.15
    assert half["replicas"] == base["replicas"]
    assert half["wh_per_request"] == pytest.approx((peak_w + idle_w) / 2 / 10.0 / 3600, rel=1e-9)
    # owning costs the same CapEx and maintenance a year; only the energy bill changes, at $0.085/kWh
    d_energy_usd = ((peak_w + idle_w) / 2 - peak_w) * 31_557_600 / 3.6e6 * 0.085
    assert half["usd_per_year"] - base["usd_per_year"] == pytest.approx(d_energy_usd, rel=1e-6)
    # ... and the same planner figure as ServingLoadModel under the same profile
    r = _solve(qps=20, ttft_slo=0.5, load_profile=[1.0, 0.0])
    assert half["wh_per_request"] == pytest.approx(r.energy_per_request_wh, rel=1e-12)


def test_trace_plan_replays_like_the_fleet_solver():
    # on/off surges: 2 s bursts at 80 QPS, 2 s silences, mean 40 QPS; sized by replaying the trace
    rng = np.random.default_rng(4)
    t, a = 0.0, []
    while len(a) < 4000:
        on = rng.exponential(2.0)
        a.extend(np.sort(t + rng.uniform(0.0, on, rng.poisson(80 * on))))
        t += on + rng.exponential(2.0)
    a = np.array(a)
    slo = dict(ttft_slo=0.15, tpot_slo=0.05)
    p = plan_serving(L70, arrivals=a, qps=40, **slo, **LENS, **ONE)
    r = _solve(arrivals=a, qps=40, **slo)
    assert r.feasible and (p.best["replicas"], p.best["gpus"]) == (r.replicas, r.gpus)
    assert p.best["qps_per_replica"] == pytest.approx(40.0 / r.replicas)
    pois = plan_serving(L70, qps=40, **slo, **LENS, **ONE).best
    assert p.best["replicas"] > pois["replicas"] and p.assumptions["traffic"].startswith("trace of")
    with pytest.raises(ConfigError, match="one datacenter"):
        plan_serving(L70, arrivals=a, **slo, **LENS, hardware=("H100",), precisions=("fp8",), tp_sizes=(4,),
                     datacenters=[VA, Infrastructure.Datacenters.GCP_Iowa])


@pytest.mark.parametrize("kw, match", [
    (dict(load_profile=[2.0, 1.0]), "divide the profile"),
    (dict(load_profile=[]), "empty"),
    (dict(arrival_cv=-1.0), "arrival_cv"),
    (dict(output_cv="wide"), "output_cv"),
    (dict(qps=None), "qps="),
])
def test_bad_plan_traffic_is_a_config_error(kw, match):
    with pytest.raises(ConfigError, match=match):
        plan_serving(L70, **{"qps": 10, "ttft_slo": 0.5, **LENS, **ONE, **kw})


def test_sweep_takes_the_cvs_and_refuses_what_it_cannot_vectorise():
    kw = dict(hardware=("H100",), precisions=("fp8",), tp_sizes=(4,), lengths=((2000, 200),), max_batches=(256,),
              chunks=(8192,), ttft_slos=(0.12, 10.0))
    pois, burst = serving_sweep(L70, **kw), serving_sweep(L70, arrival_cv=2.0, output_cv=1.0, **kw)
    # the same physics as one replica's max_load with that traffic
    s = replica_setup(L70, H100, tp=4, precision="fp8", max_batch=256, chunk_tokens=8192, **LENS)
    one = SL.max_load(s.dims, b_max=min(s.b_max, 256), slo_ttft_s=0.12, slo_tpot_s=math.inf,
                      **dict(s.kw, arrival_cv=2.0, output_cv=1.0))
    assert burst["qps"][0, 0, 0, 0] == pytest.approx(one["qps"], rel=2e-3)
    # burstier arrivals and longer batch contexts never raise what a replica sustains within the SLO
    assert np.all(burst["qps"] <= pois["qps"]) and burst["qps"][0, 0, 0, 0] < pois["qps"][0, 0, 0, 0]
    with pytest.raises(ConfigError, match="plan_serving"):
        serving_sweep(L70, arrivals=[0.0, 1.0, 2.0], **kw)
    with pytest.raises(ConfigError, match="plan_serving"):
        serving_sweep(L70, load_profile=[1.0, 0.5], **kw)
    with pytest.raises(ConfigError, match="arrival_cv"):
        serving_sweep(L70, arrival_cv=-2.0, **kw)
    from mlsysim import explore
    res = explore.serving_sweep("Llama3_70B", arrival_cv=2.0, output_cv=1.0, **kw)
    assert res["qps_per_replica"][0] == pytest.approx(burst["qps"][0, 0, 0, 0])
