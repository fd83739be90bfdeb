"""Held-out training runs (validation/holdout.py): every published run of shared/validation/training_runs.csv is
modelled, used by another table or excluded with a reason; published figures and FLOPs derived by hand."""
import csv
from pathlib import Path

import pytest

from mlsysim.validation import holdout as H

CSV = [p / "validation" / "training_runs.csv" for p in (Path(__file__).resolve().parents[1] / "shared",
                                                         Path(__file__).resolve().parents[3] / "shared",
                                                         Path("/work/shared"))]


@pytest.fixture(scope="module")
def table():
    return {r["run_id"]: r for r in H.holdout_table()}


def test_every_csv_row_is_modelled_used_elsewhere_or_excluded_with_a_reason():
    path = next((p for p in CSV if p.exists()), None)
    if path is None:
        pytest.skip("shared/validation/training_runs.csv not available")
    ids = [r["run_id"] for r in csv.DictReader(path.open())]
    held = {r[0] for r in H.RUNS} - set(H.FROM_PAPER)  # FROM_PAPER rows are not in the file
    elsewhere = {i for i in ids if any(i.startswith(p) for ps in H.ELSEWHERE.values() for p in ps)}
    assert held <= set(ids) and set(H.EXCLUDED) <= set(ids)
    assert not held & set(H.EXCLUDED) and not held & elsewhere and not elsewhere & set(H.EXCLUDED)
    assert set(ids) == held | elsewhere | set(H.EXCLUDED), set(ids) - held - elsewhere - set(H.EXCLUDED)
    # 54 rows in the file (wc -l = 55 with the header)
    assert len(ids) == 54


def test_the_table_has_one_row_per_held_out_run_and_names_the_exclusions(table):
    assert list(table) == [r[0] for r in H.RUNS] and len(table) == 11
    wide = H.format_holdout_table(list(table.values()), wide=True)
    # the 80-column default wraps each reason over indented lines: every word is still there, in order
    flat = " ".join(H.format_holdout_table(list(table.values())).split())
    assert f"Excluded ({len(H.EXCLUDED)})" in wide and len(H.EXCLUDED) == 12
    for run_id, why in H.EXCLUDED.items():
        assert f"  {run_id}: {why}\n" in wide + "\n" and len(why) > 5
        assert " ".join(f"{run_id}: {why}".split()) in flat
    s = H.summary(list(table.values()))
    assert s["n"] == 11 and s["excluded"] == H.EXCLUDED


def test_published_gpu_hours_follow_from_the_sources():
    pub = {r[0]: r[5] for r in H.RUNS}
    assert pub["falcon-7b"] == 384 * 14 * 24 == 129_024  # 384 A100-40GB, "about two weeks"
    assert pub["falcon-40b"] == 384 * 60 * 24 == 552_960  # 384 A100-40GB, "two months"
    assert pub["mpt-7b"] == 440 * 9.5 * 24 == 100_320  # "~9.5 days on 440xA100-40GB"
    # StarCoder Sec 5.7: 320,256 GPU-h on 512 GPUs = 625.5 h = 26.1 days
    assert pub["starcoderbase-15.5b"] / 512 / 24 == pytest.approx(26.06, abs=0.01)
    # DeepSeek-V3 Sec 1: 180K H800 GPU-hours per trillion tokens x 14.8T tokens = Table 1's 2,664K pre-training
    assert pub["deepseek-v3"] == pytest.approx(14.8e12 * 180e3 / 1e12, rel=1e-12) == 2_664_000
    assert pub["deepseek-v3"] / 2048 / 24 == pytest.approx(54.2, abs=0.05)  # ~54 days on 2,048 H800


def test_stated_layouts_are_pinned(table):
    # Falcon-7B card: PP=2 DP=192 on 384 GPUs; Falcon-40B: TP=8 PP=4 DP=12; MPT (LLM Foundry): FSDP only
    assert table["falcon-7b"]["layout"].startswith("tp1 pp2 dp192")
    assert table["falcon-40b"]["layout"].startswith("tp8 pp4 dp12")
    assert table["mpt-7b"]["layout"].startswith("tp1 pp1 dp440") and " z3 " in table["mpt-7b"]["layout"]
    # StarCoder Sec 5.7: tensor and pipeline parallel rank 4 (16 GPUs a replica), 512 / 16 = 32-fold data parallel
    assert table["starcoderbase-15.5b"]["layout"].startswith("tp4 pp4 dp32")
    assert table["falcon-7b"]["layout_source"] == "stated" and table["pythia-70m"]["layout_source"] == "planner"
    # DeepSeek-V3 Sec 3.2: PP16, EP64, no TP on 2,048 GPUs -> dp = 2048 / 16 = 128; ZeRO-1
    ds = table["deepseek-v3"]["layout"]
    assert ds.startswith("tp1 pp16 dp128 ep64 ") and " z1 " in ds


def test_falcon_7b_flops_by_hand(table):
    # Falcon-7B: 32 layers, d 4544, 71 heads x 64, one KV head, FFN 18176, vocab 65024, seq 2048, 1.5T tokens.
    # Matmul weights per layer: QKV 4544 x (4544 + 2 x 64) = 21,229,568; out 4544^2 = 20,647,936;
    # MLP 2 x 4544 x 18176 = 165,183,488; sum 207,060,992, x 32 = 6,625,951,744.
    # Forward per token: 2 x 6,625,951,744 + causal attention 2 x 32 x 71 x (64 + 64) x 1024 = 595,591,168
    # + LM head 2 x 4544 x 65024 = 590,938,112 -> 14,438,432,768; training = 3x = 43,315,298,304 FLOP/token.
    flops = 43_315_298_304 * 1.5e12
    r = table["falcon-7b"]
    # MFU x A100 bf16 peak (312 TFLOP/s) x GPU-seconds of compute = the model FLOPs
    assert r["mfu"] * 312e12 * r["compute_hours"] * 3600.0 == pytest.approx(flops, rel=1e-6)
    # 6 N D with N = the parameters that multiply, all but the input-embedding lookup (21,229,568 + 20,647,936 +
    # 165,183,488 + 2 x 4544 norm weights and biases = 207,070,080 per layer x 32 + the 4544 x 65024 LM head +
    # final norm 9,088 = 6,921,720,704): attention adds ~4.3 %
    n = 207_070_080 * 32 + 4544 * 65024 + 9088
    assert n == 6_921_720_704
    assert flops / (6 * n * 1.5e12) == pytest.approx(1 + 595_591_168 / (2 * n), rel=2e-3)


def test_no_row_is_silently_dropped(table):
    # every row predicts a finite positive number of hours, and its error is computed against its own figure
    for run_id, gpus, published, *_ in ((r[0], r[4], r[5]) for r in H.RUNS):
        r = table[run_id]
        assert r["gpus"] == gpus and r["published"] == published and 0 < r["predicted"] < 1e9
        assert r["error_pct"] == pytest.approx(100 * (r["predicted"] - published) / published)


def test_validate_prints_the_held_out_section():
    from mlsysim.validation import format_sections, sections
    secs = sections()
    assert secs["holdout"]["summary"]["n"] == len(H.RUNS) == 11
    assert set(secs["holdout"]["summary"]["excluded"]) == set(H.EXCLUDED)
    assert "Held-out training runs" in format_sections(secs) and "falcon-40b" in secs["holdout"]["text"]
