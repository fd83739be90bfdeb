"""Serving: predicted vs published output tokens/s per GPU, each row in its source's convention.

Rows copied from shared/validation/serving_runs.csv: MLPerf Inference v4.1, NVIDIA closed division
(mlcommons/inference_results_v4.1, commit a2f5d66, mlperf_log_summary.txt of each system) and the TensorRT-LLM
perf-overview tables (NVIDIA/TensorRT-LLM commit 00f3768, v1.0). Conventions: MLPerf counts output tokens of the
whole system (per GPU = system / GPUs). Offline sends every query at once: the prediction is the engine's maximum
throughput. Server sends Poisson arrivals at a QPS under p99 TTFT <= 2 s and p99 TPOT <= 200 ms: the prediction
is the throughput at the highest QPS whose predicted p99s meet the limits (the submitter tunes its QPS to that),
and the predicted p99 TTFT / TPOT at the submitted QPS are checked against the limits. The TensorRT-LLM rows are
offline maximum throughput at fixed input/output lengths.

Layouts: the TensorRT-LLM rows state TP; the MLPerf logs do not, so each MLPerf row takes the predicted best
replica layout that divides the system (a submitter tunes it): tensor parallelism, and for Mixtral also attention
data-parallel x expert-parallel replicas (ep_size). No row has a factor of its own: the engine
profile (data/engines.toml) was fitted once over all rows by tools/calibrate_serving.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from ._stats import error_summary

MLPERF = "MLPerf Inference v4.1, NVIDIA closed division (mlcommons/inference_results_v4.1, commit a2f5d66)"
TRTLLM = "NVIDIA TensorRT-LLM docs/source/performance/perf-overview.md (commit 00f3768, v1.0 tables)"
LIMITS = (2.0, 0.2)  # MLPerf llama2-70b Server: p99 TTFT 2 s, p99 TPOT 200 ms (Mixtral: the same, recalled)
# Mean prompt lengths of the MLPerf datasets (the logs give output tokens per sample only). Llama-2-70B's
# OpenOrca subset: ~295 input tokens (MLCommons Llama 2 70B task-force description, 2024; recalled, approx).
# Mixtral's 15,000 samples (5,000 each of OpenOrca, GSM8K and MBXP): no published mean prompt length is known to
# us, so 300 tokens is an ASSUMPTION (OpenOrca's order), not a sourced figure and never fitted. The rows are very
# sensitive to it (few-shot GSM8K prompts are longer than OpenOrca's): see README "### Serving". At 300 tokens
# (TP1, 1,293 sequences, ~3,950 rows per iteration, ~990 per expert, every expert streamed) the MoE terms left out
# or approximated bound the miss at a few %: waiting for the busiest expert +2 %, 128-row tiles per expert +2-4 %,
# bf16 permutes +0.8 %, the router's softmax/top-k ~0. The Server row's p99 TPOT (123 ms) does not tell longer
# prompts from slower MoE kernels: either, set to match the Offline row, puts it at 106-132 ms.
LLAMA2_ISL, LLAMA2_OSL = 295.0, 290.0
MIXTRAL_ISL, MIXTRAL_OSL = 300.0, 146.0
HW = {"H100": "H100", "H200": "H200", "B200": "B200"}


@dataclass(frozen=True)
class ServingRun:
    run_id: str
    source: str
    accelerator: str  # Hardware key
    gpus: int
    model: str  # Models key
    precision: str
    scenario: str  # "offline" or "server"
    published: float  # output tokens/s per GPU
    isl: float
    osl: float
    tp: int | None = None
    qps: float | None = None
    ttft_p99_ms: float | None = None
    tpot_p99_ms: float | None = None


def _mlperf(run_id, acc, gpus, model, prec, scen, per_gpu, qps=None, ttft=None, tpot=None):
    isl, osl = (LLAMA2_ISL, LLAMA2_OSL) if model == "Llama2_70B" else (MIXTRAL_ISL, MIXTRAL_OSL)
    return ServingRun(run_id, "MLPerf", acc, gpus, model, prec, scen, per_gpu, isl, osl, None, qps, ttft, tpot)


RUNS = [
    _mlperf("mlperf41-h100x8-llama2-70b-offline", "H100", 8, "Llama2_70B", "fp8", "offline", 3066),
    _mlperf("mlperf41-h100x8-llama2-70b-server", "H100", 8, "Llama2_70B", "fp8", "server", 2701, 75, 461, 175),
    _mlperf("mlperf41-h200x8-llama2-70b-offline", "H200", 8, "Llama2_70B", "fp8", "offline", 3913),
    _mlperf("mlperf41-h200x8-llama2-70b-server", "H200", 8, "Llama2_70B", "fp8", "server", 3654, 101, 453, 146),
    _mlperf("mlperf41-b200x1-llama2-70b-offline", "B200", 1, "Llama2_70B", "fp4", "offline", 11264),
    _mlperf("mlperf41-b200x1-llama2-70b-server", "B200", 1, "Llama2_70B", "fp4", "server", 10756, 39.6, 357, 152),
    _mlperf("mlperf41-h100x8-mixtral-offline", "H100", 8, "Mixtral_8x7B", "fp8", "offline", 6552),
    _mlperf("mlperf41-h100x8-mixtral-server", "H100", 8, "Mixtral_8x7B", "fp8", "server", 6349, 348, 629, 123),
]
_TRT = {  # (accelerator, tp, precision): output tok/s per GPU at (isl, osl) 128/128, 1000/1000, 2048/2048,
    # 5000/500, 20000/2000 (system tok/s / tp)
    ("H200", 1, "fp8"): (3803, 2909, 2003, 566, 283),
    ("H100", 2, "fp8"): (3189, 2102, 1541, 449, 218),
    ("B200", 1, "fp4"): (11147, 7007, 4783, 1459, 665),
}
for (_acc, _tp, _prec), _vals in _TRT.items():
    for (_i, _o), _v in zip(((128, 128), (1000, 1000), (2048, 2048), (5000, 500), (20000, 2000)), _vals):
        RUNS.append(ServingRun(f"trtllm-{_acc.lower()}-tp{_tp}-llama33-70b-{_i}-{_o}", "TRT-LLM", _acc, _tp,
                               "Llama3_70B", _prec, "offline", float(_v), float(_i), float(_o), _tp))


def _layouts(run):
    """(tp, ep) replicas a submitter may pick: the stated TP, else every TP dividing the system and, for an MoE
    model, attention data-parallel x expert-parallel replicas (tp x ep dividing the system, ep dividing the
    experts)."""
    if run.tp:
        return [(run.tp, 1)]
    from ..solvers._common import resolve_model
    experts = resolve_model(run.model).n_experts
    eps = [e for e in (1, 2, 4, 8) if experts > 1 and experts % e == 0] or [1]
    return [(t, e) for e in eps for t in (1, 2, 4, 8) if run.gpus % (t * e) == 0]


def predict(run: ServingRun, engine=None) -> dict:
    """Predicted output tokens/s per GPU (and, for Server rows, the p99s at the submitted QPS) for one row."""
    from ..physics import serving_load as SL
    from ..solvers.serving_setup import replica_setup
    best = None
    for tp, ep in _layouts(run):
        s = replica_setup(run.model, run.accelerator, input_len=run.isl, output_len=run.osl, tp=tp, ep=ep,
                          precision=run.precision, engine=engine)
        if s.b_max < 1:
            continue
        slo = LIMITS if run.scenario == "server" else (float("inf"), float("inf"))
        r = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=slo[0], slo_tpot_s=slo[1], **s.kw)
        per_gpu = float(r["tokens_per_s"]) / s.gpus
        if best is None or per_gpu > best["predicted"]:
            best = {"predicted": per_gpu, "tp": tp, "ep": ep, "setup": s, "conc": float(r["conc"])}
    if best is None:
        return {"predicted": float("nan"), "tp": None}
    if run.scenario == "server" and run.qps:  # a held-out row may have no published QPS (holdout_serving.py)
        s = best["setup"]
        at = SL.at_qps(s.dims, qps=run.qps / (run.gpus / s.gpus), b_max=s.b_max, **s.kw)
        best["ttft_p99_ms"] = float(at["ttft_q_s"]) * 1e3
        best["tpot_p99_ms"] = float(at["tpot_q_s"]) * 1e3
        best["stable"] = bool(at["stable"])
        best["within_limits"] = best["stable"] and at["ttft_q_s"] <= LIMITS[0] and at["tpot_q_s"] <= LIMITS[1]
    best.pop("setup")
    return best


def serving_table(engine=None) -> list[dict]:
    rows = []
    for run in RUNS:
        p = predict(run, engine)
        err = 100.0 * (p["predicted"] / run.published - 1.0)
        rows.append({"run_id": run.run_id, "source": run.source, "scenario": run.scenario, "gpus": run.gpus,
                     "precision": run.precision, "tp": p["tp"], "ep": p.get("ep"), "published": run.published,
                     "predicted": p["predicted"], "error_pct": err, "ttft_p99_ms": p.get("ttft_p99_ms"),
                     "tpot_p99_ms": p.get("tpot_p99_ms"), "within_limits": p.get("within_limits"),
                     "stable": p.get("stable")})
    return rows


def summary(rows) -> dict:
    return error_summary(r["error_pct"] for r in rows)


def format_serving_table(rows, wide: bool = False) -> str:
    """The table, 80 columns wide (a Server row's p99s on a line under it) or `wide` (one line per run)."""
    from ._text import note
    w = 42 if wide else max(len(r["run_id"]) for r in rows)
    lines = [f"{'run':{w}s} {'tp':>3s} {'ep':>3s} {'published':>9s} {'predicted':>9s} {'error':>7s}"
             + ("  p99 TTFT/TPOT at the QPS" if wide else "")]
    for r in rows:
        extra = ""
        if r["scenario"] == "server":
            extra = (f"{r['ttft_p99_ms']:,.0f} / {r['tpot_p99_ms']:,.0f} ms "
                     + ("(within 2 s / 200 ms)" if r["within_limits"] else "(OVER the limits)" if r["stable"]
                        else "(QPS past the predicted capacity)"))
        lines.append(f"{r['run_id']:{w}s} {r['tp']:>3d} {r['ep'] or 1:>3d} {r['published']:>9,.0f} "
                     f"{r['predicted']:>9,.0f} {r['error_pct']:>+6.1f}%" + (f"  {extra}" if extra and wide else ""))
        if extra and not wide:
            lines += note(f"p99 TTFT/TPOT at the QPS: {extra}", indent="    ")
    s = summary(rows)
    lines += note(f"serving output tokens/s per GPU: {s['n']} rows, median |error| {s['median_abs_pct']:.1f}%, "
                  f"max |error| {s['max_abs_pct']:.1f}% (targets 10% / 25%)", wide)
    return "\n".join(lines)
