"""MoE serving with attention data parallelism + expert parallelism (ep_size > 1), against hand calculations."""
import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.physics import serving as PS
from mlsysim.physics.serving_moe import dispatch_combine_s
from mlsysim.physics.training import busiest_rank_load
from mlsysim.solvers.distributed import _dims
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_setup import replica_setup

MIX = Models.Language.Mixtral_8x7B
SU_BW, SU_LAT = 450e9 * 0.8, 3e-6  # H100 NVLink 450 GB/s per direction x 0.8 achieved, 3 us per hop


def test_alltoall_of_one_mixtral_decode_step_on_8_h100():
    # 512 sequences over 8 attention-DP ranks: 64 tokens per rank, top-2 of h = 4096 in bf16:
    # 64 x 2 x 4096 x 2 B = 1,048,576 B per rank; an all-to-all keeps 1/8: 7/8 x 1,048,576 / 360e9 = 2.549 us
    # + ceil(log2 8) = 3 hops x 3 us = 11.549 us; dispatch + combine = 23.097 us per MoE layer; 32 layers:
    # 0.7391 ms per decode step (TP1: no all-reduce, no pipeline)
    d = _dims(MIX)
    per_layer = 2.0 * (7 / 8 * 64 * 2 * 4096 * 2 / SU_BW + 3 * SU_LAT)
    assert dispatch_combine_s(d, 64.0, 1.0, 8.0, SU_BW, SU_LAT) == pytest.approx(per_layer, rel=1e-12)
    assert 32 * per_layer == pytest.approx(0.7391e-3, rel=1e-3)
    h100 = Hardware.Cloud.H100
    _, comm = PS.pass_time(d, batch=512.0, new_tokens=1.0, context=1100.0, tp=1.0, pp=1.0, ep=8.0,
                           peak=h100.peak_flops["fp8"], ceiling=0.57, mem_bw=h100.memory_bw, attn_eff=0.4, wbytes=1.0,
                           su_bw=SU_BW, su_lat=SU_LAT, decode=True)
    assert comm == pytest.approx(0.7391e-3, rel=1e-3)


def test_busiest_expert_rank_under_uniform_top2_routing():
    # Mixtral on 8 ranks, one expert each, 64 tokens per rank: 512 tokens pick 2 of 8 experts, so a rank gets
    # each token with p = 2/8: Binomial(512, 1/4), mean 128, sd sqrt(512 x 1/4 x 3/4) = 9.798. The 8 loads sum
    # to 1024 exactly (correlation -1/7), so the busiest is mean + sd sqrt(8/7) E[max of 8 standard normals] =
    # 1.4236 (Harter 1961 tables) -> 1 + 1.4236 x 1.0690 x 9.798 / 128 = 1.1165 (a simulation of 2,000 such
    # steps, 512 tokens each drawing 2 distinct experts, gave 1.1173)
    assert busiest_rank_load(_dims(MIX), 64.0, 8.0) == pytest.approx(1.1165, rel=2e-3)
    assert busiest_rank_load(_dims(MIX), 64.0, 1.0) == 1.0  # one rank holds every expert: no imbalance


def test_kv_capacity_per_attention_rank():
    # Mixtral fp8 on 8 H100, EP8 (one expert per layer per GPU), TP1 attention on each GPU:
    # weights per GPU: attention 4096 x (4096 + 2 x 1024) + 4096 x 4096 = 41,943,040, norms 8,192, router 32,768
    # -> 41,984,000 x 32 layers = 1,343,488,000; embedding + head 2 x 32,000 x 4,096 = 262,144,000; one expert
    # 3 x 4096 x 14336 = 176,160,768 x 32 layers = 5,637,144,576: 7,242,776,576 B.
    # activations of an 8,192-token chunk: 2 B x 8192 x (6144 + 4096 + 2 x 14336 x 3) = 1,577,058,304 B.
    # free: 80 GiB (85,899,345,920) - weights - activations - 2.5 GB workspace = 74,579,511,040, x 0.9 (paged
    # KV share) / (65,536 B/token x (1000 + 200/2) tokens) = 931.09 sequences per rank, x 8 ranks = 7,448.7
    s = replica_setup(MIX, "H100", input_len=1000, output_len=200, ep=8, precision="fp8")
    assert s.memory_bytes["weights"] == pytest.approx(7_242_776_576, rel=1e-9)
    assert s.kv_capacity == pytest.approx(8 * 74_579_511_040 * 0.9 / (65_536 * 1100), rel=1e-6)
    assert s.gpus == 8


def test_ep_under_load_and_bad_layouts():
    r = ServingLoadModel().solve(MIX, "H100", qps=50, input_len=1000, output_len=200, ep_size=8, precision="fp8",
                                 ttft_slo=1.0, tpot_slo=0.05)
    assert r.feasible and r.gpus == 8 * r.replicas and r.tpot_p99_s <= 0.05
    # 50 QPS x 200 output tokens = 10,000 tokens/s over the fleet's GPUs
    assert r.tokens_per_s_per_gpu == pytest.approx(50 * 200 / r.gpus, rel=1e-9)
    with pytest.raises(ConfigError, match="divide"):
        replica_setup(MIX, "H100", input_len=100, output_len=10, ep=3)
    with pytest.raises(ConfigError, match="dense"):
        replica_setup(Models.Language.Llama3_70B, "H100", input_len=100, output_len=10, ep=2)


def test_alltoall_of_one_deepseek_v3_decode_step_on_8_h200():
    # DeepSeek-V3, 58 MoE layers (61 - 3 dense), top-8 of 256 experts, h = 7168; 64 tokens per rank on 8 H200
    # (NVLink 450 GB/s x 0.8 = 360 GB/s, 3 us per hop): 64 x 8 x 7168 x 2 B = 7,340,032 B per rank;
    # 7/8 x 7,340,032 / 360e9 = 17.84 us + 9 us = 26.84 us per all-to-all; dispatch + combine x 58 = 3.113 ms
    from mlsysim.solvers.serving import resolve_hardware
    _, bw, lat = resolve_hardware("H200")
    d = _dims(Models.Language.DeepSeek_V3)
    assert 58 * dispatch_combine_s(d, 64.0, 1.0, 8.0, bw, lat) == pytest.approx(3.113e-3, rel=1e-3)


def test_ep_from_the_cli_and_a_scenario(tmp_path):
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    from mlsysim.scenario import load_scenario
    from mlsysim.scenario_serving import evaluate
    # one replica of TP1 x PP1 x EP2 holds 1 x 1 x 2 = 2 GPUs: the fleet is twice its replica count
    out = CliRunner().invoke(app, ["serve", "--model", "Mixtral_8x7B", "--hardware", "H100", "--ep", "2",
                                   "--precision", "fp8", "--qps", "20", "--json"])
    assert out.exit_code == 0, out.output
    body = json.loads(out.output)["result"]
    assert body["gpus"] == 2 * body["replicas"] and body["ep"] == 2
    y = tmp_path / "moe.yaml"
    y.write_text("workload: {model: Mixtral_8x7B}\nsystem: {accelerator: H100}\n"
                 "serving: {qps: 20, ep_size: 2, precision: fp8}\n")
    r = evaluate(load_scenario(y))
    assert r.ep == 2 and r.gpus == 2 * r.replicas and "x EP2" in r._title()
