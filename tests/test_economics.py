"""EconomicsModel and the cost physics: hand-worked TCO, renting, composition, bad input."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest

from mlsysim.errors import ConfigError, UnknownNameError
from mlsysim.physics import cost as PX
from mlsysim.solvers.economics import EconomicsModel
from mlsysim.solvers.sustainability import SustainabilityModel
from mlsysim.units import Q

sys.path.insert(0, str(Path(__file__).parent))  # shared record builders (works under any pytest import mode)
from test_sustainability import make_dc, make_fleet  # noqa: E402


def simple_case(**kw):
    """256 chips at a measured 1,000 W each (host included), no switches, PUE 1.0, $0.10/kWh, $25k per chip."""
    fleet = make_fleet(measured=1000.0, switch_w=0.0, price=25_000.0)
    dc = make_dc(pue=1.0, price=0.10)
    args = dict(fleet=fleet, duration_days=30, datacenter=dc, cloud_usd_per_gpu_hour=4.0)
    args.update(kw)
    return EconomicsModel().solve(**args)


def test_hand_worked_tco():
    """The tutorial's shortcut, infrastructure_multiplier=2.5 (all of CapEx amortised over the IT life).
    CapEx:        256 x $25,000 = $6.4M of accelerators, x 2.5 (GPUs 40 % of CapEx) = $16.0M
    amortised:    $16.0M x 30 d / (5 x 365.25 d)             = $262,833.68
    energy:       256 x 1 kW x 720 h = 184,320 kWh x $0.10    = $18,432.00
    maintenance:  $16.0M x 5 %/yr x 30 / 365.25               = $65,708.42
    run total                                                 = $346,974.10
    per GPU-hour: $346,974.10 / (256 x 720 = 184,320 GPU-h)   = $1.8825
    renting:      184,320 GPU-h x $4.00                       = $737,280
    break-even:   fixed per GPU-year = ($16M / 5 + $16M x 5 %) / 256 = $15,625;
                  energy per busy GPU-hour = 1 kWh x $0.10 = $0.10
                  u* = 15,625 / (8,766 h x (4.00 - 0.10)) = 0.45704
    """
    e = simple_case(infrastructure_multiplier=2.5)
    assert e.capex.to("USD").magnitude == pytest.approx(16.0e6)
    assert e.capex_breakdown["accelerators"].magnitude == pytest.approx(6.4e6)
    assert e.accelerator_share_of_capex == pytest.approx(0.40)
    assert e.capex_amortized.magnitude == pytest.approx(262_833.68, rel=1e-6)
    assert e.opex_energy.magnitude == pytest.approx(18_432.0, rel=1e-9)
    assert e.opex_maintenance.magnitude == pytest.approx(65_708.42, rel=1e-6)
    assert e.tco.magnitude == pytest.approx(346_974.10, rel=1e-6)
    assert e.cost_per_gpu_hour.to("USD/hour").magnitude == pytest.approx(1.8825, rel=1e-4)
    assert e.cloud_cost.magnitude == pytest.approx(737_280.0)
    assert e.break_even_utilization == pytest.approx(0.45704, rel=1e-4)
    assert sum(e.split.values()) == pytest.approx(1.0)
    assert e.cost_per_million_tokens is None  # no token count known


def test_explicit_infrastructure_breakdown():
    parts = {"network": 1.0e6, "power": Q(0.5e6, "USD"), "cooling": 0.5e6, "facility": 2.0e6}
    e = simple_case(infrastructure_usd=parts)
    # $6.4M GPUs + $4.0M infrastructure = $10.4M; GPUs 61.5 %
    assert e.capex.magnitude == pytest.approx(10.4e6)
    assert e.accelerator_share_of_capex == pytest.approx(6.4 / 10.4)
    assert set(e.capex_breakdown) == {"accelerators", "network", "power", "cooling", "facility"}


def test_tokens_give_cost_per_million_tokens():
    e = simple_case(tokens=1e11)
    assert e.cost_per_million_tokens.magnitude == pytest.approx(e.tco.magnitude / 1e11 * 1e6)


def test_composition_perf_to_sustainability_to_economics_no_number_typed_twice():
    fleet = make_fleet()
    perf = types.SimpleNamespace(fleet=fleet, latency=Q(20, "day"), mfu=0.45, tokens=2e12,
                                 step_latency=Q(4.0, "s"), model=None)
    dc = make_dc()
    sust = SustainabilityModel().solve(performance=perf, datacenter=dc)
    econ = EconomicsModel().solve(sustainability=sust)
    econ2 = EconomicsModel().solve(performance=perf, datacenter=dc)
    assert econ.tco.magnitude == pytest.approx(econ2.tco.magnitude)
    # everything flows from the objects
    assert econ.duration_s == pytest.approx(perf.latency.to("s").magnitude)
    assert econ.opex_energy.magnitude == pytest.approx(
        sust.facility_energy.to("kWh").magnitude * dc.electricity_usd_per_kwh)
    assert econ.cost_per_million_tokens.magnitude == pytest.approx(econ.tco.magnitude / perf.tokens * 1e6)
    with pytest.raises(ConfigError, match="not both"):
        EconomicsModel().solve(sustainability=sust, fleet=fleet)
    with pytest.raises(ConfigError, match="tokens"):
        EconomicsModel().solve(sustainability=sust, tokens=1e9)


def test_composition_with_real_distributed_model():
    solvers = pytest.importorskip("mlsysim.solvers")
    try:
        DistributedModel = solvers.DistributedModel
    except (AttributeError, ImportError):
        pytest.skip("DistributedModel not implemented yet")
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.models.registry import Models
    from mlsysim.systems.registry import Systems
    fleet = Systems.Clusters.Research_256
    perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=fleet, tp_size=8, pp_size=1, dp_size=32)
    dc = Infrastructure.Datacenters.GCP_Iowa
    sust = SustainabilityModel().solve(performance=perf, datacenter=dc)
    econ = EconomicsModel().solve(sustainability=sust)
    assert sust.duration.to("day").magnitude == pytest.approx(perf.latency.to("day").magnitude)
    assert sust.mfu == perf.mfu and econ.tokens == perf.tokens
    assert sust.carbon_footprint == pytest.approx(
        SustainabilityModel().solve(fleet=fleet, duration_days=perf.latency.to("days").magnitude, mfu=perf.mfu,
                                    datacenter=dc).carbon_footprint)
    assert 0 < econ.cost_per_gpu_hour.magnitude < 10
    assert "USD" in str(econ) and econ._repr_html_().startswith("<table>")


def test_registry_fleet_gpu_share_is_a_result_and_cites_sources():
    """GPUs' share of Research_256's CapEx built from the records (hand-worked in test_economics_records.py):
    7.04M / 14,731,776 = 0.4779 (the tutorial's "~40 %" is an approximation of this)."""
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.systems.registry import Systems
    e = EconomicsModel().solve(fleet=Systems.Clusters.Research_256, duration_days=30,
                               datacenter=Infrastructure.Datacenters.GCP_Iowa)
    assert e.accelerator_share_of_capex == pytest.approx(7.04e6 / 14_731_776, rel=1e-9)
    for key in ("accelerator price", "electricity price", "depreciation life", "facility life",
                "maintenance and staff", "cloud price"):
        assert key in e.assumptions
    assert "Capacity Blocks" in e.assumptions["cloud price"]


def test_missing_price_is_an_error_not_zero():
    fleet = make_fleet(price=None)
    with pytest.raises(ConfigError, match="accelerator_price_usd"):
        EconomicsModel().solve(fleet=fleet, duration_days=1, datacenter=make_dc())
    e = EconomicsModel().solve(fleet=fleet, duration_days=1, datacenter=make_dc(), accelerator_price_usd=30_000)
    assert e.capex_breakdown["accelerators"].magnitude == pytest.approx(256 * 30_000)


def test_missing_electricity_price_is_an_error():
    with pytest.raises(ConfigError, match="electricity_usd_per_kwh"):
        EconomicsModel().solve(fleet=make_fleet(), duration_days=1, datacenter=make_dc(price=0.0))


def test_no_cloud_price_means_no_rental_comparison():
    e = EconomicsModel().solve(fleet=make_fleet(key="UnknownChip"), duration_days=1, datacenter=make_dc())
    assert e.cloud_cost is None and e.break_even_utilization is None
    assert "no rental comparison" in e.assumptions["cloud price"]


def test_cloud_cheaper_than_energy_never_breaks_even():
    e = simple_case(cloud_usd_per_gpu_hour=0.05)  # energy alone costs $0.10 per GPU-hour
    assert e.break_even_utilization is None
    assert "never" in str(e)


def test_break_even_physics_vectorised():
    u = PX.break_even_utilization(np.array([15_625.0, 15_625.0]), np.array([0.1, 0.1]), np.array([4.0, 0.05]))
    assert u[0] == pytest.approx(0.45704, rel=1e-4) and np.isinf(u[1])
    assert PX.break_even_utilization(15_625.0, 0.1, 4.0) == pytest.approx(u[0])


@pytest.mark.parametrize("kw, match", [
    (dict(accelerator_price_usd=-1), "accelerator_price_usd"),
    (dict(accelerator_price_usd=0), "accelerator_price_usd"),
    (dict(depreciation_years=0), "depreciation_years"),
    (dict(depreciation_years=-5), "depreciation_years"),
    (dict(infrastructure_multiplier=0.8), "infrastructure_multiplier"),
    (dict(infrastructure_multiplier=2.0, infrastructure_usd={"network": 1.0}), "not both"),
    (dict(infrastructure_usd={"network": -1.0}), "network"),
    (dict(infrastructure_usd={}), "dict"),
    (dict(cloud_usd_per_gpu_hour=-2), "cloud"),
    (dict(electricity_usd_per_kwh=-0.1), "electricity"),
    (dict(maintenance_fraction_per_year=5), "fraction"),
    (dict(duration_days=0), "duration_days"),
    (dict(mfu=2.0), "mfu"),
    (dict(datacenter="Nowhere_DC"), "unknown"),
])
def test_bad_input_raises_config_error(kw, match):
    with pytest.raises(ConfigError, match=match):
        simple_case(**kw)


def test_unknown_breakdown_key_suggests():
    with pytest.raises(UnknownNameError, match="network"):
        simple_case(infrastructure_usd={"netwrk": 1e6})
