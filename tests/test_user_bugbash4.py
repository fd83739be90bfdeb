"""Bug bash 4: the serving stack, roofline entry points and their bad-input messages, as a demanding user meets them.
Each test states the hand calculation (or the rule) it checks."""
import math

import pytest

from mlsysim import Hardware, Infrastructure, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_plan import plan_serving
from mlsysim.solvers.serving_sweep import serving_sweep
from mlsysim.units import Q

L70 = Models.Language.Llama3_70B
DC = Infrastructure.Datacenters
FLEET = dict(qps=10, input_len=1000, output_len=200, tp_size=4, precision="fp8")


def test_a_region_listed_twice_is_refused_not_billed_once():
    # Two regions each serve qps / 2 on their own fleet, so the plan's yearly cost is the sum of the two regions'
    # (plan.best["regions"]). The same datacenter given twice was one dict entry: its $ and CO2 counted once for
    # two fleets (22 GPUs billed $137k/yr against $261k/yr for 21 GPUs in one region).
    kw = dict(qps=100, input_len=1000, output_len=200, ttft_slo=0.5, hardware=["H100"], precisions=["fp8"])
    two = plan_serving(L70, datacenters=[DC.GCP_Iowa, DC.Quebec_Hydro], **kw)
    assert two.best["usd_per_year"] == pytest.approx(sum(v["usd_per_year"] for v in two.best["regions"].values()))
    assert len(two.best["regions"]) == 2
    with pytest.raises(ConfigError, match="GCP_Iowa more than once"):
        plan_serving(L70, datacenters=[DC.GCP_Iowa, DC.GCP_Iowa], **kw)


def test_the_fleet_checks_the_layout_as_one_replica_does():
    # Llama 3 70B has 80 layers: a pipeline of 100 stages has 20 stages without a layer. ServingModel refused it;
    # the fleet (and the planner, through the same setup) sized it as 100 GPUs per replica.
    with pytest.raises(ConfigError, match="pp_size=100 exceeds Llama 3 70B's 80 layers"):
        ServingLoadModel().solve(L70, "H100", **dict(FLEET, tp_size=1), pp_size=100)
    with pytest.raises(ConfigError, match="pp_size=100 exceeds Llama 3 70B.s 80 layers .*change the candidate lists"):
        plan_serving(L70, qps=10, ttft_slo=0.5, hardware=["H100"], precisions=["fp8"], pp_sizes=[100],
                     datacenters=[DC.GCP_Iowa])
    # 80 stages of one layer each is a valid (if odd) pipeline: 80 x 1 GPU
    assert ServingLoadModel().solve(L70, "H100", **dict(FLEET, tp_size=1), pp_size=80).gpus == 80


@pytest.mark.parametrize("option, value, message", [
    ("max_batch", 0, "max_batch must be >= 1, got 0"),      # was read as "the engine's default" (2048)
    ("max_batch", -5, "max_batch must be >= 1"),            # was a replica that "does not fit in memory"
    ("max_batch", "8", "max_batch must be an integer"),     # a string was float()-ed and served
    ("max_batch", 2.5, "max_batch must be an integer"),
    ("chunk_tokens", 0, "chunk_tokens must be >= 1, got 0"),
    ("chunk_tokens", -1, "chunk_tokens must be >= 1"),
    ("engine", 3, "engine must be a serving-engine name"),  # was a TypeError from the registry
    ("engine", "vLLM", "unknown serving engine 'vLLM'; valid: TensorRT_LLM$"),  # listed "Engines" as an engine
])
def test_engine_options_are_checked(option, value, message):
    with pytest.raises(ConfigError, match=message):
        ServingLoadModel().solve(L70, "H100", **FLEET, **{option: value})


def test_max_batch_one_serves_one_sequence_at_a_time():
    # max_batch=1: one sequence in flight per replica, so by Little's law a replica serves at most
    # 1 / (TTFT + output_len x TPOT) requests/s at that concurrency.
    r = ServingLoadModel().solve(L70, "H100", **FLEET, max_batch=1)
    assert r.concurrency_per_replica <= 1.0 + 1e-9
    assert r.binding == "max batch"


def test_input_weight_is_checked_and_needs_a_datacenter():
    # The $ of a request split over its tokens: input_len x w + output_len output-token equivalents. With w = 1
    # an input token costs what an output token does, so $/M input == $/M output; w = -1 made the output tokens'
    # price negative; NaN was an "internal value is not finite" error; a string a TypeError.
    r = ServingLoadModel().solve(L70, "H100", **FLEET, datacenter=DC.GCP_Iowa, input_weight=1.0)
    assert r.usd_per_m_input == pytest.approx(r.usd_per_m_output)
    per_request = r.per_request["usd"]
    assert r.usd_per_m_output == pytest.approx(per_request / (1000 * 1.0 + 200) * 1e6)
    for bad, msg in ((-1, "input_weight must be >= 0"), (math.nan, "input_weight must be finite"),
                     ("x", "input_weight must be a number")):
        with pytest.raises(ConfigError, match=msg):
            ServingLoadModel().solve(L70, "H100", **FLEET, datacenter=DC.GCP_Iowa, input_weight=bad)
    # without a datacenter there is no $ to split: the options were silently ignored
    with pytest.raises(ConfigError, match="need datacenter="):
        ServingLoadModel().solve(L70, "H100", **FLEET, input_weight=1.0)
    with pytest.raises(ConfigError, match="need datacenter="):
        ServingLoadModel().solve(L70, "H100", **FLEET, rent_usd_per_gpu_hour=2.0)
    with pytest.raises(ConfigError, match="needs disaggregation="):
        ServingLoadModel().solve(L70, "H100", **FLEET, kv_fabric="InfiniBand_NDR")


def test_rent_prices_a_request_by_hand():
    # 1 replica of TP4 at $2/GPU-h = $8/h for 10 QPS = 36,000 requests/h: $2.22e-4 per request (rent covers the
    # energy). An input token weighs w output tokens: $/M output = $/request / (1000 w + 200) x 1e6.
    r = ServingLoadModel().solve(L70, "H100", **FLEET, datacenter=DC.GCP_Iowa, rent_usd_per_gpu_hour=2.0)
    assert r.replicas == 1
    assert r.per_request["usd"] == pytest.approx(8.0 / 36_000, rel=1e-6)
    w = float(r.assumptions["cost"].rsplit("weighs ", 1)[1].split()[0])
    assert r.usd_per_m_output == pytest.approx(8.0 / 36_000 / (1000 * w + 200) * 1e6, rel=1e-2)


def test_the_planner_says_why_nothing_was_sized():
    kw = dict(qps=10, ttft_slo=0.5, datacenters=[DC.GCP_Iowa])
    # empty candidate lists: nothing was tried, yet the message was "no configuration meets p99 TTFT <= 500 ms"
    for what in ("hardware", "precisions", "tp_sizes", "pp_sizes"):
        with pytest.raises(ConfigError, match=f"{what} is empty"):
            plan_serving(L70, **kw, **{what: []})
    # every candidate invalid (an A100 has no fp8 tensor cores; 3 does not divide 64 heads): bad input, with why
    with pytest.raises(ConfigError, match="A100 SXM4 80GB has no fp8 compute"):
        plan_serving(L70, hardware=["A100_80GB"], precisions=["fp8"], **kw)
    with pytest.raises(ConfigError, match="tp_size=3 does not divide"):
        plan_serving(L70, hardware=["H100"], precisions=["fp8"], tp_sizes=[3], **kw)
    # a T4 holds 16 GB: 70B x 2 B = 140 GB over 8 T4s is 17.5 GB each, more than a T4 has at any TP <= 8
    from mlsysim.errors import InfeasibleError
    with pytest.raises(InfeasibleError, match="does not fit in memory \\(T4 fp16 TP1 PP1"):
        plan_serving(L70, hardware=["T4"], precisions=["fp16"], **kw)


@pytest.mark.parametrize("option, value, message", [
    ("max_batches", (0,), "max_batches entry must be >= 1"),
    ("chunks", (0,), "chunks entry must be >= 1"),
    ("ttft_slos", (-1,), "ttft_slos entry must be > 0"),
    ("ttft_slos", (math.nan,), "ttft_slos entry must be finite"),
    ("tpot_slo", -1, "tpot_slo must be > 0"),
    ("tpot_slo", "x", "tpot_slo must be a number"),
    ("percentile", 0.42, "percentile must be one of"),          # was a KeyError
    ("lengths", (1000, 200), "lengths must be \\(input_len, output_len\\) pairs"),  # was a TypeError
])
def test_the_sweep_checks_its_axes(option, value, message):
    with pytest.raises(ConfigError, match=message):
        serving_sweep(L70, hardware=["H100"], precisions=["fp8"], tp_sizes=[4], **{option: value})


def test_the_sweep_takes_its_slos_as_quantities():
    # 100 ms as a quantity is 0.1 s (it failed inside numpy: "setting an array element with a sequence")
    kw = dict(hardware=["H100"], precisions=["fp8"], tp_sizes=[4])
    a = serving_sweep(L70, ttft_slos=(Q(100, "ms"),), **kw)
    b = serving_sweep(L70, ttft_slos=(0.1,), **kw)
    assert a["ttft_slo"] == (0.1,)
    assert (a["qps"] == b["qps"]).all()


def test_single_node_prefill_at_fp8_is_serving_models_prefill():
    # An H100's fp8 GEMMs reach 1402.6 of 1979 TFLOP/s (MAMF, stas00/ml-engineering via hardware.csv: 70.9 %),
    # x 0.88 for the framework: the roofline of a Llama 3 8B prefill at fp8 has its linear layers at
    # 1979e12 x 1402.6/1979 x 0.88 = 1.234e15 FLOP/s. SingleNodeModel took the bf16 share (794.5/989.5 = 80.3 %) of
    # the fp8 peak: 25.2 ms against ServingModel's 30.5 ms for the same pass.
    from mlsysim.solvers import ServingModel, SingleNodeModel
    m, h = Models.Language.Llama3_8B, Hardware.Cloud.H100
    for p in ("bf16", "fp8"):
        one = SingleNodeModel().solve(m, h, mode="prefill", seq_len=2048, precision=p)
        assert one.latency_s == pytest.approx(ServingModel().solve(m, h, seq_len=2048, precision=p).ttft_s, rel=1e-9)
    one = SingleNodeModel().solve(m, h, mode="prefill", seq_len=2048, precision="fp8")
    assert one.assumptions["matmul ceiling (fraction of peak)"] == pytest.approx(1402.6 / 1979 * 0.88, rel=1e-3)
    # the linear layers alone: 32 layers x (2 x 4096^2 + 2 x 4096 x 1024 + 3 x 4096 x 14336) weights x 2 FLOP x
    # 2,048 tokens (+ the head at the last position) = 2.86e13 FLOP at 1.234e15 FLOP/s = 23.2 ms: a floor
    linear = 2 * 32 * (2 * 4096 ** 2 + 2 * 4096 * 1024 + 3 * 4096 * 14336) * 2048 + 2 * 4096 * 128256
    assert one.latency_s > linear / (1979e12 * 1402.6 / 1979 * 0.88)


def test_a_fleet_that_does_not_fit_has_no_goodput():
    # Llama 3 70B in bf16 is 70.6e9 x 2 B = 141 GB of weights; one H100 holds 80 GiB = 85.9 GB: no replica of TP1
    # runs, so no request is served within the SLO (goodput was the whole 10 QPS beside feasible=False).
    r = ServingLoadModel().solve(L70, "H100", qps=10, input_len=1024, output_len=256)
    assert 70.6e9 * 2 > Hardware.Cloud.H100.memory_bytes == 80 * 2 ** 30
    assert not r.feasible and r.binding.startswith("memory")
    assert r.goodput_qps == 0.0


def test_tensor_parallelism_stays_inside_the_node_it_was_given():
    # A DGX H100 joins 8 GPUs by NVLink (450 GB/s per direction each); TP16 spans two of them, and its
    # all-reduces would cross the 400 Gb/s-per-GPU InfiniBand: ~9x less bandwidth. The serving physics runs them
    # at the node's scale-up figure, so TP16 on a node was reported as binding "interconnect" at NVLink speed.
    from mlsysim import Systems
    from mlsysim.solvers import ServingModel
    node = Systems.Nodes.DGX_H100
    assert node.accelerators_per_node == 8
    for hw in (node, "DGX_H100", Systems.Clusters.Research_256):
        with pytest.raises(ConfigError, match="tp_size=16 spans more than one .*use tp_size <= 8 and pp_size="):
            ServingModel().solve(L70, hw, tp_size=16)
        with pytest.raises(ConfigError, match="tp_size=16 spans more than one"):
            ServingLoadModel().solve(L70, hw, **dict(FLEET, tp_size=16))
    with pytest.raises(ConfigError, match="1 x 16 = 16 spans more than one"):
        ServingLoadModel().solve(Models.Language.DeepSeek_V3, "HGX_H200", **dict(FLEET, tp_size=1), ep_size=16)
    # TP8 x PP2 over two nodes is the supported way: 16 GPUs per replica
    assert ServingLoadModel().solve(L70, node, **dict(FLEET, tp_size=8), pp_size=2).gpus % 16 == 0


def test_the_reasoning_walls_energy_is_per_query_in_a_batch():
    # A batch of 8 queries thinks together for the same time T at power P: the chip spends P x T, and each query
    # P x T / 8 (the whole batch's P x T was reported per query: 364 J against 147 J at batch 1).
    from mlsysim.solvers import InferenceScalingModel
    kw = dict(model=Models.Language.Llama3_8B, hardware=Hardware.Cloud.H100, reasoning_steps=128, efficiency=0.5)
    one = InferenceScalingModel().solve(**kw)
    eight = InferenceScalingModel().solve(**kw, batch_size=8)
    p8 = float(eight.assumptions["power"].split(" x ")[1].split(" W")[0])  # "1 x P W ...": one GPU (tp 1)
    assert eight.energy_per_query.to("J").magnitude == pytest.approx(p8 * eight.total_s / 8, rel=1e-2)
    assert eight.energy_per_query < one.energy_per_query  # batching amortises the weight reads and idle power
    # a 15 mW microcontroller's power is not "0 W"
    tiny = InferenceScalingModel().solve(model=Models.Language.Pythia_70M, hardware="nRF52840", precision="int8",
                                         efficiency=0.5)
    assert not tiny.assumptions["power"].split(" x ")[1].startswith("0 W")


def test_an_unbounded_queue_reads_unbounded_not_a_trillion_ms():
    # One TP4 bf16 replica of Llama 3 70B sustains ~13 QPS of 1024/256 tokens; 40 QPS on it grows the prompt queue
    # without bound. The solver keeps its 1e9 s sentinel (no inf leaves it); the table printed
    # "1,000,000,000,000.0 ms" for the TTFT.
    r = ServingLoadModel().solve(L70, "H100", qps=40, tp_size=4, replicas=1, ttft_slo=0.05)
    assert not r.feasible and r.binding.startswith("throughput")
    assert r.ttft_p99_s == 1e9 and math.isfinite(r.ttft_p99_s)
    text = str(r)
    assert "unbounded (queue grows)" in text and "1,000,000,000,000" not in text


def test_the_serving_report_counts_expert_parallel_gpus(tmp_path):
    # DeepSeek-V3 at ep_size=8: one replica is TP1 x PP1 x EP8 = 8 GPUs; the report said "1 x 1 (TP1 x PP1)".
    from mlsysim.report.serving_html import serving_section
    from mlsysim.scenario import load_scenario
    p = tmp_path / "ds.yaml"
    p.write_text("workload: {model: DeepSeek_V3}\nsystem: {node: HGX_H200}\n"
                 "serving: {qps: 5, ep_size: 8, precision: fp8, ttft_slo_ms: 2000}\n")
    html = serving_section(load_scenario(p))
    assert "x 8 (TP1 x PP1 x EP8, fp8/fp8/fp8)" in html


def test_a_plans_pareto_front_checks_its_columns():
    # The front of ($/M output, p99 TTFT): each row beats every cheaper row on TTFT, i.e. costs rise and TTFTs fall
    # along it, and no evaluated row is both cheaper and faster than a row on it.
    p = plan_serving(L70, qps=100, input_len=1000, output_len=200, ttft_slo=0.3, hardware=["H100", "H200"],
                     precisions=["fp8"], datacenters=[DC.GCP_Iowa])
    front = p.pareto()
    for a, b in zip(front, front[1:]):
        assert a["usd_per_m_output"] <= b["usd_per_m_output"] and a["ttft_p99_ms"] > b["ttft_p99_ms"]
    for f in front:
        assert not any(r["usd_per_m_output"] < f["usd_per_m_output"] and r["ttft_p99_ms"] < f["ttft_p99_ms"]
                       for r in p.rows)
    with pytest.raises(ConfigError, match="unknown plan column to compare 'bogus'"):  # was a KeyError
        p.pareto("bogus")
    with pytest.raises(ConfigError, match="unknown plan column to compare 'hardware'"):  # was a TypeError
        p.pareto("hardware", "tpot_p99_ms")
    # maximize= one name as a string is that name (it was a substring test: "tokens" matched it too)
    assert p.pareto("tokens_per_s_per_gpu", "tpot_p99_ms", maximize="tokens_per_s_per_gpu") == \
        p.pareto("tokens_per_s_per_gpu", "tpot_p99_ms", maximize=("tokens_per_s_per_gpu",))
    with pytest.raises(ConfigError, match="'tokens'"):
        p.pareto("tokens_per_s_per_gpu", "tpot_p99_ms", maximize="tokens")


def test_the_data_wall_takes_a_server_and_its_nics():
    # A DGX H100 has 8 ConnectX-7 NICs at 400 Gb/s for 8 GPUs (DGX H100 datasheet, 2022): 400e9 / 8 = 50 GB/s per
    # GPU, twice the default DGX A100 share (200 Gb/s = 25 GB/s). A node (or its name, or a cluster) was refused.
    from mlsysim import Systems
    from mlsysim.solvers.data import DataModel, TransformationModel
    for hw in (Systems.Nodes.DGX_H100, "DGX_H100", Systems.Clusters.Research_256):
        w = DataModel().solve(Q("6 GB/s"), hw, node_storage_bw=Q("1 TB/s"))
        assert w.supply["NIC (share)"] == pytest.approx(400e9 / 8)
        assert w.supply["local NVMe (share)"] == pytest.approx(1e12 / 8)
        assert w.supply["PCIe host link"] == pytest.approx(63.0e9)  # Gen5 x16: 32 GT/s x 16 x 128/130
    stalled = DataModel().solve(Q("60 GB/s"), "DGX_H100", node_storage_bw=Q("1 TB/s"))
    assert stalled.binding_path == "NIC (share)" and stalled.utilization == pytest.approx(60 / 50)
    # the CPU budget: 256 samples per 0.1 s step = 2,560/s against 16 workers x 400/s = 6,400/s; a rate given as
    # well was silently preferred to the step
    cpu = TransformationModel().solve(256, 400, 16, step_time=0.1)
    assert (cpu.demand_hz, cpu.supply_hz) == (pytest.approx(2560), pytest.approx(6400))
    with pytest.raises(ConfigError, match="not both"):
        TransformationModel().solve(256, 400, 16, step_time=0.1, accelerator_rate_hz=100)


def test_calibration_fits_or_says_why_it_cannot():
    import math as m
    from mlsysim.physics import serving_load as SL
    from mlsysim.solvers.serving_setup import calibrate_engine, replica_setup
    # the fitted engine reproduces the one measured point: 2,000 output tokens/s on one H200 at fp8, 1000/1000
    e = calibrate_engine(2000, L70, "H200", input_len=1000, output_len=1000, precision="fp8")
    s = replica_setup(L70, "H200", input_len=1000, output_len=1000, precision="fp8", engine=e)
    got = float(SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=m.inf, slo_tpot_s=m.inf, **s.kw)["tokens_per_s"])
    assert got == pytest.approx(2000, rel=1e-3)
    # 1 token/s is slower than the engine with 1 s of host overhead per iteration: the bisection stopped at its
    # bound and returned a 1 s "fit" that reproduces nothing
    with pytest.raises(ConfigError, match="slower than TensorRT_LLM with 1 s of host overhead"):
        calibrate_engine(1, L70, "H200", input_len=1000, output_len=1000, precision="fp8")
    # 70.6e9 x 2 B = 141 GB on one 80 GiB H100 has no room: it was fitted at a batch of one that does not exist
    with pytest.raises(ConfigError, match="does not fit on TP1 x PP1"):
        calibrate_engine(100, L70, "H100", input_len=1000, output_len=1000, precision="bf16")


def test_best_region_ranks_each_region_once():
    # Two regions, one fleet: the ranking has one row per region, Quebec's 20 gCO2/kWh hydro grid first at a carbon
    # price (its energy is also cheaper per the records); a region listed twice was ranked against itself.
    from mlsysim import Systems
    from mlsysim.explore import best_region
    kw = dict(carbon_price_usd_per_t=100, tp=[8], pp=[1])
    r = best_region(Models.Language.Llama3_8B, Systems.Clusters.Research_256, ["GCP_Iowa", "Quebec_Hydro"], **kw)
    assert len(r) == 2 and "Hydro-Quebec" in r[0]["datacenter"]
    with pytest.raises(ConfigError, match="GCP_Iowa more than once"):
        best_region(Models.Language.Llama3_8B, Systems.Clusters.Research_256, ["GCP_Iowa", "GCP_Iowa"], **kw)


def test_int4_on_the_roofline_points_to_quantised_serving():
    # int4 has no tensor-core peak here (W4A16 computes in bf16): "unknown precision 'int4'; did you mean int8?"
    # sent users to a different format. The way it names works: 8.03e9 weights x (0.5 + 2/128) B (a fp16 scale per
    # 128 weights) = 4.14 GB read per token at 3.35 TB/s = 1.24 ms, a floor for the int4 decode step.
    from mlsysim.engine.engine import Engine
    from mlsysim.solvers import ServingModel, SynthesisSolver
    L8 = Models.Language.Llama3_8B
    for call in (lambda: Engine.solve(L8, Hardware.Cloud.B200, precision="int4"),
                 lambda: SynthesisSolver().solve(model=L8, target_latency=0.03, precision="int4")):
        with pytest.raises(ConfigError, match="weight-only format .* precision='int4'"):
            call()
    q4 = ServingModel().solve(L8, "H100", seq_len=2048, precision="int4")
    assert q4.memory_bytes["weights"] == pytest.approx(8.03e9 * (0.5 + 2 / 128), rel=1e-3)
    assert 8.03e9 * (0.5 + 2 / 128) / 3.35e12 < q4.itl_s < 2 * 8.03e9 * (0.5 + 2 / 128) / 3.35e12


def test_one_replica_holds_its_draft_model():
    # A Llama 3 8B draft beside Llama 3 70B at TP4, bf16: the draft's 8.03e9 x 2 B = 16.06 GB split over 4 GPUs is
    # 4.01 GB more per GPU, and its KV cache 32 layers x 2 x 8 KV heads x 128 x 2 B / 4 = 32,768 B per token per
    # GPU, x (2048 + 256) tokens = 75.5 MB per sequence. ServingModel left both out (the fleet counted them), so a
    # batch that cannot hold the draft was feasible.
    from mlsysim.solvers import ServingModel
    L8 = Models.Language.Llama3_8B
    plain = ServingModel().solve(L70, "H100", seq_len=2048, tp_size=4)
    spec = ServingModel().solve(L70, "H100", seq_len=2048, tp_size=4, draft_model=L8, draft_acceptance_rate=0.75)
    assert spec.memory_bytes["weights"] - plain.memory_bytes["weights"] == pytest.approx(8.03e9 * 2 / 4, rel=1e-3)
    assert spec.memory_bytes["kv_cache"] - plain.memory_bytes["kv_cache"] == pytest.approx(32768 * 2304, rel=1e-6)
    assert spec.kv_capacity < plain.kv_capacity
    # 120 sequences (their prompt pass's activations: 12.85 GB per GPU, workspace 2.5 GB): with the draft
    # 39.29 + 120 x 0.2642 + 12.85 + 2.5 = 86.3 GB > 85.9 GB (80 GiB); without it 35.28 + 120 x 0.1887 + 15.35 = 73.3
    big = dict(seq_len=2048, tp_size=4, batch_size=120)
    assert ServingModel().solve(L70, "H100", **big).feasible
    assert not ServingModel().solve(L70, "H100", **big, draft_model=L8, draft_acceptance_rate=0.75).feasible


def test_drafted_tokens_are_bounded_as_the_web_page_bounds_them():
    # k drafted tokens verify k + 1 rows per sequence; at acceptance 0.75 the 17th drafted token survives with
    # probability 0.75^17 = 0.0075. A million was a "feasible" replica (speed-up 0.0) from the API, the command line
    # and scenarios, while the web page capped k at 16.
    from mlsysim.solvers import ServingModel
    from mlsysim.web.serve import MAX_DRAFT
    L8 = Models.Language.Llama3_8B
    kw = dict(tp_size=4, draft_model=L8, draft_acceptance_rate=0.75)
    assert MAX_DRAFT == 16
    with pytest.raises(ConfigError, match=r"draft_tokens=17 .* at most 16: .* 0.75\^17 = 0.0075"):
        ServingModel().solve(L70, "H100", draft_tokens=17, **kw)
    with pytest.raises(ConfigError, match="draft_tokens=1000000"):
        ServingLoadModel().solve(L70, "H100", **FLEET, draft_model=L8, draft_acceptance_rate=0.7,
                                 draft_tokens=10 ** 6)
    with pytest.raises(ConfigError, match="mtp_depth=32"):
        ServingModel().solve(Models.Language.DeepSeek_V3, "H200", tp_size=8, precision="fp8", mtp_depth=32,
                             draft_acceptance_rate=0.85)
    # 16 is served: E = (1 - 0.75^17) / 0.25 = 3.97 tokens per step
    r = ServingModel().solve(L70, "H100", draft_tokens=16, **kw)
    assert "3.97 tokens per target step" in r.assumptions["speculative decoding"]


def test_a_microcontroller_holds_no_gpu_framework_reserve():
    # Pythia 70M decode at int8 over 2,048 tokens: 70.4e6 weights x 1 B + 6 layers x 2 x 512 x 2,048 x 1 B of KV
    # = 70.4 + 12.6 MB = 83 MB against the nRF52840's 1 MiB flash + 256 KiB RAM. It does not fit, but by 83 MB, not
    # by the 2.5 GB CUDA/NCCL reserve of a datacenter GPU ("needs 2.6 GB"). An H100 keeps its reserve.
    from mlsysim.solvers import SingleNodeModel
    r = SingleNodeModel().solve(Models.Language.Pythia_70M, "nRF52840", mode="decode", precision="int8")
    assert r.memory_bytes["reserved"] == 0.0
    assert sum(r.memory_bytes.values()) == pytest.approx(70.4e6 + 6 * 2 * 512 * 2048, rel=0.01)
    assert not r.feasible
    assert SingleNodeModel().solve(Models.Language.Pythia_70M, "H100", mode="decode").memory_bytes["reserved"] == 2.5e9


def test_one_replica_refuses_a_draft_model_beside_expert_parallelism_as_the_fleet_does():
    # Mixtral at ep_size=2 with a draft model: the fleet refused it (not modelled), one replica answered a 0.5x
    # "speed-up". Both refuse it now; MTP drafting with EP stays: DeepSeek-V3, EP8, one MTP module at acceptance
    # 0.85 emits 1 + 0.85 = 1.85 tokens per verification step.
    from mlsysim.solvers import ServingModel
    mix = Models.Language.Mixtral_8x7B
    for solve in (lambda **k: ServingModel().solve(mix, "H100", **k),
                  lambda **k: ServingLoadModel().solve(mix, "H100", qps=1, **k)):
        with pytest.raises(ConfigError, match="draft model with ep_size > 1 is not modelled"):
            solve(ep_size=2, draft_model=mix, draft_acceptance_rate=0.7)
    r = ServingModel().solve(Models.Language.DeepSeek_V3, "H200", ep_size=8, precision="fp8", mtp_depth=1,
                             draft_acceptance_rate=0.85)
    assert "1.85 tokens per target step" in r.assumptions["speculative decoding"]


def test_a_one_token_answer_has_no_tpot_target():
    # TPOT = (latency - TTFT) / (O - 1) (MLPerf Inference's definition): with O = 1 the only token is the first,
    # so a TPOT target is vacuous. It was checked against a decode step no request takes: Llama 3 8B at 100 QPS of
    # 1-token answers was "SLO: even one sequence at a time misses it" at TPOT 10 ms.
    kw = dict(qps=100, input_len=1, output_len=1, ttft_slo=0.05)
    with pytest.raises(ConfigError, match="needs answers of more than one token"):
        ServingLoadModel().solve(Models.Language.Llama3_8B, "H100", tpot_slo=0.01, **kw)
    with pytest.raises(ConfigError, match="needs answers of more than one token"):
        plan_serving(Models.Language.Llama3_8B, tpot_slo=0.01, datacenters=["GCP_Iowa"], **kw)
    r = ServingLoadModel().solve(Models.Language.Llama3_8B, "H100", **kw)
    assert r.feasible
    assert r.tokens_per_s_per_gpu == pytest.approx(100 * 1 / r.gpus)  # 100 requests/s x 1 token


def test_a_chip_without_scale_up_links_serves_on_one_device():
    # A Jetson AGX Orin has no NVLink (scaleup_bw: none in the registry); TP2 ran its all-reduces over an invented
    # 1 GB/s x 0.8 link. The same chip on one device: Llama 3 8B int8 reads 8.03 GB per token at 204.8 GB/s,
    # >= 39 ms per token.
    from mlsysim.solvers import ServingModel
    orin = Hardware.Edge.Jetson_AGX_Orin_64GB
    assert not orin.scaleup_bw
    for hw in (orin, "Jetson_AGX_Orin_64GB"):
        with pytest.raises(ConfigError, match="has no scale-up link .* use tp_size=1"):
            ServingModel().solve(Models.Language.Llama3_8B, hw, tp_size=2, precision="int8")
        with pytest.raises(ConfigError, match="has no scale-up link"):
            ServingLoadModel().solve(Models.Language.Llama3_8B, hw, qps=1, pp_size=2, precision="int8")
    one = ServingModel().solve(Models.Language.Llama3_8B, orin, precision="int8")
    assert one.itl_s >= 8.03e9 / orin.memory_bw and orin.memory_bw == pytest.approx(204.8e9)


def test_a_long_reasoning_chain_reads_its_kv_cache():
    # Llama 3 8B, efficiency 0.5, bf16, a 512-token prompt and 130,560 hidden tokens (its 131,072-token context in
    # all): each token reads 15.01 GB of weights ((8,030,261,248 - 128,256 x 4,096 untied input table + one 4,096
    # row) x 2 B) plus the chain's KV cache, 32 layers x 2 x 8 KV heads x 128 x 2 B = 131,072 B per token of
    # context, at a mean context of 512 + 65,280 tokens: 8.62 GB. Per token (15.01 + 8.62) GB / (0.5 x 3.35 TB/s)
    # = 14.1 ms, x 130,560 = 1,842 s (+ the prefill). The weights alone gave 1,170 s.
    from mlsysim.solvers import InferenceScalingModel
    r = InferenceScalingModel().solve(model=Models.Language.Llama3_8B, hardware="H100", reasoning_steps=130560,
                                      precision="bf16", efficiency=0.5)
    per_token = (15_009_857_536 + 131072 * (512 + 65280)) / (0.5 * 3.35e12)
    assert r.total_s == pytest.approx(130560 * per_token, rel=0.01)


def test_a_small_network_in_a_transformer_solver_is_told_where_it_goes():
    # ResNet-50 (7.6 GFLOP, 25.6 M weights per inference) has no layers, heads or KV cache to serve; the message was
    # its whole record (~600 characters) with no way out, and its name "unknown Models entry".
    from mlsysim.engine.engine import Engine
    from mlsysim.models.small import SmallModels
    from mlsysim.solvers import ServingModel
    for model in (SmallModels.Vision.ResNet50, "ResNet50"):
        with pytest.raises(ConfigError, match="small network .* Engine.solve") as e:
            ServingModel().solve(model, "H100")
        assert len(str(e.value)) < 250
    # the way out: 7.6e9 FLOP at int8 on an H100 (1,979 TOPS) is >= 3.8 us; 25.6e6 B of weights at 3.35 TB/s 7.6 us
    r = Engine.solve(SmallModels.Vision.ResNet50, "H100", precision="int8")
    assert r.latency_s >= max(7.6e9 / 1979e12, 25.6e6 / 3.35e12)


def test_the_reasoning_wall_of_an_moe_reads_the_experts_a_token_touches():
    # Mixtral 8x7B routes each token to 2 of 8 experts: a decode step at batch 1 reads its 12.88e9 active weights,
    # not all 46.70e9 (Mistral AI 2024: 12.9B active of 46.7B). At fp8 and efficiency 0.5 on an H100: (12.88 GB +
    # the KV cache, 32 layers x 2 x 8 x 128 x 1 B = 65,536 B per token x (512 + 64) tokens) / (0.5 x 3.35 TB/s)
    # = 7.71 ms per hidden token; all experts gave 27.9 ms.
    from mlsysim.solvers import InferenceScalingModel
    r = InferenceScalingModel().solve(model=Models.Language.Mixtral_8x7B, hardware="H100", reasoning_steps=128,
                                      precision="fp8", efficiency=0.5)
    per_token = (12.88e9 + 65536 * 576) / (0.5 * 3.35e12)
    # the 512-token prompt touches every expert: max(2 x 12.88e9 x 512 / (0.5 x 1979 TFLOP/s) = 13.3 ms,
    # 46.70 GB / (0.5 x 3.35 TB/s) = 27.9 ms) = 27.9 ms
    prefill = max(2 * 12.88e9 * 512 / (0.5 * 1979e12), 46.70e9 / (0.5 * 3.35e12))
    assert r.total_s == pytest.approx(128 * per_token + prefill, rel=0.01)
