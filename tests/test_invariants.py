"""Physical invariants over the whole valid space (issue 14), as hypothesis properties. Each draws a random valid
run (dense or MoE, MHA/GQA/MQA, any TP/PP/CP/EP, ZeRO 0-3, recompute, precision, micro-batch, fleet size) and
checks one law every answer must obey. The default profile runs a few dozen examples per invariant;
HYPOTHESIS_PROFILE=thorough runs 100,000 each. The number of examples each invariant saw is printed after the run.
"""
import collections
import math
import warnings
from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mlsysim import (CalibrationModel, DistributedModel, EconomicsModel, Infrastructure, Models, SustainabilityModel,
                     Systems, TransformerWorkload, UncertaintyModel, explore)
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.systems.system import Fleet

# laws hold for plans that do not fit in memory too; the warning that marks them is not under test here
pytestmark = pytest.mark.filterwarnings("ignore::mlsysim.errors.InfeasibleResultWarning")
#: invariant -> examples checked in this session (printed by conftest.pytest_terminal_summary)
COUNTS = collections.Counter()
NODES = ["DGX_H100", "DGX_H100", "DGX_B200", "DGX_A100", "MI300X_8"]
FABRICS = ["InfiniBand_NDR", "RoCE_400G_Oversub", "Ethernet_100G"]


@st.composite
def runs(draw, moe=None, zero=(0, 3), seqs=(1024, 4096, 32768)):
    """(model, fleet, layout kwargs) of a random valid training run (ZeRO stage within `zero`)."""
    heads = draw(st.sampled_from([8, 16, 32, 64]))
    head_dim = draw(st.sampled_from([64, 128]))
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8, heads) if heads % h == 0]))
    layers = draw(st.integers(2, 96))
    experts = draw(st.sampled_from([1, 1, 8, 16])) if moe is None else (8 if moe else 1)
    seq = draw(st.sampled_from(seqs))
    m = TransformerWorkload("rand", n_layers=layers, hidden=heads * head_dim, n_heads=heads, n_kv_heads=kv,
                            ffn_hidden=draw(st.sampled_from([2, 3, 4])) * heads * head_dim,
                            vocab=draw(st.sampled_from([32000, 128256])), gated_mlp=draw(st.booleans()),
                            n_experts=experts, experts_per_token=2 if experts > 1 else 1, seq_len=seq,
                            tokens=draw(st.floats(1e10, 1e13)), global_batch_tokens=4e6)
    node = Systems.Nodes[draw(st.sampled_from(NODES))]
    fleet = Fleet(node=node, count=draw(st.sampled_from([1, 2, 4, 8, 32])),
                  fabric=Systems.Fabrics[draw(st.sampled_from(FABRICS))])
    n = fleet.total_accelerators
    tp = draw(st.sampled_from([t for t in (1, 2, 4, 8) if heads % t == 0 and t <= n and (kv % t == 0 or t % kv == 0)]))
    pp = draw(st.sampled_from([p for p in (1, 2, 4) if p <= layers and n % (tp * p) == 0]))
    cp = draw(st.sampled_from([c for c in (1, 2, 4) if n % (tp * pp * c) == 0]))
    dp = n // (tp * pp * cp)
    ep = draw(st.sampled_from([e for e in (1, 2, 4, 8) if experts % e == 0 and dp % e == 0])) if experts > 1 else 1
    precision = draw(st.sampled_from([p for p in ("bf16", "fp8") if p in node.accelerator.peak_flops] or ["fp16"]))
    assume(precision in node.accelerator.peak_flops)
    kw = dict(tp_size=tp, pp_size=pp, cp_size=cp, ep_size=ep, microbatch_size=draw(st.sampled_from([1, 2])),
              recompute=draw(st.sampled_from(["none", "selective", "full"])), zero_stage=draw(st.integers(*zero)),
              precision=precision)
    return m, fleet, kw


def solve(m, fleet, **kw):
    return DistributedModel().solve(m, fleet, **kw)


def faster(fleet, flops=1.0, hbm=1.0, links=1.0):
    """The same fleet with a chip `flops` x faster, HBM `hbm` x faster and every link `links` x faster."""
    acc = fleet.node.accelerator
    acc = replace(acc, peak_flops={p: v * flops for p, v in acc.peak_flops.items()}, memory_bw=acc.memory_bw * hbm,
                  scaleup_bw=None if acc.scaleup_bw is None else acc.scaleup_bw * links)
    node = replace(fleet.node, accelerator=acc, scaleup_bw=fleet.node.scaleup_bw * links,
                   nic_bw=fleet.node.nic_bw * links)
    return Fleet(node=node, count=fleet.count, fabric=replace(fleet.fabric, port_bw=fleet.fabric.port_bw * links))


factors = st.floats(1.0, 8.0)
# These properties found that the exposed ZeRO-3 parameter all-gather once grew faster than compute shrank (a faster
# chip made a step slower); issue 11's bounded-overlap physics (physics/collectives.overlapped) fixed it.


def check_faster_chip(run, f_flops, f_hbm, f_links, label):
    m, fleet, kw = run
    base = solve(m, fleet, **kw)
    fast = solve(m, faster(fleet, f_flops, f_hbm, f_links), **kw)
    COUNTS[label] += 1
    assert fast.step_s <= base.step_s * (1 + 1e-9), (fast.breakdown_s, base.breakdown_s)


@given(runs(zero=(0, 2)), factors, factors, factors)
def test_a_faster_chip_never_makes_a_step_slower(run, f_flops, f_hbm, f_links):
    check_faster_chip(run, f_flops, f_hbm, f_links, "faster chip/HBM/links never slower (ZeRO 0-2, CP, EP)")


@given(runs(zero=(3, 3)), factors, factors, factors)
def test_a_faster_chip_never_makes_a_step_slower_under_zero3(run, f_flops, f_hbm, f_links):
    check_faster_chip(run, f_flops, f_hbm, f_links, "faster chip/HBM/links never slower (ZeRO-3, CP, EP)")


def check_mfu(run, label):
    m, fleet, kw = run
    r = solve(m, fleet, **kw)
    COUNTS[label] += 1
    assert 0 < r.mfu <= r.hfu * (1 + 1e-12) and r.hfu <= 1


@given(runs())
def test_mfu_at_most_hfu_at_most_one(run):
    check_mfu(run, "0 < MFU <= HFU <= 1 (seq <= 32K)")


# At 128K context the PaLM-convention MFU (attention counted without the causal half) could exceed 1; MFU now counts
# the FLOPs executed (issue 11), so this holds at long context too.
@given(runs(seqs=(131072,)))
def test_mfu_at_most_hfu_at_most_one_at_128k_context(run):
    check_mfu(run, "0 < MFU <= HFU <= 1 (seq 128K)")


@given(runs(), st.floats(1.0, 100.0))
def test_more_tokens_never_take_less_time(run, factor):
    m, fleet, kw = run
    a = solve(m, fleet, **kw)
    b = solve(m, fleet, tokens=a.tokens * factor, **kw)
    COUNTS["more tokens never less time"] += 1
    assert b.time_to_train_s >= a.time_to_train_s * (1 - 1e-12)


@given(runs(), st.sampled_from([2, 3, 4, 8]))
def test_a_larger_batch_never_lowers_throughput_per_device(run, k):
    m, fleet, kw = run
    a = solve(m, fleet, **kw)
    b = solve(m, fleet, global_batch_size=a.layout["global_batch_size"] * k, **kw)
    COUNTS["larger batch never lower throughput per device"] += 1
    n = fleet.total_accelerators
    assert b.tokens_per_s / n >= a.tokens_per_s / n * (1 - 1e-9)


sites = st.builds(lambda g, pue, cfe: Datacenter(name="site", grid=Grid(name="g", gco2_per_kwh=g), pue=pue,
                                                 electricity_usd_per_kwh=0.08, cfe_fraction=cfe),
                  st.floats(0.0, 1200.0), st.floats(1.0, 2.5), st.floats(0.0, 1.0))


@given(runs(), sites, st.floats(1.0, 5.0), st.floats(0.0, 0.5))
def test_dirtier_grid_or_higher_pue_never_less_carbon_or_energy(run, dc, g_factor, pue_step):
    m, fleet, kw = run
    perf = solve(m, fleet, **kw)
    base = SustainabilityModel().solve(performance=perf, datacenter=dc)
    dirtier = SustainabilityModel().solve(performance=perf, datacenter=replace(
        dc, grid=replace(dc.grid, gco2_per_kwh=dc.grid.gco2_per_kwh * g_factor)))
    worse = SustainabilityModel().solve(performance=perf, datacenter=replace(dc, pue=dc.pue + pue_step))
    COUNTS["dirtier grid / higher PUE never less carbon or energy"] += 1
    assert dirtier.location_kg >= base.location_kg and dirtier.market_kg >= base.market_kg
    assert worse.facility_energy_j >= base.facility_energy_j and worse.location_kg >= base.location_kg
    assert worse.it_energy_j == base.it_energy_j  # PUE multiplies the facility, not the IT load


MODELS = ["Llama3_8B", "Llama3_70B", "Llama2_7B", "Mixtral_8x7B", "GPT3_175B", "Pythia_12B"]
CLUSTERS = ["Small_64", "Research_256", "H100_1K", "B200_1K", "MI300X_1K"]


@given(st.sampled_from(MODELS), st.sampled_from(CLUSTERS), st.sampled_from([1, 2, 4, 8]), st.sampled_from([1, 2, 4]),
       st.integers(0, 3), st.randoms(use_true_random=False))
def test_results_do_not_depend_on_argument_order_or_name_versus_object(model, cluster, tp, pp, zero, rnd):
    from mlsysim.errors import ConfigError
    kw = dict(tp_size=tp, pp_size=pp, zero_stage=zero, recompute="selective")
    try:
        by_name = DistributedModel().solve(model, cluster, **kw)
    except ConfigError:
        assume(False)
    items = list(kw.items())
    rnd.shuffle(items)
    by_object = DistributedModel().solve(fleet=Systems.get(cluster), **dict(items), model=Models.get(model))
    COUNTS["argument order and registry object vs name irrelevant"] += 1
    assert by_object.step_s == by_name.step_s and by_object.memory_bytes == by_name.memory_bytes
    assert by_object.time_to_train_s == by_name.time_to_train_s and by_object.feasible == by_name.feasible
    s1 = SustainabilityModel().solve(performance=by_name, datacenter="GCP_Iowa")
    s2 = SustainabilityModel().solve(datacenter=Infrastructure.Datacenters.GCP_Iowa, performance=by_object)
    assert s1.location_kg == s2.location_kg
    assert EconomicsModel().solve(sustainability=s1).total_usd == EconomicsModel().solve(sustainability=s2).total_usd


@given(runs(moe=True), st.sampled_from([1, 2]))
def test_every_sweep_row_with_cp_and_ep_equals_the_scalar_solver(run, extra_cp):
    m, fleet, kw = run
    cps = sorted({kw["cp_size"], extra_cp})
    eps = sorted({kw["ep_size"], 1})
    res = explore.sweep(m, fleet, tp=[kw["tp_size"]], pp=[kw["pp_size"]], cp=cps, ep=eps,
                        microbatch=[kw["microbatch_size"]], recompute=[kw["recompute"]], zero=[kw["zero_stage"]],
                        precision=[kw["precision"]], keep="valid")
    COUNTS["sweep row = scalar solver (CP, EP, MoE)"] += 1
    for i in range(len(res)):
        r = res.row(i)
        perf = DistributedModel().solve(**res.solver_kwargs(i))
        assert r["step_s"] == pytest.approx(perf.step_s, rel=1e-9)
        assert r["mfu"] == pytest.approx(perf.mfu, rel=1e-9)
        assert r["time_to_train_days"] == pytest.approx(perf.time_to_train_s / 86400, rel=1e-9)
        assert r["feasible"] == perf.feasible


@given(runs())
def test_monte_carlo_at_zero_spread_equals_the_solvers(run):
    m, fleet, kw = run
    perf = solve(m, fleet, **kw)
    cv = perf.assumptions["straggler CV per rank"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy warning (division by zero, overflow)
        u = UncertaintyModel().solve(perf, {"matmul_efficiency_scale": 1.0, "straggler_cv": cv}, samples=10,
                                     goodput=False, datacenter="GCP_Iowa")
    sust = SustainabilityModel().solve(performance=perf, datacenter="GCP_Iowa")
    COUNTS["Monte Carlo at zero spread = solver"] += 1
    for metric, want in (("step_time", perf.step_s), ("mfu", perf.mfu), ("time_to_train", perf.time_to_train_s / 86400),
                         ("energy", sust.facility_energy_j / 3.6e9), ("carbon", sust.location_kg / 1e3)):
        lo, mid, hi = u.stats[metric]
        assert lo == pytest.approx(want, rel=1e-9) and hi == pytest.approx(want, rel=1e-9), metric


def check_calibration(run, label):
    m, fleet, kw = run
    perf = solve(m, fleet, **kw)
    cal = CalibrationModel().solve(perf, measured_mfu=perf.mfu)
    COUNTS[label] += 1
    assert cal.fitted_step_s == pytest.approx(perf.step_s, rel=1e-6)
    again = cal.predict()
    assert again.step_s == pytest.approx(perf.step_s, rel=1e-6) and again.mfu == pytest.approx(perf.mfu, rel=1e-6)
    assert math.isfinite(cal.scale) and cal.scale > 0


@given(runs(zero=(0, 2)))
def test_calibrating_to_a_runs_own_mfu_returns_that_run(run):
    check_calibration(run, "calibration to a run's own MFU returns that run (ZeRO 0-2)")


@given(runs(zero=(3, 3)))
def test_calibrating_to_a_runs_own_mfu_returns_that_run_under_zero3(run):
    check_calibration(run, "calibration to a run's own MFU returns that run (ZeRO-3)")
