"""Held-out serving (validation/holdout_serving.py): the published figures are the submitters' (copied here by hand
with their citation, never read back from the module), the per-GPU conversion and the fp8 GEMM ceilings are
derived by hand, and each prediction stays under a compute roofline computed here from the model's shapes."""
import pytest

from mlsysim.hardware.registry import Hardware
from mlsysim.physics import constants as C
from mlsysim.physics.precision import matmul_ceiling
from mlsysim.validation import holdout_serving as H
from mlsysim.validation import serving as S

# run id -> (system output tokens/s as published, GPUs, chip, scenario, precision, stated TP or None):
PUBLISHED = {
    # MLPerf Inference v4.1 (2024-08-28), closed, datacenter, available: AMD, 8x MI300X with 2x EPYC 9374F,
    # llama2-70b, vLLM on ROCm, FP8, TP1 per GPU: Offline 23,514, Server 21,028 tokens/s (AMD blog 2024-08-28;
    # recalled, 'verify' in the module)
    "mlperf41-mi300x8-llama2-70b-offline": (23514, 8, "MI300X", "offline", "fp8", 1),
    "mlperf41-mi300x8-llama2-70b-server": (21028, 8, "MI300X", "server", "fp8", 1),
    # MLPerf Inference v4.0 (2024-03-27), closed, datacenter: Intel, 8x Gaudi 2, llama2-70b, FP8: Offline 8,035.0,
    # Server 6,287.5 tokens/s (Intel press release 2024-03-27; recalled, 'verify' in the module); TP not stated
    "mlperf40-gaudi2x8-llama2-70b-offline": (8035.0, 8, "Gaudi2", "offline", "fp8", None),
    "mlperf40-gaudi2x8-llama2-70b-server": (6287.5, 8, "Gaudi2", "server", "fp8", None),
}


@pytest.fixture(scope="module")
def table():
    return {r["run_id"]: r for r in H.holdout_serving_table()}


def test_published_figures_are_the_submitters():
    rows = {h.run.run_id: h for h in H.ROWS}
    assert list(rows) == list(PUBLISHED)
    for run_id, (system, gpus, chip, scenario, prec, tp) in PUBLISHED.items():
        h = rows[run_id]
        assert (h.system_tokens_per_s, h.run.gpus, h.run.accelerator) == (system, gpus, chip), run_id
        assert (h.run.scenario, h.run.precision, h.run.tp, h.run.model) == (scenario, prec, tp, "Llama2_70B")
        assert f"{system:,.1f}".removesuffix(".0") in h.citation and "verify" in h.citation


def test_per_gpu_is_the_system_figure_over_its_gpus(table):
    # MLPerf counts the whole system's output tokens: 23,514 / 8 = 2,939.25; 6,287.5 / 8 = 785.9375
    assert table["mlperf41-mi300x8-llama2-70b-offline"]["published"] == 2939.25
    assert table["mlperf40-gaudi2x8-llama2-70b-server"]["published"] == 785.9375
    # same lengths and limits as the in-sample MLPerf llama2-70b rows (OpenOrca ~295 in / 290 out; 2 s / 200 ms)
    assert all((h.run.isl, h.run.osl) == (295.0, 290.0) for h in H.ROWS) and S.LIMITS == (2.0, 0.2)


def test_no_held_out_row_or_chip_is_in_the_fitted_table():
    # tools/calibrate_serving.py fits the engine on serving.RUNS: H100, H200 and B200 rows only
    assert not {h.run.run_id for h in H.ROWS} & {r.run_id for r in S.RUNS}
    assert not {h.run.accelerator for h in H.ROWS} & {r.accelerator for r in S.RUNS}


def test_fp8_gemm_ceilings_by_hand():
    # MI300X: no fp8 MAMF published; bf16 MAMF 668.4 of 1,307.4 TF = 0.5112 caps the 0.72 default
    assert matmul_ceiling(Hardware.get("MI300X"), "fp8", C.DEFAULT_MATMUL_EFFICIENCY,
                          C.DEFAULT_FP8_MATMUL_EFFICIENCY) == pytest.approx(668.4 / 1307.4, rel=1e-9)
    # Gaudi 2: fp8 MAMF 826.5 of 865 TF = 0.9555 (stas00 table via shared/validation/hardware.csv)
    assert matmul_ceiling(Hardware.get("Gaudi2"), "fp8", C.DEFAULT_MATMUL_EFFICIENCY,
                          C.DEFAULT_FP8_MATMUL_EFFICIENCY) == pytest.approx(826.5 / 865, rel=1e-9)
    # B200 fp4: 0.72 default stays (its bf16 MAMF 1,745 / 2,250 = 0.776 is above it); H100 keeps its measurement
    assert matmul_ceiling(Hardware.get("B200"), "fp4", 0.78, 0.72) == 0.72
    assert matmul_ceiling(Hardware.get("H100"), "fp8", 0.78, 0.72) == pytest.approx(1402.6 / 1979, rel=1e-9)


def test_predictions_respect_a_compute_roofline_by_hand(table):
    # Llama 2 70B linear layers per token: 80 x (2 x 8192^2 [q, o] + 2 x 8192 x 1024 [k, v] + 3 x 8192 x 28672)
    # = 80 x 855.6M = 68.45e9 weights, 2 FLOPs each. Each output token brings 295/290 prompt tokens of prefill.
    n = 80 * (2 * 8192**2 + 2 * 8192 * 1024 + 3 * 8192 * 28672)
    assert n == pytest.approx(68.45e9, rel=1e-3)
    flop_per_out = 2 * n * (1 + 295 / 290)
    for chip, ceiling in (("MI300X", 2614.9e12 * 668.4 / 1307.4), ("Gaudi2", 826.5e12)):  # fp8 GEMM ceilings
        bound = ceiling / flop_per_out  # MI300X 4,841 and Gaudi 2 2,993 tokens/s per GPU
        for r in table.values():
            if r["accelerator"] == chip:
                assert 0 < r["predicted"] < bound, (r["run_id"], r["predicted"], bound)


def test_server_capacity_is_at_most_offline(table):
    for off in [k for k in table if k.endswith("-offline")]:
        srv = off.replace("-offline", "-server")
        assert table[srv]["predicted"] <= table[off]["predicted"] * (1 + 1e-9)


def test_table_text_fits_80_columns_and_recomputes(table):
    rows = list(table.values())
    text = H.format_holdout_serving_table(rows)
    assert all(len(line) <= 80 for line in text.splitlines())
    for r in rows:
        line = next(x for x in text.splitlines() if x.startswith(r["run_id"] + " "))
        tp, system, pub, pred, err = (float(t.rstrip("%").replace(",", "")) for t in line.split()[1:])
        assert system == round(PUBLISHED[r["run_id"]][0]) and err == pytest.approx(100 * (pred / pub - 1), abs=0.1)
    wide = H.format_holdout_serving_table(rows, wide=True)
    assert "mlperf41-mi300x8-llama2-70b-offline" in wide and "vLLM (ROCm)" in wide.splitlines()[1]
