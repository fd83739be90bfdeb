"""Property-based invariants over random valid configurations (hypothesis). Default profile is fast (CI);
HYPOTHESIS_PROFILE=thorough runs 100,000 examples per property."""
import math
from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlsysim import DistributedModel, SustainabilityModel, Systems, TransformerWorkload
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.systems.system import Fleet

POW2 = [1, 2, 4, 8, 16]


@st.composite
def configs(draw):
    heads = draw(st.sampled_from([8, 16, 32, 64]))
    head_dim = draw(st.sampled_from([64, 128]))
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8, heads) if heads % h == 0]))
    layers = draw(st.integers(2, 96))
    gated = draw(st.booleans())
    experts = draw(st.sampled_from([1, 1, 8]))
    m = TransformerWorkload("rand", n_layers=layers, hidden=heads * head_dim, n_heads=heads, n_kv_heads=kv,
                            ffn_hidden=draw(st.sampled_from([2, 3, 4])) * heads * head_dim, vocab=draw(
                                st.sampled_from([32000, 50257, 128256])), gated_mlp=gated, n_experts=experts,
                            experts_per_token=2 if experts > 1 else 1, seq_len=draw(st.sampled_from([1024, 4096])),
                            tokens=draw(st.floats(1e9, 1e13)), global_batch_tokens=4e6)
    nodes = draw(st.sampled_from([1, 2, 4, 8, 32]))
    fleet = Fleet(node=Systems.Nodes.DGX_H100, count=nodes, fabric=Systems.Fabrics.InfiniBand_NDR)
    n = fleet.total_accelerators
    tp = draw(st.sampled_from([t for t in POW2 if heads % t == 0 and t <= n and (kv % t == 0 or t % kv == 0)]))
    pp = draw(st.sampled_from([p for p in POW2 if p <= layers and n % (tp * p) == 0]))
    dp = n // (tp * pp)
    ep = draw(st.sampled_from([e for e in (1, 2, 4, 8) if experts % e == 0 and dp % e == 0])) if experts > 1 else 1
    kw = dict(tp_size=tp, pp_size=pp, ep_size=ep, microbatch_size=draw(st.sampled_from([1, 2])),
              recompute=draw(st.sampled_from(["none", "selective", "full"])), zero_stage=draw(st.integers(0, 3)),
              precision=draw(st.sampled_from(["bf16", "fp16", "fp8"])))
    return m, fleet, kw


@given(configs())
def test_outputs_are_finite_positive_and_mfu_in_range(cfg):
    m, fleet, kw = cfg
    r = DistributedModel().solve(m, fleet, **kw)
    assert math.isfinite(r.step_s) and r.step_s > 0 and r.time_to_train_s > 0
    assert 0 < r.mfu <= 1 and r.mfu <= r.hfu + 1e-12
    assert all(math.isfinite(v) and v >= 0 for v in r.breakdown_s.values())
    assert all(math.isfinite(v) and v >= 0 for v in r.memory_bytes.values())
    assert sum(r.breakdown_s.values()) == pytest.approx(r.step_s, rel=1e-9)


@given(configs(), st.floats(1.5, 8.0))
def test_faster_links_never_slow_a_step(cfg, factor):
    m, fleet, kw = cfg
    base = DistributedModel().solve(m, fleet, **kw)
    fab = replace(fleet.fabric, port_bw=fleet.fabric.port_bw * factor)
    node = replace(fleet.node, scaleup_bw=fleet.node.scaleup_bw * factor, nic_bw=fleet.node.nic_bw * factor)
    fast = DistributedModel().solve(m, Fleet(node=node, count=fleet.count, fabric=fab), **kw)
    assert fast.step_s <= base.step_s * (1 + 1e-12)


@given(configs())
def test_more_memory_never_makes_a_fitting_layout_infeasible(cfg):
    m, fleet, kw = cfg
    base = DistributedModel().solve(m, fleet, **kw)
    assume(base.feasible)
    acc = replace(fleet.node.accelerator, memory_bytes=fleet.node.accelerator.memory_bytes * 2)
    bigger = Fleet(node=replace(fleet.node, accelerator=acc), count=fleet.count, fabric=fleet.fabric)
    assert DistributedModel().solve(m, bigger, **kw).feasible


@given(configs())
def test_doubling_tokens_doubles_time(cfg):
    m, fleet, kw = cfg
    a = DistributedModel().solve(m, fleet, tokens=1e12, **kw)
    b = DistributedModel().solve(m, fleet, tokens=2e12, **kw)
    assert b.time_to_train_s == pytest.approx(2 * a.time_to_train_s, rel=1e-12)


@given(st.floats(1.0, 1000.0), st.floats(1.0, 3.0), st.floats(0.05, 1.0), st.floats(0.1, 400.0))
def test_carbon_linear_in_intensity_and_energy_linear_in_pue(g, pue, mfu, days):
    fleet = Systems.Clusters.Research_256

    def run(intensity, p):
        dc = Datacenter(name="x", grid=Grid(name="g", gco2_per_kwh=intensity), pue=p, electricity_usd_per_kwh=0.1)
        return SustainabilityModel().solve(fleet=fleet, duration_days=days, mfu=mfu, datacenter=dc)

    a, b = run(g, pue), run(2 * g, pue)
    assert b.location_kg == pytest.approx(2 * a.location_kg, rel=1e-9)
    c = run(g, 2 * pue)
    assert c.facility_energy_j == pytest.approx(2 * a.facility_energy_j, rel=1e-9)
    assert a.carbon_footprint >= 0 and math.isfinite(a.carbon_footprint)


def test_faster_links_never_slow_a_host_bound_step():
    """Found by the property above in a CI run: a 44-layer, 512-wide model on one DGX H100 at TP8 is host-bound
    (every layer waits on the CPU issuing its kernels), so faster links only move time from TP communication into
    that wait. The straggler jitter scaled the wait too, and 2x links made the step 2e-4 s slower. The jitter
    now scales GPU work only: doubling every link can only shorten the step."""
    m = TransformerWorkload(name="tiny", n_layers=44, hidden=512, n_heads=8, ffn_hidden=1024, vocab=32000,
                            n_kv_heads=1, gated_mlp=False, seq_len=1024, tokens=1e9, global_batch_tokens=4e6)
    fleet = Fleet(node=Systems.Nodes.DGX_H100, count=1, fabric=Systems.Fabrics.InfiniBand_NDR)
    kw = dict(tp_size=8, pp_size=1, microbatch_size=1, recompute="none", zero_stage=0)
    base = DistributedModel().solve(m, fleet, **kw)
    node = replace(fleet.node, scaleup_bw=fleet.node.scaleup_bw * 2, nic_bw=fleet.node.nic_bw * 2)
    fast = DistributedModel().solve(m, Fleet(node=node, count=1, fabric=fleet.fabric), **kw)
    assert fast.breakdown_s["tp_comm"] < base.breakdown_s["tp_comm"]
    assert fast.step_s <= base.step_s * (1 + 1e-12)
