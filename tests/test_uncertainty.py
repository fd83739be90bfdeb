"""Vectorised Monte Carlo: reproducible, consistent with the scalar solvers, intervals that mean something, and
clear errors for bad ranges."""
import numpy as np
import pytest

from mlsysim import ConfigError, DistributedModel, Models, Systems
from mlsysim.errors import UnknownNameError
from mlsysim.solvers.goodput import GoodputModel
from mlsysim.uncertainty import UncertaintyModel, evaluate_performance, monte_carlo, parse_range


@pytest.fixture(scope="module")
def perf():
    return DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
                                    tp_size=8, pp_size=1, zero_stage=2)


def test_reevaluation_reproduces_the_solver(perf):
    out = evaluate_performance(perf)
    assert float(out["step"]) == pytest.approx(perf.step_s, rel=1e-12)
    assert float(out["mfu"]) == pytest.approx(perf.mfu, rel=1e-12)
    arr = evaluate_performance(perf, ceiling_scale=np.array([0.9, 1.0, 1.05]))
    assert arr["step"][1] == pytest.approx(perf.step_s, rel=1e-12)
    assert arr["step"][0] > arr["step"][1] > arr["step"][2]


def test_deterministic_with_seed_and_median_inside(perf):
    a = UncertaintyModel().solve(performance=perf, samples=500, seed=42)
    b = UncertaintyModel().solve(performance=perf, samples=500, seed=42)
    c = UncertaintyModel().solve(performance=perf, samples=500, seed=7)
    assert a.stats == b.stats
    assert np.array_equal(a.samples["time_to_train"], b.samples["time_to_train"])
    assert a.stats["time_to_train"] != c.stats["time_to_train"]
    for k, (lo, mid, hi) in a.stats.items():
        assert lo <= mid <= hi, k
    lo, mid, hi = a.interval("time_to_train")
    assert lo < hi  # the default ranges do move the answer
    assert a.latency.to("day").magnitude == pytest.approx(mid)
    assert "90% interval" in str(a) and "<table>" in a._repr_html_()


def test_point_estimate_matches_scalar_solvers(perf):
    mc = monte_carlo(perf, {"matmul_efficiency_scale": (0.95, 1.0)}, samples=200, seed=0)
    g = GoodputModel().solve(performance=perf)
    assert mc.point["mfu"] == pytest.approx(perf.mfu, rel=1e-12)
    assert mc.point["time_to_train"] == pytest.approx(g.time_to_train_s / 86400, rel=1e-9)
    assert mc.point["goodput"] == pytest.approx(g.goodput, rel=1e-9)
    assert mc.point["interruptions"] == pytest.approx(g.expected_interruptions, rel=1e-9)
    # fixed inputs collapse the interval onto the point
    fixed = monte_carlo(perf, {"straggler_cv": perf.assumptions["straggler CV per rank"]}, samples=50, seed=0)
    lo, mid, hi = fixed.interval("mfu")
    assert lo == pytest.approx(hi) == pytest.approx(perf.mfu)
    # slower matmuls only ever lengthen training: every sample is at or above the nominal run
    assert np.all(mc.samples["useful_time"] >= perf.time_to_train_s / 86400 * (1 - 1e-12))


def test_failure_range_moves_interruptions_not_mfu(perf):
    mc = monte_carlo(perf, {"failure_rate_scale": ("loguniform", 0.5, 2.0)}, samples=400, seed=1)
    lo, mid, hi = mc.interval("interruptions")
    assert hi / lo > 3  # a 4x range of rates
    mlo, _, mhi = mc.interval("mfu")
    assert mlo == pytest.approx(mhi)
    nog = monte_carlo(perf, {"matmul_efficiency_scale": (0.9, 1.0)}, samples=50, seed=0, goodput=False)
    assert nog.interval("goodput") == (1.0, 1.0, 1.0)


def test_energy_carbon_cost(perf):
    mc = monte_carlo(perf, {"pue": (1.08, 1.2), "grid_gco2_per_kwh": (300, 500), "price_scale": (0.8, 1.25),
                            "electricity_usd_per_kwh": ("triangular", 0.05, 0.07, 0.1)},
                     datacenter="GCP_Iowa", samples=400, seed=0)
    for k in ("energy", "carbon", "cost"):
        lo, mid, hi = mc.interval(k)
        assert 0 < lo < mid < hi, k
    # carbon = facility kWh x g/kWh: its spread is at least the grid's 300-500 spread
    lo, _, hi = mc.interval("carbon")
    assert hi / lo > 1.4
    tight = monte_carlo(perf, {"pue": 1.1}, datacenter="GCP_Iowa", samples=20, seed=0)
    assert tight.interval("energy")[0] == pytest.approx(tight.interval("energy")[2])


@pytest.mark.parametrize("ranges, match", [
    ({"pue": (1.2, 1.1)}, "low end 1.2 exceeds the high end 1.1"),
    ({"straggler_cv": (-0.01, 0.01)}, "below the lowest valid value"),
    ({"failure_rate_scale": (-1, 2)}, "below the lowest valid value"),
    ({"pue": (0.9, 1.2)}, "lowest valid value 1"),
    ({"matmul_efficiency_scale": (0, 1)}, "at the lowest valid value"),
    ({"failure_rate_scale": ("loguniform", 0, 2)}, "log-uniform"),
    ({"pue": ("triangular", 1.1, 1.3, 1.2)}, "mode"),
    ({"pue": ("gaussian", 1.1, 1.2)}, "distribution"),
    ({"pue": (1.1, 1.2, 1.3)}, "expected"),
    ({"pue": (1.1, float("nan"))}, "finite"),
    ({"pue": "high"}, "finite numbers"),
])
def test_bad_ranges(ranges, match):
    with pytest.raises(ConfigError, match=match):
        for k, v in ranges.items():
            parse_range(k, v)


def test_bad_solve_input(perf):
    with pytest.raises(UnknownNameError, match="straggler_cv"):
        monte_carlo(perf, {"straggler_cvv": (0.001, 0.01)})
    with pytest.raises(ConfigError, match="datacenter"):
        monte_carlo(perf, {"pue": (1.1, 1.2)})
    with pytest.raises(ConfigError, match="level"):
        monte_carlo(perf, level=90)
    with pytest.raises(ConfigError, match="samples"):
        monte_carlo(perf, samples=0)
    with pytest.raises(ConfigError, match="goodput=True"):
        monte_carlo(perf, {"failure_rate_scale": (0.5, 2)}, goodput=False)
    with pytest.raises(ConfigError, match="performance"):
        UncertaintyModel().solve(ranges={"pue": (1.1, 1.2)})
