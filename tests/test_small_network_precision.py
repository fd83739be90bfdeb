"""A small network on a chip without the asked precision: the error names the precisions the chip has, as the
transformer path does, and never a keyword Engine.solve does not take (it suggested compute_precision=)."""
import pytest

from mlsysim import Hardware
from mlsysim.engine.engine import Engine
from mlsysim.errors import ConfigError
from mlsysim.models.small import SmallModels


def test_missing_precision_names_what_the_chip_has():
    # nRF52840 datasheet + Cortex-M4 TRM: an FPU for fp32 and SMLAD for int8, no fp16 arithmetic
    with pytest.raises(ConfigError) as e:
        Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.nRF52840, precision="fp16")
    msg = str(e.value)
    assert "fp32, int8" in msg and "compute_precision" not in msg  # Engine.solve takes no compute_precision=


def test_a_precision_the_chip_has_runs_at_its_peak():
    # fp32 on the nRF52840: 1 FLOP/cycle x 64 MHz = 64 MFLOP/s; DS-CNN (S) 5.4 MFLOP -> 84.4 ms at the ideal roof
    r = Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.nRF52840, precision="fp32")
    assert r.ideal_latency.to("s").magnitude == pytest.approx(5.4e6 / 64e6, rel=1e-6)
