"""Training physics against formulas worked by hand from the Megatron-LM papers (not the code's own output)."""
import math

import pytest

from mlsysim import TransformerWorkload
from mlsysim.physics import collectives as col
from mlsysim.physics.training import activation_bytes_per_layer, model_dims, training_step
from mlsysim.physics.transformer import forward_flops_per_token, param_counts


def gpt(L=96, h=12288, a=96, V=51200, s=2048):
    return TransformerWorkload("gpt", n_layers=L, hidden=h, n_heads=a, ffn_hidden=4 * h, vocab=V, seq_len=s,
                               tied_embeddings=True, dropout=True, linear_bias=True)


def test_model_flops_match_megatron_formula():
    # Narayanan et al. 2021 (SC21) Sec 5.1 / Korthikanti 2022 Sec 6: model FLOPs per iteration (no recompute)
    # = 72 B s l h^2 (1 + s/(6h) + V/(12 l h)); per token divide by B*s.
    L, h, s, V = 96, 12288, 2048, 51200
    hand = 72 * L * h**2 * (1 + s / (6 * h) + V / (12 * L * h))
    assert 3 * forward_flops_per_token(gpt(L, h, 96, V, s), s, causal=False) == pytest.approx(hand, rel=1e-12)


def test_causal_attention_halves_the_s2_term():
    m, s = gpt(), 2048
    full = forward_flops_per_token(m, s, causal=False)
    causal = forward_flops_per_token(m, s, causal=True)
    # the s^2 part per token per layer is 4*s*h (QK^T and AV, 2 FLOPs per MAC); causal keeps half of it
    assert full - causal == pytest.approx(0.5 * 4 * s * 12288 * 96)


def test_param_count_by_hand_tiny_model():
    # 2 layers, h=256, 4 heads (MHA), FFN 1024 (GELU, no biases -> RMSNorm), vocab 1000, untied:
    # per layer: attention 4*256^2 = 262,144; MLP 2*256*1024 = 524,288; two norms 2*256 = 512 -> 786,944
    # embeddings 1000*256 = 256,000, LM head 256,000, final norm 256 -> total 2*786,944 + 512,256 = 2,086,144
    m = TransformerWorkload("tiny", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
    assert param_counts(m)["total"] == 2_086_144


def test_gqa_swiglu_param_count_llama3_70b_by_hand():
    # attention: q 8192*8192 + k,v 2*8192*(8*128) + o 8192*8192 = 150,994,944
    # SwiGLU MLP: 3*8192*28672 = 704,643,072; RMSNorms 2*8192 -> per layer 855,654,400; x80 = 68,452,352,000
    # embeddings + untied head 2*128256*8192 = 2,101,346,304; final norm 8192 -> 70,553,706,496
    m = TransformerWorkload("l3-70b", n_layers=80, hidden=8192, n_heads=64, n_kv_heads=8, ffn_hidden=28672,
                            vocab=128256, gated_mlp=True)
    assert param_counts(m)["total"] == 70_553_706_496


@pytest.mark.parametrize("t", [1, 2, 8])
def test_activation_memory_korthikanti_no_recompute(t):
    # Korthikanti et al. 2022 Eq. 2 with tensor parallelism, no sequence parallelism:
    # per layer bytes = s*b*h*(10 + 24/t + 5*a*s/(h*t))
    m = gpt(L=48, h=6144, a=64, s=2048)
    s, b, h, a = 2048, 1, 6144, 64
    hand = s * b * h * (10 + 24 / t + 5 * a * s / (h * t))
    got = activation_bytes_per_layer(model_dims(m), s * b, s, t, 0, False, False, False)
    assert got == pytest.approx(hand, rel=1e-12)


def test_activation_memory_korthikanti_sp_selective_and_full():
    m = gpt(L=48, h=6144, a=64, s=2048)
    s, h, t = 2048, 6144, 8
    d = model_dims(m)
    # sequence parallel + selective recompute: 34 s b h / t (Korthikanti Eq. 6)
    assert activation_bytes_per_layer(d, s, s, t, 1, False, True, False) == pytest.approx(34 * s * h / t)
    # full recompute keeps the layer input only: 2 s b h (sharded with SP)
    assert activation_bytes_per_layer(d, s, s, t, 2, False, True, False) == pytest.approx(2 * s * h / t)


def test_ring_allreduce_hand():
    # 8 ranks, 1 GB, 100 GB/s per direction, no latency: 2*(7/8)*1e9/1e11 = 17.5 ms
    assert col.allreduce(1e9, 8, 100e9, 0.0) == pytest.approx(0.0175)
    assert col.allreduce(1e9, 1, 100e9, 1e-5) == 0.0
    # hierarchical, 4 nodes x 8: RS in node (7/8 GB @200) + AR of 1/8 GB across 4 (2*3/4 @25) + AG in node
    hand = 0.875 / 200 + 2 * 0.75 * 0.125 / 25 + 0.875 / 200
    assert col.hierarchical_allreduce(1e9, 32, 8, 200e9, 0, 25e9, 0) == pytest.approx(hand)


def _ideal_hw():
    # infinitely fast links and no stragglers isolate the pipeline schedule
    return dict(peak=1e15, ceiling=0.8, mem_bw=3e12, node_size=8.0, su_bw=1e30, su_lat=0.0, ib_bw=1e30,
                ib_lat=0.0, straggler_cv=0.0)


@pytest.mark.parametrize("pp,v,m", [(4, 1, 8), (8, 1, 32), (8, 2, 16), (4, 4, 8)])
def test_pipeline_bubble_fraction(pp, v, m):
    # 1F1B: bubble = (p-1)/m of the ideal time; interleaved: (p-1)/(v*m) (Narayanan et al. 2021 Sec 2.2)
    d = model_dims(gpt(L=64, h=4096, a=32))
    out = training_step(d, tp=1.0, pp=float(pp), dp=1.0, cp=1.0, ep=1.0, mb=1.0, gbs=float(m), seq=2048.0,
                        v=float(v), recompute=0, zero=0, flash=True, sp=False, **_ideal_hw())
    ideal = out["step"] - out["bubble"] - out["optimizer"] - out["pp_comm"] - out["dp_comm"]
    assert out["bubble"] / ideal == pytest.approx((pp - 1) / (v * m), rel=1e-9)


def test_doubling_tokens_doubles_time_and_more_bandwidth_never_slower():
    from mlsysim import DistributedModel, Models, Systems
    from mlsysim.systems.system import Fabric, Fleet
    m, f = Models.Language.Llama3_70B, Systems.Clusters.Research_256
    a = DistributedModel().solve(m, f, tp_size=8, tokens=1e12)
    b = DistributedModel().solve(m, f, tp_size=8, tokens=2e12)
    assert b.time_to_train_s == pytest.approx(2 * a.time_to_train_s)
    fast = Fabric(name="fast", port_bw=f.fabric.port_bw * 4, latency_s=f.fabric.latency_s)
    c = DistributedModel().solve(m, Fleet(node=f.node, count=f.count, fabric=fast), tp_size=8, tokens=1e12)
    assert c.step_s <= a.step_s


def test_straggler_tail_grows_with_ranks():
    from mlsysim.physics.training import expected_max_normal
    # E[max of n std normals]: 2 -> 1/sqrt(pi) = 0.564 exactly; ~3.9 for n = 16384 (Gumbel: ~sqrt(2 ln n) - ...)
    assert expected_max_normal(1.0) == 0.0
    assert expected_max_normal(16384.0) == pytest.approx(3.9, abs=0.15)
    assert expected_max_normal(256.0) < expected_max_normal(4096.0) < expected_max_normal(16384.0)
    assert math.isfinite(expected_max_normal(1e6))


def test_hierarchical_allgather_hand():
    # 4 nodes x 8 ranks gather 8 GB: across nodes each rank gathers its node's 1 GB share, 3/4 of it over its
    # 25 GB/s NIC (30 ms), then the node gathers 7/8 of 8 GB over 200 GB/s NVLink (35 ms)
    assert col.hierarchical_allgather(8e9, 32, 8, 200e9, 0, 25e9, 0) == pytest.approx(0.75 * 1e9 / 25e9
                                                                                      + 0.875 * 8e9 / 200e9)
    assert col.hierarchical_allgather(8e9, 4, 1, 200e9, 0, 25e9, 0) == pytest.approx(col.allgather(8e9, 4, 25e9, 0))


def test_softmax_without_dropout_streams_two_passes_not_five():
    # Without FlashAttention the (heads x T x s) score matrix streams through HBM: read scores + write probs (2
    # passes), and with dropout also its read, write and mask (3 more; Korthikanti et al. 2022 Sec 4.1). Pythia
    # 410M (16 heads, no dropout) at T = s = 2048, bf16, TP1 on an A100 (2.039 TB/s x the streaming efficiency):
    # dropping dropout saves 3 x 16 x 2048 x 2048 x 2 B / bw forward
    from types import SimpleNamespace

    from mlsysim import Hardware, Models
    from mlsysim.physics import constants as C
    from mlsysim.physics.training import layer_times
    from mlsysim.solvers.distributed import _dims
    a100 = Hardware.Cloud.A100
    d = _dims(Models.Language.Pythia_410M)
    assert d.dropout is False and d.a == 16
    wet = SimpleNamespace(**{**vars(d), "dropout": True})
    args = (2048.0, 2048.0, 1.0, 1.0, 1.0, a100.peak_flops["bf16"], 0.8, a100.memory_bw, False, False, False)
    saved = layer_times(wet, *args)[0] - layer_times(d, *args)[0]
    bw = a100.memory_bw * C.MEMORY_BW_EFFICIENCY
    assert a100.memory_bw == pytest.approx(2.039e12, rel=0.01)
    assert saved == pytest.approx(3 * 16 * 2048 * 2048 * 2 / bw, rel=1e-9)
