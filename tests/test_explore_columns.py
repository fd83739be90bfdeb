"""Narrow stored rows (issue 17): a kept row stores its configuration in small integers plus step time, MFU and
memory; every other column is derived or re-evaluated on demand and still equals the scalar solver."""
from __future__ import annotations

import math

import numpy as np

from mlsysim import DistributedModel, Models, Systems
from mlsysim.explore import optimize, sweep
from mlsysim.solvers.distributed import BREAKDOWN_KEYS

M70 = Models.Language.Llama3_70B
R256 = Systems.Clusters.Research_256
# 4 x 5 x 4 x 4 x 3 x 4 x 4 x 8 = 122,880 rows: above the 65,536 rows where re-evaluation goes column by column
BIG = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4, 8, 16], cp=[1, 2, 4, 8], microbatch=[1, 2, 4, 8],
           recompute=["none", "selective", "full"], zero=[0, 1, 2, 3], seq_len=[2048, 4096, 8192, 16384],
           global_batch_size=[256, 512, 768, 1024, 1536, 2048, 3072, 4096])


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def test_a_kept_row_is_small_and_uses_narrow_integers():
    res = sweep(M70, R256, **BIG)
    assert len(res) == 4 * 5 * 4 * 4 * 3 * 4 * 4 * 8
    stored = res._cols
    # config_id 8 + fleet 2 + precision 1 + tp, pp, cp, ep, microbatch, interleave, zero (int8: <= 16) 7 x 1
    # + dp (<= 256), seq_len (<= 16,384), global batch (<= 4,096) 3 x 2 (int16) + recompute 1
    # + step, mfu, memory 3 x 8 (float64) + feasible 1 + reason bits 2 (14 reasons)
    assert stored["tp"].dtype == np.int8 and stored["dp"].dtype == np.int16 and stored["seq_len"].dtype == np.int16
    per_row = sum(a.itemsize for a in stored.values())
    assert per_row == 8 + 2 + 1 + 7 * 1 + 3 * 2 + 1 + 3 * 8 + 1 + 2 <= 120
    assert set(res.columns) >= {"time_to_train_days", "tp_comm_s", "weights_gb", "memory_headroom", "hfu"}


def test_derived_and_reevaluated_columns_of_a_large_sweep_equal_the_solver():
    res = sweep(M70, R256, keep="valid", **BIG)  # valid layouts (some out of memory): every one solves
    assert len(res) > 65536  # a large table: re-evaluated one column at a time
    rng = np.random.default_rng(17)
    solver = DistributedModel()
    for i in rng.choice(len(res), 25, replace=False):
        i = int(i)
        ref = solver.solve(**res.solver_kwargs(i))
        assert close(res["time_to_train_days"][i] * 86400, ref.time_to_train_s)
        assert close(res["tokens_per_s"][i], ref.tokens_per_s) and close(res["hfu"][i], ref.hfu)
        assert close(res["gpu_hours"][i], ref.gpu_hours) and close(res["steps"][i], ref.steps)
        assert close(res["memory_gb"][i], sum(ref.memory_bytes.values()) / 1e9)
        assert close(res["memory_headroom"][i], 1 - sum(ref.memory_bytes.values()) / ref.memory_capacity_bytes)
        for k in BREAKDOWN_KEYS:
            assert close(res[f"{k}_s"][i], ref.breakdown_s[k])
        for k, v in ref.memory_bytes.items():
            assert close(res[f"{k}_gb"][i], v / 1e9)


def test_ranking_on_a_reevaluated_column_agrees_with_the_table():
    axes = dict(tp=[2, 4, 8], pp=[1, 2, 4, 8], microbatch=[1, 2], recompute=["selective", "full"], zero=[1, 2])
    best = optimize(M70, "hfu", fleets=R256, **axes)  # ranked on hfu computed on the chunk's mesh
    res = sweep(M70, R256, keep="feasible", **axes)  # hfu re-evaluated row by row
    assert close(best.best["hfu"], float(res["hfu"].max()))
    assert close(best.best["dp_comm_s"], res.solve(int(np.argmax(res["hfu"]))).breakdown_s["dp_comm"])
