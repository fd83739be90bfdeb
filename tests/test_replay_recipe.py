"""DeepSeek-V3's activation recipe (stack field replay_cheap_ops; arXiv:2412.19437 Sec 3.2.3 and 3.3.2): under
selective recompute the RMSNorm outputs, the SwiGLU output and MLA's up-projections are replayed in the backward
from cached inputs (fp8), and the dispatched expert inputs are cached at the fp8 dispatch precision."""
import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.physics.training_memory import activation_bytes_per_layer
from mlsysim.physics.workload_dims import model_dims
from mlsysim.systems.system import Fleet


def test_moe_layer_activations_by_hand():
    d = model_dims(Models.get("DeepSeek_V3"))
    T, h = 4096, 7168  # one 4K sequence, TP 1
    # kept: dispatched expert inputs 8 copies x h at 1 B (fp8) + expert outputs at 2 B for the combine's backward
    dispatched = T * 8 * h * (1 + 2)
    # MLA latents q 1536 + kv 512 + rotary key 64 in fp8; the out-projection input (128 heads x 128) in fp8;
    # SwiGLU's gate and up inputs over (8 routed + 1 shared) x 2048 in fp8 (its product is replayed)
    sharded = T * (1 * (1536 + 512 + 64) + 1 * (128 * 128 + 2 * 9 * 2048))
    replicated = T * h * 2 * 2  # the two RMSNorm inputs in bf16 (their outputs are replayed)
    expected = dispatched + sharded + replicated
    assert expected == 1_048_838_144
    got = activation_bytes_per_layer(d, float(T), float(T), 1.0, 1, True, False, 1.0, 2.0, None, 1.0,
                                     replay=1.0, disp_bytes=1.0)
    assert got == pytest.approx(expected, rel=1e-12)
    # without the recipe the same layer keeps Q, K, V (128 x (192 + 192 + 128)) in bf16, the norm outputs and the
    # SwiGLU product: about twice as much
    plain = activation_bytes_per_layer(d, float(T), float(T), 1.0, 1, True, False, 1.0, 2.0, None, 1.0)
    assert plain > 2.0 * got


def _deepseek(recompute, stack="deepseek_v3_2024"):
    node = Systems.Nodes["HGX_H800"]
    fleet = Fleet(node=node, count=256, fabric=Systems.Fabrics["InfiniBand_NDR"])
    return DistributedModel().solve(Models.get("DeepSeek_V3"), fleet, tp_size=1, pp_size=16, ep_size=64,
                                    precision="fp8", stack=stack, zero_stage=1, ep_overlap=1.0,
                                    recompute=recompute, global_batch_size=15360)


def test_deepseek_stated_layout_fits_without_tensor_parallelism():
    # Sec 3.2.3: the memory savings let DeepSeek-V3 train without tensor parallelism (TP1, PP16, EP64 on 80 GB)
    sel = _deepseek("selective")
    assert sel.feasible and sel.memory_bytes["activations"] < 0.7 * sel.memory_capacity_bytes
    assert not _deepseek("selective", stack="megatron_core_2024").feasible  # the same layout without the recipe


def test_replay_costs_at_least_the_up_projections_and_little_else():
    sel, full = _deepseek("selective"), _deepseek("full")
    m, layers = sel.layout["microbatches"], 4  # 61 layers over 16 stages: the last stage paces with ceil = 4
    # MLA up-projections per token: q 1536 -> 128 x 192, kv 512 -> 128 x (128 + 128): 2 x 54.5M FLOPs
    flops = 2 * (1536 * 128 * 192 + 512 * 128 * 256) * 4096 * layers * m
    fp8_peak = Systems.Nodes["HGX_H800"].accelerator.peak("fp8")
    assert sel.breakdown_s["recompute"] >= flops / fp8_peak
    assert sel.breakdown_s["recompute"] < 0.1 * full.breakdown_s["recompute"]


def test_hfu_counts_the_replayed_up_projections():
    sel = _deepseek("selective")
    # per token: 61 layers x 2 x (1536 x 24576 + 512 x 32768) FLOPs replayed, over the model's 3 x forward
    # FLOPs per token that MFU counts (HFU / MFU = 1 + replayed / (3 x forward))
    replayed = 61 * 2 * (1536 * 24576 + 512 * 32768)
    fwd = sel.flops_per_device * 2048 / sel.tokens_per_s / 3  # model FLOPs per token, forward
    assert sel.hfu / sel.mfu == pytest.approx(1 + replayed / (3 * fwd), rel=1e-9)
