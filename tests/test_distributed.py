"""DistributedModel: the tutorial's contract, bad input, infeasible layouts, and the validation acceptance."""
import math

import pytest

from mlsysim import ConfigError, DistributedModel, Models, Systems, TransformerWorkload
from mlsysim.errors import UnknownNameError

L70, R256 = "Llama3_70B", "Research_256"


def solve(**kw):
    args = dict(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256, tp_size=8, pp_size=1)
    args.update(kw)
    return DistributedModel().solve(**args)


def test_tutorial_call_contract():
    perf = solve(dp_size=32)
    days = perf.latency.to("days").magnitude
    assert 0 < perf.mfu < 1 and 0 < perf.hfu < 1
    # Independent estimate: executed FLOPs per token = 6 x (weights a token multiplies: 68.452e9 in the
    # layers + 1.0507e9 LM head; the embedding lookup is free) + 6*L*h*s causal attention (half of PaLM's
    # 12*L*h*s) = 4.49e11; x 15e12 tokens; on 256 x 989.5 TFLOP/s at the predicted MFU:
    # days = FLOPs/(256*989.5e12*mfu)/86400.
    hand = (6 * (68.452e9 + 1.0507e9) + 6 * 80 * 8192 * 8192) * 15e12 / (256 * 989.5e12 * perf.mfu) / 86400
    assert days == pytest.approx(hand, rel=0.01)
    # and a plausible MFU for a dense 70B model on H100s (published Megatron/Meta runs: 38-55 %)
    assert 0.3 < perf.mfu < 0.6
    assert perf.step_latency.to("s").magnitude == pytest.approx(perf.step_s)
    assert perf.throughput.magnitude == pytest.approx(perf.layout["global_batch_size"] * 8192 / perf.step_s)
    # breakdown adds up to the step
    assert sum(perf.breakdown_s.values()) == pytest.approx(perf.step_s, rel=1e-9)
    # Memory (hand): 70.55e9/8 params per GPU x (2 B bf16 weights + 4 B fp32 grads) + 12 B Adam / 32 (ZeRO-1)
    # = 52.9 + 3.3 GB; activations with SP + selective recompute, 80 layers x 8192 tokens x 34.3 KB = 22.5 GB
    # (+1 GB fp32 logits, 2.5 GB reserved): ~82.3 GB < 80 GiB = 85.9 GB, so the tutorial's layout fits with ZeRO-1.
    mem = perf.memory_bytes
    assert mem["weights"] + mem["gradients"] + mem["optimizer"] == pytest.approx(
        70.55e9 / 8 * (2 + 4 + 12 / 32), rel=0.01)
    assert mem["activations"] == pytest.approx(80 * 8192 * 34.3e3 + 2 * 4 * 8192 * 128256 / 8, rel=0.02)
    assert perf.feasible is True and solve(dp_size=32, zero_stage=0).feasible is False  # ZeRO-0: +97 GB Adam
    assert "tp=8" in str(perf) and "<table>" in perf._repr_html_()


def test_names_are_accepted_and_dp_derived():
    perf = DistributedModel().solve(L70, R256, tp_size=8)
    assert perf.layout["dp_size"] == 32


@pytest.mark.parametrize("kw, words", [
    (dict(tp_size=6), "does not divide"),
    (dict(dp_size=16), "256 accelerators"),
    (dict(pp_size=3), "does not divide the fleet"),
    (dict(global_batch_size=100), r"not divisible by dp_size\*microbatch_size"),
    (dict(ep_size=2), "dense model"),
    (dict(precision="fp4"), "precision"),
    (dict(recompute="some"), "recompute"),
    (dict(tp_size=-8), ">= 1"),
    (dict(tp_size=8.0), "integer"),
    (dict(zero_stage=4), "zero_stage"),
    (dict(tokens=-1), "tokens"),
    (dict(interleave=2), "interleave"),
    (dict(pp_size=128, tp_size=2, dp_size=1), "exceeds"),
])
def test_bad_input_is_a_clear_error(kw, words):
    with pytest.raises(ConfigError, match=words):
        solve(**kw)


def test_tp_must_fit_kv_heads():
    m = TransformerWorkload("odd", n_layers=4, hidden=768, n_heads=12, n_kv_heads=3, ffn_hidden=3072, vocab=1000,
                            tokens=1e9)
    with pytest.raises(ConfigError, match="KV heads"):
        DistributedModel().solve(m, R256, tp_size=2)


def test_unknown_names_suggest():
    with pytest.raises(UnknownNameError, match="Llama3_70B"):
        DistributedModel().solve("Llama3_70", R256, tp_size=8)


def test_unsupported_precision_names_valid_choices():
    with pytest.raises(ConfigError, match="bf16"):
        solve(precision="fp8") if False else DistributedModel().solve(
            L70, Systems.Clusters.Selene_A100, tp_size=8, precision="fp8")


def test_out_of_memory_is_a_result_not_an_exception():
    perf = solve(tp_size=1, dp_size=256, zero_stage=0)
    assert perf.feasible is False
    assert perf.memory_total.to("GB").magnitude > 80
    # weights (2 B) + grads (4 B, fp32) + Adam (12 B) per parameter without sharding: 18 B x 70.55e9
    mem = perf.memory_bytes
    assert mem["weights"] + mem["gradients"] + mem["optimizer"] == pytest.approx(18 * 70.55e9, rel=0.01)
    assert math.isfinite(perf.step_s)


def test_zero_shards_optimizer_state():
    z1 = solve(zero_stage=1).memory_bytes["optimizer"]
    z0 = solve(zero_stage=0).memory_bytes["optimizer"]
    assert z1 == pytest.approx(z0 / 32)


def test_moe_expert_parallel_runs():
    mix = TransformerWorkload("mixtral-like", n_layers=32, hidden=4096, n_heads=32, n_kv_heads=8, ffn_hidden=14336,
                              vocab=32000, gated_mlp=True, n_experts=8, experts_per_token=2, seq_len=4096,
                              tokens=1e12, global_batch_tokens=4e6)
    r1 = DistributedModel().solve(mix, R256, tp_size=2, ep_size=1)
    r8 = DistributedModel().solve(mix, R256, tp_size=2, ep_size=8)
    assert r8.breakdown_s["ep_comm"] > 0 and r1.breakdown_s["ep_comm"] == 0
    assert r8.memory_bytes["weights"] < r1.memory_bytes["weights"]
    assert 0 < r8.mfu < 1


def test_validation_acceptance():
    # Issue 11's targets: in sample median |error| <= 4 % (met), max <= 10 % (not yet: the torchtitan async-TP
    # row is +12 %); leave-one-family-out median <= 8 % (met), max <= 20 % (not yet: torchtitan left out comes
    # out 16-32 % fast). Guards at the values reached, so a regression fails.
    from mlsysim.validation.runs import summary, throughput_table
    s = summary(throughput_table())
    assert s["n"] >= 25
    assert s["median_abs_pct"] <= 4.0
    assert s["max_abs_pct"] <= 12.5
    assert s["cv_median_abs_pct"] <= 8.0
    assert s["cv_max_abs_pct"] <= 33.0


def test_overlap_hides_communication_and_is_bounded():
    mix = TransformerWorkload("moe", n_layers=8, hidden=2048, n_heads=16, n_kv_heads=4, ffn_hidden=4096,
                              vocab=32000, gated_mlp=True, n_experts=16, experts_per_token=2, seq_len=4096,
                              tokens=1e11, global_batch_tokens=4e6)
    base = DistributedModel().solve(mix, R256, tp_size=2, ep_size=16)
    hidden = DistributedModel().solve(mix, R256, tp_size=2, ep_size=16, ep_overlap=1.0, tp_overlap=1.0)
    assert hidden.breakdown_s["ep_comm"] < base.breakdown_s["ep_comm"]
    # fully overlapped TP traffic fits behind the GEMMs here, so what it costs is the SMs its kernels take
    # from them: COMM_SM_SHARE (16 of 132 H100 SMs) of the traffic time (issue 11 defect 3: bounded overlap),
    # plus the async-TP decomposition: 2 chunks of 2048 tokens run at (2048/2080)/(4096/4128) = 0.992 of the
    # whole GEMM's rate, < 1 % of the GEMM time, far below the traffic hidden
    from mlsysim.physics import constants as C
    sm_cost = C.COMM_SM_SHARE * base.breakdown_s["tp_comm"]
    assert sm_cost < hidden.breakdown_s["tp_comm"] < 0.5 * base.breakdown_s["tp_comm"]
    assert hidden.step_s < base.step_s
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        DistributedModel().solve(mix, R256, tp_size=2, ep_size=16, ep_overlap=1.5)
