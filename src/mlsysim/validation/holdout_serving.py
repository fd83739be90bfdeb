"""Held-out serving: published output tokens/s of LLM serving on chips and engines that no fitted row uses (AMD
MI300X with vLLM on ROCm, Intel Gaudi 2), predicted by the in-sample path (serving.predict: the source's TP and
precision, the MLPerf Llama-2-70B prompt/output lengths and latency limits) with the closest engine profile of
data/engines.toml (TensorRT_LLM, the only one). No constant was fitted to these rows. Figures are taken from the
submitters' announcements of their MLPerf results; 'verify' marks a figure or detail recalled, not re-read here.
"""
from __future__ import annotations

from dataclasses import dataclass
from ._stats import error_summary

from .serving import LLAMA2_ISL, LLAMA2_OSL, ServingRun, predict

ENGINE = "TensorRT_LLM"  # the only profile in data/engines.toml: the closest to any continuous-batching engine
AMD = ("MLPerf Inference v4.1 (2024-08-28), closed division, datacenter, available: AMD, 8x Instinct MI300X "
       "192GB, 2x EPYC 9374F (Genoa) host, llama2-70b: Offline 23,514 and Server 21,028 tokens/s; vLLM on ROCm, "
       "FP8 weights, activations and KV cache (Quark), one model copy per GPU, TP1 (verify all: recalled from "
       "AMD's blog on its v4.1 results, 'Engineering Insights: Unveiling MLPerf Results on AMD Instinct MI300X "
       "Accelerators', 2024-08-28, and the v4.1 results table, not re-read here)")
INTEL = ("MLPerf Inference v4.0 (2024-03-27), closed division, datacenter: Intel, 8x Gaudi 2, llama2-70b: "
         "Offline 8,035.0 and Server 6,287.5 tokens/s; FP8; Intel's Gaudi software stack (Optimum Habana) (verify "
         "all: recalled from Intel's press release on its v4.0 results, 2024-03-27, not re-read here); TP not "
         "recalled: the best layout that divides the node, as serving.py takes for its MLPerf rows")
# Lengths: every llama2-70b submission serves the same OpenOrca samples under the same limits (2 s / 200 ms), so
# the rows take serving.py's LLAMA2_ISL / LLAMA2_OSL; the output tokens per sample of AMD's and Intel's quantised
# models (NVIDIA's log: 290) are not known here.


@dataclass(frozen=True)
class HeldOutServing:
    run: ServingRun  # published = system tokens/s / GPUs
    system_tokens_per_s: float  # the figure as published (MLPerf counts the whole system's output tokens)
    engine: str  # what the submitter ran
    citation: str


def _row(run_id, acc, gpus, scenario, tps, tp, engine, citation):
    """A Llama-2-70B fp8 MLPerf row: the published system figure over its GPUs (MLPerf counts the system)."""
    run = ServingRun(run_id, "MLPerf", acc, gpus, "Llama2_70B", "fp8", scenario, tps / gpus, LLAMA2_ISL,
                     LLAMA2_OSL, tp)
    return HeldOutServing(run, tps, engine, citation)


ROWS = [
    _row("mlperf41-mi300x8-llama2-70b-offline", "MI300X", 8, "offline", 23514.0, 1, "vLLM (ROCm)", AMD),
    _row("mlperf41-mi300x8-llama2-70b-server", "MI300X", 8, "server", 21028.0, 1, "vLLM (ROCm)", AMD),
    _row("mlperf40-gaudi2x8-llama2-70b-offline", "Gaudi2", 8, "offline", 8035.0, None, "Gaudi software", INTEL),
    _row("mlperf40-gaudi2x8-llama2-70b-server", "Gaudi2", 8, "server", 6287.5, None, "Gaudi software", INTEL),
]

# Candidates left out, with the reason (never a guessed figure).
LEFT_OUT = {
    "mi300x-turin": "AMD's v4.1 preview rows on 5th-gen EPYC (Turin) hosts (24,110 / 22,021 tokens/s, verify): "
                    "the same GPUs and engine as above; only the host CPU differs, which the model does not see",
    "mlperf v5.0/v5.1": "Llama 3.1 405B and Llama 2 70B on 8x H200 / B200 / MI325X (and MangoBoost's 32x MI300X): "
                        "figures not recalled with confidence here",
    "vllm/sglang blogs": "their throughput benchmarks (request rates, datasets, batch) not recalled with confidence",
}


def holdout_serving_table() -> list[dict]:
    """One row per held-out run: published and predicted output tokens/s per GPU, error."""
    rows = []
    for h in ROWS:
        p = predict(h.run, ENGINE)
        rows.append(dict(run_id=h.run.run_id, accelerator=h.run.accelerator, scenario=h.run.scenario,
                         gpus=h.run.gpus, precision=h.run.precision, tp=p["tp"], layout="stated" if h.run.tp
                         else "best", system_published=h.system_tokens_per_s, published=h.run.published,
                         predicted=p["predicted"], error_pct=100.0 * (p["predicted"] / h.run.published - 1.0),
                         engine=h.engine, source=h.citation))
    return rows


def summary(rows) -> dict:
    return error_summary((r["error_pct"] for r in rows), signed=True)


def format_holdout_serving_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (engines and sources named under it) or `wide` (each row's engine on its line)."""
    from ._text import note
    rows = rows if rows is not None else holdout_serving_table()
    w = max(len(r["run_id"]) for r in rows)
    lines = [f"{'run':{w}} {'tp':>3} {'system':>8} {'published':>9} {'predicted':>9} {'error':>8}"
             + ("  engine run" if wide else "")]
    for r in rows:
        lines.append(f"{r['run_id']:{w}} {r['tp']:>3d} {r['system_published']:>8,.0f} {r['published']:>9,.0f} "
                     f"{r['predicted']:>9,.0f} {r['error_pct']:>+7.1f}%" + (f"  {r['engine']}" if wide else ""))
    s = summary(rows)
    lines += note(f"held-out serving: {s['n']} rows, median |error| {s['median_abs_pct']:.1f}%, max "
                  f"{s['max_abs_pct']:.1f}% (median signed {s['median_pct']:+.1f}%); no constant fitted to them",
                  wide)
    lines += note("system: published output tokens/s of the whole system; published = system / GPUs (8); "
                  f"predicted with the {ENGINE} profile (the only one) at the TP stated (MI300X) or the best "
                  "layout (Gaudi 2); Server: the highest load meeting p99 TTFT 2 s / TPOT 200 ms (no submitted "
                  "QPS recalled, so no p99 check at it)", wide)
    engines = dict.fromkeys(f"{r['accelerator']} {r['engine']}" for r in rows)
    lines += note("engines run: " + "; ".join(engines), wide)
    for key, why in LEFT_OUT.items():
        lines += note(f"left out: {key}: {why}", wide)
    return "\n".join(lines)

