"""fp8 linears under sequence-parallel TP: the forward all-gathers move the fp8 cast (1 B per element), the
reduce-scatters and the backward stay bf16 (Transformer Engine's LayerNormLinear; torchao Float8ColwiseParallel
in torchtitan). The stack field fp8_tp_gather switches it; the difference is derived by hand here."""
import dataclasses

import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.stacks import Stacks


def _tp_comm(stack, precision="fp8", **kw):
    res = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8,
                                   pp_size=1, dp_size=32, precision=precision, stack=stack, **kw)
    return res


def test_forward_gathers_carry_one_byte_per_element():
    core = Stacks.Training["megatron_core_2024"]
    assert core.fp8_tp_gather == 1
    off = dataclasses.replace(core, fp8_tp_gather=0.0)
    on_res, off_res = _tp_comm(core), _tp_comm(off)
    node = Systems.Clusters.Research_256.node
    su_bw = node.scaleup_bw * node.scaleup_efficiency  # bytes/s per GPU per direction
    # One micro-batch of 1 x 8192 tokens, h = 8192: each forward all-gather saves 7/8 x 8192 x 8192 x (2 - 1) B.
    save = 7 / 8 * 8192 * 8192 * 1.0 / su_bw
    # Selective recompute: 2 forward all-gathers per layer (before QKV and the up projection) of the 4 AG+RS
    # pairs; the LM head's share of the TP traffic is 2 of those 4 pairs' average: (lps + 2/4) layers' worth.
    m = on_res.layout["microbatches"]
    lps = 80
    expected = m * (lps + 2 / 4) * 2 * save
    delta = off_res.breakdown_s["tp_comm"] - on_res.breakdown_s["tp_comm"]
    assert delta == pytest.approx(expected, rel=1e-9)
    # the step gains at most that: the shorter layers also shrink the window the gradient reduction hides in
    assert 0.9 * expected < off_res.step_s - on_res.step_s <= expected


def test_bf16_runs_and_stacks_without_fp8_tp_are_unchanged():
    core = Stacks.Training["megatron_core_2024"]
    off = dataclasses.replace(core, fp8_tp_gather=0.0)
    assert _tp_comm(core, "bf16").step_s == _tp_comm(off, "bf16").step_s
    assert Stacks.Training["megatron_lm_2021"].fp8_tp_gather == 0


def test_no_sequence_parallel_no_gather_to_shrink():
    # without sequence parallelism TP all-reduces partial sums (no all-gather of a cast input)
    core = Stacks.Training["megatron_core_2024"]
    off = dataclasses.replace(core, fp8_tp_gather=0.0)
    assert _tp_comm(core, sequence_parallel=False).step_s == _tp_comm(off, sequence_parallel=False).step_s
