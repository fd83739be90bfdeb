"""Speculative decoding at fleet scale (physics/serving_spec.py through ServingLoadModel, plan_serving, the scenario
and the CLI): hand-derived figures, and cross-checks against the one-replica face (ServingModel)."""
import pytest

from mlsysim import ServingLoadModel, ServingModel
from mlsysim.errors import ConfigError, InfeasibleError
from mlsysim.physics import serving_load as SL
from mlsysim.solvers.serving_plan import plan_serving
from mlsysim.solvers.serving_setup import replica_setup

L70, H = "Llama3_70B", "H100"
BASE = dict(input_len=1000, output_len=200, precision="fp8")
DRAFT = dict(draft_model="Llama3_8B", draft_acceptance_rate=0.7)
# Leviathan et al. 2023 Eq. 1 by hand: (1 - 0.7^5) / (1 - 0.7) = (1 - 0.16807) / 0.3
E_07_4 = 0.83193 / 0.3  # 2.7731 tokens per sequence per iteration with 4 drafted tokens


def _setup(**kw):
    return replica_setup(L70, H, input_len=1000, output_len=200, tp=4, precision="fp8", **kw)


def test_little_law_tpot_and_token_budget_by_hand():
    s = _setup(**DRAFT)
    at = SL.at_qps(s.dims, qps=5.0, b_max=s.b_max, **s.kw)
    t, b = float(at["step_s"]), float(at["conc"])
    # each iteration emits E tokens per sequence: a request stays O / E iterations (Little: B = QPS x O/E x t)
    assert b == pytest.approx(5.0 * 200 / E_07_4 * t, rel=0.02)
    assert at["tpot_p50_s"] == pytest.approx(t / E_07_4, rel=1e-9)
    # the prompt budget is the 8192-token chunk less 5 verification rows per decoding sequence (k + 1 = 5)
    assert at["rho"] == pytest.approx(at["qps"] * 1000 * t / (8192 - 5 * b), rel=1e-9)
    # chunk-limited: (2048 - 1 prompt token) / 5 rows = 409.4 sequences, below the 903.5 the KV cache holds
    assert _setup(**DRAFT, chunk_tokens=2048, max_batch=4096).b_max == pytest.approx(2047 / 5, rel=1e-12)


def test_p99_tpot_carries_the_spread_of_accepted_tokens_by_hand():
    # tokens per iteration X: P(X >= j) = 0.7^(j-1), j = 1..5; E[X^2] = 1 + 3(0.7) + 5(0.49) + 7(0.343) + 9(0.2401)
    # = 10.1119, Var X = 10.1119 - 2.7731^2 = 2.4218; a 200-token request's mean TPOT has relative sd
    # sqrt(2.4218 / (200 x 2.7731)) = 0.06608, so at ~no load (no concurrency spread) p99 = p50 x (1 + 2.3263 x 0.06608)
    r = ServingLoadModel().solve(L70, H, qps=0.01, tp_size=4, **BASE, **DRAFT)
    assert r.tpot_p99_s / r.tpot_p50_s == pytest.approx(1 + 2.3263 * 0.06608, rel=0.005)


def test_kv_capacity_falls_by_the_drafts_weights_and_kv_by_hand():
    plain, draft = _setup(), _setup(**DRAFT)
    # per token and device at fp8, TP 4 over 8 KV heads: 80 layers x 2 x 8 x 128 B / 4 = 40,960 B (Llama 3 70B),
    # 32 layers x 2 x 8 x 128 B / 4 = 16,384 B (Llama 3 8B); batch context 1000 + 200/2 = 1100 tokens
    ctx, kv70, kv8 = 1100, 40960, 16384
    # Llama 3 8B: 2 x 128256 x 4096 (embedding, untied head) + 32 x (2 x 4096^2 + 2 x 4096 x 1024 + 3 x 4096 x
    # 14336 + 2 x 4096) + 4096 = 8,030,261,248 params, fp8, over TP 4
    w8 = 8_030_261_248 / 4
    assert draft.memory_bytes["weights"] - plain.memory_bytes["weights"] == pytest.approx(w8, rel=1e-6)
    free = plain.kv_capacity * kv70 * ctx  # the KV pool of the plain replica (kv_fraction 0.9 of what is free)
    assert draft.kv_capacity == pytest.approx((free - 0.9 * w8) / ((kv70 + kv8) * ctx), rel=1e-6)  # ~903.5


def test_mtp_modules_weights_match_servingmodel_and_hand():
    # one Llama 3 70B MTP module: a layer (2 x 8192^2 + 2 x 8192 x 1024 + 3 x 8192 x 28672 + 2 x 8192) + the
    # 2h x h projection (2 x 8192^2) = 989,872,128 params; two at fp8 over TP 4
    hand = 2 * 989_872_128 / 4
    s0, s2 = _setup(), _setup(mtp_depth=2, draft_acceptance_rate=0.8)
    assert s2.memory_bytes["weights"] - s0.memory_bytes["weights"] == pytest.approx(hand, rel=1e-9)
    m0 = ServingModel().solve(L70, H, tp_size=4, **BASE)
    m2 = ServingModel().solve(L70, H, tp_size=4, mtp_depth=2, draft_acceptance_rate=0.8, **BASE)
    assert m2.memory_bytes["weights"] - m0.memory_bytes["weights"] == pytest.approx(hand, rel=1e-9)
    # their KV: 2 layers x 2 x 8 x 128 B / 4 = 1,024 B per token beside the target's 40,960
    free = s0.kv_capacity * 40960 * 1100
    assert s2.kv_capacity == pytest.approx((free - 0.9 * hand) / ((40960 + 1024) * 1100), rel=1e-6)


def test_acceptance_zero_is_never_better():
    # a = 0: E = 1 token per iteration, and the iteration carries 4 draft passes and 5 verification rows
    s0, s1 = _setup(), _setup(draft_model="Llama3_8B", draft_acceptance_rate=0.0)
    for conc in (1.0, 8.0, 64.0, 256.0):
        p0, p1 = SL.load_point(s0.dims, conc=conc, **s0.kw), SL.load_point(s1.dims, conc=conc, **s1.kw)
        assert p1["tpot_p50_s"] > p0["tpot_p50_s"] and p1["qps"] < p0["qps"]
    for slo in (0.05, 0.02):
        r0 = ServingLoadModel().solve(L70, H, qps=40, tp_size=4, ttft_slo=1.0, tpot_slo=slo, **BASE)
        r1 = ServingLoadModel().solve(L70, H, qps=40, tp_size=4, ttft_slo=1.0, tpot_slo=slo, **BASE,
                                      draft_model="Llama3_8B", draft_acceptance_rate=0.0)
        assert r1.replicas >= r0.replicas


def test_low_load_speedup_matches_the_one_replica_face():
    # at ~0.03 sequences in flight the fleet's TPOT ratio is ServingModel's batch-1 speculative speed-up with the
    # same per-iteration host overhead (the engine's 5 ms): two faces of one formula
    r0 = ServingLoadModel().solve(L70, H, qps=0.01, tp_size=4, **BASE)
    r1 = ServingLoadModel().solve(L70, H, qps=0.01, tp_size=4, **BASE, **DRAFT)
    one = ServingModel().solve(L70, H, tp_size=4, batch_size=1, step_overhead_s=0.005, **BASE, **DRAFT)
    assert r0.tpot_p50_s / r1.tpot_p50_s == pytest.approx(one.speculative_speedup, rel=0.03)
    # hand: weight streaming at batch 1 (8.03 B / 70.6 B params) gives E / (1 + 4 x 0.114) = 2.773 / 1.455 = 1.91
    assert r0.tpot_p50_s / r1.tpot_p50_s == pytest.approx(E_07_4 / (1 + 4 * 8.03 / 70.6), rel=0.05)
    assert "2.77 tokens per sequence" in r1.assumptions["speculative decoding"]


def test_a_tpot_slo_beyond_plain_decoding_is_met_with_a_draft():
    # plain decoding at fp8 over TP 4 streams 70.6e9 / 4 B per token at <= 3.35 TB/s: >= 5.3 ms, + 5 ms host
    # overhead per iteration = 10.3 ms > 10 ms at any load; with E = 2.77 tokens per iteration the SLO is met
    kw = dict(qps=40, tp_size=4, ttft_slo=1.0, tpot_slo=0.010, **BASE)
    assert not ServingLoadModel().solve(L70, H, **kw).feasible
    r = ServingLoadModel().solve(L70, H, **kw, **DRAFT)
    assert r.feasible and r.tpot_p99_s <= 0.010
    # the planner sizes the same fleet for the same configuration, and finds nothing without the draft
    dc = __import__("mlsysim").Infrastructure.Datacenters.US_East_Virginia
    plan = dict(qps=40, ttft_slo=1.0, tpot_slo=0.010, hardware=("H100",), precisions=("fp8",), tp_sizes=(4,),
                datacenters=[dc], **{k: v for k, v in BASE.items() if k != "precision"})
    with pytest.raises(InfeasibleError):
        plan_serving(L70, **plan)
    p = plan_serving(L70, **plan, **DRAFT)
    assert p.best["replicas"] == r.replicas and "speculative decoding" in p.assumptions


def test_disaggregated_and_trace_replay_speculate_too():
    import numpy as np
    kw = dict(tp_size=4, **BASE)
    d0 = ServingLoadModel().solve(L70, H, qps=2, disaggregation=(1, 1), **kw)
    d1 = ServingLoadModel().solve(L70, H, qps=2, disaggregation=(1, 1), **kw, **DRAFT)
    assert d1.tpot_p50_s < d0.tpot_p50_s / 1.4  # the decode pool emits 2.77 tokens per iteration
    arrivals = np.arange(200) * 10.0  # one request per 10 s: each replica runs ~one sequence at a time
    tr = ServingLoadModel().solve(L70, H, arrivals=arrivals, replicas=1, **kw, **DRAFT)
    poisson = ServingLoadModel().solve(L70, H, qps=0.1, replicas=1, **kw, **DRAFT)
    assert tr.tpot_p50_s == pytest.approx(poisson.tpot_p50_s, rel=0.03)  # the replay also divides by E


@pytest.mark.parametrize("extra, match", [
    (dict(draft_model="Llama3_8B", draft_acceptance_rate=1.0), r"\[0, 1\)"),
    (dict(draft_model="Llama3_8B", draft_acceptance_rate=-0.1), "draft_acceptance_rate must be >= 0"),
    (dict(draft_model="Llama3_8B", mtp_depth=1, draft_acceptance_rate=0.7), "not both"),
    (dict(draft_model="Llama3_8B"), "draft_acceptance_rate="),
    (dict(draft_acceptance_rate=0.7), "draft_model= or mtp_depth="),
    (dict(draft_tokens=3), "give draft_model="),
])
def test_bad_speculation_options_say_how_to_fix(extra, match):
    with pytest.raises(ConfigError, match=match):
        ServingLoadModel().solve(L70, H, qps=5, tp_size=4, **BASE, **extra)
    dc = __import__("mlsysim").Infrastructure.Datacenters.US_East_Virginia
    with pytest.raises(ConfigError, match=match):  # refused up front, not as every layout skipped
        plan_serving(L70, qps=5, ttft_slo=1.0, hardware=("H100",), datacenters=[dc], **extra)


def test_a_draft_model_on_expert_parallel_ranks_is_refused():
    with pytest.raises(ConfigError, match="mtp_depth="):
        ServingLoadModel().solve("Mixtral_8x7B", H, qps=5, ep_size=2, **BASE, **DRAFT)


def test_scenario_and_cli_carry_the_draft(tmp_path):
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    from mlsysim.scenario import from_dict
    from mlsysim.scenario_serving import evaluate
    raw = {"workload": {"model": L70}, "system": {"accelerator": H},
           "serving": {"qps": 40, "input_len": 1000, "output_len": 200, "tp_size": 4, "precision": "fp8",
                       "ttft_slo_ms": 1000, "tpot_slo_ms": 10, "draft_model": "Llama3_8B",
                       "draft_acceptance_rate": 0.7}}
    sc = evaluate(from_dict(raw))
    direct = ServingLoadModel().solve(L70, H, qps=40, tp_size=4, ttft_slo=1.0, tpot_slo=0.010, **BASE, **DRAFT)
    assert (sc.replicas, sc.tpot_p99_s) == (direct.replicas, direct.tpot_p99_s)
    out = CliRunner().invoke(app, ["serve", "-m", L70, "-a", H, "--qps", "40", "--tp", "4", "--precision", "fp8",
                                   "--input-len", "1000", "--output-len", "200", "--ttft-slo-ms", "1000",
                                   "--tpot-slo-ms", "10", "--draft-model", "Llama3_8B", "--acceptance", "0.7",
                                   "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["result"]["replicas"] == direct.replicas
    plan = ["serve-plan", "-m", L70, "--qps", "40", "--input-len", "1000", "--output-len", "200", "--ttft-slo-ms",
            "1000", "--tpot-slo-ms", "10", "-a", H, "--precision", "fp8", "--json"]
    assert CliRunner().invoke(app, plan).exit_code == 3  # 10 ms is out of reach of plain decoding (see above)
    best = CliRunner().invoke(app, plan + ["--draft-model", "Llama3_8B", "--acceptance", "0.7"])
    assert best.exit_code == 0, best.output
    assert json.loads(best.output)["best"]["tpot_p99_ms"] <= 10.0
