"""Serving under load, the capacity planner and the serving validation, against hand calculations."""
import math
import runpy
from pathlib import Path

import pytest

from mlsysim import Hardware, Infrastructure, Models
from mlsysim.errors import ConfigError, InfeasibleError
from mlsysim.physics import serving_load as SL
from mlsysim.physics.serving import kv_bytes_per_seq
from mlsysim.solvers.distributed import _dims
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_plan import plan_serving
from mlsysim.solvers.serving_setup import replica_setup

L70, L2 = Models.Language.Llama3_70B, Models.Language.Llama2_70B
ROOT = Path(__file__).resolve().parents[1]


def test_kv_bytes_per_token_llama2_70b_gqa():
    # 2 (K, V) x 80 layers x 8 KV heads x 128 head dim x 2 B = 327,680 B per token
    assert kv_bytes_per_seq(_dims(L2), context=1.0, tp=1.0, pp=1.0, kvbytes=2.0) == pytest.approx(327_680)


def test_mm1_wait_and_tail():
    # M/M/1 (cs^2 = 1) at rho 0.5, service 1 s: Wq = rho / (mu - lambda) = 1 s; P(W > t) = rho e^{-(mu-lambda)t}
    # -> p99 = ln(0.5 / 0.01) / 0.5 = 7.824 s
    w = SL.mg1_wait_s(0.5, 1.0, 1.0)
    assert w == pytest.approx(1.0)
    assert SL.wait_quantile_s(0.99, 0.5, w) == pytest.approx(math.log(50) / 0.5)
    assert SL.wait_quantile_s(0.5, 0.4, 1.0) == 0.0  # fewer than half the requests wait
    assert SL.mg1_wait_s(1.0, 1.0, 1.0) == float("inf")
    # M/D/1 waits half as long as M/M/1
    assert SL.mg1_wait_s(0.5, 1.0, 0.0) == pytest.approx(0.5)


def test_ttft_waits_for_the_iteration_in_flight():
    # no queue (rho -> 0): TTFT = the rest of the current iteration (uniform on [0, t]: median t/2, p99 0.99 t)
    # + the prompt's own iteration; t = 40 ms, the prompt's iteration 60 ms, one chunk
    r = SL.queue_point(1.0, 0.040, 0.045, 0.030, 0.060, isl=100, osl=10_000_000, chunk=1_000, q=0.99)
    assert r["rho"] < 1e-6
    assert r["ttft_p50_s"] == pytest.approx(0.020 + 0.060)
    assert r["ttft_q_s"] == pytest.approx(0.99 * 0.040 + 0.060)
    assert r["ttft_mean_s"] == pytest.approx(0.020 + 0.060, rel=1e-4)


def test_offline_maximum_where_the_prefill_budget_binds():
    # No SLO: the replica saturates when the prompt tokens due per step (B x I / O) fill what the chunk leaves
    # beside the B decode rows: B I / O = C - B, so B = C / (1 + I / O) = 2048 / (1 + 1000 / 200) = 341.33
    s = replica_setup(L70, Hardware.Cloud.H100, input_len=1000, output_len=200, tp=4, precision="fp8",
                      chunk_tokens=2048)
    assert s.b_max > 341.4  # neither the KV cache nor the max batch binds first
    r = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf, **s.kw)
    assert r["conc"] == pytest.approx(2048 / 6, rel=5e-3)


def _passes(batch, chunk):
    from mlsysim.physics.serving import mixed_pass_time, pass_time
    s = replica_setup(L70, Hardware.Cloud.H100, input_len=1000, output_len=200, precision="bf16")
    hw = {k: s.kw[k] for k in ("tp", "pp", "ep", "peak", "ceiling", "mem_bw", "attn_eff", "wbytes", "su_bw",
                               "su_lat")}
    t_d = pass_time(s.dims, batch=batch, new_tokens=1.0, context=1100.0, decode=True, **hw)[0]
    t_p = pass_time(s.dims, batch=1.0, new_tokens=chunk, context=1000.0, decode=False, **hw)[0]
    t_m = mixed_pass_time(s.dims, batch=batch, chunk=chunk, context=1100.0, prompt_context=1000.0, **hw)[0]
    return t_d, t_p, t_m, s


def test_mixed_iteration_reads_weights_once_and_adds_compute():
    # memory-bound (1 decode sequence + a 1-token chunk): the fused iteration saves one read of the weights,
    # Llama 3 70B bf16 (70.55e9 params x 2 B) / (3.35 TB/s x 0.85 streaming x the engine's HBM share)
    t_d, t_p, t_m, s = _passes(1.0, 1.0)
    weights_s = 70.55e9 * 2.0 / (s.kw["mem_bw"] * 0.85)
    assert t_d + t_p - t_m == pytest.approx(weights_s, rel=0.05)
    # compute-bound (2,048 decode + 4,096 prefill tokens): the GEMM FLOPs of both parts add, so the fused
    # iteration saves only the one weight read (~50 ms of a ~1 s iteration): within 6 % of the sum
    t_d, t_p, t_m, _ = _passes(2048.0, 4096.0)
    assert t_m == pytest.approx(t_d + t_p, rel=0.06)
    assert t_m < t_d + t_p


def test_little_and_replicas():
    assert SL.replicas_needed(1000.0, 7.5) == 134  # ceil(133.3)
    assert SL.little_concurrency(10.0, 2.5) == 25.0


def test_decode_step_lower_bound_is_weight_streaming():
    # Llama 2 70B fp8 on one H200: 68.98e9 params x 1 B (minus nothing: the step also reads the LM head)
    # / 4.8 TB/s = 14.4 ms is a floor for any decode step at batch 1
    s = replica_setup(L2, Hardware.Cloud.H200, input_len=300, output_len=300, precision="fp8")
    r = SL.load_point(s.dims, conc=1.0, **s.kw)
    floor = 68.98e9 * 1.0 / 4.8e12
    assert floor < r["tpot_p50_s"] < 2 * floor + s.engine.step_overhead_s + 0.01


def test_fleet_little_law_and_replicas():
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H100, qps=40, input_len=1000, output_len=200, tp_size=4,
                                 precision="fp8", ttft_slo=0.5, tpot_slo=0.06)
    assert r.feasible
    # Little's law: sequences decoding = QPS x output tokens x TPOT (per replica: QPS / replicas)
    assert r.concurrency_per_replica == pytest.approx(40 / r.replicas * 200 * r.tpot_p50_s, rel=0.03)
    assert r.replicas == math.ceil(40 / r.qps_per_replica_max - 1e-9)
    assert r.ttft_p99_s <= 0.5 and r.tpot_p99_s <= 0.06 and r.ttft_p50_s <= r.ttft_p99_s
    assert r.tokens_per_s_per_gpu == pytest.approx(40 * 200 / r.gpus)
    assert r.goodput_qps <= 40


def test_overload_is_infeasible_not_nan():
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H100, qps=500, input_len=1000, output_len=200, tp_size=4,
                                 precision="fp8", replicas=1)
    assert not r.feasible and "queue grows" in r.binding and math.isfinite(r.ttft_p99_s)


def test_energy_and_cost_per_request_compose_power_and_carbon():
    dc = Infrastructure.Datacenters.US_East_Virginia
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H100, qps=10, input_len=1000, output_len=200, tp_size=4,
                                 precision="fp8", datacenter=dc)
    pr = r.per_request
    # energy per request between idle (90 W + 260 W host) and TDP (700 + 260 W) x GPUs x PUE / QPS
    lo, hi = r.gpus * 350 * 1.15 / 10, r.gpus * 960 * 1.15 / 10
    assert lo < pr["energy_j"] < hi
    assert pr["carbon_location_kg"] == pytest.approx(pr["energy_j"] / 3.6e6 * 403e-3)  # Virginia 403 g/kWh
    assert r.usd_per_m_output > r.usd_per_m_input > 0
    # water: on-site WUE x IT energy + the grid's water x facility energy; Virginia has a WUE and no sourced grid
    # water figure in the registry, so water = IT energy (facility / PUE) in kWh x WUE
    assert pr["water_l"] == pytest.approx(pr["energy_j"] / dc.pue / 3.6e6 * dc.wue_l_per_kwh)


def test_water_per_request_by_hand():
    from mlsysim.physics.serving_econ import per_request
    # 1 request/s, 3,600 W IT: 3,600 J = 0.001 kWh IT, x PUE 1.5 = 0.0015 kWh drawn;
    # 0.84 L/kWh x 0.001 + 3.10 L/kWh x 0.0015 = 0.00549 L
    r = per_request(qps=1.0, gpus=1, it_power_w=3600.0, pue=1.5, grid_gco2_per_kwh=0.0, residual_gco2_per_kwh=0.0,
                    contractual_fraction=0.0, cfe_fraction=0.0, embodied_kg_per_gpu=0.0, usd_per_kwh=0.0,
                    wue_l_per_kwh=0.84, grid_water_l_per_kwh=3.10)
    assert r["water_l"] == pytest.approx(0.00549)


def test_bad_input():
    with pytest.raises(ConfigError):
        ServingLoadModel().solve(L70, "H100", qps=-1, tp_size=4)
    with pytest.raises(ConfigError):
        ServingLoadModel().solve(L70, "H100", qps=1, output_len=0, tp_size=4)
    with pytest.raises(ConfigError, match="fp4"):
        ServingLoadModel().solve(L70, "H100", qps=1, tp_size=4, precision="fp4")  # Hopper has no fp4 cores
    with pytest.raises(ConfigError, match="divide"):
        ServingLoadModel().solve(L70, "H100", qps=1, tp_size=3)


def test_planner_infeasible_slo_names_closest():
    with pytest.raises(InfeasibleError, match="closest"):
        plan_serving(L70, qps=100, input_len=1000, output_len=200, ttft_slo=0.001,
                     datacenters=[Infrastructure.Datacenters.US_East_Virginia])


def test_capstone_runs_and_is_consistent():
    plan = runpy.run_path(str(ROOT / "examples" / "capstone_serving.py"))["main"]()
    b = plan.best
    assert plan.feasible and b["ttft_p99_ms"] < 100 and b["usd_per_year"] <= 5e6
    # hand check: the GPUs must at least cover the output tokens at the replica's offline maximum
    s = replica_setup(L70, b["hardware"], input_len=1000, output_len=200, tp=b["tp"], precision=b["precision"])
    off = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf, **s.kw)
    assert b["gpus"] >= 1000 * 200 / (float(off["tokens_per_s"]) / b["tp"])
    # and the offline maximum itself sits under the roofline: tokens/s <= b_max / (weight bytes / HBM BW)
    acc = s.accelerator
    assert float(off["tokens_per_s"]) <= s.b_max / (70.55e9 * 1.0 / b["tp"] / acc.memory_bw)


def test_serving_validation_errors():
    from mlsysim.validation import serving as V
    rows = V.serving_table()
    s = V.summary(rows)
    assert s["n"] == 23
    assert s["median_abs_pct"] <= 10.0   # target median 10 %
    dense = [r for r in rows if "mixtral" not in r["run_id"]]
    assert V.summary(dense)["max_abs_pct"] <= 25.0      # target 25 % on the 21 dense rows


@pytest.mark.xfail(strict=True, reason="issue 12: the two MLPerf Mixtral rows are over-predicted by 34-38 % (their "
                   "mean prompt length of 300 tokens is an unsourced assumption: at 450 tokens they would sit at "
                   "+3.5/+6.8 %; or TensorRT-LLM's 2024 MoE kernels run below the dense GEMM rate); target max 25 %")
def test_serving_validation_max_all_rows():
    from mlsysim.validation import serving as V
    assert V.summary(V.serving_table())["max_abs_pct"] <= 25.0


def test_cli_serve_and_plan(tmp_path):
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    run = CliRunner().invoke
    r = run(app, ["serve", "-m", "Llama3_70B", "-a", "H100", "--tp", "4", "--precision", "fp8", "--qps", "10",
                  "--ttft-slo-ms", "500", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)["result"]
    assert body["feasible"] and body["replicas"] >= 1 and body["ttft_p99_s"] <= 0.5
    r = run(app, ["serve-plan", "-m", "Llama3_70B", "--qps", "100", "--ttft-slo-ms", "1"])
    assert r.exit_code == 3


def test_disaggregation_kv_transfer_and_pools():
    # Llama 3 70B fp8 KV: 80 layers x 2 (K, V) x 8 heads x 128 x 1 B = 163,840 B/token; TP4 splits the 8 KV heads:
    # 40,960 B/token per device x 2,000 tokens = 81.92 MB over one NDR port (400 Gb/s = 50 GB/s x 0.9) + 5 us
    kw = dict(qps=40, input_len=2000, output_len=200, tp_size=4, precision="fp8", ttft_slo=0.3, tpot_slo=0.04)
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H100, disaggregation=(1, 2), **kw)
    assert "KV transfer 1.83 ms" in r.assumptions["disaggregation"]
    assert r.replicas % 3 == 0 and r.feasible and r.ttft_p99_s <= 0.3 and r.tpot_p99_s <= 0.04
    # decode replicas run no prefill chunks: their TPOT is below the co-located replicas' at the same SLO
    co = ServingLoadModel().solve(L70, Hardware.Cloud.H100, **kw)
    assert r.tpot_p50_s < co.tpot_p50_s
    with pytest.raises(ConfigError, match="multiple"):
        ServingLoadModel().solve(L70, Hardware.Cloud.H100, disaggregation=(1, 2), replicas=4, **kw)


def test_serving_scenario_fields_move_the_output(tmp_path):
    from mlsysim.scenario import SECTIONS, from_dict
    from mlsysim.scenario_serving import evaluate
    base = {"workload": {"model": "Llama3_70B"}, "system": {"node": "DGX_H100"}, "datacenter": "US_East_Virginia",
            "serving": {"qps": 20, "input_len": 1000, "output_len": 200, "tp_size": 4, "precision": "fp8",
                        "ttft_slo_ms": 500, "tpot_slo_ms": 60}}

    def out(raw):
        r = evaluate(from_dict(raw))
        return (r.replicas, r.gpus, round(r.ttft_p99_s, 9), round(r.tpot_p99_s, 9), round(r.tokens_per_s_per_gpu, 6),
                round(r.usd_per_m_output, 9), round(r.usd_per_m_input, 9), r.feasible)

    ref = out(base)
    variations = {"qps": 60, "input_len": 3000, "output_len": 500, "input_cv": 2.0, "tp_size": 8, "pp_size": 2,
                  "precision": "int4", "ttft_slo_ms": 40, "tpot_slo_ms": 20, "percentile": 0.5, "replicas": 5,
                  "disaggregation": [1, 1], "rent_usd_per_gpu_hour": 2.5, "engine": "TensorRT_LLM",
                  "arrival_cv": 3.0, "output_cv": 1.0, "load_profile": [1.0, 0.2], "trace": str(tmp_path / "t.csv"),
                  "ep_size": 2, "draft_model": "Llama3_8B", "mtp_depth": 1, "draft_acceptance_rate": 0.9,
                  "draft_tokens": 6}
    spec = {"draft_model": "Llama3_8B", "draft_acceptance_rate": 0.5}  # the speculative keys move it from here
    (tmp_path / "t.csv").write_text("arrival_s\n" + "".join(f"{i * 0.05}\n" for i in range(200)))
    assert set(variations) == set(SECTIONS["serving"])
    for key, val in variations.items():
        if key == "ep_size":  # experts only: a dense model refuses it, an MoE model's fleet changes
            with pytest.raises(ConfigError, match="dense"):
                evaluate(from_dict({**base, "serving": {**base["serving"], key: val}}))
            moe = {**base, "workload": {"model": "Mixtral_8x7B"}}
            assert out({**moe, "serving": {**moe["serving"], key: val}}) != out(moe)
            continue
        if key == "engine":  # the only profile shipped: an unknown one is rejected instead
            with pytest.raises(ConfigError):
                evaluate(from_dict({**base, "serving": {**base["serving"], "engine": "vLLM_X"}}))
            continue
        if key in ("draft_model", "mtp_depth"):  # a drafter needs its acceptance: against no speculation
            drafter = {key: val, "draft_acceptance_rate": 0.5}
            assert out({**base, "serving": {**base["serving"], **drafter}}) != ref, key
        elif key.startswith("draft_"):
            at = out({**base, "serving": {**base["serving"], **spec}})
            assert out({**base, "serving": {**base["serving"], **spec, key: val}}) != at, key
        else:
            assert out({**base, "serving": {**base["serving"], key: val}}) != ref, key


def test_cli_serve_scenario():
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["serve", str(ROOT / "examples" / "llama3_70b_serving.yaml"), "--set",
                                 "serving.qps=80"])
    assert r.exit_code == 0, r.output
    assert "80 QPS" in r.stdout


def test_plan_pareto_front_is_non_dominated():
    plan = plan_serving(L70, qps=200, input_len=1000, output_len=200, ttft_slo=0.3, hardware=("H100", "H200"),
                        precisions=("fp8", "fp16"), datacenters=[Infrastructure.Datacenters.US_East_Virginia])
    front = plan.pareto("usd_per_m_output", "ttft_p99_ms")
    assert front and all(r in plan.rows for r in front)
    for r in plan.rows:  # every row is on the front or beaten on both axes by a front row
        assert r in front or any(f["usd_per_m_output"] <= r["usd_per_m_output"] and
                                 f["ttft_p99_ms"] <= r["ttft_p99_ms"] for f in front)
    assert [f["usd_per_m_output"] for f in front] == sorted(f["usd_per_m_output"] for f in front)
    tp = plan.pareto("tokens_per_s_per_gpu", "tpot_p99_ms", maximize=("tokens_per_s_per_gpu",))
    assert tp[0]["tokens_per_s_per_gpu"] == max(r["tokens_per_s_per_gpu"] for r in plan.rows)


def test_planner_and_fleet_solver_agree():
    # one physics, two faces: a plan row and ServingLoadModel size the same fleet for the same configuration
    dc = Infrastructure.Datacenters.US_East_Virginia
    plan = plan_serving(L70, qps=120, input_len=800, output_len=150, ttft_slo=0.25, tpot_slo=0.05,
                        hardware=("H200",), precisions=("fp8",), tp_sizes=(2,), datacenters=[dc])
    row = plan.best
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H200, qps=120, input_len=800, output_len=150, tp_size=2,
                                 precision="fp8", ttft_slo=0.25, tpot_slo=0.05, datacenter=dc)
    assert (row["gpus"], row["replicas"]) == (r.gpus, r.replicas)
    assert row["ttft_p99_ms"] == pytest.approx(r.ttft_p99_s * 1e3)
    # one definition of $/M tokens: the plan splits a request's dollars over its 800 input and 150 output tokens as
    # the fleet solver does, so the split adds back up to the request's cost
    assert (row["usd_per_m_input"], row["usd_per_m_output"]) == pytest.approx((r.usd_per_m_input, r.usd_per_m_output))
    assert (800 * row["usd_per_m_input"] + 150 * row["usd_per_m_output"]) / 1e6 == pytest.approx(r.per_request["usd"])
    assert row["usd_per_m_output"] < r.per_request["usd"] / 150 * 1e6  # the prompt tokens carry their share


def test_calibrate_engine_from_one_point():
    import dataclasses

    from mlsysim.solvers.serving_setup import calibrate_engine, engine_profile
    base = engine_profile()
    # a "measured" engine that is the base profile with a 5 ms host overhead per iteration
    s = replica_setup(L70, "H200", input_len=1000, output_len=1000, precision="fp8",
                      engine=dataclasses.replace(base, step_overhead_s=0.005))
    measured = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf, **s.kw)["tokens_per_s"]
    prof = calibrate_engine(measured, L70, "H200", input_len=1000, output_len=1000, precision="fp8")
    assert prof.step_overhead_s == pytest.approx(0.005, rel=1e-3)
    assert prof.gemm_fraction == base.gemm_fraction
    with pytest.raises(ConfigError, match="faster"):
        calibrate_engine(1e6, L70, "H200", input_len=1000, output_len=1000, precision="fp8")


def test_serving_sweep_matches_the_scalar_search():
    from mlsysim.solvers.serving_sweep import serving_sweep
    r = serving_sweep(L70, hardware=("H100", "H200"), precisions=("fp8", "int4"), tp_sizes=(2, 4),
                      lengths=((1000, 200), (300, 300)), max_batches=(128, 2048), chunks=(2048, 8192),
                      ttft_slos=(0.1, 0.5), tpot_slo=0.05)
    assert r["qps"].shape == (len(r["layouts"]), 2, 2, 2) == (16, 2, 2, 2)
    i = r["layouts"].index(("H200", "fp8", 4, 1000, 200))
    s = replica_setup(L70, "H200", input_len=1000, output_len=200, tp=4, precision="fp8", chunk_tokens=2048,
                      max_batch=128)
    one = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=0.5, slo_tpot_s=0.05, **s.kw)
    # same physics; the sweep's shared concurrency grid spans the largest max batch (2048), the scalar one 128, so
    # only the interpolation between grid points differs
    assert r["qps"][i, 0, 0, 1] == pytest.approx(one["qps"], rel=1e-3)
    assert r["tokens_per_s_per_gpu"][i, 0, 0, 1] == pytest.approx(one["tokens_per_s"] / 4, rel=1e-3)


def test_top_level_names():
    import mlsysim
    assert mlsysim.ServingLoadModel is ServingLoadModel and mlsysim.plan_serving is plan_serving


def test_bad_planner_and_fleet_inputs_are_config_errors():
    """Found by the web layer's fuzzing: a zero TP size, an unknown percentile and an absurd QPS were a
    ZeroDivisionError, a KeyError and NaN energy; each is now a ConfigError that names the fix."""
    from mlsysim import ConfigError, Hardware, Infrastructure, Models
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    dc = Infrastructure.Datacenters.GCP_Iowa
    kw = dict(qps=10, input_len=100, output_len=100, ttft_slo=1.0, datacenters=[dc])
    with pytest.raises(ConfigError, match="tp_sizes"):
        plan_serving(Models.Language.Llama3_8B, tp_sizes=(0,), **kw)
    with pytest.raises(ConfigError, match="percentile must be one of"):
        plan_serving(Models.Language.Llama3_8B, percentile=0.3, **kw)
    with pytest.raises(ConfigError, match="at most 1e"):
        ServingLoadModel().solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, qps=1e300, datacenter=dc)


def test_serving_capex_follows_the_records_as_training_does():
    """One truth for CapEx: 8 serving H100s cost what one DGX H100 costs in the training economics. By hand: the
    DGX H100 record's price $310,000 (GPUs included) and, for the facility, its 10.2 kW maximum power x $10/W
    (Barroso et al. 2018) = $102,000; one node needs no scale-out switch. Per GPU: 38,750 + 12,750."""
    from mlsysim import Hardware, Systems
    from mlsysim.solvers._capex import fleet_capex, serving_capex, split_it_facility
    from mlsysim.systems.system import Fleet
    it, fac, _ = serving_capex(Hardware.Cloud.H100, 8)
    assert it == pytest.approx(310_000.0) and fac == pytest.approx(102_000.0)
    half = serving_capex(Hardware.Cloud.H100, 4)
    assert half[0] == pytest.approx(it / 2) and half[1] == pytest.approx(fac / 2)   # pro rata to the GPUs used
    two = Fleet(node=Systems.Nodes.DGX_H100, count=2, fabric=Systems.Fabrics.InfiniBand_NDR)
    train_it, train_fac = split_it_facility(fleet_capex(two, Hardware.Cloud.H100.price_usd)[0])
    assert serving_capex(Hardware.Cloud.H100, 16)[:2] == pytest.approx((train_it, train_fac))


def test_input_token_weight_by_hand():
    from mlsysim.physics.serving_econ import input_weight, usd_per_million
    # 20 % of the iterations' GPU time is prefill for 1,000 prompt tokens, 80 % decode for 200 output tokens:
    # a prompt token costs (0.2 / 1000) / (0.8 / 200) = 0.05 output tokens
    assert input_weight(0.2, 1000, 200) == pytest.approx(0.05)
    assert input_weight(0.9, 10, 200) == 1.0  # never more than an output token
    # $0.01 per request over 200 output tokens + 1,000 x 0.05 input tokens = 250 output-token equivalents
    assert usd_per_million(0.01, 1000, 200, 0.05) == pytest.approx((0.05 * 0.01 / 250 * 1e6, 0.01 / 250 * 1e6))
