"""Design-space explorer: every swept row equals the scalar solvers; reasons for infeasible rows; Pareto fronts
against a brute-force definition; optimisers respect constraints; bad input fails clearly."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.errors import ConfigError, InfeasibleError, UnknownNameError
from mlsysim.explore import (SweepResult, best_region, fleet_grid, optimize, pareto, pareto_mask, smallest_fleet,
                             sweep)
from mlsysim.explore._plan import REASONS
from mlsysim.hardware.accelerator import Accelerator
from mlsysim.infrastructure.site import Datacenter, Grid
from mlsysim.solvers.economics import EconomicsModel
from mlsysim.solvers.distributed import BREAKDOWN_KEYS
from mlsysim.solvers.sustainability import SustainabilityModel
from mlsysim.systems.system import Fabric, Fleet, Node

M70 = Models.Language.Llama3_70B
R256 = Systems.Clusters.Research_256
REL = 1e-9
GBPS = 1e9 / 8


def close(a, b, rel=REL):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


@pytest.fixture(scope="module")
def wide():
    """A small but varied sweep: every layout axis, valid and invalid layouts, in- and out-of-memory."""
    return sweep(M70, R256, tp=[1, 2, 4, 8, 16], pp=[1, 2, 3, 4, 8, 16], cp=[1, 2], microbatch=[1, 2, 3],
                 interleave=[1, 2], recompute=["none", "selective", "full"], zero=[0, 1, 3])


def make_fleet(nodes=4, measured=None, price=25_000.0, fp8=True):
    peak = {"bf16": 1e15, "fp8": 2e15} if fp8 else {"bf16": 1e15}
    acc = Accelerator(name="Test GPU", peak_flops=peak, memory_bytes=80e9, memory_bw=3e12, tdp_w=700.0,
                      idle_w=None, measured_system_w=measured, embodied_kgco2e=500.0, price_usd=price,
                      matmul_efficiency=0.8, key="TestGPU")
    node = Node(name="8x Test GPU", accelerator=acc, accelerators_per_node=8, scaleup_bw=450e9,
                nic_bw=8 * 400 * GBPS, host_power_w=None, max_power_w=10_000.0, embodied_kgco2e=1000.0)
    fabric = Fabric(name="NDR", port_bw=400 * GBPS, latency_s=5e-6, switch_w_per_port=25.0)
    return Fleet(node=node, count=nodes, fabric=fabric, name=f"test fleet x{nodes}")


def make_dc(name, g, price, pue=1.2, cfe=0.3):
    return Datacenter(name=name, grid=Grid(name=f"{name} grid", gco2_per_kwh=g, water_l_per_kwh=1.5), pue=pue,
                      electricity_usd_per_kwh=price, wue_l_per_kwh=0.4, cfe_fraction=cfe)


# ---------------------------------------------------------------- one physics, two faces
def test_every_row_equals_the_scalar_solver(wide):
    assert len(wide) == 5 * 6 * 2 * 3 * 2 * 3 * 3
    solver = DistributedModel()
    checked = raised = 0
    for i in range(len(wide)):
        row = wide[i]
        try:
            ref = solver.solve(**wide.solver_kwargs(i))
        except ConfigError:
            raised += 1
            assert not row["feasible"] and row["reason"] not in ("", "out of memory")
            assert math.isnan(row["step_s"])
            continue
        checked += 1
        assert row["reason"] == ("" if ref.feasible else "out of memory")
        assert row["feasible"] == ref.feasible
        assert row["dp"] == ref.layout["dp_size"] and row["global_batch_size"] == ref.layout["global_batch_size"]
        assert close(row["step_s"], ref.step_s) and close(row["mfu"], ref.mfu) and close(row["hfu"], ref.hfu)
        assert close(row["time_to_train_days"] * 86400, ref.time_to_train_s)
        assert close(row["tokens_per_s"], ref.tokens_per_s)
        assert close(row["memory_gb"], sum(ref.memory_bytes.values()) / 1e9)
        for k, v in ref.memory_bytes.items():
            assert close(row[f"{k}_gb"], v / 1e9)
        for k in BREAKDOWN_KEYS:
            assert close(row[f"{k}_s"], ref.breakdown_s[k])
        assert close(row["gpu_hours"], ref.gpu_hours)
    assert checked > 1500 and raised > 100
    assert wide.reason_counts()["out of memory"] > 0


def test_fixed_batch_sequence_and_precision_axes_equal_the_solver():
    res = sweep(M70, R256, tp=[4, 8], pp=[2, 4], seq_len=[4096, 8192], global_batch_size=[512, 1024],
                precision=["bf16", "fp8"], microbatch=[1], keep="valid", tokens=1e12)
    assert len(res) == 2 * 2 * 2 * 2 * 2
    assert set(res["precision"]) == {"bf16", "fp8"}
    for i in range(len(res)):
        kw = res.solver_kwargs(i)
        assert "global_batch_size" in kw
        ref = DistributedModel().solve(**kw)
        assert close(res[i]["step_s"], ref.step_s) and close(res[i]["mfu"], ref.mfu)
        assert res[i]["batch_tokens"] == res[i]["global_batch_size"] * res[i]["seq_len"]


def test_energy_carbon_cost_equal_the_sustainability_and_economics_solvers():
    dcs = [make_dc("Clean", 30, 0.10), "GCP_Iowa"]
    for fleet in (R256, make_fleet(measured=None), make_fleet(measured=450.0)):
        res = sweep(M70, fleet, tp=[8], pp=[2, 4, 8], datacenters=dcs, keep="feasible", tokens=1e11)
        assert len(res) and set(res["datacenter"]) == {"Clean", "Google Cloud us-central1 (Council Bluffs, Iowa)"}
        for i in range(len(res)):
            row = res[i]
            perf = res.solve(i)
            dc = res.datacenters[int(res._cols["datacenter_id"][i])]
            s = SustainabilityModel().solve(performance=perf, datacenter=dc)
            e = EconomicsModel().solve(performance=perf, datacenter=dc)
            assert close(row["energy_mwh"], s.energy.to("MWh").magnitude)
            assert close(row["it_energy_mwh"], s.it_energy.to("MWh").magnitude)
            assert close(row["power_kw"], s.facility_power.to("kW").magnitude)
            assert close(row["carbon_t"], s.carbon_footprint)
            assert close(row["carbon_market_t"], s.carbon_market.to("t").magnitude)
            assert close(row["embodied_t"], s.embodied_carbon.to("t").magnitude)
            assert close(row["carbon_total_t"], s.total_carbon.to("t").magnitude)
            assert close(row["water_m3"], s.water.to("m**3").magnitude)
            assert close(row["cost_usd"], e.total_usd)
            assert close(row["energy_usd"], e.energy_usd)
            assert close(row["capex_amortized_usd"], e.amortized_capex_usd)
            assert close(row["maintenance_usd"], e.maintenance_usd)


def test_datacenters_are_the_innermost_axis():
    res = sweep(M70, R256, tp=[8], pp=[4], microbatch=[1, 2], datacenters=[make_dc("A", 100, 0.1), "GCP_Iowa"])
    assert len(res) == 4
    assert list(res["config_id"]) == [0, 1, 2, 3]
    assert res["step_s"][0] == res["step_s"][1] and res["carbon_t"][0] != res["carbon_t"][1]


def test_chunking_does_not_change_any_bit(wide):
    small = sweep(M70, R256, tp=[1, 2, 4, 8, 16], pp=[1, 2, 3, 4, 8, 16], cp=[1, 2], microbatch=[1, 2, 3],
                  interleave=[1, 2], recompute=["none", "selective", "full"], zero=[0, 1, 3], chunk_size=7)
    for c in wide.columns:
        a, b = wide[c], small[c]
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), c


def test_keep_modes_are_filters_of_the_full_table(wide):
    kw = dict(tp=[1, 2, 4, 8, 16], pp=[1, 2, 3, 4, 8, 16], cp=[1, 2], microbatch=[1, 2, 3], interleave=[1, 2],
              recompute=["none", "selective", "full"], zero=[0, 1, 3])
    valid = sweep(M70, R256, keep="valid", **kw)
    feas = sweep(M70, R256, keep="feasible", **kw)
    ok = ~np.isnan(wide["step_s"])
    assert np.array_equal(valid["config_id"], wide["config_id"][ok])
    assert np.array_equal(feas["config_id"], wide.feasible()["config_id"])
    assert np.array_equal(feas["step_s"], wide.feasible()["step_s"])
    assert feas.evaluated == len(wide)


# ---------------------------------------------------------------- infeasible rows keep their reason
def test_infeasible_rows_carry_reasons(wide):
    r = wide.row
    reasons = wide["reason"]
    pp3 = np.flatnonzero(wide["pp"] == 3)
    assert all(reasons[i] == "tp*pp*cp does not divide the fleet's accelerators" for i in pp3)
    v2pp1 = np.flatnonzero((wide["interleave"] == 2) & (wide["pp"] == 1))
    assert all("interleave exceeds layers per stage" in reasons[i] for i in v2pp1)
    oom = np.flatnonzero(reasons == "out of memory")
    assert oom.size and all(r(int(i))["memory_gb"] > 80 for i in oom[:50])
    assert all(np.isfinite(wide["step_s"][oom]))
    assert (reasons[wide["feasible"]] == "").all()
    assert not (reasons[~wide["feasible"]] == "").any()
    assert set(wide.reason_counts()) <= set(REASONS)


def test_batch_and_heads_reasons():
    res = sweep(M70, R256, tp=[3, 8], pp=[1], global_batch_size=[100], microbatch=[1])
    # tp=3: 3 does not divide 256, which hides the other rules; tp=8: dp=32 does not divide a batch of 100
    assert res["reason"][1] == "batch not divisible by dp*microbatch"
    assert res["reason"][0] == "tp*pp*cp does not divide the fleet's accelerators"
    res = sweep(M70, fleet_grid(Systems.Nodes.DGX_H100, [3], Systems.Fabrics.InfiniBand_NDR), tp=[3], pp=[1])
    assert "tp does not divide attention heads" in res["reason"][0]


def test_unsupported_precision_rows_and_error():
    a100 = Systems.Clusters.Selene_A100
    res = sweep(M70, [R256, a100], tp=[8], pp=[8], precision=["fp8"], microbatch=[1])
    assert list(res["fleet"]) == [R256.name, a100.name]
    assert res["reason"][1] == "precision not supported by the accelerator" and not res["feasible"][1]
    with pytest.raises(ConfigError, match="fp8"):
        sweep(M70, a100, tp=[8], pp=[8], precision=["fp8"])


# ---------------------------------------------------------------- Pareto fronts
def brute_front(P):
    """The definition, O(n^2): i is on the front unless some j is <= in every objective and < in one."""
    P = np.asarray(P, float)
    nan = np.isnan(P).any(axis=1)
    le = (P[None, :, :] <= P[:, None, :]).all(-1)  # le[i, j]: P[j] <= P[i] everywhere
    lt = (P[None, :, :] < P[:, None, :]).any(-1)
    dominated = (le & lt & ~nan[None, :]).any(axis=1)
    return ~dominated & ~nan


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_pareto_mask_matches_brute_force(k):
    rng = np.random.default_rng(k)
    for trial in range(25):
        n = int(rng.integers(1, 300))
        P = rng.integers(0, 12, size=(n, k)).astype(float)  # many ties and duplicates
        if trial % 5 == 0:
            P[rng.random(n) < 0.1, 0] = np.nan
        assert np.array_equal(pareto_mask(P), brute_front(P))
        mx = rng.random(k) < 0.5
        Q = np.where(mx, -P, P)
        assert np.array_equal(pareto_mask(P, mx), brute_front(Q))
    P = rng.random((1500, 3))  # continuous, several blocks
    assert np.array_equal(pareto_mask(P), brute_front(P))


def test_pareto_of_a_sweep_and_streamed_pareto_agree():
    kw = dict(tp=[2, 4, 8], pp=[1, 2, 4, 8], microbatch=[1, 2, 4], recompute=["selective", "full"], zero=[0, 1, 2, 3],
              datacenters=["GCP_Iowa"])
    res = sweep(M70, R256, **kw)
    front = pareto(res, ("time_to_train", "memory_gb"))
    feas = res.feasible()
    P = np.column_stack([feas["time_to_train_days"], feas["memory_gb"]])
    assert sorted(front["config_id"]) == sorted(feas["config_id"][brute_front(P)])
    assert (np.diff(front["time_to_train_days"]) >= 0).all()
    streamed = pareto(M70, ("time_to_train", "memory_gb"), fleets=R256, chunk_size=50, **kw)
    assert sorted(streamed["config_id"]) == sorted(front["config_id"])
    cost = pareto(res)  # default: time to train vs cost
    assert len(cost) >= 1 and cost["feasible"].all()
    mfu_front = pareto(res, ("mfu", "memory_gb"))  # mfu is maximised
    assert mfu_front["mfu"][0] == feas["mfu"].max()


# ---------------------------------------------------------------- optimisers
AXES = dict(fleets=R256, tp=[2, 4, 8], pp=[1, 2, 4, 8], microbatch=[1, 2], recompute=["selective", "full"],
            zero=[1, 2, 3])


def test_optimize_is_the_constrained_minimum_of_the_sweep():
    res = sweep(M70, datacenters=["GCP_Iowa"], **AXES)
    opt = optimize(M70, "cost", {"deadline_days": 650, "memory_headroom": 0.1}, runners_up=4,
                   datacenters=["GCP_Iowa"], **AXES)
    ok = res["feasible"] & (res["time_to_train_days"] <= 650) & (res["memory_headroom"] >= 0.1)
    assert opt.n_satisfying == int(ok.sum()) and opt.evaluated == len(res)
    assert opt.best["cost_usd"] == res["cost_usd"][ok].min()
    assert opt.best["time_to_train_days"] <= 650 and opt.best["memory_headroom"] >= 0.1
    costs = opt.table["cost_usd"]
    assert len(opt.runners_up) == 4 and (np.diff(costs) >= 0).all()
    assert np.array_equal(np.sort(res["cost_usd"][ok])[:5], costs)
    ref = opt.solve()
    assert close(ref.step_s, opt.best["step_s"])
    assert opt.fleet is R256 and "cost" in repr(opt)


def test_optimize_objectives_and_maximisation():
    fast = optimize(M70, "step_time", **AXES)
    best_mfu = optimize(M70, "mfu", **AXES)
    res = sweep(M70, **AXES).feasible()
    assert fast.best["step_s"] == res["step_s"].min()
    assert best_mfu.best["mfu"] == res["mfu"].max()
    lex = optimize(M70, ["tp", "time_to_train"], **AXES)  # lexicographic: smallest tp first
    assert lex.best["tp"] == res["tp"].min()


def test_impossible_constraints_explain_why():
    with pytest.raises(InfeasibleError) as exc:
        optimize(M70, "time_to_train", {"deadline_days": 10}, **AXES)
    msg = str(exc.value)
    assert "deadline_days=10" in msg and "lowest time_to_train_days reached" in msg and "out of memory" in msg
    with pytest.raises(InfeasibleError, match="cannot run"):
        optimize(M70, "time_to_train", fleets=R256, tp=[1], pp=[1], microbatch=[8], recompute=["none"], zero=[0])


def test_bad_objectives_and_constraints():
    with pytest.raises(UnknownNameError, match="did you mean"):
        optimize(M70, "time_to_trian", **AXES)
    with pytest.raises(ConfigError, match="datacenters"):
        optimize(M70, "cost", **AXES)
    with pytest.raises(ConfigError, match="datacenters"):
        optimize(M70, "time_to_train", {"budget_usd": 1e6}, **AXES)
    with pytest.raises(UnknownNameError, match="deadline_days"):
        optimize(M70, "time_to_train", {"deadlin_days": 5}, **AXES)
    with pytest.raises(ConfigError, match="contradictory"):
        optimize(M70, "time_to_train", {"min_mfu": 0.6, "max_mfu": 0.5}, **AXES)
    with pytest.raises(ConfigError, match="contradictory"):
        optimize(M70, "time_to_train", {"deadline_days": 30, "min_time_to_train_days": 40}, **AXES)
    with pytest.raises(ConfigError, match="memory_headroom"):
        optimize(M70, "time_to_train", {"memory_headroom": 1.5}, **AXES)
    with pytest.raises(ConfigError, match="positive"):
        optimize(M70, "time_to_train", {"deadline_days": -3}, **AXES)
    with pytest.raises(ConfigError):
        optimize(M70, "time_to_train", {"deadline_days": "soon"}, **AXES)
    with pytest.raises(ConfigError):
        optimize(M70, [], **AXES)


def test_smallest_fleet_meets_the_deadline_and_one_size_smaller_does_not():
    counts = [16, 32, 48, 64, 96, 128, 192, 256]
    axes = dict(tp=[4, 8], pp=[1, 2, 4, 8], microbatch=[1], recompute=["selective", "full"], zero=[1])
    plan = smallest_fleet(M70, Systems.Nodes.DGX_H100, Systems.Fabrics.InfiniBand_NDR, deadline_days=120,
                          counts=counts, **axes)
    n = plan.best["nodes"]
    assert plan.best["time_to_train_days"] <= 120 and plan.fleet.count == n
    smaller = [c for c in counts if c < n]
    assert smaller
    with pytest.raises(InfeasibleError):
        optimize(M70, "time_to_train", {"deadline_days": 120},
                 fleets=fleet_grid(Systems.Nodes.DGX_H100, smaller, Systems.Fabrics.InfiniBand_NDR), **axes)
    cheap = smallest_fleet(M70, Systems.Nodes.DGX_H100, Systems.Fabrics.InfiniBand_NDR, deadline_days=120,
                           counts=counts, minimize="cost", datacenters=["GCP_Iowa"], **axes)
    assert cheap.best["time_to_train_days"] <= 120
    with pytest.raises(ConfigError, match="datacenters"):
        smallest_fleet(M70, "DGX_H100", "InfiniBand_NDR", deadline_days=120, minimize="cost")
    with pytest.raises(InfeasibleError, match="deadline_days"):
        smallest_fleet(M70, "DGX_H100", "InfiniBand_NDR", deadline_days=1, counts=[1, 2, 4], **axes)


def test_best_region_follows_the_carbon_price():
    cheap_dirty = make_dc("Cheap coal", 900, 0.03)
    clean_pricey = make_dc("Clean hydro", 20, 0.12)
    axes = dict(tp=[8], pp=[2, 4], microbatch=[1])
    no_price = best_region(M70, R256, [clean_pricey, cheap_dirty], carbon_price_usd_per_t=0, **axes)
    assert list(no_price["datacenter"]) == ["Cheap coal", "Clean hydro"]
    priced = best_region(M70, R256, [clean_pricey, cheap_dirty], carbon_price_usd_per_t=200, **axes)
    assert list(priced["datacenter"]) == ["Clean hydro", "Cheap coal"]
    row = priced[0]
    assert close(row["cost_with_carbon_usd"], row["cost_usd"] + 200 * row["carbon_t"])
    # per-region hardware: a fleet for each datacenter
    per = best_region(M70, {cheap_dirty: R256, clean_pricey: make_fleet(nodes=32)}, None,
                      carbon_price_usd_per_t=50, **axes)
    assert set(per["fleet"]) == {R256.name, "test fleet x32"}


# ---------------------------------------------------------------- bad input, memory, output
@pytest.mark.parametrize("kw, match", [
    (dict(tp=[]), "empty"), (dict(microbatch=[]), "empty"), (dict(zero=[4]), "zero"), (dict(tp=[0]), "tp"),
    (dict(tp=[2.0]), "integer"), (dict(recompute=["some"]), "recompute"), (dict(precision=["bf17"]), "precision"),
    (dict(keep="best"), "keep"), (dict(executor="ray"), "executor"), (dict(datacenters=[]), "empty"),
    (dict(precision=[]), "empty"), (dict(tp="all"), "integer"), (dict(chunk_size=0), "chunk_size"),
])
def test_bad_sweep_input(kw, match):
    with pytest.raises(ConfigError, match=match):
        sweep(M70, R256, **kw)


def test_bad_model_and_fleet():
    with pytest.raises(ConfigError, match="fleets"):
        sweep(M70)
    with pytest.raises(ConfigError):
        sweep(M70, [])
    with pytest.raises(UnknownNameError):
        sweep(M70, "Research_265")
    with pytest.raises(ConfigError, match="datacenters"):
        sweep(M70, R256, datacenters=[42])
    with pytest.raises(ConfigError, match="token"):
        sweep(M70, R256, tokens=-1)


def test_a_sweep_too_large_for_memory_is_refused_not_a_memory_error():
    big = dict(tp=list(range(1, 65)), pp=list(range(1, 81)), cp=list(range(1, 17)), microbatch=list(range(1, 65)),
               interleave=list(range(1, 17)), zero=[0, 1, 2, 3], recompute=["none", "selective", "full"])
    with pytest.raises(ConfigError, match="optimize"):
        sweep(M70, R256, **big)  # ~4e10 rows: refused before any work
    with pytest.raises(ConfigError, match="memory budget"):
        sweep(M70, R256, tp=[4, 8], pp=[1, 2, 4, 8], keep="feasible", max_memory_gb=1e-8)  # 5 bytes: one row exceeds it


def test_streaming_optimize_handles_a_sweep_larger_than_any_table():
    # 1.1 M configurations, never materialised: optimize keeps the top rows per chunk
    opt = optimize(M70, "time_to_train", fleets=R256, tp=[1, 2, 4, 8], pp=[1, 2, 4, 8, 16], cp=[1, 2, 4],
                   microbatch=[1, 2, 4], interleave=[1, 2, 4, 5], recompute=["none", "selective", "full"],
                   zero=[0, 1, 2, 3], seq_len=[4096, 8192], global_batch_size=list(range(256, 4097, 256)))
    assert opt.evaluated == 4 * 5 * 3 * 3 * 4 * 3 * 4 * 2 * 16
    assert opt.best["feasible"]


def test_exports(tmp_path, wide):
    pd = pytest.importorskip("pandas")
    df = wide.to_pandas()
    assert len(df) == len(wide) and "step_s" in df and "reason" in df and df["fleet"].dtype.name == "category"
    p = tmp_path / "sweep.csv"
    wide.head(20).to_csv(p)
    back = pd.read_csv(p)
    assert list(back.columns) == wide.columns and np.allclose(back["step_s"], wide["step_s"][:20], equal_nan=True)
    wide.head(5)._to_csv_numpy(tmp_path / "np.csv")
    assert (tmp_path / "np.csv").read_text().splitlines()[0].split(",")[:3] == ["config_id", "fleet", "precision"]


def test_result_access(wide):
    assert isinstance(wide[:10], SweepResult) and len(wide[:10]) == 10
    assert wide[-1]["config_id"] == len(wide) - 1
    with pytest.raises(IndexError):
        wide.row(len(wide))
    with pytest.raises(UnknownNameError, match="step_s"):
        wide["step"]
    s = wide.feasible().sort("mfu", descending=True)
    assert (np.diff(s["mfu"]) <= 0).all()
    assert (np.diff(wide.sort(["tp", "step_s"])["tp"]) >= 0).all()
    assert "configurations" in repr(wide) and "mfu" in wide and "nope" not in wide
    assert set(wide.to_dict()) == set(wide.columns)


def test_progress_bar_goes_to_stderr(capsys):
    sweep(M70, R256, tp=[4, 8], pp=[1, 2], progress=True)
    err = capsys.readouterr().err
    assert "configs" in err and "100.0%" in err
    sweep(M70, R256, tp=[4, 8], pp=[1, 2])
    assert capsys.readouterr().err == ""


def test_fleet_grid_and_several_fleets():
    fl = fleet_grid("DGX_H100", [4, 8], ["InfiniBand_NDR", "InfiniBand_HDR"])
    assert [f.total_accelerators for f in fl] == [32, 64, 32, 64]
    res = sweep(M70, fl, tp=[8], pp=[4], microbatch=[1], keep="valid")
    assert list(res["accelerators"]) == [32, 64, 32, 64] and list(res["dp"]) == [1, 2, 1, 2]
    for i in range(len(res)):
        assert close(res[i]["step_s"], res.solve(i).step_s)
    with pytest.raises(ConfigError):
        fleet_grid(42, [4], "InfiniBand_NDR")
    with pytest.raises(ConfigError, match="empty"):
        fleet_grid("DGX_H100", [], "InfiniBand_NDR")


def test_optimize_holds_the_derived_batch_near_the_published_one():
    big = fleet_grid("DGX_H100", [512], "InfiniBand_NDR")  # 4,096 GPUs: dp=4,096 would need a 2x batch
    axes = dict(fleets=big, tp=[1, 8], pp=[1, 8], microbatch=[1], recompute=["full"], zero=[3])
    held = optimize(M70, "time_to_train", **axes)
    free = optimize(M70, "time_to_train", batch_tolerance=None, **axes)
    target = M70.global_batch_tokens
    assert abs(held.table["batch_tokens"] / target - 1).max() <= 0.25
    assert free.best["batch_tokens"] > 1.25 * target and free.best["time_to_train_days"] < held.best["time_to_train_days"]
    fixed = optimize(M70, "time_to_train", global_batch_size=[8192], **axes)  # an explicit batch is the user's
    assert fixed.best["global_batch_size"] == 8192


def test_streaming_reductions_fold_as_they_go(monkeypatch):
    from mlsysim.explore.optimize import TopK
    from mlsysim.explore.pareto import ParetoReducer
    kw = dict(AXES, datacenters=["GCP_Iowa"])
    ref_opt = optimize(M70, "cost", {"memory_headroom": 0.05}, **kw)
    ref_front = pareto(M70, ("time_to_train", "cost"), **kw)
    monkeypatch.setattr(TopK, "fold_every", 2)
    monkeypatch.setattr(ParetoReducer, "fold_every", 2)
    opt = optimize(M70, "cost", {"memory_headroom": 0.05}, chunk_size=5, **kw)
    front = pareto(M70, ("time_to_train", "cost"), chunk_size=5, **kw)
    assert np.array_equal(opt.table["config_id"], ref_opt.table["config_id"])
    assert opt.rejected == ref_opt.rejected and opt.violations == ref_opt.violations
    assert np.array_equal(front["config_id"], ref_front["config_id"])
