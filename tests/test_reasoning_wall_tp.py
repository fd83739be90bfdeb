"""InferenceScalingModel(tp_size=): the reasoning wall on a tensor-parallel replica, with ServingModel's TP
physics (weights and FLOPs split, two bf16 all-reduces per layer), against hand calculations."""
import math

import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers import InferenceScalingModel

L8, L70, H100 = Models.Language.Llama3_8B, Models.Language.Llama3_70B, Hardware.Cloud.H100

# Llama 3 8B: 8.030e9 parameters (2 B each in bf16), 6.979e9 of them in matmuls, 32 layers, hidden 4096.
# H100 SXM: 3.35 TB/s, 989.5 TFLOP/s bf16, 700 W TDP, 90 W idle; a bare chip's NVLink 450 GB/s per direction x 0.8
# achieved = 360 GB/s and 3 us per hop (solvers/serving.resolve_hardware).
PARAMS, MM, L, H = 8.030261248e9, 6.979321856e9, 32, 4096
BW, PEAK, NVL, LAT = 3.35e12, 989.5e12, 360e9, 3e-6


def allreduce_tp2(nbytes):
    # ring over 2 ranks: 2 (n-1)/n x bytes / bw + 2 ceil(log2 n) x latency
    return nbytes / NVL + 2 * LAT


def test_given_efficiency_tp2_by_hand():
    eff, steps, prompt = 0.5, 128, 512
    # per token per device: half of what a token streams at 0.5 x 3.35 TB/s: the weights less the untied input
    # table plus the token's row, (8,030,261,248 - 128,256 x 4,096 + 4,096) x 2 B = 15,009,857,536 B, and the KV
    # cache at the chain's mean context 512 + 64 (131,072 B x 576); memory-bound (2 x 6.98e9 / 2 FLOPs at half the
    # peak take 14 us); then 32 layers x 2 all-reduces of 1 x 4096 bf16 activations
    weights, kv = 15_009_857_536, 131_072 * 576
    tok = max((weights + kv) / 2 / (BW * eff), 2 * MM / 2 / (PEAK * eff)) + 2 * L * allreduce_tp2(2 * 4096)
    assert tok == pytest.approx(4.503e-3 + 0.3855e-3, rel=1e-3)
    # the 512-token prompt: compute-bound (512 x 6.98e9 FLOPs per device at 494.75 TFLOP/s = 7.22 ms, + the causal
    # attention core 4 h L = 524,288 FLOPs per token per position x 256 on average, + the LM head 2 h V once)
    flops = prompt * (2 * MM + 4 * 4096 * L * prompt / 2) + 2 * 4096 * 128_256
    pre = max((weights + 511 * 4096 * 2) / 2 / (BW * eff), flops / 2 / (PEAK * eff)) \
        + 2 * L * allreduce_tp2(2 * 4096 * prompt)
    total = pre + steps * tok
    assert total == pytest.approx(0.6341, rel=1e-3)
    q = InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=steps, precision="bf16",
                                      efficiency=eff, tp_size=2)
    assert q.total_reasoning_time.to("s").magnitude == pytest.approx(total, rel=1e-6)
    # energy: 2 GPUs at P = idle + (TDP - idle)(1 - exp(-u / 0.153)) (physics/power.py, OLMo-3 fit), u = the
    # replica's FLOPs over 2 x peak x time
    u = 2 * MM * (prompt + steps) / total / (2 * PEAK)
    p = 90 + 610 * (1 - math.exp(-u / 0.153))
    assert p == pytest.approx(117.7, abs=0.1)
    assert q.energy_per_query.to("J").magnitude == pytest.approx(2 * p * total, rel=1e-6)
    assert q.assumptions["power"].startswith("2 x 118 W")


def test_predicted_tp2_itl_by_hand():
    # decode at mean context 512 + 64: each device streams half the 7.50e9 non-embedding weights x 2 B and half of
    # the KV (32 layers x 8 KV heads x 128 x 2 x 2 B = 131,072 B/token x 576) at 3.35 TB/s x 0.85, + the all-reduces
    stream = (7.504e9 * 2 / 2 + 131_072 * 576 / 2) / (BW * 0.85)
    itl = stream + 2 * L * allreduce_tp2(2 * 4096)
    assert itl == pytest.approx(3.03e-3, rel=0.01)
    q = InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=128, tp_size=2)
    assert q.serving.tp == 2 and q.serving.itl_s == pytest.approx(itl, rel=0.02)
    one = InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=128)
    # two GPUs halve the streaming but add the all-reduces: faster, yet more than half the time
    assert one.total_s / 2 < q.total_s < one.total_s


def test_tp_makes_a_70b_query_fit_and_bad_tp_is_refused():
    # Llama 3 70B in bf16: 141 GB of weights; on 2 H100s (85.9 GB each) 70.6 GB per device fit
    assert not InferenceScalingModel().solve(model=L70, hardware=H100, reasoning_steps=10).feasible
    assert InferenceScalingModel().solve(model=L70, hardware=H100, reasoning_steps=10, tp_size=2).feasible
    with pytest.raises(ConfigError, match="tp_size"):
        InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=10, tp_size=3)  # 32 heads
