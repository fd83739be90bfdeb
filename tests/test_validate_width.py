"""`python -m mlsysim validate` reads on an 80-column terminal (the house rule for terminal tables) and its
80-column form still carries, on each run's own line, every figure a reader judges accuracy by: published,
predicted, error and LOFO. Published figures are taken from their sources (and shared/validation/*.csv where
present); errors and summaries are recomputed from the printed figures."""
from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from statistics import median

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = next((p for p in (ROOT / "shared", ROOT.parents[1] / "shared", Path("/work/shared"))
               if (p / "validation").is_dir()), None)
PCT = re.compile(r"[+-]\d+\.\d%")


@pytest.fixture(scope="module")
def out():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""),
               COLUMNS="80")
    r = subprocess.run([sys.executable, "-m", "mlsysim", "validate"], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def row(text, run_id):
    """The line of figures of `run_id`: its own line, or the line after it when the name overflows its column."""
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.split(" ", 1)[0] == run_id)
    return lines[i] if len(lines[i].split()) > 1 else lines[i + 1]


def figures(line):
    """The numbers of a table line, in order ('1,022,362' -> 1022362.0, '-8.9%' -> -8.9)."""
    return [float(t.rstrip("%").replace(",", "")) for t in re.findall(r"(?<![\w.-])[+-]?\d[\d,]*\.?\d*%?", line)]


def csv_row(name, run_id):
    if SHARED is None:
        pytest.skip("shared/validation not available")
    return next(r for r in csv.DictReader((SHARED / "validation" / name).open()) if r["run_id"] == run_id)


def test_every_line_fits_80_columns(out):
    wide = [f"{len(line)}: {line}" for line in out.splitlines() if len(line) > 80]
    assert not wide, "\n".join(wide)
    assert out.count("\n") > 150  # every table is there (the 80-column form is ~210 lines)


def test_the_cli_entry_point_prints_the_same(out):
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["validate"], env={"COLUMNS": "80"})
    assert r.exit_code == 0 and r.stdout == out


def test_throughput_rows_carry_published_predicted_error_and_lofo(out):
    # Narayanan et al. 2021 (SC21) Table 1: GPT 1.7B on 32 GPUs, 137 TFLOP/s per GPU (Megatron Eq. 3)
    assert float(csv_row("training_runs.csv", "megatron-sc21-1.7b")["achieved_tflops_per_gpu"]) == 137
    gpus, pub, pred, err, lofo = figures(row(out, "megatron-sc21-1.7b"))
    assert (gpus, pub) == (32, 137)
    # the error printed is (predicted - published) / published of the figures printed beside it (predicted is
    # rounded to 4 digits, the error to 0.1 point)
    assert err == pytest.approx(100 * (pred - pub) / pub, abs=0.1) and -50 < lofo < 50
    # every throughput run: 4 figures and 2 percentages (error, LOFO) on its line
    for line in out.split("Training throughput")[1].split("\n\n")[0].splitlines():
        if line.startswith(("megatron-", "korthikanti-", "llama3-", "palm-", "bloom-", "torchtitan-")):
            assert len(PCT.findall(line)) == 2, line


def test_throughput_summary_follows_from_the_printed_rows(out):
    section = out.split("Training throughput")[1].split("\n\n")[0]
    rows = [line for line in section.splitlines() if len(PCT.findall(line)) == 2]
    assert len(rows) == 29
    kept = [r for r in rows if " * " not in r]  # the flagged row is not in the summary
    errs = [abs(float(PCT.findall(r)[0][:-1])) for r in kept]
    lofo = [abs(float(PCT.findall(r)[1][:-1])) for r in kept]
    summary = " ".join(section.split("throughput: ")[1].split())
    m = re.match(r"(\d+) runs, in sample median \|error\| ([\d.]+)%, max ([\d.]+)%; leave-one-family-out \(LOFO\) "
                 r"median ([\d.]+)%, max ([\d.]+)%", summary)
    assert m, summary
    n, med, mx, cv_med, cv_mx = (float(g) for g in m.groups())
    assert n == len(kept) == 28
    assert med == pytest.approx(median(errs), abs=0.1) and mx == pytest.approx(max(errs), abs=0.1)
    assert cv_med == pytest.approx(median(lofo), abs=0.1) and cv_mx == pytest.approx(max(lofo), abs=0.1)


def test_gpu_hours_rows_keep_published_predicted_error_and_decile(out):
    # Falcon-40B card: 384 A100-40GB for 'two months' -> 384 x 60 d x 24 h = 552,960 GPU-hours
    assert float(csv_row("training_runs.csv", "falcon-40b")["gpu_hours"]) == 384 * 60 * 24
    gpus, pub, pred, err, decile, mfu, goodput = figures(row(out, "falcon-40b"))
    assert (gpus, pub) == (384, 384 * 60 * 24) and err == pytest.approx(100 * (pred - pub) / pub, abs=0.1)
    assert 0 < mfu < 1 and 0.9 < goodput <= 1 and decile >= err  # the decile is the slower pick
    # its stated layout (TP8 PP4 DP12, the card) on the indented line under it
    lines = out.splitlines()
    below = lines[lines.index(row(out, "falcon-40b")) + 1]
    assert below.startswith("    stated layout tp8 pp4 dp12 ")
    # LLaMA 65B, Touvron et al. 2023 Table 15: 1,022,362 A100-80GB GPU-hours
    gpus, pub, pred, err, *_ = figures(row(out, "llama-65b"))
    assert pub == 1022362 and err == pytest.approx(100 * (pred - pub) / pub, abs=0.1)


def test_energy_reliability_and_serving_figures(out):
    # Patterson et al. 2021 Table 4: T5 85.7 MWh, 46.7 tCO2e; Evolved Transformer NAS 7.5 MWh, 3.2 t (its long
    # name overflows its column: the figures are on the next line)
    r = csv_row("training_runs.csv", "patterson-t5")
    assert (float(r["energy_MWh"]), float(r["tco2e"])) == (85.7, 46.7)
    w, pub, pred, err, pub_t, pred_t, err_t = figures(row(out, "patterson-t5"))
    assert (pub, pub_t) == (85.7, 46.7)
    assert err == pytest.approx(100 * (pred - pub) / pub, abs=0.1)
    assert err_t == pytest.approx(100 * (pred_t - pub_t) / pub_t, abs=0.1)
    assert figures(row(out, "patterson-evolved-transformer-nas"))[1:5:3] == [7.5, 3.2]
    # Llama 3 paper Sec 3.3.4: 419 unexpected interruptions in 54 days
    line = next(x for x in out.splitlines() if x.strip().startswith("interruptions in 54 days  "))
    assert figures(line)[1] == 419
    # MLPerf Inference v4.1, DGX H100 Llama 2 70B Offline: 24,524.9 tokens/s over 8 GPUs = 3,066 per GPU
    r = csv_row("serving_runs.csv", "mlperf41-h100x8-llama2-70b-offline")
    assert round(float(r["output_tokens_per_s_system"]) / int(r["accelerators"])) == round(24524.9 / 8) == 3066
    tp, ep, pub, pred, err = figures(row(out, "mlperf41-h100x8-llama2-70b-offline"))
    assert pub == 3066 and err == pytest.approx(100 * (pred - pub) / pub, abs=0.1)


def test_wide_keeps_one_line_per_run():
    from mlsysim.validation import format_sections
    wide = format_sections(wide=True)
    line = next(x for x in wide.splitlines() if x.startswith("falcon-40b "))
    assert "552,960" in line and "tp8 pp4 dp12" in line and "megatron_deepspeed_2022" in line
    assert max(len(x) for x in wide.splitlines()) > 120


def test_readme_validation_blocks_fit_80_columns(out):
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Validation\n")[1].split("\n## ")[0]
    blocks = re.findall(r"```\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 4
    for block in blocks:
        lines = block.splitlines()
        assert all(len(x) <= 80 for x in lines), [x for x in lines if len(x) > 80]
        assert lines[0] in out.splitlines()  # the block's header is the command's, as printed now
