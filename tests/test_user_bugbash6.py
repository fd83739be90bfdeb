"""Bug bash 6: a request past the model's published maximum context is refused on every serving face (as vLLM
refuses one past max_model_len), and the defects a student, a researcher and a planner found. Each test asserts a
hand-derived or published number, or the clear error; the derivation is in the test."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError

L2_70 = Models.Language.Llama2_70B  # Llama 2 paper (Touvron et al. 2023) Table 1: context length 4k = 4,096


# ------------------------------------------------------------------------------- task 1: the maximum context

def test_published_maximum_contexts():
    # Touvron et al. 2023 (Llama 2) Table 1: 4k for Llama 2, 2k for LLaMA 1; the Llama 3 Herd paper: 128K =
    # 131,072 (its models are Llama 3.1); Mixtral paper Table 1: 32,768; StarCoder Sec 5.6: 8K; GPT-3: 2,048.
    L = Models.Language
    assert [m.max_context for m in (L.Llama2_7B, L.Llama2_70B, L.LLaMA_65B, L.Llama3_405B, L.Mixtral_8x7B,
                                    L.StarCoderBase_15B, L.GPT3_175B)] == [4096, 4096, 2048, 131072, 32768, 8192,
                                                                          2048]
    # the published maximum may exceed the length trained at (Llama 3.1: 8K sequences, then a long-context stage)
    assert L.Llama3_405B.seq_len == 8192 < L.Llama3_405B.max_context


def test_every_registry_language_model_names_the_source_and_year_of_its_context():
    from mlsysim.models.registry import Models as M
    for name in M.all_names():
        m = M.get(name)
        assert m.max_context is not None, name  # the README: every registry language model has one
        assert re.search(r"\b20[12]\d\b", m.max_context_source), (name, m.max_context_source)
        # a model serves at least the length it was trained at (Llama 3.1: 8,192 trained, 131,072 published), so
        # SingleNodeModel's default decode step (context = seq_len) is never refused
        assert m.max_context >= m.seq_len, name


def test_llama2_70b_4096_tokens_in_all():
    from mlsysim.solvers import ServingModel
    # 4,000 + 96 = 4,096 <= 4,096: served; 4,000 + 97 = 4,097 > 4,096: refused, naming the limit and the model
    ok = ServingModel().solve(L2_70, Hardware.Cloud.H100, input_len=4000, output_len=96, tp_size=4)
    assert ok.input_len + ok.output_len == 4096
    with pytest.raises(ConfigError, match=r"4,097 tokens exceed Llama 2 70B's maximum context of 4,096 tokens"):
        ServingModel().solve(L2_70, Hardware.Cloud.H100, input_len=4000, output_len=97, tp_size=4)


def test_every_python_serving_face_refuses_4097_tokens():
    from mlsysim import explore
    from mlsysim.engine.engine import Engine
    from mlsysim.solvers import InferenceScalingModel, SingleNodeModel
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    from mlsysim.solvers.serving_sweep import serving_sweep
    h = Hardware.Cloud.H200
    calls = [
        lambda: ServingLoadModel().solve(L2_70, h, qps=1, input_len=4000, output_len=97, tp_size=2),
        lambda: plan_serving(L2_70, qps=1, input_len=4000, output_len=97, ttft_slo=1.0, datacenters=["GCP_Iowa"]),
        lambda: serving_sweep(L2_70, hardware=("H200",), lengths=((1000, 200), (4000, 97))),
        lambda: explore.serving_sweep(L2_70, hardware=("H200",), lengths=((4000, 97),)),
        lambda: InferenceScalingModel().solve(L2_70, h, seq_len=4000, reasoning_steps=97, tp_size=2),
        lambda: SingleNodeModel().solve(L2_70, h, mode="prefill", seq_len=4097),
        lambda: SingleNodeModel().solve(L2_70, h, mode="decode", seq_len=4097),
        lambda: Engine.solve(L2_70, h, seq_len=4097),
    ]
    for call in calls:
        with pytest.raises(ConfigError, match="4,097 tokens exceed Llama 2 70B's maximum context of 4,096"):
            call()
    # 4,096 still runs on each single-node face; training is not limited (a run can extend the context)
    assert SingleNodeModel().solve(L2_70, h, mode="decode", seq_len=4096).seq_len == 4096
    assert SingleNodeModel().solve(L2_70, h, mode="training", seq_len=8192).seq_len == 8192


def test_a_trace_request_past_the_context_is_refused_by_index():
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    # means 1,400 + 133 are within 4,096; request 1 holds 4,000 + 200 = 4,200 > 4,096
    kw = dict(arrivals=[0.0, 1.0, 2.0], input_lens=[100, 4000, 100], output_lens=[100, 200, 100])
    with pytest.raises(ConfigError, match="the trace.s request at index 1 \\(its longest\\): input 4,000 \\+ output "
                                          "200 = 4,200 tokens"):
        ServingLoadModel().solve(L2_70, "H200", tp_size=2, **kw)
    with pytest.raises(ConfigError, match="request at index 1"):
        plan_serving(L2_70, ttft_slo=1.0, datacenters=["GCP_Iowa"], **kw)


def test_a_context_extended_variant_is_a_what_if_in_the_results():
    from mlsysim.solvers import InferenceScalingModel, ServingModel
    from mlsysim.solvers.serving_load import ServingLoadModel
    ext = L2_70.with_(max_context=8192)  # e.g. RoPE scaling x2
    r = ServingModel().solve(ext, Hardware.Cloud.H200, input_len=6000, output_len=200, tp_size=2)
    note = r.assumptions["max context"]
    assert note.startswith("a what-if") and "8,192" in note and "published 4,096" in note
    load = ServingLoadModel().solve(ext, "H200", qps=1, input_len=6000, output_len=200, tp_size=2)
    assert load.assumptions["max context"] == note
    wall = InferenceScalingModel().solve(ext, "H200", seq_len=6000, reasoning_steps=200, tp_size=2)
    assert wall.assumptions["max context"] == note
    # published limits carry no note
    assert "max context" not in ServingModel().solve(L2_70, "H200", input_len=1000, tp_size=2).assumptions
    # None: unchecked (a user's own model without a published context), also a what-if when it drops a published one
    free = L2_70.with_(max_context=None)
    assert "no limit checked" in ServingModel().solve(free, "H200", input_len=9000, tp_size=2).assumptions[
        "max context"]


def test_a_malformed_max_context_is_a_config_error():
    for bad in ("8k", 8192.5, 0, -1):
        with pytest.raises(ConfigError, match="max_context"):
            L2_70.with_(max_context=bad)


def test_a_model_without_a_published_context_is_unchecked():
    from mlsysim import TransformerWorkload
    from mlsysim.solvers import ServingModel
    tiny = TransformerWorkload("tiny", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
    assert tiny.max_context is None
    r = ServingModel().solve(tiny, "H100", input_len=1_000_000, output_len=1000)
    assert r.input_len == 1_000_000 and "max context" not in r.assumptions


def test_hf_config_declares_its_context():
    from mlsysim import TransformerWorkload
    # Llama-3.1-8B's config.json: max_position_embeddings 131072 (rope_scaling original 8192 = the trained length)
    cfg = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
           "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256,
           "max_position_embeddings": 131072,
           "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "original_max_position_embeddings": 8192}}
    m = TransformerWorkload.from_hf_config(cfg)
    assert (m.seq_len, m.max_context) == (8192, 131072)
    assert "config.json" in m.max_context_source


def test_cli_serve_refuses_and_a_scenario_may_extend(tmp_path):
    base = [sys.executable, "-m", "mlsysim", "serve"]
    p = subprocess.run(base + ["--model", "Llama2_70B", "--hardware", "H200", "--tp", "2", "--input-len", "4000",
                               "--output-len", "97"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "maximum context of 4,096 tokens" in p.stderr
    assert "workload.max_context" in p.stderr  # the fix a CLI user can apply
    sc = tmp_path / "ext.yaml"
    sc.write_text("workload: {model: Llama2_70B, max_context: 8192}\nsystem: {node: HGX_H200}\n"
                  "serving: {qps: 1, input_len: 6000, output_len: 200, tp_size: 2}\n")
    p = subprocess.run(base + [str(sc), "--json"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "published 4,096" in json.loads(p.stdout)["result"]["assumptions"]["max context"]


def test_scenario_max_context_is_a_what_if(tmp_path):
    from mlsysim.scenario import load_scenario
    sc = tmp_path / "ext.yaml"
    sc.write_text("workload: {model: Llama2_70B, max_context: 8192}\nsystem: {node: HGX_H200}\n")
    m = load_scenario(sc).model
    assert m.max_context == 8192 and m.max_context_source.startswith("what-if")


def test_web_serving_answers_400_with_the_limit():
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from mlsysim.web import create_app
    body = {"model": "Llama2_70B", "hardware": "H200", "precision": "fp8", "tp_size": 2, "qps": 1,
            "input_len": 4000, "output_len": 97, "ttft_slo_ms": 1000, "datacenters": ["GCP_Iowa"]}
    r = TestClient(create_app()).post("/api/serve", json=body)
    assert r.status_code == 400 and "maximum context of 4,096 tokens" in r.text


# ------------------------------------------------------------------------------------------ task 2: bug bash

def test_a_p999_target_reads_p99_9_not_p100():
    # percentile 0.999 is the 99.9th percentile; it was rounded to an integer and printed "p100" (the maximum) in the
    # CLI/Python table, the HTML report and the plan's title
    from mlsysim.scenario import from_dict
    from mlsysim.report.serving_html import serving_section
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    r = ServingLoadModel().solve(Models.Language.Llama3_8B, "H100", qps=10, percentile=0.999)
    assert "TTFT p50 / p99.9 (ms)" in str(r) and "p100" not in str(r)
    p = plan_serving(Models.Language.Llama3_8B, qps=10, ttft_slo=0.5, percentile=0.999, hardware=["H100"],
                     precisions=["fp8"], tp_sizes=[1], datacenters=["GCP_Iowa"])
    assert "p99.9 TTFT" in str(p) and "p100" not in str(p)
    r50 = ServingLoadModel().solve(Models.Language.Llama3_8B, "H100", qps=10, percentile=0.5)
    assert "TTFT p50 / p50 (ms)" in str(r50)
    sc = from_dict({"workload": {"model": "Llama3_8B"}, "system": {"accelerator": "H100"},
                    "serving": {"qps": 10, "percentile": 0.999}})
    html = serving_section(sc)
    assert "TTFT p50 / p99.9 (ms)" in html and "p100" not in html


def test_transformer_options_on_a_small_network_are_refused_not_ignored():
    # DS-CNN is one fixed inference per sample: Engine.solve(..., seq_len=4096) and mode="training" returned the same
    # 30.7 ms as without them, and `mlsysim eval --model DS_CNN_KWS --mode prefill` exited 0
    from mlsysim.engine.engine import Engine
    from mlsysim.models.small import SmallModels
    kws = SmallModels.Tiny.DS_CNN_KWS
    for kw in ({"seq_len": 4096}, {"mode": "training"}, {"mode": "decode"}):
        with pytest.raises(ConfigError, match=f"{next(iter(kw))} does not apply to .*one inference per sample"):
            Engine.solve(kws, Hardware.Tiny.nRF52840, precision="int8", **kw)
    # the solvers built on Engine pass no mode of their own: a small network still goes through them
    from mlsysim import SensitivitySolver, SynthesisSolver
    from mlsysim.core.constants import Q_
    s = SensitivitySolver().solve(model=kws, hardware="nRF52840", precision="int8")
    assert s.binding_constraint == "peak_flops"  # compute-bound (README: ~31 ms at 64 MFLOP/s)
    assert SynthesisSolver().solve(model=kws, target_latency=Q_("30 ms"), precision="int8").feasible
    assert SensitivitySolver().solve(model="Llama3_8B", hardware="H100").baseline.detail.mode == "decode"
    # the default still runs; a transformer's default mode is still one decode step
    assert Engine.solve(kws, Hardware.Tiny.nRF52840, precision="int8").detail.mode == "inference"
    assert Engine.solve(Models.Language.Llama3_8B, "H100").detail.mode == "decode"
    p = subprocess.run([sys.executable, "-m", "mlsysim", "eval", "--model", "DS_CNN_KWS", "--hardware", "H100",
                        "--mode", "prefill"], capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "--mode does not apply" in p.stderr
    # a transformer's CLI default is still a training step
    p = subprocess.run([sys.executable, "-m", "mlsysim", "eval", "--model", "Llama3_8B", "--hardware", "H200",
                        "--json"], capture_output=True, text=True, timeout=120)
    assert json.loads(p.stdout)["mode"] == "training"


def test_the_fix_for_a_missing_compute_dtype_keeps_the_weights_asked_for():
    # int4 is weight-only (int4 weights, bf16 compute); the A17 Pro's Neural Engine computes in int8 only. The fix
    # offered was weight_precision='bf16' (4x the bytes the user asked for); it is int4 weights on int8 compute
    from mlsysim.solvers import ServingModel
    with pytest.raises(ConfigError, match="weight_precision='int4', compute_precision='int8'"):
        ServingModel().solve(Models.Language.Llama3_8B, "A17_Pro", seq_len=512, precision="int4")
    # ... and that fix runs: 8.03e9 weights x (0.5 + 2/128) B = 4.14 GB of weights on the 8 GB phone
    r = ServingModel().solve(Models.Language.Llama3_8B, "A17_Pro", seq_len=512, weight_precision="int4",
                             compute_precision="int8")
    assert r.memory_bytes["weights"] == pytest.approx(8.03e9 * (0.5 + 2 / 128), rel=0.01)


def test_web_formulas_print_the_value_they_explain():
    # 1e-12 QPS x 200 tokens / 4 GPUs = 5e-11 tokens/s per GPU; the card's formula ended "= 0.0" (one decimal)
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from mlsysim.web import create_app
    body = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 1e-12,
            "input_len": 1000, "output_len": 200, "ttft_slo_ms": 1000, "datacenters": ["GCP_Iowa"], "plan": False}
    h = TestClient(create_app()).post("/api/serve", json=body).json()["headline"]
    assert h["tokens_per_s_per_gpu"]["value"] == pytest.approx(1e-12 * 200 / 4)
    assert h["tokens_per_s_per_gpu"]["formula"].endswith("= 5e-11")
    assert not h["tpot_ms"]["formula"].endswith(" 0.0 sequences per replica")


def test_a_record_refuses_a_missing_required_figure_and_a_text_year():
    # HardwareNode(tdp=None) built an Accelerator whose repr, ServingModel power and DataModel failed as TypeErrors;
    # a year "2027" broke DataModel's PCIe generation (2027 >= 2022: Gen5, 63 GB/s x16 once it is an integer)
    from mlsysim import TransformerWorkload
    from mlsysim.core.units import GB, TB, TFLOPs, second, watt
    from mlsysim.hardware.types import ComputeCore, HardwareNode, MemoryHierarchy
    from mlsysim.infrastructure.site import Grid
    from mlsysim.solvers.data import DataModel
    parts = dict(name="X", compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
                 memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB / second))
    with pytest.raises(ConfigError, match="tdp_w is required, got None; give it in W"):
        HardwareNode(tdp=None, **parts)
    with pytest.raises(ConfigError, match="memory_bytes is required"):
        HardwareNode(tdp=800 * watt, **{**parts, "memory": MemoryHierarchy(capacity=None, bandwidth=5e12)})
    with pytest.raises(ConfigError, match="year must be an integer"):
        HardwareNode(tdp=800 * watt, release_year="2027", **parts)
    with pytest.raises(ConfigError, match="gco2_per_kwh is required"):
        Grid(name="g", gco2_per_kwh=None)
    with pytest.raises(ConfigError, match="n_layers is required"):
        TransformerWorkload("t", n_layers=None, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
    from mlsysim.hardware.accelerator import Accelerator
    kw = dict(name="Y", peak_flops={"bf16": 1e15}, memory_bytes=80e9, memory_bw=3e12, tdp_w=700)
    with pytest.raises(ConfigError, match="Accelerator.year must be an integer"):
        Accelerator(year="2027", **kw)
    link = DataModel().solve(workload_data_rate=1e9, hardware=Accelerator(year=2027, **kw)).supply["PCIe host link"]
    assert link == pytest.approx(16 * 32e9 * 128 / 130 / 8, rel=0.01)  # PCIe 5.0 x16: 32 GT/s x 16 x 128b/130b
    # optional figures stay optional
    assert HardwareNode(tdp=800 * watt, **parts).year is None


def test_a_token_budget_too_small_for_one_decode_row_is_named():
    # chunk_tokens=1 on one attention rank: (1 - 1) / 1 = 0 sequences beside a prompt chunk. ServingLoadModel said
    # "memory: the weights leave no room for one sequence's KV cache" with 1,254 sequences of KV room, and
    # serving_sweep swept the same budget as a batch of 1. With 4 drafted tokens a sequence takes 5 rows: >= 6.
    from mlsysim import explore
    from mlsysim.solvers.serving_load import ServingLoadModel
    kw = dict(qps=10, tp_size=4, precision="fp8")
    with pytest.raises(ConfigError, match="chunk_tokens=1 tokens per iteration .* give chunk_tokens >= 2"):
        ServingLoadModel().solve(Models.Language.Llama3_70B, "H100", chunk_tokens=1, **kw)
    assert ServingLoadModel().solve(Models.Language.Llama3_70B, "H100", chunk_tokens=2, **kw).feasible
    spec = dict(draft_model="Llama3_8B", draft_acceptance_rate=0.7)
    with pytest.raises(ConfigError, match="5 decode rows .* give chunk_tokens >= 6"):
        ServingLoadModel().solve(Models.Language.Llama3_70B, "H100", chunk_tokens=5, **kw, **spec)
    with pytest.raises(ConfigError, match="give chunk_tokens >= 2"):
        explore.serving_sweep(Models.Language.Llama3_70B, hardware=("H100",), precisions=("fp8",), tp_sizes=(4,),
                              chunks=(1, 2048))


def test_training_commands_on_a_serving_only_scenario_say_so():
    # examples/llama3_70b_serving.yaml asks a serving question; `train` said so, while `regions` printed an
    # out-of-memory TP1 training run's table, `compare` its column and `optimize` "no plan", each as if it were the
    # scenario's answer
    from pathlib import Path
    ex = str(Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_serving.yaml")
    other = str(Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_research256.yaml")
    for args in (["regions", ex], ["compare", ex, other], ["optimize", ex], ["train", ex]):
        p = subprocess.run([sys.executable, "-m", "mlsysim", *args], capture_output=True, text=True, timeout=300)
        said = re.sub(r"\s+", " ", p.stdout + p.stderr)
        assert "describes serving only" in said and f"mlsysim serve {ex}" in said, args
    # a training scenario carries no such note
    p = subprocess.run([sys.executable, "-m", "mlsysim", "regions", other], capture_output=True, text=True,
                       timeout=300)
    assert "serving only" not in p.stdout + p.stderr


def test_a_draft_model_shorter_than_the_request_is_refused():
    # the draft reads the whole sequence too (vLLM's speculative max_model_len is the smaller of the two): a draft
    # held to 8,192 tokens cannot draft for a 20,000 + 200-token request of Llama 3 70B (131,072)
    from mlsysim.solvers import ServingModel
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    from mlsysim.solvers.serving_sweep import serving_sweep
    d = Models.Language.Llama3_8B.with_(max_context=8192)
    kw = dict(input_len=20000, output_len=200, draft_model=d, draft_acceptance_rate=0.7)
    for call in (lambda: ServingModel().solve("Llama3_70B", "H100", tp_size=4, **kw),
                 lambda: ServingLoadModel().solve("Llama3_70B", "H100", tp_size=4, qps=1, **kw),
                 lambda: plan_serving("Llama3_70B", qps=1, ttft_slo=2, datacenters=["GCP_Iowa"], **kw),
                 lambda: serving_sweep("Llama3_70B", lengths=((20000, 200),), draft_model=d,
                                       draft_acceptance_rate=0.7)):
        with pytest.raises(ConfigError, match="draft_model.* 20,200 tokens exceed Llama 3 8B's maximum context of "
                                              "8,192"):
            call()
    # within both contexts it drafts: 8,000 + 192 = 8,192
    assert ServingModel().solve("Llama3_70B", "H100", tp_size=4, input_len=8000, output_len=192, draft_model=d,
                                draft_acceptance_rate=0.7).speculative_speedup > 1


def test_economics_names_itself_and_sensitivity_takes_a_cluster_name():
    # EconomicsModel's input errors came from the SustainabilityModel it calls, named "SustainabilityModel:"
    from mlsysim import EconomicsModel, SensitivitySolver, Systems
    from mlsysim.solvers import ServingModel
    with pytest.raises(ConfigError, match="^EconomicsModel: performance must be a DistributedModel result"):
        EconomicsModel().solve(performance=ServingModel().solve("Llama3_8B", "H100"), datacenter="GCP_Iowa")
    with pytest.raises(ConfigError, match="^EconomicsModel: pass either performance"):
        EconomicsModel().solve(performance="x", fleet=Systems.Clusters.Research_256, datacenter="GCP_Iowa")
    # a cluster by name, as ServingModel, DataModel and the CLI take it: the same elasticities as the Fleet object
    by_name = SensitivitySolver().solve(model="Llama3_8B", hardware="Research_256", tp_size=8)
    by_obj = SensitivitySolver().solve(model="Llama3_8B", hardware=Systems.Clusters.Research_256, tp_size=8)
    assert by_name.sensitivities == by_obj.sensitivities
    # a faster chip never slows training: d ln(time) / d ln(peak FLOP/s) lies in [-1, 0]
    assert -1.0 <= by_name.sensitivities["peak_flops"] <= 0.0


def test_zero_on_one_device_is_refused_not_ignored():
    # ZeRO shards over data-parallel ranks; one device has none. SingleNodeModel took zero_stage=1..3 and returned
    # the same 96.4 GB of optimizer state (8.03e9 x 12 B) at every stage
    from mlsysim import SingleNodeModel
    with pytest.raises(ConfigError, match="zero_stage=3 shards .* one device"):
        SingleNodeModel().solve("Llama3_8B", "H200", mode="training", zero_stage=3)
    r = SingleNodeModel().solve("Llama3_8B", "H200", mode="training", seq_len=4096)
    assert r.memory_bytes["optimizer"] == pytest.approx(8.03e9 * 12, rel=0.01)
    # the CLI's eval of a training scenario (layout.zero_stage 1) still runs its one device
    from pathlib import Path
    ex = str(Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_research256.yaml")
    p = subprocess.run([sys.executable, "-m", "mlsysim", "eval", ex, "--json"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode in (0, 4) and json.loads(p.stdout)["mode"] == "training"


def test_serving_models_of_a_2k_context_with_the_defaults():
    # ServingModel's default request is 2,048 + 256 tokens: past the 2,048-token context of 30 of the registry's 42
    # language models (GPT-3, LLaMA 1, Pythia, Falcon, ...), refused once contexts were checked. The default prompt is
    # cut to what the context leaves: 2,048 - 256 = 1,792, and the result says so; 4K+ models keep 2,048.
    from mlsysim.solvers import ServingModel
    r = ServingModel().solve(Models.Language.Falcon_7B, "H100")
    assert (r.input_len, r.output_len) == (1792, 256)
    assert "1,792 tokens" in r.assumptions["prompt"]
    assert ServingModel().solve(Models.Language.Llama2_7B, "H100").input_len == 2048  # 2,304 <= 4,096
    assert "prompt" not in ServingModel().solve(Models.Language.Llama2_7B, "H100").assumptions
    # a prompt given is not cut
    with pytest.raises(ConfigError, match="2,048 \\+ output 256 = 2,304 tokens exceed Falcon 7B's"):
        ServingModel().solve(Models.Language.Falcon_7B, "H100", seq_len=2048)


def test_serving_says_when_an_accelerators_embodied_carbon_is_unknown():
    # H200 has no embodied_kgco2e in the registry: its per-request embodied carbon read 0 g as if sourced, and
    # plan_serving's "with embodied" carbon (its carbon objective) held none for it against H100's 463 kg per GPU
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    from mlsysim.web import create_app
    kw = dict(qps=40, input_len=1000, output_len=200, tp_size=4, precision="fp8", datacenter="GCP_Iowa")
    h200 = ServingLoadModel().solve("Llama3_70B", "H200", **kw)
    assert "unknown for NVIDIA H200" in h200.assumptions["embodied carbon"]
    h100 = ServingLoadModel().solve("Llama3_70B", "H100", **kw)
    assert "embodied carbon" not in h100.assumptions
    # H100: 463 kg x GPUs x (1 / 40 s per request) / 4 years of service life (Morrison et al. 2025)
    assert h100.per_request["carbon_embodied_kg"] == pytest.approx(463 * h100.gpus / 40 / (4 * 365.25 * 86400),
                                                                   rel=0.01)
    p = plan_serving("Llama3_70B", qps=40, ttft_slo=0.5, hardware=["H100", "H200"], precisions=["fp8"],
                     tp_sizes=[4], datacenters=["GCP_Iowa"])
    assert {r["hardware"]: r["embodied_known"] for r in p.rows} == {"H100": True, "H200": False}
    assert p.assumptions["embodied carbon"].startswith("unknown for H200")
    body = {"model": "Llama3_70B", "hardware": "H200", "precision": "fp8", "tp_size": 4, "qps": 40,
            "input_len": 1000, "output_len": 200, "ttft_slo_ms": 500, "datacenters": ["GCP_Iowa"], "plan": False}
    page = TestClient(create_app()).post("/api/serve", json=body).json()
    assert page["regions"][0]["g_embodied"] is None  # the page shows n/a, not 0


def test_serving_sweep_checks_its_tp_sizes_as_plan_serving_does():
    # tp_sizes="4" was a TypeError inside the layout check (float % str); plan_serving refuses it by name
    from mlsysim import explore
    for bad in ("4", [0], []):
        with pytest.raises(ConfigError, match="tp_sizes"):
            explore.serving_sweep("Llama3_70B", hardware=("H100",), tp_sizes=bad)
    # 1 accelerator x 3 precisions x TP4 x 1 length pair x 2 max batches x 2 chunks x 2 SLOs = 24 rows
    assert len(explore.serving_sweep("Llama3_70B", hardware=("H100",), tp_sizes=4)) == 24


def test_a_list_for_a_percentile_or_a_precision_is_a_config_error():
    # both were TypeErrors (unhashable type: 'list') from a dict lookup
    from mlsysim import SynthesisSolver
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    with pytest.raises(ConfigError, match="percentile must be one of"):
        ServingLoadModel().solve("Llama3_8B", "H100", qps=5, percentile=[0.99])
    with pytest.raises(ConfigError, match="percentile must be one of"):
        plan_serving("Llama3_8B", qps=5, ttft_slo=0.5, datacenters=["GCP_Iowa"], percentile=[0.99])
    with pytest.raises(ConfigError, match="precision"):
        SynthesisSolver().solve(model="Llama3_8B", target_latency=0.03, precision=["fp16"])


def test_explorer_axes_and_options_of_the_wrong_kind_are_config_errors():
    # a quantity on an axis or a number for datacenters (TypeErrors: "'int' object is not iterable"), and a list for
    # plan_serving's objective or CalibrationModel's mfu_convention (unhashable)
    from mlsysim import CalibrationModel, DistributedModel, Systems, explore
    from mlsysim.core.constants import Q_
    from mlsysim.solvers.serving_plan import plan_serving
    R = Systems.Clusters.Research_256
    for kw in ({"tp": Q_("8 GB")}, {"seq_len": Q_("1 GB")}, {"datacenters": -1}):
        with pytest.raises(ConfigError):
            explore.sweep("Llama3_8B", R, **{"tp": [8], "pp": [1], **kw})
    with pytest.raises(ConfigError, match="objective"):
        plan_serving("Llama3_8B", qps=5, ttft_slo=0.5, datacenters=["GCP_Iowa"], objective=["cost"])
    perf = DistributedModel().solve("Llama3_70B", R, tp_size=8)
    with pytest.raises(ConfigError, match="mfu_convention"):
        CalibrationModel().solve(perf, measured_mfu=0.4, mfu_convention=["palm"])
    # one datacenter given bare still sweeps: 1 layout x 1 region
    assert len(explore.sweep("Llama3_8B", R, tp=[8], pp=[1], microbatch=[1], datacenters="GCP_Iowa")) == 1


def test_none_for_a_defaulted_figure_and_a_number_for_a_grid_label_are_refused():
    # n_experts=None, seq_len=None, Fabric efficiency=None, Datacenter cfe_fraction=None were built and failed as
    # TypeErrors (comparisons with None); a Grid with country=-1 failed in its repr
    from mlsysim import TransformerWorkload
    from mlsysim.infrastructure.site import Datacenter, Grid
    from mlsysim.systems.system import Fabric
    tiny = dict(name="t", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
    with pytest.raises(ConfigError, match="n_experts cannot be None; .* the default 1"):
        TransformerWorkload(**tiny, n_experts=None)
    with pytest.raises(ConfigError, match="seq_len cannot be None"):
        TransformerWorkload(**tiny, seq_len=None)
    with pytest.raises(ConfigError, match="efficiency cannot be None"):
        Fabric(name="f", port_bw=50e9, latency_s=5e-6, efficiency=None)
    g = Grid(name="g", gco2_per_kwh=400)
    with pytest.raises(ConfigError, match="cfe_fraction cannot be None"):
        Datacenter(name="d", grid=g, pue=1.2, electricity_usd_per_kwh=0.1, cfe_fraction=None)
    with pytest.raises(ConfigError, match="Grid.country must be a string"):
        Grid(name="g", gco2_per_kwh=400, country=-1)
    # optional figures (default None) stay optional
    assert TransformerWorkload(**tiny, head_dim=None).head_dim == 64  # 256 / 4


def test_a_serving_sweeps_pareto_takes_one_objective_by_name():
    # objectives="tokens_per_s_per_gpu" was iterated letter by letter: "unknown serving sweep column 't'"
    from mlsysim import explore
    res = explore.serving_sweep("Llama3_8B", hardware=("H100",), tp_sizes=(1, 2))
    one = res.pareto(objectives="tokens_per_s_per_gpu")
    best = max(res.feasible().column("tokens_per_s_per_gpu"))
    assert set(one.column("tokens_per_s_per_gpu")) == {best}  # one objective: the front is its best row(s)
    with pytest.raises(ConfigError, match="objectives are column names"):
        res.pareto(objectives=(1, 2))
