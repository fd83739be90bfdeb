"""The power-cap clock and the prior the cross-validation scores the capped (torchtitan) rows on."""
from dataclasses import replace

import pytest

from mlsysim import Systems
from mlsysim.hardware.accelerator import power_limit_clock
from mlsysim.validation import crossval as X


def test_capped_clock_by_hand():
    acc = Systems.Nodes["DGX_A100"].accelerator  # A100 SXM4 80GB: 400 W, idle 60 W (registry)
    capped = replace(acc, tdp_w=350.0, full_power_w=400.0)  # Llama 2 34B's production cluster, 350 W
    with X.constants({"DVFS_POWER_EXPONENT": 1.0}):  # voltage floor: dynamic power ~ f
        assert power_limit_clock(capped) == pytest.approx(290 / 340)  # 0.853
    with X.constants({"DVFS_POWER_EXPONENT": 3.0}):  # voltage tracking frequency: ~ f^3
        assert power_limit_clock(capped) == pytest.approx((290 / 340) ** (1 / 3))  # 0.948
    assert power_limit_clock(acc) == 1.0  # uncapped


def test_prior_is_the_voltage_floor_and_searched_first():
    # the exponent starts at k = 1 (tools/dvfs_prior.py: Llama 2 34B at 350 W) and is the first coordinate, so
    # a fit without any capped run keeps it there while the other constants follow their usual path
    assert X.PRIOR["DVFS_POWER_EXPONENT"] == 1.0 == min(X.GRID["DVFS_POWER_EXPONENT"])
    assert next(iter(X.GRID)) == "DVFS_POWER_EXPONENT"
    assert X.load_table()["families"]["torchtitan"]["constants"]["DVFS_POWER_EXPONENT"] == 1.0
