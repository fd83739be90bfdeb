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


def test_decode_reads_one_row_of_an_untied_input_embedding():
    # Pythia 160M (untied, Biderman et al. 2023 Table 1: 162,322,944 params; vocab 50,304 x 768 input table).
    # One decode step over a 1-token context reads every weight but the input table, plus the token's row:
    # (162,322,944 - 50,304 x 768 + 768) x 2 B = 247,380,480 B; KV 12 layers x 2 x 12 heads x 64 x 2 B = 36,864 B;
    # activations 4 passes x 768 x 12 layers x 2 B = 73,728 B. Total 247,491,072 B.
    r = SingleNodeModel().solve(Models.Language.Pythia_160M, Hardware.Cloud.H100, mode="decode", seq_len=1)
    assert r.bytes_moved == pytest.approx(247_491_072, rel=1e-9)


def test_decode_of_one_token_reads_only_the_experts_it_is_routed_to():
    # Mixtral 8x7B, one token: top-2 of 8 experts per layer, so 6 x 32 layers x 3 x 4,096 x 14,336 =
    # 33,822,867,456 expert weights stay unread; nor the untied input table (32,000 x 4,096 = 131,072,000) but the
    # token's row (4,096). Total 46,702,792,704 params (Jiang et al. 2024 Table 1 dims): streamed 12,748,857,344
    # params, which is the published 12.9B active less the input table; x 2 B = 25,497,714,688 B. KV 32 layers x
    # 2 x 8 heads x 128 x 2 B = 131,072 B; activations 4 x 4,096 x 32 x 2 B = 1,048,576 B.
    r = SingleNodeModel().solve(Models.Language.Mixtral_8x7B, Hardware.Cloud.H200, mode="decode", seq_len=1)
    assert r.bytes_moved == pytest.approx(25_497_714_688 + 131_072 + 1_048_576, rel=1e-6)


@pytest.mark.parametrize("mode", ["decode", "prefill"])
def test_the_roofline_never_beats_the_prediction(mode):
    # The ideal roof is the datasheet bound on the minimum traffic and FLOPs: no prediction may run faster than it
    # (it did for small untied models while the whole input table counted as read: efficiency 1.30 for Pythia 70M).
    from mlsysim.engine.engine import Engine
    for name in dir(Models.Language):
        m = getattr(Models.Language, name)
        if name.startswith("_") or not hasattr(m, "n_layers"):
            continue
        r = Engine.solve(m, Hardware.Cloud.H100, batch_size=1, seq_len=512, precision="fp16",
                         **({} if mode == "decode" else {"mode": "prefill"}))
        assert r.ideal_latency.to("s").magnitude <= r.latency.to("s").magnitude * (1 + 1e-9), name
