"""Published training runs with enough detail to model (architecture, hardware, layout, batch), and the
prediction-vs-published table. Each row keeps its source; metrics follow each source's own FLOP convention.

Rows copied from shared/validation/training_runs.csv (SC21, Korthikanti, Llama 3 long-context, BLOOM) plus the
two 8K-sequence rows of Llama 3 Table 4 (Llama Team 2024, arXiv:2407.21783), quoted from the paper.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from ._stats import error_summary

SC21 = ("Narayanan et al. 2021, 'Efficient Large-Scale Language Model Training on GPU Clusters Using "
        "Megatron-LM' (SC21) arXiv:2104.04473, Table 1")
KORTH = ("Korthikanti et al. 2022, 'Reducing Activation Recomputation in Large Transformer Models' "
         "arXiv:2205.05198; MFU as listed in the NVIDIA/Megatron-LM README")
LLAMA3 = "Llama Team 2024, 'The Llama 3 Herd of Models' arXiv:2407.21783, Table 4"
PALM = ("Chowdhery et al. 2022, 'PaLM: Scaling Language Modeling with Pathways' arXiv:2204.02311, Sec 4, "
        "Table 3 (MFU 46.2%) and App. B")
BLOOM = "BigScience 2022, BLOOM paper arXiv:2211.05100 Sec 3.4 (156 TFLOP/s best configuration)"
TITAN = ("pytorch/torchtitan docs/performance.md (commit eaea6f6; torch 1963fc8 2024-12-23, torchtitan 9dec370), "
         "Tables 1, 3, 4, 5, via shared/validation/training_runs_modern.csv")


@dataclass(frozen=True)
class Run:
    """One published run. `metric`: 'hfu_tflops' (FLOPs incl. recomputation per GPU per s, Megatron Eq. 3),
    'mfu' (PaLM-style model FLOPs utilisation, non-causal attention), 'mfu_tflops_causal' (model TFLOP/s per
    GPU counting causal attention, half the s^2 term: assumed for Meta's Table 4, whose 131K-token row would
    otherwise imply a 30% drop in real throughput from the 8K rows) or 'tokens_per_s' (per GPU).
    `family`: the source family, the unit left out by the cross-validation (validation/crossval.py)."""

    run_id: str
    arch: dict
    hardware: str  # node key in Systems.Nodes
    fabric: str
    gpus: int
    layout: dict
    metric: str
    published: float
    source: str
    notes: str = ""
    flags: tuple = field(default=())
    family: str = ""


def _gpt(layers, hidden, heads, name):
    """GPT-style architecture of the Megatron papers: 4h FFN, biases, LayerNorm, learned positions, tied
    embeddings, vocab 51,200, seq 2048."""
    return dict(name=name, n_layers=layers, hidden=hidden, n_heads=heads, ffn_hidden=4 * hidden, vocab=51200,
                linear_bias=True, learned_pos_emb=2048, tied_embeddings=True, seq_len=2048, dropout=True)


# Megatron 2021: fp16, full activation recomputation, no FlashAttention, no sequence parallelism, gradient
# all-reduce after the backward pass (no overlap), micro-batch 1.
_SC21_SW = dict(precision="fp16", recompute="full", flash_attention=False, sequence_parallel=False,
                dp_overlap=False, zero_stage=0, microbatch_size=1, stack="megatron_lm_2021")
_SC21 = [  # heads, hidden, layers, tp, pp, gpus, batch, TFLOP/s per GPU
    ("1.7B", 24, 2304, 24, 1, 1, 32, 512, 137), ("3.6B", 32, 3072, 30, 2, 1, 64, 512, 138),
    ("7.5B", 32, 4096, 36, 4, 1, 128, 512, 142), ("18.4B", 48, 6144, 40, 8, 1, 256, 1024, 135),
    ("39.1B", 64, 8192, 48, 8, 2, 512, 1536, 138), ("76.1B", 80, 10240, 60, 8, 4, 1024, 1792, 140),
    ("145.6B", 96, 12288, 80, 8, 8, 1536, 2304, 148), ("310.1B", 128, 16384, 96, 8, 16, 1920, 2160, 155),
    ("529.6B", 128, 20480, 105, 8, 35, 2520, 2520, 163), ("1008.0B", 160, 25600, 128, 8, 64, 3072, 3072, 163),
]
# Korthikanti 2022: sequence parallelism + selective recomputation, no FlashAttention, DP = 1,
# global batch = number of GPUs (sequences), micro-batch 1.
_KORTH_SW = dict(precision="bf16", recompute="selective", flash_attention=False, sequence_parallel=True,
                 dp_overlap=False, zero_stage=0, microbatch_size=1, stack="megatron_lm_2021")
_KORTH = [("22B", 64, 6144, 48, 8, 1, 8, 0.415), ("175B", 96, 12288, 96, 8, 8, 64, 0.514),
          ("530B", 128, 20480, 105, 8, 35, 280, 0.560), ("1T", 160, 25600, 128, 8, 64, 512, 0.563)]

_LLAMA405 = dict(name="Llama 3.1 405B", n_layers=126, hidden=16384, n_heads=128, n_kv_heads=8, ffn_hidden=53248,
                 vocab=128256, gated_mlp=True, seq_len=8192)
# Meta: bf16, FlashAttention, sequence parallel, FSDP sharding optimizer state and gradients but not
# re-sharding parameters after forward (ZeRO-2-like; Sec 3.3.2),
# interleaved 1F1B; v=8 (one layer per virtual stage) is an assumption consistent with the reported MFU drop
# 43% -> 41% when DP doubles at fixed batch (bubble (p-1)/(v m) grows).
_LLAMA_SW = dict(precision="bf16", recompute="selective", flash_attention=True, sequence_parallel=True,
                 dp_overlap=True, zero_stage=2, microbatch_size=1, interleave=8, stack="meta_llama3_2024")

_LLAMA8 = dict(name="Llama 3.1 8B", n_layers=32, hidden=4096, n_heads=32, n_kv_heads=8, ffn_hidden=14336,
               vocab=128256, gated_mlp=True, seq_len=8192)
_LLAMA70 = dict(name="Llama 3.1 70B", n_layers=80, hidden=8192, n_heads=64, n_kv_heads=8, ffn_hidden=28672,
                vocab=128256, gated_mlp=True, seq_len=8192)
# torchtitan (FSDP2 = ZeRO-3, parameters re-sharded after forward, except under PP where they are kept
# (ZeRO-2-like: torchtitan parallelize_llama); SDPA flash attention; TP with sequence
# parallel norms; float8 linears with the LM head in bf16). Local batch = sequences per FSDP rank per step, one
# micro-batch without PP; with PP, 8 micro-batches of 4 (the PP degree: assumption, recalled as torchtitan's
# default pipeline_parallel_microbatches; the published interleaved/1F1B ratio 1.28 is what the bubbles
# (p-1)/m vs (p-1)/(v m) give with m = 8, v = 2 and not with m = 16 or 32).
# run, model, gpus, tp, pp, v, microbatch, global batch, recompute, precision, compiled, tp overlap, tok/s/GPU, table
_TITAN = [
    ("8b-fsdp8-eager-bf16", _LLAMA8, 8, 1, 1, 1, 2, 16, "selective", "bf16", False, 0.0, 5762, 1),
    ("8b-fsdp8-compile-bf16", _LLAMA8, 8, 1, 1, 1, 2, 16, "selective", "bf16", True, 0.0, 6667, 1),
    ("8b-fsdp8-compile-fp8", _LLAMA8, 8, 1, 1, 1, 2, 16, "selective", "fp8", True, 0.0, 8532, 1),
    ("8b-fsdp128-eager-bf16", _LLAMA8, 128, 1, 1, 1, 2, 256, "selective", "bf16", False, 0.0, 5605, 3),
    ("8b-fsdp128-compile-bf16", _LLAMA8, 128, 1, 1, 1, 2, 256, "selective", "bf16", True, 0.0, 6514, 3),
    ("8b-fsdp128-compile-fp8", _LLAMA8, 128, 1, 1, 1, 2, 256, "selective", "fp8", True, 0.0, 8380, 3),
    ("70b-fsdp32-tp8-fp8", _LLAMA70, 256, 8, 1, 1, 16, 512, "full", "fp8", True, 0.0, 829, 4),
    ("70b-fsdp32-tp8-fp8-asynctp", _LLAMA70, 256, 8, 1, 1, 16, 512, "full", "fp8", True, 1.0, 876, 4),
    ("405b-3d-1f1b", _LLAMA405, 512, 8, 8, 1, 4, 256, "full", "fp8", True, 1.0, 100, 5),
    ("405b-3d-interleaved", _LLAMA405, 512, 8, 8, 2, 4, 256, "full", "fp8", True, 1.0, 128, 5),
]


def runs() -> list[Run]:
    out = []
    for name, a, h, L, tp, pp, gpus, gbs, tf in _SC21:
        out.append(Run(f"megatron-sc21-{name.lower()}", _gpt(L, h, a, f"GPT {name}"), "DGX_A100", "InfiniBand_HDR",
                       gpus, dict(tp_size=tp, pp_size=pp, global_batch_size=gbs, **_SC21_SW), "hfu_tflops", tf,
                       SC21, family="SC21"))
    for name, a, h, L, tp, pp, gpus, mfu in _KORTH:
        out.append(Run(f"korthikanti-{name.lower()}", _gpt(L, h, a, f"GPT {name}"), "DGX_A100", "InfiniBand_HDR",
                       gpus, dict(tp_size=tp, pp_size=pp, global_batch_size=gpus, **_KORTH_SW), "mfu", mfu, KORTH,
                       notes="TP/PP/GPU counts from the paper's Table 3 (recalled: approx)", family="Korthikanti"))
    out.append(Run("llama3-405b-8k-8192gpu", _LLAMA405, "DGX_H100", "InfiniBand_NDR", 8192,
                   dict(tp_size=8, pp_size=16, cp_size=1, global_batch_size=2048, **_LLAMA_SW), "mfu_tflops_causal", 430,
                   LLAMA3, notes="TP8 CP1 PP16 DP64, seq 8192, batch/DP 32, 430 TFLOP/s (43% MFU)", family="Llama 3"))
    out.append(Run("llama3-405b-8k-16384gpu", _LLAMA405, "DGX_H100", "InfiniBand_NDR", 16384,
                   dict(tp_size=8, pp_size=16, cp_size=1, global_batch_size=2048, **_LLAMA_SW), "mfu_tflops_causal", 400,
                   LLAMA3, notes="TP8 CP1 PP16 DP128, seq 8192, batch/DP 16, 400 TFLOP/s (41% MFU)", family="Llama 3"))
    out.append(Run("llama3-405b-131k-16384gpu", _LLAMA405, "DGX_H100", "InfiniBand_NDR", 16384,
                   dict(tp_size=8, pp_size=16, cp_size=16, global_batch_size=128, seq_len=131072, **_LLAMA_SW),
                   "mfu_tflops_causal", 380, LLAMA3,
                   notes="printed DP=4 is inconsistent with 16,384 GPUs (8x16x16x4 = 8,192); modelled with DP=8",
                   flags=("inconsistent-source",), family="Llama 3"))
    out.append(Run("palm-540b", dict(name="PaLM 540B", n_layers=118, hidden=18432, n_heads=48, n_kv_heads=1,
                                     head_dim=256, ffn_hidden=73728, vocab=256000, gated_mlp=True,
                                     tied_embeddings=True, seq_len=2048),
                   "TPUv4_4", "ICI_TPUv4", 6144,
                   dict(tp_size=12, pp_size=1, global_batch_size=2048, precision="bf16", recompute="full",
                        flash_attention=False, sequence_parallel=True, dp_overlap=True, zero_stage=3,
                        microbatch_size=1, stack="jax_gspmd_2022"),
                   "mfu", 0.462, PALM,
                   notes="2 pods x 3,072 TPU v4; 12-way model parallel x 512-way fully sharded data parallel "
                         "(approx from Sec 4); batch 2048 x 2048 (final stage of the batch ramp); "
                         "rematerialisation modelled as full (HFU/MFU = 57.8/46.2 = 1.25); GSPMD's 2D sharding "
                         "splits activations over the model axis (modelled as sequence parallelism; assumption); "
                         "no FlashAttention (2022, XLA); TPU v4 has no published MAMF: default matmul ceiling",
                   family="PaLM"))
    out.append(Run("bloom-176b", dict(name="BLOOM 176B", n_layers=70, hidden=14336, n_heads=112, ffn_hidden=57344,
                                      vocab=250880, linear_bias=True, tied_embeddings=True, embedding_norm=True,
                                      seq_len=2048),
                   "JeanZay_A100", "OmniPath_100G", 384,
                   dict(tp_size=4, pp_size=12, global_batch_size=2048, precision="bf16", recompute="full",
                        flash_attention=False, sequence_parallel=False, dp_overlap=False, zero_stage=1,
                        microbatch_size=2, stack="megatron_deepspeed_2022"),
                   "hfu_tflops", 156, BLOOM,
                   notes="Jean Zay nodes: 8x A100-80GB, 4x 100 Gb/s Omni-Path. "
                         "TP4/PP12/DP8 from BigScience configs (approx); 156 TF is the best-config throughput",
                   family="BLOOM"))
    for rid, arch, gpus, tp, pp, v, mb, gbs, rc, prec, compiled, tpo, tps, table in _TITAN:
        out.append(Run(f"torchtitan-{rid}", arch, "GrandTeton_H100_96GB", "RoCE_400G", gpus,
                       dict(tp_size=tp, pp_size=pp, interleave=v, microbatch_size=mb, global_batch_size=gbs,
                            recompute=rc, precision=prec, zero_stage=3 if pp == 1 else 2, flash_attention=True,
                            sequence_parallel=tp > 1, dp_overlap=True, tp_overlap=tpo,
                            stack="pytorch_fsdp2_compiled" if compiled else "pytorch_fsdp2_eager"),
                       "tokens_per_s", tps, TITAN + f" Table {table}", family="torchtitan",
                       notes="Meta Grand Teton H100 96 GB HBM2e, 500 W limit (Hardware.Cloud.H100_GrandTeton)"))
    return out


def predict(run: Run):
    """Model one run; returns (predicted metric, DistributedResult)."""
    from ..models.workload import TransformerWorkload
    from ..solvers.distributed import DistributedModel
    from ..systems.registry import Systems
    from ..systems.system import Fleet

    model = TransformerWorkload(**run.arch, tokens=1e12)
    node = Systems.Nodes[run.hardware]
    fleet = Fleet(node=node, count=run.gpus // node.accelerators_per_node, fabric=Systems.Fabrics[run.fabric])
    res = DistributedModel().solve(model=model, fleet=fleet, **run.layout)
    return published_metric(run, model, res), res


def published_metric(run: Run, model, res) -> float:
    """The run's metric computed from the predicted step time under its source's FLOP convention."""
    from ..physics.transformer import forward_flops_per_token
    L = res.layout
    per_gpu_tokens = L["global_batch_size"] * L["seq_len"] / res.step_s / run.gpus
    if run.metric == "tokens_per_s":
        return per_gpu_tokens
    if run.metric == "hfu_tflops":  # Megatron Eq. 3: full recomputation, non-causal attention (4 forwards), but
        # the LM head counted fwd + bwd only (its 6 h V of 96 B s l h^2 (1 + s/6h + V/16lh) per token, not 8 h V)
        return (4.0 * forward_flops_per_token(model, L["seq_len"], causal=False) - 2.0 * model.hidden * model.vocab) \
            * per_gpu_tokens / 1e12
    if run.metric == "mfu":  # PaLM App. B: 6N + 12 L h s, non-causal
        peak = res.fleet.node.accelerator.peak(L["precision"])
        return 3.0 * forward_flops_per_token(model, L["seq_len"], causal=False) * per_gpu_tokens / peak
    return 3.0 * forward_flops_per_token(model, L["seq_len"], causal=True) * per_gpu_tokens / 1e12


def throughput_table() -> list[dict]:
    """One row per run: the in-sample prediction (constants fitted on every run) and the leave-one-family-out
    error (constants refitted without the run's source family; stored table, see crossval.py)."""
    from .crossval import cv_errors
    cv = cv_errors()
    rows = []
    for r in runs():
        pred, res = predict(r)
        rows.append(dict(run_id=r.run_id, metric=r.metric, published=r.published, predicted=pred,
                         error_pct=100.0 * (pred - r.published) / r.published, gpus=r.gpus, family=r.family,
                         cv_error_pct=cv.get(r.run_id), stack=res.layout["stack"],
                         feasible=res.feasible, flags=r.flags, source=r.source, notes=r.notes))
    return rows


def summary(rows) -> dict:
    """Median and max |error| over the rows the fit uses (not flagged as internally inconsistent), in sample
    and leave-one-family-out."""
    from .crossval import cv_summary
    cv = cv_summary(rows)
    return dict(error_summary(r["error_pct"] for r in rows if not r["flags"]),
                cv_median_abs_pct=cv["median_abs_pct"], cv_max_abs_pct=cv["max_abs_pct"])


# What each source's metric counts (Run's docstring), printed over its family's rows in the 80-column table.
METRIC_LABELS = {"hfu_tflops": "TFLOP/s per GPU incl. recomputation (Megatron Eq. 3)",
                 "mfu": "model FLOPs utilisation, non-causal attention (PaLM App. B)",
                 "mfu_tflops_causal": "model TFLOP/s per GPU, causal attention",
                 "tokens_per_s": "tokens/s per GPU"}


def format_throughput_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (each family's metric over its rows) or `wide` (a metric column)."""
    from ._text import cell, note
    rows = rows if rows is not None else throughput_table()
    if wide:
        lines = [f"{'run':40} {'gpus':>6} {'metric':>17} {'published':>10} {'predicted':>10} {'error':>8} "
                 f"{'LOFO':>8}"]
    else:
        lines = [f"{'run':37} {'gpus':>5} {'published':>9} {'predicted':>9} {'error':>7} {'LOFO':>7}"]
    family = None
    for r in rows:
        flag = " *" if r["flags"] else ""
        mem = "" if r["feasible"] else " (OOM)"
        err = f"{r['error_pct']:+.1f}%"
        cv = f"{r['cv_error_pct']:+.1f}%" if r.get("cv_error_pct") is not None else "-"
        if wide:
            lines.append(f"{r['run_id']:40} {r['gpus']:>6} {r['metric']:>17} {r['published']:>10.4g} "
                         f"{r['predicted']:>10.4g} {err:>8} {cv:>8}{flag}{mem}")
            continue
        if (r["family"], r["metric"]) != family:
            family = (r["family"], r["metric"])
            lines += note(f"[{r['family']}] {r['metric']}: {METRIC_LABELS[r['metric']]}")
        before, name = cell(r["run_id"] + flag + mem, 37)
        lines += before + [f"{name} {r['gpus']:>5} {r['published']:>9.4g} {r['predicted']:>9.4g} {err:>7} {cv:>7}"]
    s = summary(rows)
    lines += note(f"throughput: {s['n']} runs, in sample median |error| {s['median_abs_pct']:.1f}%, "
                  f"max {s['max_abs_pct']:.1f}%; leave-one-family-out (LOFO) median {s['cv_median_abs_pct']:.1f}%, "
                  f"max {s['cv_max_abs_pct']:.1f}%", wide)
    lines += note("LOFO: constants refitted without the run's source family (SC21, Korthikanti, Llama 3, PaLM, "
                  "BLOOM, torchtitan), then scored on it (validation/crossval.py)", wide)
    if any(r["flags"] for r in rows):
        lines += note("* source row internally inconsistent (see notes); not in the summary or the fit", wide)
    return "\n".join(lines)
