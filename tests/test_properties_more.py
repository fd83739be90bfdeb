"""More property-based invariants (hypothesis), beside tests/test_properties.py: energy, carbon and cost out of
SustainabilityModel / EconomicsModel / GoodputModel are finite and non-negative over random valid inputs, energy
and cost are linear in duration, goodput lies in (0, 1], and the explorer's rows equal the scalar solvers.

Default profile "ci" (fast); HYPOTHESIS_PROFILE=thorough runs 100,000 examples per property (tests/conftest.py).
"""
from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlsysim import (DistributedModel, EconomicsModel, GoodputModel, Infrastructure, SustainabilityModel, Systems,
                     TransformerWorkload, explore)
from mlsysim.errors import ConfigError
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.systems.system import Fleet

NODES = Systems.Nodes.names()
FABRICS = Systems.Fabrics.names()
REL = 1e-9


def finite_nonneg(*values):
    for v in values:
        assert isinstance(v, float) and math.isfinite(v) and v >= 0, v


@st.composite
def fleets(draw):
    node = Systems.Nodes[draw(st.sampled_from(NODES))]
    fabric = Systems.Fabrics[draw(st.sampled_from(FABRICS))]
    return Fleet(node=node, count=draw(st.sampled_from([1, 2, 3, 8, 64, 1024])), fabric=fabric)


@st.composite
def datacenters(draw):
    water = draw(st.one_of(st.none(), st.floats(0.0, 10.0)))
    grid = Grid(name="g", gco2_per_kwh=draw(st.floats(0.0, 1500.0)), water_l_per_kwh=water)
    return Datacenter(name="dc", grid=grid, pue=draw(st.floats(1.0, 3.0)),
                      electricity_usd_per_kwh=draw(st.floats(1e-3, 1.0)), wue_l_per_kwh=draw(st.floats(0.0, 5.0)),
                      cfe_fraction=draw(st.floats(0.0, 1.0)))


sites = st.one_of(datacenters(), st.sampled_from(Infrastructure.Datacenters.names()))
days = st.floats(1e-3, 1e4)
mfus = st.floats(1e-3, 1.0)


# ------------------------------------------------------------------------------------------ sustainability
@given(fleets(), sites, days, mfus)
def test_sustainability_is_finite_non_negative_and_linear_in_duration(fleet, dc, d, mfu):
    a = SustainabilityModel().solve(fleet=fleet, duration_days=d, mfu=mfu, datacenter=dc)
    b = SustainabilityModel().solve(fleet=fleet, duration_days=2 * d, mfu=mfu, datacenter=dc)
    for r in (a, b):
        finite_nonneg(r.it_energy_j, r.facility_energy_j, r.location_kg, r.market_kg, r.water_onsite_l,
                      r.water_offsite_l, r.accelerator_w, *r.power_w.values(), *r.embodied_kg.values())
        assert r.carbon_footprint >= 0 and r.total_carbon.magnitude >= r.carbon_footprint * (1 - REL)
        assert r.market_kg <= r.location_kg * (1 + REL) and r.facility_energy_j >= r.it_energy_j * (1 - REL)
        assert r.accelerator_w <= max(fleet.accelerator.tdp_w, fleet.accelerator.measured_system_w or 0) * (1 + REL)
    # energy (and everything proportional to it) is linear in duration; power is not a function of duration
    for x, y in ((a.it_energy_j, b.it_energy_j), (a.facility_energy_j, b.facility_energy_j),
                 (a.location_kg, b.location_kg), (a.market_kg, b.market_kg),
                 (a.water_onsite_l + a.water_offsite_l, b.water_onsite_l + b.water_offsite_l),
                 (sum(a.embodied_kg.values()), sum(b.embodied_kg.values()))):
        assert y == pytest.approx(2 * x, rel=REL, abs=1e-300)
    assert b.average_power.magnitude == pytest.approx(a.average_power.magnitude, rel=REL)


# ------------------------------------------------------------------------------------------ economics
@given(fleets(), sites, days, mfus, st.floats(100.0, 1e6), st.one_of(st.none(), st.floats(1.0, 10.0)),
       st.floats(0.5, 15.0), st.floats(0.0, 1.0), st.one_of(st.none(), st.floats(0.01, 100.0)))
def test_cost_is_finite_non_negative_consistent_and_linear_in_duration(fleet, dc, d, mfu, price, mult, dep, maint,
                                                                       cloud):
    kw = dict(fleet=fleet, datacenter=dc, mfu=mfu, accelerator_price_usd=price, infrastructure_multiplier=mult,
              depreciation_years=dep, maintenance_fraction_per_year=maint, cloud_usd_per_gpu_hour=cloud)
    a = EconomicsModel().solve(duration_days=d, **kw)
    b = EconomicsModel().solve(duration_days=2 * d, **kw)
    for r in (a, b):
        finite_nonneg(r.amortized_capex_usd, r.energy_usd, r.maintenance_usd, r.lifetime_usd, r.total_usd,
                      *r.capex_parts_usd.values())
        assert r.total_usd == pytest.approx(r.amortized_capex_usd + r.energy_usd + r.maintenance_usd, rel=REL)
        assert r.total_usd > 0 and r.cost_per_gpu_hour.magnitude > 0
        assert sum(r.split.values()) == pytest.approx(1.0, rel=1e-9)
        assert r.accelerator_share_of_capex <= 1 + REL
        assert r.break_even is None or (math.isfinite(r.break_even) and r.break_even > 0)
        if r.cloud_cost is not None:
            finite_nonneg(r.cloud_cost.magnitude)
    assert b.total_usd == pytest.approx(2 * a.total_usd, rel=REL)
    assert b.lifetime_usd == pytest.approx(a.lifetime_usd, rel=1e-9)  # the fleet's life does not depend on one run
    # composing through a SustainabilityResult gives the same answer
    s = SustainabilityModel().solve(fleet=fleet, duration_days=d, mfu=mfu, datacenter=dc)
    c = EconomicsModel().solve(sustainability=s, **{k: v for k, v in kw.items()
                                                    if k not in ("fleet", "datacenter", "mfu")})
    assert c.total_usd == pytest.approx(a.total_usd, rel=REL)


# ------------------------------------------------------------------------------------------ goodput
@st.composite
def runs(draw):
    """A random valid training run (model x layout on DGX H100 nodes) and its DistributedModel result."""
    heads = draw(st.sampled_from([8, 16, 32, 64]))
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8, heads) if heads % h == 0]))
    layers = draw(st.integers(2, 96))
    experts = draw(st.sampled_from([1, 1, 8]))
    m = TransformerWorkload("rand", n_layers=layers, hidden=heads * 128, n_heads=heads, n_kv_heads=kv,
                            ffn_hidden=draw(st.sampled_from([2, 3, 4])) * heads * 128,
                            vocab=draw(st.sampled_from([32000, 128256])), gated_mlp=draw(st.booleans()),
                            n_experts=experts, experts_per_token=2 if experts > 1 else 1,
                            seq_len=draw(st.sampled_from([1024, 4096])), tokens=draw(st.floats(1e9, 1e13)))
    fleet = Fleet(node=Systems.Nodes.DGX_H100, count=draw(st.sampled_from([1, 2, 8, 32, 512])),
                  fabric=Systems.Fabrics.InfiniBand_NDR)
    n = fleet.total_accelerators
    tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if heads % t == 0 and (kv % t == 0 or t % kv == 0)]))
    pp = draw(st.sampled_from([p for p in (1, 2, 4, 8) if p <= layers and n % (tp * p) == 0]))
    dp = n // (tp * pp)
    ep = draw(st.sampled_from([e for e in (1, 2, 8) if experts % e == 0 and dp % e == 0])) if experts > 1 else 1
    return DistributedModel().solve(m, fleet, tp_size=tp, pp_size=pp, ep_size=ep,
                                    zero_stage=draw(st.integers(0, 3)),
                                    recompute=draw(st.sampled_from(["none", "selective", "full"])))


@given(runs(), st.floats(0.0, 50.0), st.one_of(st.none(), st.floats(1e8, 1e13)), st.floats(0.0, 7200.0),
       st.sampled_from(["daly", "young"]))
def test_goodput_is_in_unit_interval_and_losses_add_up(perf, scale, storage, relaunch, rule):
    try:
        g = GoodputModel().solve(perf, failure_rate_scale=scale, storage_bw=storage, relaunch_time=relaunch,
                                 interval_rule=rule)
    except ConfigError as exc:  # documented refusals: no failures at all, or a run that would never finish
        assert "all failure rates are zero" in str(exc) or "never finish" in str(exc), str(exc)
        assume(False)
    assert 0 < g.goodput <= 1
    finite_nonneg(g.time_to_train_s, g.useful_time_s, g.checkpoint_write_s, g.checkpoint_interval_s, g.restart_s,
                  g.expected_interruptions, g.mtbi_s, g.straggler_s, *g.lost_s.values())
    assert g.time_to_train_s >= g.useful_time_s * (1 - REL)
    assert g.time_to_train_s == pytest.approx(g.useful_time_s / g.goodput, rel=1e-9)
    shares = g.efficiency_loss
    assert all(v >= -1e-12 for v in shares.values()) and sum(shares.values()) == pytest.approx(1.0, rel=1e-9)
    assert 0 < g.effective_mfu <= g.mfu <= 1
    # the effective run composes into energy and cost: still finite and non-negative, and never below failure-free
    dc = Infrastructure.Datacenters.GCP_Iowa
    s_eff = SustainabilityModel().solve(performance=g, datacenter=dc)
    s_ideal = SustainabilityModel().solve(performance=perf, datacenter=dc)
    finite_nonneg(s_eff.facility_energy_j, s_eff.location_kg, s_eff.market_kg)
    assert s_eff.facility_energy_j >= s_ideal.facility_energy_j * (1 - 1e-9)
    e = EconomicsModel().solve(sustainability=s_eff)
    finite_nonneg(e.total_usd, e.energy_usd, e.amortized_capex_usd, e.maintenance_usd)


# ------------------------------------------------------------------------------------------ explorer = solvers
def subset(values):
    return st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)


@st.composite
def small_sweeps(draw):
    heads = draw(st.sampled_from([8, 16, 32]))
    kv = draw(st.sampled_from([h for h in (1, 2, 8, heads) if heads % h == 0]))
    m = TransformerWorkload("rand", n_layers=draw(st.integers(1, 40)), hidden=heads * 64, n_heads=heads,
                            n_kv_heads=kv, ffn_hidden=4 * heads * 64, vocab=draw(st.sampled_from([1000, 50257])),
                            gated_mlp=draw(st.booleans()), seq_len=draw(st.sampled_from([512, 2048])),
                            tokens=draw(st.floats(1e8, 1e12)), global_batch_tokens=draw(st.sampled_from([0, 1e6])))
    counts = draw(subset([1, 2, 3, 4]))
    node = Systems.Nodes[draw(st.sampled_from(["DGX_H100", "DGX_H100", "DGX_A100", "TPUv4_4", "MI300X_8"]))]
    fabric = Systems.Fabrics[draw(st.sampled_from(["InfiniBand_NDR", "RoCE_400G_Oversub", "Ethernet_100G"]))]
    kw = dict(model=m, fleets=explore.fleet_grid(node, counts, fabric),
              tp=draw(subset([1, 2, 4, 8, 3])), pp=draw(subset([1, 2, 4])), microbatch=draw(subset([1, 2])),
              cp=draw(subset([1, 2])), interleave=draw(subset([1, 2])),
              global_batch_size=draw(st.one_of(st.none(), subset([8, 12, 64]))),
              recompute=draw(subset(["none", "selective", "full"])), zero=draw(subset([0, 1, 2, 3])),
              precision=draw(subset(["bf16", "fp8"])),
              datacenters=draw(st.one_of(st.none(), subset(["GCP_Iowa", "Quebec_Hydro", "Poland_Colo"]))),
              dp_overlap=draw(st.booleans()), straggler_cv=draw(st.one_of(st.none(), st.floats(0.0, 0.05))))
    return kw


@given(small_sweeps())
def test_every_sweep_row_equals_the_scalar_solvers(kw):
    try:
        res = explore.sweep(**kw)
    except ConfigError as exc:  # every fleet lacks every precision asked for: nothing to evaluate
        assert "support" in str(exc), str(exc)
        for f in kw["fleets"]:
            assert not set(kw["precision"]) & set(f.accelerator.peak_flops)
        return
    assert len(res) > 0
    for i in range(len(res)):
        r = res.row(i)
        fleet = next(f for f in res.fleets if f.name == r["fleet"])
        call = dict(model=kw["model"], fleet=fleet, tp_size=r["tp"], pp_size=r["pp"], cp_size=r["cp"],
                    interleave=r["interleave"], microbatch_size=r["microbatch"], recompute=r["recompute"],
                    zero_stage=r["zero"], precision=r["precision"], dp_overlap=kw["dp_overlap"],
                    straggler_cv=kw["straggler_cv"])
        if kw["global_batch_size"] is not None:
            call["global_batch_size"] = r["global_batch_size"]
        layout_ok = r["reason"] in ("", "out of memory")
        try:
            perf = DistributedModel().solve(**call)
        except ConfigError:
            assert not layout_ok, (r, "the sweep called this layout valid but the solver refused it")
            assert not r["feasible"] and math.isnan(r["step_s"])
            continue
        assert layout_ok, (r["reason"], "the solver accepted a layout the sweep called invalid")
        assert r["dp"] == perf.layout["dp_size"] and r["global_batch_size"] == perf.layout["global_batch_size"]
        assert r["feasible"] == perf.feasible
        assert r["step_s"] == pytest.approx(perf.step_s, rel=REL)
        assert r["time_to_train_days"] == pytest.approx(perf.time_to_train_s / 86400, rel=REL)
        assert r["mfu"] == pytest.approx(perf.mfu, rel=REL)
        assert r["memory_gb"] == pytest.approx(sum(perf.memory_bytes.values()) / 1e9, rel=REL)
        if kw["datacenters"]:
            assert r["datacenter"] in [Infrastructure.Datacenters[n].name for n in kw["datacenters"]]
            site = next(d for d in res.datacenters if d.name == r["datacenter"])
            s = SustainabilityModel().solve(performance=perf, datacenter=site)
            assert r["energy_mwh"] == pytest.approx(s.facility_energy_j / 3.6e9, rel=REL)
            assert r["carbon_t"] == pytest.approx(s.carbon_footprint, rel=REL)
            if fleet.accelerator.price_usd:
                assert r["cost_usd"] == pytest.approx(EconomicsModel().solve(sustainability=s).total_usd, rel=REL)
            else:  # no price in the registry: the solver refuses, the sweep leaves the cost unknown (never $0)
                with pytest.raises(ConfigError, match="no price"):
                    EconomicsModel().solve(sustainability=s)
                assert math.isnan(r["cost_usd"])
