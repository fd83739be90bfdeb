"""A chip whose listed fp8 peak equals its bf16 peak (TPU v5p: 459 TF/s both, Google Cloud TPU v5p docs via
shared/validation/hardware.csv; Gaudi 3: 1835 TF/s both, Intel Gaudi 3 white paper 2024) gains no fp8 speed-up on
its GEMMs, so fp8 GEMMs keep the chip's 16-bit matmul ceiling. Before the fix they took the fp8 default (0.72, the
H100/H200 fp8 MAMF share of a *doubled* peak), which made fp8 prefill on TPU v5p ~8 % slower than bf16 prefill
(found by tools/sanity_sweep.py: 568 serving configurations)."""
import pytest

from mlsysim import Hardware, Models
from mlsysim.solvers import ServingModel
from mlsysim.solvers.distributed import accelerator_args

# Hand: TPU v5p has no measured MAMF -> the bf16 default ceiling 0.78 (physics/constants.py) x the framework GEMM
# fraction 0.88 = 0.6864, for bf16 and for fp8 alike.
V5P_CEILING = 0.78 * 0.88
# Hand: H100 has a measured fp8 MAMF, 1402.6 / 1979 TF/s = 0.7087 (stas00 MAMF table) -> x 0.88 = 0.6237: unchanged.
H100_FP8_CEILING = 1402.6 / 1979 * 0.88


def test_same_rate_fp8_keeps_16_bit_ceiling_in_serving():
    r16, r8 = (ServingModel().solve(Models.Language.Llama3_8B, Hardware.Cloud.TPUv5p, seq_len=2048, batch_size=8,
                                    precision=p) for p in ("bf16", "fp8"))
    assert r8.assumptions["matmul ceiling"] == pytest.approx(V5P_CEILING, rel=1e-9)
    assert r16.assumptions["matmul ceiling"] == pytest.approx(V5P_CEILING, rel=1e-9)
    # same compute rate and ceiling, half the weight bytes: fp8 prefill is no slower than bf16 prefill
    assert r8.ttft_s <= r16.ttft_s


def test_same_rate_fp8_keeps_16_bit_ceiling_in_training():
    assert accelerator_args(Hardware.Cloud.TPUv5p, "fp8")["lin_ceiling"] == pytest.approx(V5P_CEILING, rel=1e-9)


def test_measured_fp8_ceiling_unchanged():
    assert accelerator_args(Hardware.Cloud.H100, "fp8")["lin_ceiling"] == pytest.approx(H100_FP8_CEILING, rel=1e-3)
    r = ServingModel().solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, seq_len=2048, precision="fp8")
    assert r.assumptions["matmul ceiling"] == pytest.approx(H100_FP8_CEILING, rel=1e-3)
