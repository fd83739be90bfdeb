"""The stack field fp8_weight_copy_bytes: under fp8, Transformer Engine keeps each linear weight's fp8 cast AND its
fp8 transpose through the step (Hopper's fp8 GEMMs take only the TN layout, so the backward needs W^T in fp8;
Megatron-Core caches both unless disable_parameter_transpose_cache): 2 B per parameter over the bf16 weights.
Stacks whose fp8 recipe is not known to keep the transpose keep the 1 B charged before."""
import dataclasses

import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.stacks import Stacks

# Llama 3 70B by hand: 80 layers of q, o 8192 x 8192, k, v 8192 x 1024, SwiGLU 3 x 8192 x 28672, 2 norms of 8192;
# untied embedding and head 2 x 128256 x 8192 (the device count leaves out the final norm's 8192)
LAYER = 2 * 8192 * 8192 + 2 * 8192 * 1024 + 3 * 8192 * 28672 + 2 * 8192
PER_DEVICE = (80 * LAYER + 2 * 128256 * 8192) / 8  # TP 8, PP 1
assert PER_DEVICE == 8_819_212_288


def _weights(precision, stack):
    r = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=1,
                                 dp_size=32, precision=precision, stack=stack)
    return r.memory_bytes["weights"]


def test_transformer_engine_keeps_the_cast_and_its_transpose():
    core = Stacks.Training["megatron_core_2024"]
    assert core.fp8_weight_copy_bytes == 2
    # bf16 weights (2 B) in both runs; fp8 adds 2 x 8.82e9 B = 17.64 GB per GPU
    extra = _weights("fp8", core) - _weights("bf16", core)
    assert extra == pytest.approx(2 * PER_DEVICE, rel=1e-12)
    assert extra == pytest.approx(17.64e9, rel=1e-3)
    one = dataclasses.replace(core, fp8_weight_copy_bytes=1.0)  # without the cached transpose
    assert _weights("fp8", core) - _weights("fp8", one) == pytest.approx(PER_DEVICE, rel=1e-12)


def test_torchao_float8_keeps_one_copy():
    extra = _weights("fp8", "pytorch_fsdp2_compiled") - _weights("bf16", "pytorch_fsdp2_compiled")
    assert extra == pytest.approx(1 * PER_DEVICE, rel=1e-12)


def test_the_fp8_stacks_and_only_they_hold_copies():
    for k in Stacks.Training.names():
        rec = Stacks.Training[k]
        assert (rec.fp8_weight_copy_bytes > 0) == (rec.fp8_cast_passes > 0), k
