"""The explorer takes the solver's tp_overlap / ep_overlap (issue 11): every swept row still equals
DistributedModel().solve with the same share, and a bad share is refused as the solver refuses it."""
from __future__ import annotations

import math

import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.errors import ConfigError
from mlsysim.explore import optimize, pareto, sweep
from mlsysim.solvers.distributed import BREAKDOWN_KEYS

M70 = Models.Language.Llama3_70B
MIX = Models.Language.Mixtral_8x7B
R256 = Systems.Clusters.Research_256


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def assert_rows_equal_solver(res, **solver_kw):
    """Each valid row re-solved by the scalar solver with the overlap passed explicitly (not via the table)."""
    solver = DistributedModel()
    checked = 0
    for i in range(len(res)):
        kw = res.solver_kwargs(i)
        kw.update({k: (v if k != "tp_overlap" or kw["tp_size"] > 1 else 0.0) for k, v in solver_kw.items()})
        ref = solver.solve(**kw)
        row = res[i]
        assert row["feasible"] == ref.feasible
        assert close(row["step_s"], ref.step_s) and close(row["mfu"], ref.mfu) and close(row["hfu"], ref.hfu)
        for k in BREAKDOWN_KEYS:
            assert close(row[f"{k}_s"], ref.breakdown_s[k])
        assert ref.layout["tp_overlap"] == (solver_kw.get("tp_overlap", 0.0) if row["tp"] > 1 else 0.0)
        assert ref.layout["ep_overlap"] == solver_kw.get("ep_overlap", 0.0)
        checked += 1
    return checked


def test_tp_overlap_rows_equal_the_solver():
    axes = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4], microbatch=[1, 2], recompute=["selective", "full"], keep="valid")
    res = sweep(M70, R256, tp_overlap=0.5, **axes)
    assert res.settings["tp_overlap"] == 0.5
    assert assert_rows_equal_solver(res, tp_overlap=0.5) == 4 * 3 * 2 * 2
    base = sweep(M70, R256, **axes)
    for i in range(len(res)):  # hiding half of the TP traffic changes every TP > 1 row; tp = 1 has none to hide
        if res[i]["tp"] == 1:
            assert res[i]["tp_comm_s"] == base[i]["tp_comm_s"] == 0.0
        else:
            assert res[i]["tp_comm_s"] != base[i]["tp_comm_s"]


def test_ep_overlap_rows_of_an_moe_model_equal_the_solver():
    axes = dict(tp=[1, 2], pp=[1, 2], ep=[1, 2, 4, 8], microbatch=[1], seq_len=[4096], tokens=1e12, keep="valid")
    for share in (1.0, 0.25):
        res = sweep(MIX, R256, ep_overlap=share, **axes)
        assert assert_rows_equal_solver(res, ep_overlap=share) == 2 * 2 * 4
    hidden, exposed = sweep(MIX, R256, ep_overlap=1.0, **axes), sweep(MIX, R256, **axes)
    for i in range(len(hidden)):  # ep > 1 rows send all-to-all traffic: hiding it lowers the exposed share
        if hidden[i]["ep"] > 1:
            assert hidden[i]["ep_comm_s"] < exposed[i]["ep_comm_s"]


def test_optimize_and_pareto_take_the_overlaps_and_solve_with_them():
    best = optimize(MIX, fleets=R256, tp=[1, 2], pp=[1, 2], ep=[2, 4, 8], microbatch=[1], seq_len=[4096], tokens=1e12,
                    ep_overlap=1.0)
    perf = best.solve()
    assert perf.layout["ep_overlap"] == 1.0 and close(perf.step_s, best.best["step_s"])
    front = pareto(M70, ["time_to_train_days", "memory_gb"], fleets=R256, tp=[2, 4, 8], pp=[1, 2],
                   microbatch=[1], tp_overlap=1.0)
    assert len(front) > 0 and all(front.solve(i).layout["tp_overlap"] == 1.0 for i in range(len(front)))


@pytest.mark.parametrize("model, kw", [
    (M70, dict(tp_overlap=1.5)), (M70, dict(tp_overlap=-0.1)), (MIX, dict(ep_overlap=2.0)),
    (M70, dict(ep_overlap=0.5)),  # dense model: no all-to-all to hide
])
def test_a_bad_share_is_refused_as_the_solver_refuses_it(model, kw):
    with pytest.raises(ConfigError) as solver_err:
        DistributedModel().solve(model, R256, tp_size=8, tokens=1e12, **kw)
    with pytest.raises(ConfigError) as sweep_err:
        sweep(model, R256, tp=[8], pp=[1], tokens=1e12, **kw)
    assert str(sweep_err.value) == str(solver_err.value)
    with pytest.raises(ConfigError):
        optimize(model, fleets=R256, tp=[8], pp=[1], tokens=1e12, **kw)


def test_tp_overlap_without_tensor_parallelism_is_refused():
    with pytest.raises(ConfigError, match="tp_overlap=0.5 but tp_size=1"):
        DistributedModel().solve(M70, R256, tp_size=1, pp_size=8, tp_overlap=0.5)
    with pytest.raises(ConfigError, match="tp_overlap=0.5 but every tp is 1"):
        sweep(M70, R256, tp=[1], pp=[8], tp_overlap=0.5)
