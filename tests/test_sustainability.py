"""SustainabilityModel and the power/carbon physics: hand-worked cases, the tutorial's 41x, bad input."""
from __future__ import annotations

import math
import types

import numpy as np
import pytest

from mlsysim.errors import ConfigError, UnknownNameError
from mlsysim.hardware.accelerator import Accelerator
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.physics import carbon as PC
from mlsysim.physics import power as PP
from mlsysim.solvers.sustainability import SustainabilityModel
from mlsysim.systems.system import Fabric, Fleet, Node
from mlsysim.units import Q

GBPS = 1e9 / 8  # bytes/s per Gb/s


def make_fleet(*, nodes=32, tdp=700.0, idle=100.0, measured=None, host=2000.0, switch_w=25.0, embodied=500.0,
               node_embodied=1000.0, price=25_000.0, key="TestGPU"):
    acc = Accelerator(name="Test GPU", peak_flops={"bf16": 1e15}, memory_bytes=80e9, memory_bw=3e12, tdp_w=tdp,
                      idle_w=idle, measured_system_w=measured, embodied_kgco2e=embodied, price_usd=price, key=key)
    node = Node(name="8x Test GPU", accelerator=acc, accelerators_per_node=8, scaleup_bw=450e9,
                nic_bw=8 * 400 * GBPS, host_power_w=host, embodied_kgco2e=node_embodied)
    fabric = Fabric(name="NDR", port_bw=400 * GBPS, latency_s=5e-6, switch_w_per_port=switch_w)
    return Fleet(node=node, count=nodes, fabric=fabric, name="test fleet")


def make_dc(g=400.0, pue=1.2, cfe=0.6, wue=0.5, grid_water=2.0, price=0.08, name="Test DC", contractual=0.0,
            residual=None):
    grid = Grid(name=f"{name} grid", gco2_per_kwh=g, water_l_per_kwh=grid_water, residual_gco2_per_kwh=residual)
    return Datacenter(name=name, grid=grid, pue=pue, electricity_usd_per_kwh=price, wue_l_per_kwh=wue,
                      cfe_fraction=cfe, contractual_fraction=contractual)


# ---------------------------------------------------------------- hand-worked case
def test_hand_worked_energy_carbon_water():
    """32 nodes x 8 GPUs (700 W TDP, 100 W idle) at 40 % MFU for 10 days, PUE 1.2, 400 g/kWh.

    accelerator: 100 + 600 x (1 - exp(-0.4/0.153)) = 100 + 600 x (1 - 0.073213) = 656.07 W
    accelerators: 256 x 656.07 W                    = 167,954.4 W
    hosts:        32 nodes x 2,000 W                 =  64,000.0 W
    network:      8 NICs/node x 32 = 256 endpoints -> 2-tier fat tree of 64-port switches
                  -> 256 x (2 x 2 - 1) = 768 ports x 25 W = 19,200.0 W
    IT power                                         = 251,154.4 W
    IT energy:    x 10 d x 86,400 s = 2.16997e11 J   = 60,277.1 kWh
    facility:     x PUE 1.2                          = 72,332.5 kWh
    location:     72,332.5 kWh x 0.400 kg/kWh        = 28,933.0 kg = 28.933 t
    market-based: no RECs/PPAs, no residual mix -> the grid average (GHG Protocol last tier) = 28.933 t
    CFE-adjusted: location x (1 - 0.6 hourly CFE)    = 11.573 t
    embodied:     256 x 500 kg x 10 d / (4 x 365.25 d) = 876.1 kg; 32 x 1,000 kg x 10 / 1,461 = 219.0 kg
    water:        0.5 L/kWh x 60,277.1 = 30,138.5 L on site; 2 L/kWh x 72,332.5 = 144,665 L off site
    """
    s = SustainabilityModel().solve(fleet=make_fleet(), duration_days=10, mfu=0.4, datacenter=make_dc())
    assert s.accelerator_w == pytest.approx(656.07, rel=1e-4)
    assert s.power_w["accelerators"] == pytest.approx(167_954.4, rel=1e-5)
    assert s.power_w["hosts"] == pytest.approx(64_000.0)
    assert s.power_w["network"] == pytest.approx(19_200.0)
    assert s.average_power.to("kW").magnitude == pytest.approx(251.1544, rel=1e-5)
    assert s.it_energy.to("kWh").magnitude == pytest.approx(60_277.1, rel=1e-5)
    assert s.facility_energy.to("MWh").magnitude == pytest.approx(72.3325, rel=1e-5)
    assert s.carbon_footprint == pytest.approx(28.933, rel=1e-4)
    assert isinstance(s.carbon_footprint, float)
    assert s.carbon_location.to("t").magnitude == pytest.approx(s.carbon_footprint)
    assert s.carbon_market.to("t").magnitude == pytest.approx(28.933, rel=1e-4)
    assert s.carbon_cfe_adjusted.to("t").magnitude == pytest.approx(11.573, rel=1e-4)
    assert s.embodied_kg["accelerators"] == pytest.approx(876.11, rel=1e-4)
    assert s.embodied_kg["servers"] == pytest.approx(219.03, rel=1e-4)
    assert s.total_carbon.to("t").magnitude == pytest.approx(28.933 + 1.0951, rel=1e-4)
    assert s.water_onsite.to("L").magnitude == pytest.approx(30_138.5, rel=1e-5)
    assert s.water_offsite.to("L").magnitude == pytest.approx(144_665.0, rel=1e-5)
    assert s.gpu_hours == pytest.approx(256 * 240)
    assert s.pue == 1.2


def test_market_based_follows_ghg_protocol_scope2():
    """GHG Protocol Scope 2 Guidance 2015 (Ch. 6): contractual instruments at their factor (0 for renewables), the
    rest at the residual mix. Same run as above (72,332.5 facility kWh), 50 % covered by PPAs, residual 500 g/kWh:
    72,332.5 x 0.5 x 500 g = 18,083.1 kg = 18.083 t; the hourly-CFE figure stays separate (11.573 t)."""
    s = SustainabilityModel().solve(fleet=make_fleet(), duration_days=10, mfu=0.4,
                                    datacenter=make_dc(contractual=0.5, residual=500.0))
    assert s.carbon_market.to("t").magnitude == pytest.approx(18.083, rel=1e-4)
    assert s.carbon_cfe_adjusted.to("t").magnitude == pytest.approx(11.573, rel=1e-4)
    assert "residual mix 500" in s.assumptions["market-based (GHG Protocol Scope 2)"]
    # fully covered by instruments: zero market-based; no CFE share published: no CFE-adjusted figure
    s = SustainabilityModel().solve(fleet=make_fleet(), duration_days=10, mfu=0.4,
                                    datacenter=make_dc(contractual=1.0, cfe=0.0))
    assert s.market_kg == 0.0 and s.carbon_cfe_adjusted is None
    assert PC.market_based_kg(3.6e6, 400.0, 0.25) == pytest.approx(0.75 * 400 / 1e3)  # 1 kWh, 75 % at 400 g
    with pytest.raises(ConfigError, match="contractual"):
        make_dc(contractual=1.5)


def test_power_follows_utilisation_not_mfu_times_tdp():
    # OLMo 3 measured H100 averages (Morrison et al. 2025 / Ai2): 621 W at ~33 % MFU, 649 W at ~37 % MFU.
    assert PP.accelerator_power_w(0.327, 700.0, 90.0) == pytest.approx(621, rel=0.02)
    assert PP.accelerator_power_w(0.369, 700.0, 90.0) == pytest.approx(649, rel=0.02)
    # at 40 % MFU an H100 draws well over half its TDP (not 0.4 x 700 = 280 W)
    p40 = PP.accelerator_power_w(0.40, 700.0, 90.0)
    assert 600 < p40 < 700
    # monotone, bounded by idle and TDP
    assert PP.accelerator_power_w(1e-9, 700.0, 90.0) == pytest.approx(90.0, abs=1e-3)
    assert PP.accelerator_power_w(1.0, 700.0, 90.0) < 700.0


def test_physics_works_on_floats_and_arrays_alike():
    mfu = np.array([0.1, 0.3, 0.5])
    arr = PP.accelerator_power_w(mfu, 700.0, 90.0)
    assert arr.shape == (3,)
    for m, a in zip(mfu, arr):
        assert PP.accelerator_power_w(float(m), 700.0, 90.0) == pytest.approx(a)
    ends = np.array([8.0, 64.0, 65.0, 2048.0, 2049.0])
    assert list(PP.fat_tree_tiers(ends)) == [1.0, 1.0, 2.0, 2.0, 3.0]
    assert [PP.fat_tree_tiers(float(e)) for e in ends] == [1.0, 1.0, 2.0, 2.0, 3.0]
    fp = PP.fleet_power_w(mfu, 256, 700.0, 90.0, 32, 2000.0, 768.0, 25.0, np.array([0.0, 300.0, 0.0]))
    assert fp["accelerators"][1] == pytest.approx(256 * 300.0) and fp["hosts"][1] == 0.0
    assert fp["accelerators"][2] == pytest.approx(256 * arr[2])
    kg = PC.location_based_kg(np.array([3.6e9, 7.2e9]), np.array([20.0, 820.0]))
    assert list(kg) == pytest.approx([20.0, 1640.0])  # 1 MWh x 20 g/kWh = 20 kg; 2 MWh x 820 = 1,640 kg


def test_measured_system_power_replaces_accelerator_and_host():
    # Patterson et al. 2021 Table 3 style: a measured 283 W per chip incl. host share; host must not be added.
    f = make_fleet(measured=283.0, switch_w=0.0)
    s = SustainabilityModel().solve(fleet=f, duration_days=1, mfu=0.3, datacenter=make_dc(pue=1.0))
    assert s.accelerator_w == 283.0
    assert s.power_w["hosts"] == 0.0
    assert s.it_energy.to("kWh").magnitude == pytest.approx(256 * 0.283 * 24)


def test_host_power_defaults_from_max_power_then_per_accelerator():
    f = make_fleet(host=None)
    node = Node(name="n", accelerator=f.node.accelerator, accelerators_per_node=8, scaleup_bw=1e11, nic_bw=1e11,
                max_power_w=10_200.0)
    s = SustainabilityModel().solve(fleet=Fleet(node=node, count=1, fabric=f.fabric), duration_days=1, mfu=0.4,
                                    datacenter=make_dc())
    # 0.45 x (10,200 - 8 x 700) = 0.45 x 4,600 = 2,070 W; one node: no scale-out switches
    assert s.power_w["hosts"] == pytest.approx(2070.0)
    assert s.power_w["network"] == 0.0
    node2 = Node(name="n", accelerator=f.node.accelerator, accelerators_per_node=8, scaleup_bw=1e11, nic_bw=1e11)
    s2 = SustainabilityModel().solve(fleet=Fleet(node=node2, count=1, fabric=f.fabric), duration_days=1, mfu=0.4,
                                     datacenter=make_dc())
    assert s2.power_w["hosts"] == pytest.approx(8 * PP.HOST_W_PER_ACCELERATOR)
    assert "assumption" in s2.assumptions["host power"]


# ---------------------------------------------------------------- the tutorial's 41x
def _grid(names, fallback_g):
    from mlsysim.infrastructure.registry import Infrastructure
    for n in names:
        try:
            return Infrastructure.Grids[n]
        except Exception:
            continue
    return Grid(name=names[0], gco2_per_kwh=fallback_g)


def test_geography_41x_poland_vs_quebec():
    """Same fleet, same run, datacenters differing only in grid: Poland 820 / Quebec 20 g/kWh = 41x."""
    quebec = _grid(["Quebec", "CA_Quebec", "Canada_Quebec"], 20.0)
    poland = _grid(["Poland", "PL", "Poland_Grid"], 820.0)
    assert poland.gco2_per_kwh / quebec.gco2_per_kwh == pytest.approx(41.0)
    base = make_dc()
    import dataclasses
    fleet = make_fleet()
    res = {g.name: SustainabilityModel().solve(fleet=fleet, duration_days=30, mfu=0.45,
                                               datacenter=dataclasses.replace(base, grid=g))
           for g in (quebec, poland)}
    q, p = res[quebec.name], res[poland.name]
    assert p.facility_energy_j == q.facility_energy_j
    assert p.carbon_footprint / q.carbon_footprint == pytest.approx(41.0, rel=1e-12)


# ---------------------------------------------------------------- composition and the tutorial call
def test_performance_result_is_accepted_directly():
    fleet = make_fleet()
    perf = types.SimpleNamespace(fleet=fleet, latency=Q(12.5, "day"), mfu=0.42, tokens=1e12,
                                 step_latency=Q(5.0, "s"), model=None)
    a = SustainabilityModel().solve(performance=perf, datacenter=make_dc())
    b = SustainabilityModel().solve(fleet=fleet, duration_days=perf.latency.to("day").magnitude, mfu=perf.mfu,
                                    datacenter=make_dc())
    assert a.carbon_footprint == pytest.approx(b.carbon_footprint)
    assert a.tokens == 1e12
    assert a.energy_per_token.to("J").magnitude == pytest.approx(a.facility_energy_j / 1e12)
    with pytest.raises(ConfigError, match="not both"):
        SustainabilityModel().solve(performance=perf, fleet=fleet, datacenter=make_dc())


def test_duration_accepts_quantities():
    f, dc = make_fleet(), make_dc()
    a = SustainabilityModel().solve(fleet=f, duration_days=Q(48, "hour"), mfu=0.4, datacenter=dc)
    b = SustainabilityModel().solve(fleet=f, duration_days=2, mfu=0.4, datacenter=dc)
    assert a.carbon_footprint == pytest.approx(b.carbon_footprint)
    with pytest.raises(ConfigError):
        SustainabilityModel().solve(fleet=f, duration_days=Q(2, "meter"), mfu=0.4, datacenter=dc)


def test_registry_datacenter_by_object_and_name():
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.systems.registry import Systems
    dc = Infrastructure.Datacenters.GCP_Iowa
    fleet = Systems.Clusters.Research_256
    a = SustainabilityModel().solve(fleet=fleet, duration_days=30, mfu=0.45, datacenter=dc)
    b = SustainabilityModel().solve(fleet=fleet, duration_days=30, mfu=0.45, datacenter="GCP_Iowa")
    assert a.carbon_footprint == b.carbon_footprint > 0
    assert f"{a.carbon_footprint:.1f}"  # the tutorial's format works on the float
    for text in (str(a), a._repr_html_()):
        assert "location-based" in text and "PUE" in text
    assert a._repr_html_().startswith("<table>")
    assert "grid intensity" in a.assumptions and "accelerator power" in a.assumptions


def test_default_mfu_is_recorded_as_assumption():
    s = SustainabilityModel().solve(fleet=make_fleet(), duration_days=1, datacenter=make_dc())
    assert s.mfu == 0.40 and "assumed" in s.assumptions["MFU"]


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("kw, match", [
    (dict(duration_days=0), "duration_days"),
    (dict(duration_days=-3), "duration_days"),
    (dict(duration_days=float("nan")), "finite"),
    (dict(duration_days=float("inf")), "finite"),
    (dict(mfu=0), "mfu"),
    (dict(mfu=-0.2), "mfu"),
    (dict(mfu=1.5), "percentage"),
    (dict(mfu=45), "percentage"),
    (dict(pue=0.9), "pue"),
    (dict(service_life_years=0), "service_life_years"),
    (dict(datacenter=None), "datacenter is required"),
    (dict(datacenter=42), "Datacenter"),
    (dict(fleet="not a fleet"), "unknown"),
    (dict(fleet=None), "fleet"),
])
def test_bad_input_raises_config_error(kw, match):
    args = dict(fleet=make_fleet(), duration_days=10, mfu=0.4, datacenter=make_dc())
    args.update(kw)
    with pytest.raises(ConfigError, match=match):
        SustainabilityModel().solve(**args)


def test_unknown_datacenter_name_suggests():
    with pytest.raises(UnknownNameError, match="GCP_Iowa"):
        SustainabilityModel().solve(fleet=make_fleet(), duration_days=1, mfu=0.4, datacenter="GCP_Iowaa")


def test_grid_given_as_datacenter_is_refused():
    with pytest.raises(ConfigError, match="grid"):
        SustainabilityModel().solve(fleet=make_fleet(), duration_days=1, mfu=0.4, datacenter=make_dc().grid)


def test_records_refuse_bad_pue_and_cfe():
    with pytest.raises(ConfigError, match="PUE"):
        make_dc(pue=0.95)
    with pytest.raises(ConfigError, match="cfe"):
        make_dc(cfe=1.5)


def test_outputs_are_finite():
    s = SustainabilityModel().solve(fleet=make_fleet(embodied=None, node_embodied=None), duration_days=1e-3,
                                    mfu=1.0, datacenter=make_dc(g=0.0, cfe=1.0, wue=0.0, grid_water=None))
    vals = [s.carbon_footprint, s.carbon_market.magnitude, s.total_carbon.magnitude, s.water.magnitude,
            s.facility_energy.magnitude]
    assert all(math.isfinite(v) for v in vals)
    assert s.embodied_carbon.magnitude == 0.0 and "not counted" in s.assumptions["embodied carbon per accelerator"]


# ---------------------------------------------------------------- validation table
def test_energy_validation_measured_rows_within_10_percent():
    from mlsysim.validation.energy import energy_table, format_energy_table
    rows = energy_table()
    measured = [r for r in rows if r["basis"] == "measured system"]
    assert {r["run_id"] for r in measured} >= {"patterson-t5", "patterson-meena", "patterson-gshard-600b"}
    for r in measured:
        assert abs(r["energy_error_pct"]) <= 10.0, r
        assert abs(r["carbon_error_pct"]) <= 10.0, r
    assert any(r["run_id"].startswith("llama2") for r in rows) and any(r["run_id"] == "bloom-176b" for r in rows)
    text = format_energy_table(rows)
    assert "patterson-t5" in text and "%" in text
