"""SingleNodeModel: roofline numbers checked against hand calculations."""
import pytest

from mlsysim import ConfigError, Hardware, Models, SingleNodeModel


def test_decode_batch1_is_memory_bound_at_weight_streaming_speed():
    r = SingleNodeModel().solve(Models.Language.Llama3_70B, Hardware.Cloud.H100, mode="decode", seq_len=1024)
    # Hand: one token reads all 70.55e9 bf16 weights = 141.1 GB; at 3.35 TB/s x 0.85 achievable = 49.6 ms
    assert r.latency.to("ms").magnitude == pytest.approx(141.1e9 / (3.35e12 * 0.85) * 1e3, rel=0.03)
    assert r.bound == "memory"
    # ~2 FLOPs per weight per token over ~2 bytes per weight: intensity ~1 FLOP/byte
    assert r.arithmetic_intensity == pytest.approx(1.0, rel=0.1)


def test_prefill_is_compute_bound():
    r = SingleNodeModel().solve(Models.Language.Llama3_70B, "H100", mode="prefill", seq_len=4096)
    assert r.bound == "compute"
    # Hand FLOPs: 4096 tokens x (2 x 68.45e9 layer weights + 80 layers x 2*64*(128+128)*2048 causal ctx)
    # + the LM head at the last position 2*8192*128256
    hand = 4096 * (2 * 68.45e9 + 80 * 2 * 64 * 256 * 2048) + 2 * 8192 * 128256
    assert r.flops == pytest.approx(hand, rel=0.01)
    assert 0.3 < r.efficiency < 0.8


def test_training_on_one_gpu_does_not_fit_70b():
    r = SingleNodeModel().solve(Models.Language.Llama3_70B, "H100", mode="training")
    assert r.feasible is False and r.memory_total.to("GB").magnitude > 1000


def test_bad_mode_and_precision():
    with pytest.raises(ConfigError, match="mode"):
        SingleNodeModel().solve("Llama3_70B", "H100", mode="serve")
    with pytest.raises(ConfigError):
        SingleNodeModel().solve("Llama3_70B", "H100", batch_size=0)
