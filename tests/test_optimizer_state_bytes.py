"""The stack field optimizer_state_bytes: DeepSeek-V3 keeps AdamW's moments in bf16 next to fp32 master weights
(arXiv:2412.19437 Sec 3.3.3): 4 + 2 + 2 = 8 B per parameter, not mixed-precision Adam's 4 + 4 + 4 = 12 (ZeRO,
arXiv:1910.02054 Sec 3.1). The per-device memory of one DeepSeek-V3 layout, by hand."""
import dataclasses

import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.stacks import Stacks
from mlsysim.systems.system import Fleet

# DeepSeek-V3 parameters by hand (arXiv:2412.19437 Sec 4.2; HF config): 61 layers, h = 7168, 128 heads.
# MLA per layer: q down 7168 x 1536, q up 1536 x 128 x 192, kv down 7168 x (512 + 64), kv up 512 x 128 x (128 + 128),
# output 128 x 128 x 7168, norms 1536 + 512 + 2 x 7168
ATTN = 7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168 + 1536 + 512 + 2 * 7168
EXPERT = 3 * 7168 * 2048  # one SwiGLU expert of width 2048
ROUTED = 58 * 256 * EXPERT  # 58 MoE layers x 256 routed experts
DENSE = (61 * ATTN + 3 * 3 * 7168 * 18432  # 3 dense-FFN layers of width 18432
         + 58 * (EXPERT + 256 * 7168)  # the shared expert and the router of each MoE layer
         + 2 * 129_280 * 7168 + 7168)  # untied embedding and head, final norm
TOTAL = DENSE + ROUTED


def _solve(stack):
    # 32 HGX H800 nodes = 256 GPUs: TP1, PP1, EP 256 = DP 256, ZeRO-1 (Sec 3.2 trains with ZeRO-1 DP)
    fleet = Fleet(node=Systems.Nodes["HGX_H800"], count=32, fabric=Systems.Fabrics["InfiniBand_NDR"])
    return DistributedModel().solve(Models.Language.DeepSeek_V3, fleet, tp_size=1, pp_size=1, ep_size=256,
                                    precision="fp8", stack=stack, zero_stage=1, recompute="full",
                                    global_batch_size=1024)


def test_hand_count_is_the_published_671b():
    assert TOTAL == pytest.approx(671e9, rel=1e-3)
    assert Models.Language.DeepSeek_V3.params == TOTAL


def test_deepseek_v3_memory_per_device_by_hand():
    assert Stacks.Training["deepseek_v3_2024"].optimizer_state_bytes == 8
    r = _solve("deepseek_v3_2024")
    assert r.layout["dp_size"] == 256
    # a device holds every dense parameter and 1/256 of the routed experts
    local = DENSE + ROUTED / 256
    assert local == pytest.approx(19.672e9, rel=1e-4)
    m = r.memory_bytes
    # bf16 weights (2 B) + the fp8 copy (1 B); fp32 gradients (grad_reduce_bytes 4). The device count leaves out
    # the final norm's 7,168 parameters (physics.training_memory.params_per_device): 4e-7 of the total
    assert m["weights"] == pytest.approx(3 * (local - 7168), rel=1e-9)
    assert m["gradients"] == pytest.approx(4 * (local - 7168), rel=1e-9)
    # ZeRO-1: dense state sharded over DP 256, expert state over DP/EP = 1 replica: 8 B x 671.0e9 / 256 = 20.97 GB
    assert m["optimizer"] == pytest.approx(8 * (TOTAL - 7168) / 256, rel=1e-9)
    assert m["optimizer"] == pytest.approx(20.97e9, rel=1e-3)


def test_fp32_moments_hold_half_as_much_again():
    rec = dataclasses.replace(Stacks.Training["deepseek_v3_2024"], optimizer_state_bytes=12.0)
    bf16, fp32 = _solve("deepseek_v3_2024"), _solve(rec)
    # 4 B more per parameter of state, sharded as above: 4 x 671.0e9 / 256 = 10.48 GB
    assert fp32.memory_bytes["optimizer"] - bf16.memory_bytes["optimizer"] == pytest.approx(
        4 * (TOTAL - 7168) / 256, rel=1e-9)  # (less the final norm, as above)
    assert fp32.step_s == bf16.step_s  # a memory field: the optimizer's traffic is optimizer_bytes_per_param


def test_other_stacks_keep_twelve_bytes():
    assert {k for k in Stacks.Training.names() if Stacks.Training[k].optimizer_state_bytes != 12} \
        == {"deepseek_v3_2024"}
