"""Predicted vs published: training throughput (runs.py), GPU-hours of runs without a published layout
(gpu_hours.py), GPU-hours of held-out runs (holdout.py), held-out throughput (holdout_throughput.py), energy and
carbon (energy.py), reliability at scale (reliability.py), serving throughput (serving.py), held-out serving
(holdout_serving.py).

`sections()` computes every table once for both `python -m mlsysim validate` and the CLI's `validate`.
"""
from __future__ import annotations


def sections(wide: bool = False) -> dict:
    """{name: {"title", "rows", "text"}} for every validation table, in display order; "text" fits 80 columns
    unless `wide` (one line per run, notes unwrapped)."""
    from . import energy, gpu_hours, holdout, holdout_serving, holdout_throughput, reliability, runs, serving
    out = {}
    for name, title, table, fmt in (
        ("throughput", "Training throughput: predicted vs published", runs.throughput_table,
         runs.format_throughput_table),
        ("gpu_hours", "GPU-hours of runs without a published layout (best predicted layout)",
         gpu_hours.gpu_hours_table, gpu_hours.format_gpu_hours_table),
        ("holdout", "Held-out training runs: GPU-hours predicted vs published (never fitted)",
         holdout.holdout_table, holdout.format_holdout_table),
        ("holdout_throughput", "Held-out training throughput: per GPU, stated layouts (never fitted)",
         holdout_throughput.holdout_throughput_table, holdout_throughput.format_holdout_throughput_table),
        ("energy", "Energy and carbon: predicted vs published", energy.energy_table, energy.format_energy_table),
        ("reliability", "Reliability at scale: predicted vs published", reliability.reliability_rows,
         reliability.format_reliability_table),
        ("serving", "Serving: output tokens/s per GPU, predicted vs published (MLPerf v4.1, TensorRT-LLM)",
         serving.serving_table, serving.format_serving_table),
        ("holdout_serving", "Held-out serving: output tokens/s per GPU, MI300X and Gaudi 2 (never fitted)",
         holdout_serving.holdout_serving_table, holdout_serving.format_holdout_serving_table),
    ):
        rows = table()
        out[name] = {"title": title, "rows": rows, "text": fmt(rows, wide=wide)}
    out["throughput"]["summary"] = runs.summary(out["throughput"]["rows"])
    out["serving"]["summary"] = serving.summary(out["serving"]["rows"])
    out["holdout"]["summary"] = holdout.summary(out["holdout"]["rows"])
    out["holdout_throughput"]["summary"] = holdout_throughput.summary(out["holdout_throughput"]["rows"])
    out["holdout_serving"]["summary"] = holdout_serving.summary(out["holdout_serving"]["rows"])
    return out


def format_sections(secs=None, wide: bool = False) -> str:
    """What `validate` prints: each table under its title (pass `wide` as `secs` was computed)."""
    from ._text import note
    secs = secs if secs is not None else sections(wide)
    return "\n\n".join("\n".join(note(s["title"], wide) + [s["text"]]) for s in secs.values())
