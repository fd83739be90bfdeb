"""An fp8 or int8 inference pass streams 1-byte weights: SingleNodeModel (and Engine.solve, `mlsysim eval`,
synthesis and sensitivity on top of it) counted 2 bytes per weight for fp8/int8 decode (training's bf16
activations rule), so Llama 3 8B decoded at int8 as slowly as at bf16 with 16 GB of weights."""
from __future__ import annotations

import pytest

from mlsysim import Hardware, Models, SingleNodeModel
from mlsysim.engine.engine import Engine
from mlsysim.solvers import ServingModel

L8, H100 = Models.Language.Llama3_8B, Hardware.Cloud.H100


@pytest.mark.parametrize("p", ["fp8", "int8"])
def test_one_byte_weights_at_fp8_and_int8(p):
    r = SingleNodeModel().solve(L8, H100, mode="decode", precision=p, seq_len=2048)
    bf = SingleNodeModel().solve(L8, H100, mode="decode", precision="bf16", seq_len=2048)
    # hand: 8,030,261,248 parameters x 1 byte = 8.03 GB; streaming them at 3.35 TB/s takes >= 2.397 ms
    assert r.memory_bytes["weights"] == pytest.approx(8_030_261_248)
    assert r.latency_s >= 8.030261248e9 / 3.35e12
    # decode is weight-streaming: half the bytes, about half the time (the KV cache halves too)
    assert r.latency_s / bf.latency_s == pytest.approx(0.5, abs=0.01)
    # the same pass through the serving solver (its own kernels, one batch-1 step) agrees within 1 %
    itl = ServingModel().solve(L8, H100, seq_len=2048, precision=p).itl_s
    assert r.latency_s == pytest.approx(itl, rel=0.01)
    assert Engine.solve(L8, H100, precision=p, seq_len=1).latency_s < 0.51 * \
        Engine.solve(L8, H100, precision="bf16", seq_len=1).latency_s


def test_training_at_fp8_keeps_its_bf16_activations():
    # training's rule: fp8 GEMMs over bf16 weights plus their fp8 cast and its fp8 transpose (Transformer Engine,
    # the default stack's fp8_weight_copy_bytes 2), 4 B per parameter = 32.12 GB, where inference at fp8 holds 1 B
    r = SingleNodeModel().solve(L8, H100, mode="training", precision="fp8", seq_len=2048)
    assert r.memory_bytes["weights"] == pytest.approx(4 * 8_030_261_248)


def test_a_microcontroller_capacity_is_not_zero_gb():
    pytest.importorskip("typer")
    from typer.testing import CliRunner
    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["eval", "--model", "Llama3_8B", "--hardware", "nRF52840", "--mode", "decode",
                                 "--precision", "int8"])
    # nRF52840: 1 MiB flash + 256 KiB RAM = 1,310,720 B = 0.00131 GB (it printed "has 0 GB")
    assert r.exit_code == 4 and "has 0.00131 GB" in r.output and "capacity 0.00131 GB" in r.output

