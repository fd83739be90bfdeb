"""Speculative decoding in the explorer's serving sweep: the same physics (serving_load.max_load with the
drafter replica_setup puts in `kw`) as ServingLoadModel, the same validation, and the token budget by hand."""
import math

import pytest

from mlsysim import explore
from mlsysim.errors import ConfigError
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_sweep import serving_sweep

L70 = "Llama3_70B"
DRAFT = dict(draft_model="Llama3_8B", draft_acceptance_rate=0.7)
MTP = dict(mtp_depth=2, draft_acceptance_rate=0.8)
# one max batch below every layout's KV and chunk limits (chunk 2048 with 5 rows per sequence: 2047 / 5 = 409.4),
# so each layout's concurrency grid spans 1 .. 256 in the sweep and in one solve alike: the same numbers exactly
KW = dict(hardware=("H100", "H200"), precisions=("fp8",), tp_sizes=(4,), lengths=((1000, 200),), max_batches=(256,),
          chunks=(2048, 8192), ttft_slos=(0.1, 0.5, math.inf), tpot_slo=0.05)


@pytest.mark.parametrize("spec", [DRAFT, MTP], ids=["draft", "mtp"])
def test_sweep_rows_with_a_draft_equal_serving_load_model(spec):
    r = serving_sweep(L70, **KW, **spec)
    for i, (hw, _, tp, isl, osl) in enumerate(r["layouts"]):
        for c, chunk in enumerate(KW["chunks"]):
            for j, slo in enumerate(KW["ttft_slos"]):
                one = ServingLoadModel().solve(L70, hw, qps=1.0, input_len=isl, output_len=osl, tp_size=tp,
                                               precision="fp8", max_batch=256, chunk_tokens=chunk,
                                               ttft_slo=None if slo == math.inf else slo, tpot_slo=0.05, **spec)
                assert r["qps"][i, 0, c, j] == pytest.approx(one.qps_per_replica_max, rel=1e-9)
    assert r["ok"].all() and len(r["layouts"]) == 2


def test_the_draft_changes_the_answer_and_the_default_does_not():
    kw = dict(KW, hardware=("H100",), max_batches=(1, 256), chunks=(8192,), ttft_slos=(math.inf,),
              tpot_slo=math.inf)
    plain, draft = serving_sweep(L70, **kw), serving_sweep(L70, **kw, **DRAFT)
    one = ServingLoadModel().solve(L70, "H100", qps=1.0, input_len=1000, output_len=200, tp_size=4,
                                   precision="fp8", max_batch=256, chunk_tokens=8192)
    assert plain["qps"][0, 1, 0, 0] == pytest.approx(one.qps_per_replica_max, rel=1e-9)
    # offline, both run max batch sequences; with the draft each emits E = (1 - 0.7^5) / 0.3 = 2.7731 tokens per
    # iteration (Leviathan et al. 2023), but an iteration adds 4 draft passes and verifies 5 rows: the QPS ratio is
    # E x t_plain / t_spec < E. At one sequence decode reads the weights (memory-bound: the 8B draft's passes cost
    # ~8/70 of the target's), so drafting wins; at 256 the 5 verification rows turn the GEMMs compute-bound and
    # the gain shrinks
    assert plain["conc"][0, :, 0, 0] == pytest.approx([1, 256]) == draft["conc"][0, :, 0, 0]
    ratio = draft["qps"][0, :, 0, 0] / plain["qps"][0, :, 0, 0]
    assert 1.0 < ratio[0] < 0.83193 / 0.3 and ratio[1] < ratio[0]


def test_the_token_budget_limits_the_batch_by_hand():
    # offline (no SLO), chunk 2048: each decoding sequence takes k + 1 = 5 rows of the budget and, finishing E x
    # sooner, needs E x I / O = 2.7731 x 5 prompt tokens per iteration, so the prompt queue saturates (rho = 1) at
    # B = 2048 / (5 + 13.866) = 108.56 (plain decoding: 2048 / (1 + 5) = 341.3). max_load's concurrency grid
    # (1 .. b_max = (2048 - 1) / 5 = 409.4 in 47 geometric steps of 409.4^(1/47) = 1.1365) stops at its last point
    # below the saturation, within one step of it
    kw = dict(KW, hardware=("H100",), max_batches=(4096,), chunks=(2048,), ttft_slos=(math.inf,), tpot_slo=math.inf)
    b = serving_sweep(L70, **kw, **DRAFT)["conc"][0, 0, 0, 0]
    assert 108.56 / 1.1365 <= b <= 108.56
    assert serving_sweep(L70, **kw)["conc"][0, 0, 0, 0] == pytest.approx(2048 / 6, rel=0.14)


@pytest.mark.parametrize("bad, match", [
    (dict(draft_tokens=3), "draft_tokens only matters"),
    (dict(draft_model="Llama3_8B", mtp_depth=1, draft_acceptance_rate=0.7), "not both"),
    (dict(draft_model="Llama3_8B"), "needs draft_acceptance_rate"),
    (dict(mtp_depth=1, draft_acceptance_rate=1.5), r"must be in \[0, 1\)")])
def test_bad_draft_input_is_the_same_config_error(bad, match):
    with pytest.raises(ConfigError, match=match) as sweep:
        explore.serving_sweep(L70, **KW, **bad)
    with pytest.raises(ConfigError) as load:
        ServingLoadModel().solve(L70, "H100", qps=1.0, tp_size=4, precision="fp8", **bad)
    assert str(sweep.value) == str(load.value)


def test_explorer_table_carries_the_draft():
    res = explore.serving_sweep(L70, **dict(KW, hardware=("H100",), chunks=(8192,), ttft_slos=(0.5,)), **MTP)
    one = ServingLoadModel().solve(L70, "H100", qps=1.0, input_len=1000, output_len=200, tp_size=4,
                                   precision="fp8", max_batch=256, chunk_tokens=8192, ttft_slo=0.5, tpot_slo=0.05,
                                   **MTP)
    assert len(res) == 1 and res[0]["qps_per_replica"] == pytest.approx(one.qps_per_replica_max, rel=1e-9)
