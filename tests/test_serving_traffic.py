"""Traffic beyond Poisson means (issue 12): trace replay (Lindley), Kingman's G/G/1, output-length spread, daily
load profiles. Every expected number is derived by hand in the comments."""
import math

import numpy as np
import pytest

from mlsysim import Hardware, Infrastructure, Models
from mlsysim.errors import ConfigError
from mlsysim.physics import serving_econ as SE
from mlsysim.physics import serving_load as SL
from mlsysim.physics import serving_traffic as ST
from mlsysim.solvers import serving_traffic as TT
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_setup import replica_setup

L70, H100 = Models.Language.Llama3_70B, Hardware.Cloud.H100
KW = dict(input_len=2000, output_len=200, tp_size=4, precision="fp8")


def test_lindley_deterministic_queues_by_hand():
    a = np.arange(6.0)  # one arrival a second
    # D/D/1 with service 0.9 s < gap 1 s: nobody waits
    assert np.all(ST.lindley_waits(a, 0.9) == 0.0)
    # service 1.5 s > gap 1 s: each request waits 0.5 s more than the one before: 0, 0.5, 1.0, ...
    assert ST.lindley_waits(a, 1.5) == pytest.approx(0.5 * a)
    # a burst of 3 at t=0 (service 1 s each), then silence until t=10: waits 0, 1, 2, then 0 again
    assert ST.lindley_waits([0.0, 0.0, 0.0, 10.0], 1.0) == pytest.approx([0.0, 1.0, 2.0, 0.0])


def test_lindley_mm1_trace_matches_the_closed_form():
    # M/M/1 at rho = 0.5 (lambda 0.5/s, mean service 1 s): E[W] = rho / (mu - lambda) = 1 s,
    # P(W > t) = rho e^{-(mu - lambda) t} -> p99 = ln(0.5 / 0.01) / 0.5 = 7.824 s, P(W = 0) = 1 - rho = 0.5
    rng = np.random.default_rng(12)
    n = 400_000
    a = np.cumsum(rng.exponential(2.0, n))
    w = ST.lindley_waits(a, rng.exponential(1.0, n))
    assert w.mean() == pytest.approx(1.0, rel=0.05)
    assert np.quantile(w, 0.99) == pytest.approx(math.log(50) / 0.5, rel=0.05)
    assert np.mean(w == 0.0) == pytest.approx(0.5, abs=0.01)
    # the physics' tail formula gives the same p99 from the same mean
    assert SL.wait_quantile_s(0.99, 0.5, SL.mg1_wait_s(0.5, 1.0, 1.0)) == pytest.approx(math.log(50) / 0.5)


def test_kingman_gg1_by_hand():
    # rho 0.8, S = 1 s, ca^2 = 4, cs^2 = 0: 0.8 x 1 x (4 + 0) / (2 x 0.2) = 8 s
    assert SL.gg1_wait_s(0.8, 1.0, 4.0, 0.0) == pytest.approx(8.0)
    # ca^2 = 1 is Pollaczek-Khinchine: M/D/1 at rho 0.5 waits 0.5 x 1 / (2 x 0.5) = 0.5 s
    assert SL.gg1_wait_s(0.5, 1.0, 1.0, 0.0) == pytest.approx(SL.mg1_wait_s(0.5, 1.0, 0.0)) == pytest.approx(0.5)
    # a D/D/1 queue (ca = cs = 0) never waits
    assert SL.gg1_wait_s(0.9, 1.0, 0.0, 0.0) == 0.0


def test_trace_statistics_and_lifetime_concurrency_by_hand():
    a = [0.0, 1.0, 3.0]
    # gaps 1, 2: mean 1.5, std 0.5 -> CV 1/3; 2 gaps over 3 s -> 2/3 requests/s
    assert ST.interarrival_cv(a) == pytest.approx(1.0 / 3.0)
    assert ST.trace_rate(a) == pytest.approx(2.0 / 3.0)
    # lifetimes of D = 2 s: request 0 overlaps request 1 by 1 s (1/2 of its lifetime), request 2 not at all;
    # request 1 overlaps 0 by 1 s and 2 by 0 s; request 2 only itself. Each counts itself once.
    assert ST.lifetime_concurrency(a, 2.0) == pytest.approx([1.5, 1.5, 1.0])
    # Poisson at 5/s with 4 s lifetimes: 1 + lambda D = 21 on average
    rng = np.random.default_rng(1)
    c = ST.lifetime_concurrency(np.cumsum(rng.exponential(0.2, 200_000)), 4.0)
    assert c[100:-100].mean() == pytest.approx(21.0, rel=0.01)


def test_round_robin_and_separation():
    order, rep = ST.round_robin(5, 2)  # requests 0, 2, 4 to replica 0; 1, 3 to replica 1
    assert list(order) == [0, 2, 4, 1, 3] and list(rep) == [0, 0, 0, 1, 1]
    t = ST.separate(np.array([0.0, 1.0, 2.0, 0.5, 1.5]), rep, 10.0)  # span 2 s + gap 10 s between replicas
    assert list(t) == [0.0, 1.0, 2.0, 12.5, 13.5]


def test_deterministic_trace_never_waits():
    # a metronome at 2 requests/s on one replica: the prompt queue's service (2,000 tokens x a ~30 ms step /
    # an ~8,000-token budget, ~8 ms) is far below the 0.5 s gap, so D/D/1 gives zero wait for every request
    tr = TT.traffic(arrivals=np.arange(2000) * 0.5, **{k: KW[k] for k in ("input_len", "output_len")})
    s = TT.with_traffic(replica_setup(L70, H100, input_len=2000, output_len=200, tp=4, precision="fp8"), tr)
    at = {k: float(v) for k, v in SL.at_qps(s.dims, qps=tr.rate, b_max=s.b_max, **s.kw).items()}
    r = TT.replay(s, tr, 1, 0.99, at, TT.curve(s, tr))
    assert r["wait_mean_s"] == 0.0
    assert tr.arrival_cv == 0.0 and tr.rate == pytest.approx(2.0)


def _on_off(lam, n, seed):
    """Rate surges: on periods (exponential, mean 2 s) at 2 x lam, silent off periods (mean 2 s): mean rate lam."""
    rng = np.random.default_rng(seed)
    t, out = 0.0, []
    while len(out) < n:
        on = rng.exponential(2.0)
        out.extend(np.sort(t + rng.uniform(0.0, on, rng.poisson(2 * lam * on))))
        t += on + rng.exponential(2.0)
    return np.array(out)


def test_bursty_traffic_needs_more_replicas_than_poisson():
    slo = dict(ttft_slo=0.15, tpot_slo=0.05)
    rng = np.random.default_rng(3)
    pois = ServingLoadModel().solve(L70, H100, arrivals=np.cumsum(rng.exponential(1 / 40, 20_000)), qps=40,
                                    **KW, **slo)
    burst = ServingLoadModel().solve(L70, H100, arrivals=_on_off(40, 20_000, 4), qps=40, **KW, **slo)
    assert burst.qps == pois.qps == 40.0  # both traces time-scaled to the same mean rate
    assert burst.arrival_cv > 2.0 and pois.arrival_cv == pytest.approx(1.0, abs=0.03)
    assert burst.feasible and pois.feasible
    assert burst.replicas > pois.replicas
    # during a surge each of n replicas is offered 80 / n requests/s, which must stay below what one replica
    # sustains at all (its offline maximum): n >= ceil(80 / q_offline)
    s = replica_setup(L70, H100, input_len=2000, output_len=200, tp=4, precision="fp8")
    q_off = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf, **s.kw)["qps"]
    assert burst.replicas >= math.ceil(80.0 / q_off) > math.ceil(40.0 / q_off)
    assert burst.ttft_p99_s <= 0.15 and burst.tpot_p99_s <= 0.05
    # the closed-form G/G/1 (Kingman) given only a CV: bursty needs more than Poisson as well
    a1 = ServingLoadModel().solve(L70, H100, qps=40, **KW, **slo)
    a2 = ServingLoadModel().solve(L70, H100, qps=40, arrival_cv=2.0, **KW, **slo)
    assert a2.replicas > a1.replicas and "Kingman" in a2.assumptions["queueing"]


def test_given_fleet_replays_the_trace_and_reports_goodput():
    rng = np.random.default_rng(5)
    r = ServingLoadModel().solve(L70, H100, arrivals=np.cumsum(rng.exponential(1 / 40, 5000)), replicas=1,
                                 ttft_slo=0.5, **KW)
    # 40 QPS of 2,000-token prompts on one TP4 replica is beyond what it sustains: marked, finite
    assert not r.feasible and "queue grows" in r.binding and r.goodput_qps == 0.0 and math.isfinite(r.ttft_p99_s)


def test_per_request_lengths_set_means_and_cvs():
    # prompts alternate 1,000 / 3,000 tokens: mean 2,000, std 1,000, CV 0.5; outputs 100 / 300: mean 200, CV 0.5
    n = 4000
    a = np.arange(n) * 0.5
    tr = TT.traffic(arrivals=a, input_lens=np.tile([1000, 3000], n // 2), output_lens=np.tile([100, 300], n // 2))
    assert (tr.input_len, tr.output_len, tr.input_cv, tr.output_cv) == (2000.0, 200.0, 0.5, 0.5)
    r = ServingLoadModel().solve(L70, H100, arrivals=a, input_lens=np.tile([1000, 3000], n // 2),
                                 output_lens=np.tile([100, 300], n // 2), tp_size=4, precision="fp8", replicas=1)
    assert r.input_len == 2000.0 and r.output_cv == 0.5 and r.feasible


def test_output_cv_shrinks_kv_capacity_by_the_length_biased_context():
    # a sequence in the batch holds I + O (1 + cv^2) / 2 tokens: 1,000 + 200 x 2 / 2 = 1,200 at cv = 1 vs
    # 1,100 at cv = 0, so the KV capacity falls by 1,100 / 1,200
    kw = dict(input_len=1000, output_len=200, tp_size=4, precision="fp8")
    base = ServingLoadModel().solve(L70, H100, qps=10, **kw)
    wide = ServingLoadModel().solve(L70, H100, qps=10, output_cv=1.0, **kw)
    assert SL.batch_context(1000.0, 200.0, 1.0) == 1200.0
    assert wide.kv_capacity / base.kv_capacity == pytest.approx(1100.0 / 1200.0)
    assert wide.tpot_p50_s > base.tpot_p50_s  # longer contexts to read every step


def test_profile_power_by_hand():
    # 4 replicas of 1 GPU, peak utilisation 0.4, 700 W TDP, 90 W idle, host 260 W per GPU; profile [1, 0.5, 0]:
    # P(0.4) = 90 + 610 (1 - e^{-0.4/0.153}); hour 1: 4 P(0.4); hour 2: 2 replicas at 0.4 x 0.5 x 4 / 2 = 0.4 and
    # 2 idle; hour 3: 4 idle. Mean = (6 P(0.4) + 6 x 90) / 3, + 4 x 260 host throughout.
    p = 90.0 + 610.0 * (1.0 - math.exp(-0.4 / 0.153))
    got = SE.profile_it_power_w([1.0, 0.5, 0.0], replicas=4, gpus_per_replica=1, peak_util=0.4, tdp_w=700.0,
                                idle_w=90.0, host_w_per_gpu=260.0)
    assert got == pytest.approx((6 * p + 6 * 90.0) / 3 + 4 * 260.0)
    assert list(ST.active_replicas([1.0, 0.5, 0.26, 0.0], 4)) == [4, 2, 2, 0]  # ceil(1.04) = 2


def test_diurnal_energy_is_the_sum_over_hours():
    dc = Infrastructure.Datacenters.US_East_Virginia
    kw = dict(qps=20, input_len=1000, output_len=200, tp_size=4, precision="fp8", ttft_slo=0.5, datacenter=dc)
    flat = ServingLoadModel().solve(L70, H100, **kw)
    # a constant profile at the peak is the fleet at the peak
    same = ServingLoadModel().solve(L70, H100, load_profile=[1.0] * 24, **kw)
    assert same.per_request["energy_j"] == pytest.approx(flat.per_request["energy_j"])
    # 12 hours at the peak, 12 hours with no traffic: the day's energy = 12 h at the peak power + 12 h of every
    # GPU idle (90 W) plus its host share (260 W), x PUE 1.15; over 12 h worth of peak requests.
    half = ServingLoadModel().solve(L70, H100, load_profile=[1.0] * 12 + [0.0] * 12, **kw)
    peak_w = flat.per_request["energy_j"] * 20.0  # facility W at the peak = J per request x requests per s
    idle_w = flat.gpus * (90.0 + 260.0) * 1.15
    want = (12 * 3600 * peak_w + 12 * 3600 * idle_w) / (12 * 3600 * 20.0)
    assert half.per_request["energy_j"] == pytest.approx(want)
    assert half.replicas == flat.replicas and half.load_factor == 0.5
    # fixed costs over half the requests: every dollar per token goes up
    assert half.usd_per_m_output > flat.usd_per_m_output
    assert half.per_request["carbon_embodied_kg"] == pytest.approx(2.0 * flat.per_request["carbon_embodied_kg"])


@pytest.mark.parametrize("kw, match", [
    (dict(arrivals=[0.0, 2.0, 1.0]), "sorted"),
    (dict(arrivals=[-1.0, 0.0, 1.0]), ">= 0"),
    (dict(arrivals=[]), "at least 2"),
    (dict(arrivals=[1.0, 1.0]), "same instant"),
    (dict(arrivals=[0.0, float("nan")]), "NaN"),
    (dict(arrivals=[0.0, 1.0], input_lens=[100]), "one length per request"),
    (dict(arrivals=[0.0, 1.0], output_lens=[100, 0]), ">= 1 token"),
    (dict(arrivals=[0.0, 1.0], arrival_cv=2.0), "drop arrival_cv"),
    (dict(qps=1, input_lens=[100]), "arrivals="),
    (dict(qps=1, load_profile=[0.5, -0.1]), r"\[0, 1\]"),
    (dict(qps=1, load_profile=[0.0, 0.0]), "all zeros"),
    (dict(qps=1, load_profile=[2.0, 1.0]), "divide the profile"),
    (dict(qps=1, load_profile=[]), "empty"),
    (dict(qps=1, arrival_cv=-1.0), "arrival_cv"),
    (dict(), "qps="),
    (dict(arrivals=[0.0, 1.0, 2.0], disaggregation=(1, 1)), "disaggregated"),
])
def test_bad_traffic_is_a_config_error_with_the_fix(kw, match):
    with pytest.raises(ConfigError, match=match):
        ServingLoadModel().solve(L70, H100, tp_size=4, precision="fp8", **kw)


def test_trace_csv_scenario_and_cli(tmp_path):
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    from mlsysim.scenario import from_dict
    from mlsysim.scenario_serving import evaluate
    csv = tmp_path / "trace.csv"
    csv.write_text("arrival_s,input_len,output_len\n" + "".join(f"{0.25 * i},{1000 + 500 * (i % 2)},200\n"
                                                               for i in range(400)))
    assert TT.load_trace(csv)["input_lens"][:2] == [1000.0, 1500.0]
    raw = {"workload": {"model": "Llama3_70B"}, "system": {"accelerator": "H100"},
           "serving": {"trace": str(csv), "tp_size": 4, "precision": "fp8", "ttft_slo_ms": 500,
                       "load_profile": [1.0, 0.5]}, "datacenter": "US_East_Virginia"}
    r = evaluate(from_dict(raw))
    assert r.qps == pytest.approx(4.0) and r.input_len == 1250.0 and "trace of 400" in r.traffic
    assert r.load_factor == 0.75 and "load profile" in r.assumptions
    res = CliRunner().invoke(app, ["serve", "-m", "Llama3_70B", "-a", "H100", "--tp", "4", "--precision", "fp8",
                                   "--trace", str(csv), "--qps", "8", "--load-profile", "1,0.25", "--json"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)["result"]
    assert body["qps"] == 8.0 and body["load_factor"] == 0.625
    bad = tmp_path / "bad.csv"
    bad.write_text("time,x\n1,2\n")
    with pytest.raises(ConfigError, match="arrival_s"):
        TT.load_trace(bad)
    bad.write_text("arrival_s\n0\nsoon\n")
    with pytest.raises(ConfigError, match="row 3"):
        TT.load_trace(bad)
    with pytest.raises(ConfigError, match="no such trace"):
        TT.load_trace(tmp_path / "missing.csv")
    res = CliRunner().invoke(app, ["serve", "-m", "Llama3_70B", "-a", "H100", "--qps", "1", "--load-profile", "x"])
    assert res.exit_code != 0 and "comma-separated" in res.output


def test_example_script_runs_and_writes_a_trace(tmp_path, capsys):
    import re
    import runpy
    from pathlib import Path
    ns = runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "serving_traffic.py"))
    ns["main"]()
    out = capsys.readouterr().out
    reps = [int(x) for x in re.findall(r"(\d+) replicas", out)]
    assert reps[1] > reps[0]  # the surges need more replicas than the Poisson trace at the same mean rate
    ns["write_trace"](tmp_path / "r.csv")
    t = TT.load_trace(tmp_path / "r.csv")
    # 25 surges x 800 requests, each 2,000 prompt / 200 output tokens
    assert len(t["arrivals"]) == 20_000 and set(t["input_lens"]) == {2000.0} and set(t["output_lens"]) == {200.0}


def test_replay_curve_interpolates_the_physics():
    # the replay reads iteration times off a 64-point grid; at concurrencies and prompt lengths between the grid
    # points they match the physics evaluated directly within 0.5 %
    n = 400
    a = np.arange(n) * 0.5
    tr = TT.traffic(arrivals=a, input_lens=np.linspace(500, 4000, n), output_len=200)
    s = TT.with_traffic(replica_setup(L70, H100, input_len=tr.input_len, output_len=200, tp=4, precision="fp8"), tr)
    c = TT.curve(s, tr)
    lay = {k: v for k, v in s.kw.items() if k not in TT._QUEUE_KEYS}
    for b, p in ((3.3, 777.0), (47.0, 2222.0), (301.0, 3900.0)):
        t, _, t1 = SL.step_time_s(s.dims, b, isl=s.kw["isl"], osl=200.0, prompt=p, **lay)
        assert np.interp(math.log(b), c["x"], c["t"]) == pytest.approx(t, rel=0.005)
        assert TT._bilinear(c["x"], c["p"], c["t1"], np.array([math.log(b)]), np.array([p]))[0] == \
            pytest.approx(t1, rel=0.005)


def test_kingman_enters_the_replica_prompt_queue():
    # the prompt queue of a replica at a fixed concurrency: deterministic prompts (cs^2 = 0), so the G/G/1 mean
    # wait scales with ca^2 + cs^2: arrival CV 2 waits (4 + 0) / (1 + 0) = 4x the Poisson wait
    s = replica_setup(L70, H100, input_len=2000, output_len=200, tp=4, precision="fp8")
    w1 = SL.load_point(s.dims, conc=30.0, **s.kw)["wait_mean_s"]
    w2 = SL.load_point(s.dims, conc=30.0, **dict(s.kw, arrival_cv=2.0))["wait_mean_s"]
    assert w1 > 0 and w2 == pytest.approx(4.0 * w1)


def test_poisson_trace_replay_agrees_with_the_closed_form():
    # Poisson arrivals at 5 QPS per replica (4 replicas, 20 QPS): light queueing, where both the replay and the
    # steady-state closed form rest on Little's law; their p50 / p99 TTFT and TPOT agree within 10 %
    a = np.cumsum(np.random.default_rng(7).exponential(1 / 20, 40_000))
    r = ServingLoadModel().solve(L70, H100, arrivals=a, replicas=4, qps=20, **KW)
    c = ServingLoadModel().solve(L70, H100, qps=20, replicas=4, **KW)
    for k in ("ttft_p50_s", "ttft_p99_s", "tpot_p50_s", "tpot_p99_s"):
        assert getattr(r, k) == pytest.approx(getattr(c, k), rel=0.10), k
