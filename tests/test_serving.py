"""ServingModel / InferenceScalingModel against hand calculations."""
import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.physics.precision import serving_precision
from mlsysim.physics.serving import accepted_per_step
from mlsysim.solvers import InferenceScalingModel, ServingModel

L8, L70, H100, A100 = (Models.Language.Llama3_8B, Models.Language.Llama3_70B, Hardware.Cloud.H100,
                       Hardware.Cloud.A100_80GB)


def test_decode_itl_llama3_8b_h100_is_weight_streaming():
    # Llama 3 8B: 8.03e9 params, of which the 128256 x 4096 input embedding (0.525e9) is a lookup, not read per
    # step: 7.50e9 x 2 B = 15.0 GB. KV at mean context 2048 + 128: 32 layers x 8 heads x 128 x 2 (K,V) x 2 B
    # = 131,072 B/token x 2176 = 0.285 GB. H100 3.35 TB/s x 0.85 achievable = 2.85 TB/s -> 5.37 ms.
    r = ServingModel().solve(L8, H100, seq_len=2048, batch_size=1)
    assert r.itl.to("ms").magnitude == pytest.approx(5.37, rel=0.03)
    assert r.binding == "memory-bandwidth"
    assert r.tpot == r.itl
    # prefill of 2048 tokens: 2 x 7.0e9 matmul params x 2048 = 2.9e13 FLOP at ~0.7 of 989 TFLOP/s ~ 42 ms + attn
    assert 35 < r.ttft.to("ms").magnitude < 70


def test_memory_and_kv_capacity():
    # KV per sequence of 2048+256 tokens: 131,072 B x 2304 = 0.302 GB; free = 80 GiB - 16.06 - 2.5 - ~0.2 GB
    r = ServingModel().solve(L8, H100, seq_len=2048, batch_size=1)
    assert r.memory_bytes["kv_cache"] == pytest.approx(131072 * 2304)
    assert r.kv_capacity == pytest.approx((80 * 2**30 - 16.06e9 - 2.5e9 - 0.22e9) / (131072 * 2304), abs=2)
    big = ServingModel().solve(L70, H100, seq_len=2048, batch_size=1)  # 141 GB of bf16 weights on 80 GB
    assert not big.feasible and big.binding == "capacity"


def test_precision_bytes_and_missing_dtype():
    assert serving_precision("int4")[0] == pytest.approx(0.5 + 2 / 128)  # group-128 fp16 scales
    assert serving_precision("fp4")[0] == pytest.approx(0.5625)          # NVFP4: fp8 scale per 16
    with pytest.raises(ConfigError, match="compute_precision"):
        ServingModel().solve(L8, A100, precision="fp8")  # A100 has no fp8 tensor cores
    # fp8 weights halve the streamed bytes: ITL about half of bf16's
    r16 = ServingModel().solve(L8, H100, seq_len=512, batch_size=1)
    r8 = ServingModel().solve(L8, H100, seq_len=512, batch_size=1, precision="fp8")
    assert r8.itl_s / r16.itl_s == pytest.approx(0.5, abs=0.05)


def test_speculative_decoding_expected_tokens():
    # Leviathan et al. 2023: a = 0.75, k = 4 -> (1 - 0.75^5) / 0.25 = 3.051
    assert accepted_per_step(0.75, 4) == pytest.approx(3.0508, rel=1e-4)
    base = ServingModel().solve(L70, H100, seq_len=2048, batch_size=1, tp_size=4)
    spec = ServingModel().solve(L70, H100, seq_len=2048, batch_size=1, tp_size=4, draft_model=L8,
                                draft_acceptance_rate=0.75)
    # draft (8B on 4 GPUs) ~ 1/8 of a target step each, verify ~ one target step: (4/8 + 1) / 3.05 ~ 0.5
    assert 1.5 < spec.speculative_speedup < 2.5
    assert spec.itl_s < base.itl_s
    with pytest.raises(ConfigError):
        ServingModel().solve(L70, H100, tp_size=4, draft_model=L8, draft_acceptance_rate=1.0)


def test_bad_input():
    with pytest.raises(ConfigError):
        ServingModel().solve(L8, H100, output_len=0)
    with pytest.raises(ConfigError):
        ServingModel().solve(L8, H100, prefix_cache_hit=1.0)


def test_reasoning_wall_with_given_efficiency():
    # efficiency 0.5: each token streams the weights less the untied input table plus the token's row,
    # (8,030,261,248 - 128,256 x 4,096 + 4,096) x 2 B = 15,009,857,536 B, and the chain's KV cache at its mean
    # context 512 + 64: 131,072 B x 576 = 75.5 MB; at 0.5 x 3.35 TB/s 9.006 ms a token. 128 tokens + a 512-token
    # prefill (compute 1.6e10 x 512 = 8.2e12 / (0.5 x 989.5e12) = 16.6 ms) -> 1.169 s
    q = InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=128, precision="fp16",
                                      efficiency=0.5)
    per_token = (15_009_857_536 + 131_072 * 576) / 1.675e12
    assert q.total_reasoning_time.to("s").magnitude == pytest.approx(128 * per_token + 0.0166, rel=0.01)
    assert "overrides" in q.assumptions["efficiency"]
    # energy: at least idle power (90 W) x time, at most TDP (700 W) x time
    e = q.energy_per_query.to("J").magnitude
    assert 90 * 1.2 < e < 700 * 1.3
