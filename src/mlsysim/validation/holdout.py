"""Held-out training runs: published GPU-hours the constants were never fitted to, predicted the same way as
gpu_hours.py (its `planned()`: the planner's best layout, the run's goodput composed in, and the decile of the
accepted layouts), except that a layout the source states is pinned. Every other row of shared/validation/
training_runs.csv is either in another table (in sample) or listed in EXCLUDED with the reason; FROM_PAPER rows
come from their paper; nothing here is tuned to these rows. The stack of each run is the closest profile in
data/stacks.toml to what its source states.
"""
from __future__ import annotations

from ._stats import error_summary

from .gpu_hours import _NEOX, PYTHIA, predicted_row

FALCON7 = ("tiiuae/falcon-7b model card (HF), 'Training Procedure': AWS SageMaker, 384 A100 40GB in P4d "
           "instances, PP=2 DP=192 with ZeRO, "
           "'about two weeks' (gpu_hours = 384 x 14 d x 24)")
FALCON40 = ("tiiuae/falcon-40b model card (HF), 'Training Procedure': AWS SageMaker, 384 A100 40GB in P4d "
            "instances, TP=8 PP=4 DP=12 with ZeRO, "
            "'two months' (gpu_hours = 384 x 60 d x 24)")
MPT = ("MosaicML 2023, 'Introducing MPT-7B' blog: '~9.5 days to train on 440xA100-40GB GPUs' incl. restarts "
       "(gpu_hours = 440 x 9.5 d x 24)")
STARCODER = ("Li et al. 2023, StarCoder arXiv:2305.06161 Sec 5.6-5.7: 64 nodes x 8 A100-80GB, 320,256 GPU-hours, "
             "250k iterations x 4M tokens = 1T tokens; 'a 3D-parallel layout that shards the model with both tensor "
             "and pipeline parallelism rank 4, requiring 16 GPUs for one replica', 32-fold data parallelism")
LLAMA31 = ("Meta, Llama 3.1 model card, 'Training Energy Use' (8B: 1.46M H100-80GB GPU-hours; 15T tokens; "
           "GPU count not stated)")
DEEPSEEK_V3 = ("DeepSeek-AI 2024, DeepSeek-V3 Technical Report arXiv:2412.19437: Sec 1 and Table 1 (pre-training "
               "2,664K H800 GPU-hours on 14.8T tokens, '180K H800 GPU hours' per trillion tokens; context extension "
               "119K and post-training 5K not included), Sec 3.1 (2,048 H800), Sec 3.2 (PP16, EP64 over 8 nodes, "
               "ZeRO-1 DP, no TP; DualPipe), Sec 3.3 (fp8 mixed precision)")

# Falcon: TII's Gigatron (3D parallelism + ZeRO optimizer sharding, FlashAttention, bf16; Almazrouei et al. 2023,
# arXiv:2311.16867, its training-infrastructure section, section number not checked here): closest profile
# Megatron-DeepSpeed 2022 (Megatron kernels + ZeRO-1 + pipeline engine). Assumption: the cards say 'ZeRO'
# without a stage; stage 1 (optimizer sharding) is taken.
_GIGATRON = dict(precision="bf16", flash_attention=True, stack="megatron_deepspeed_2022", zero=(1,))
# MPT: MosaicML LLM Foundry = PyTorch FSDP FULL_SHARD (ZeRO-3-like, no TP/PP), bf16, Triton FlashAttention,
# eager: closest profile torchtitan FSDP2 eager (assumption: FSDP1 in 2023, not FSDP2).
_FOUNDRY = dict(precision="bf16", flash_attention=True, stack="pytorch_fsdp2_eager", zero=(3,))
# StarCoder: BigCode's Megatron-LM fork with FlashAttention (arXiv:2305.06161, training setup); closest profile
# Megatron-LM 2021 with FlashAttention (assumption: bf16; the fork's optimizer sharding not modelled).
_BIGCODE = dict(precision="bf16", flash_attention=True, stack="megatron_lm_2021", zero=(1,))
# Llama 3: FSDP sharding optimizer states and gradients, parameters kept after the forward (ZeRO-2-like;
# arXiv:2407.21783 Sec 3.3.2).
_META3 = dict(precision="bf16", flash_attention=True, stack="meta_llama3_2024", zero=(2,))
# DeepSeek-V3: HAI-LLM, fp8 mixed precision, ZeRO-1; DualPipe hides the expert all-to-all behind computation
# ('fully hidden', Sec 3.2.1), hence ep_overlap 1 (the stack's notes). FlashAttention-style fused attention assumed.
_HAI = dict(precision="fp8", flash_attention=True, stack="deepseek_v3_2024", zero=(1,), ep_overlap=1.0)

# run id (training_runs.csv), registry model, node, fabric, GPUs, published GPU-hours, software, stated layout,
# source, assumptions
RUNS = [
    ("pythia-70m", "Pythia_70M", "DGX_A100_40GB", "InfiniBand_HDR", 32, 510, _NEOX, {}, PYTHIA, ""),
    ("pythia-160m", "Pythia_160M", "DGX_A100_40GB", "InfiniBand_HDR", 32, 1030, _NEOX, {}, PYTHIA, ""),
    ("pythia-410m", "Pythia_410M", "DGX_A100_40GB", "InfiniBand_HDR", 32, 2540, _NEOX, {}, PYTHIA, ""),
    ("pythia-1b", "Pythia_1B", "DGX_A100_40GB", "InfiniBand_HDR", 64, 4830, dict(_NEOX, precision="bf16"), {},
     PYTHIA, "bf16 (the CSV notes: fp16 except 1B)"),
    ("pythia-2.8b", "Pythia_2_8B", "DGX_A100_40GB", "InfiniBand_HDR", 64, 14240, _NEOX, {}, PYTHIA, ""),
    ("falcon-7b", "Falcon_7B", "AWS_p4d", "AWS_EFA", 384, 129024, _GIGATRON, dict(tp=1, pp=2),
     FALCON7, "wall time approx; AWS P4d nodes as the card states (4 x 100 Gb/s EFA per node; EFA latency and "
     "efficiency are assumptions)"),
    ("falcon-40b", "Falcon_40B", "AWS_p4d", "AWS_EFA", 384, 552960, _GIGATRON, dict(tp=8, pp=4),
     FALCON40, "wall time approx; nodes and fabric as falcon-7b"),
    ("mpt-7b", "MPT_7B", "DGX_A100_40GB", "InfiniBand_HDR", 440, 100320, _FOUNDRY, dict(tp=1, pp=1), MPT,
     "batch not stated (~4M tokens assumed); fabric assumed HDR InfiniBand"),
    ("starcoderbase-15.5b", "StarCoderBase_15B", "DGX_A100", "InfiniBand_HDR", 512, 320256, _BIGCODE,
     dict(tp=4, pp=4), STARCODER, "micro-batch and recompute from the planner; fabric assumed HDR InfiniBand"),
    ("llama-31-8b", "Llama3_8B", "GrandTeton_H100", "RoCE_400G", 2048, 1460000, _META3, {}, LLAMA31,
     "GPU count not stated (2,048 assumed); batch 16M assumed; hours include the long-context stages"),
    ("deepseek-v3", "DeepSeek_V3", "HGX_H800", "InfiniBand_NDR", 2048, 2664000, _HAI, dict(tp=1, pp=16, ep=64),
     DEEPSEEK_V3, "batch: the final 15,360 x 4K sequences throughout (the paper ramps from 3,072 over the first "
     "469B tokens); the stated recompute (RMSNorm, SwiGLU and MLA up-projections replayed from fp8-cached "
     "inputs, Sec 3.2.3 and 3.3.2) is the stack's replay_cheap_ops"),
]
# Runs taken from their paper rather than shared/validation/training_runs.csv.
FROM_PAPER = ("deepseek-v3",)

# Rows of training_runs.csv used by another table (in sample there, or out of sample already).
ELSEWHERE = {
    "runs.py (throughput)": ("megatron-sc21-", "korthikanti-", "llama3-405b-stage3-longctx", "bloom-176b",
                             "palm-540b"),
    "gpu_hours.py": ("llama-7b", "llama-13b", "llama-33b", "llama-2-7b", "llama-2-13b", "llama-2-70b",
                     "pythia-1.4b", "pythia-6.9b", "pythia-12b"),
    "energy.py": ("patterson-",),
    # Llama 2 34B (350 W cap) was the evidence for the DVFS exponent's prior (tools/dvfs_prior.py, README
    # Validation): it informed a constant, so it is not held out.
    "tools/dvfs_prior.py": ("llama-2-34b",),
}
# Rows with a published figure that is not comparable or not enough to model: the reason, never a fudge factor.
EXCLUDED = {
    "llama-32-1b": "hours cover pruning from Llama 3.1 8B and distillation on 8B/70B logits (card; 86k GPU-h of "
                   "logit generation shared), tokens 'up to 9T': not a plain 6ND pre-training run",
    "llama-32-3b": "as llama-32-1b (pruned and distilled, tokens 'up to 9T')",
    "llama-4-scout": "multimodal MoE pre-training, tokens approx ('~40T'), architecture and fp8 recipe not "
                     "published in enough detail to model",
    "llama-4-maverick": "as llama-4-scout (tokens '~22T')",
    "gpt3-brown": "V100 count and training time not stated (only total FLOPs)",
    "gopher-280b": "the printed shapes (80 x 16384) give 258B by the 12 L d^2 count, not the stated 280B "
                   "(unexplained); the 4,096 TPUv3 chips' split across pods is not stated",
    "chinchilla-70b": "no chip count or wall time published (FLOPs only)",
    "olmo-7b-a100": "no GPU-hours or wall time in the row (measured energy only)",
    "olmo3-7b": "hours approx (team statement relayed by a blog, incl. evals/checkpointing), GPU count and "
                "OLMo 3 shapes not in the data",
    "olmo3-32b": "as olmo3-7b",
    "mlperf-v3.0-gpt3-coreweave-3584": "time to train is to a target log-perplexity from a checkpoint: the token "
                                       "count is in the MLPerf logs, not the data (only '~0.4 %' of GPT-3's "
                                       "training, a press approximation), plus init and evaluation time",
    "mlperf-v4.0-gpt3-eos-11616": "as the v3.0 row; its minutes are also recalled ('verify')",
}


def holdout_table() -> list[dict]:
    from ..models.registry import Models
    return [dict(predicted_row(run_id, key, node_key, fabric, gpus, Models.get(key).tokens, published, sw, **fixed),
                 layout_source="stated" if fixed else "planner", tokens=Models.get(key).tokens, stack=sw["stack"],
                 source=source, assumptions=assumed)
            for run_id, key, node_key, fabric, gpus, published, sw, fixed, source, assumed in RUNS]


def summary(rows) -> dict:
    return dict(error_summary((r["error_pct"] for r in rows), signed=True), excluded=dict(EXCLUDED))


def format_holdout_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (layout and stack on a line under each run, the exclusions wrapped) or `wide`."""
    from ._text import note
    from .gpu_hours import hours_lines
    rows = rows if rows is not None else holdout_table()
    lines = hours_lines(rows, lambda r: f"{r['layout_source']} layout {r['layout']}, stack {r['stack']}", wide)
    s = summary(rows)
    lines += note(f"Held out: {s['n']} runs, median |error| {s['median_abs_pct']:.1f}% (median signed "
                  f"{s['median_pct']:+.1f}%), max |error| {s['max_abs_pct']:.1f}%; no constant fitted to them. "
                  f"Excluded ({len(EXCLUDED)}):", wide)
    for run_id, why in EXCLUDED.items():
        lines += note(f"{run_id}: {why}", wide, indent="  ")
    return "\n".join(lines)
