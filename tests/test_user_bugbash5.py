"""Bug bash 5 (tutorial module 3: distributed training, economics, sustainability, composition): each test
asserts a hand-derived or published number; the derivation is in the test."""
from __future__ import annotations

import warnings

import pytest

from mlsysim import DistributedModel, Models, SustainabilityModel, Systems
from mlsysim.errors import ConfigError


def _infeasible_perf():
    """Llama 3 70B with no model parallelism on 80 GB H100s: bf16 weights alone are 70.6e9 x 2 B = 141 GB > 86 GB,
    so the layout cannot fit (feasible=False)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
                                        tp_size=1, pp_size=1, dp_size=256)


def test_regions_of_an_infeasible_run_carry_the_mark():
    """The geography table composed from an infeasible plan says so (it printed a clean 41x table), while its
    ratio stays the grid ratio 820 / 20 = 41."""
    perf = _infeasible_perf()
    assert perf.feasible is False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = SustainabilityModel().regions(performance=perf, facility="US_Colo", grids=["Quebec", "Poland"])
    assert res.feasible is False
    assert "INFEASIBLE" in res.table()
    assert round(res.ratio) == 41
