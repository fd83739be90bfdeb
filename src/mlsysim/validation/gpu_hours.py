"""GPU-hours of published runs whose parallel layout was not published: the planner's prediction.

For each run the layout is not an input but what a planner would choose: the fastest feasible layout found by
`explore.optimize` (TP x PP x micro-batch x ZeRO over the published GPU count, 10 % memory headroom, the
published batch), with the software of its era, and the run's goodput composed in (GoodputModel: failures,
checkpoints and restarts at the default failure rates). The published hours are training time: LLaMA 65B's equal
its stated throughput (Sec 2.4, checked below), Pythia's are logged iteration time (shared/validation/
training_runs.csv notes); a negative error is a model too fast, not hours spent on evaluation. The layout is
unknown, so the fastest one is an optimistic pick: the `decile` column gives the 10th percentile of every layout
the planner accepts (the spread of that guess). These rows are a reality check, not the accuracy target (that is
the throughput table in runs.py, whose layouts are known).
"""
from __future__ import annotations

from statistics import median

LLAMA1 = "Touvron et al. 2023, 'LLaMA' arXiv:2302.13971, Table 15 (A100-80GB GPU-hours) and Sec 2.4 (2,048 GPUs)"
LLAMA2 = "Touvron et al. 2023, 'Llama 2' arXiv:2307.09288, Table 2 / model card (A100-80GB GPU-hours)"
PYTHIA = "Biderman et al. 2023, 'Pythia' arXiv:2304.01373, Table 5 (A100-40GB GPUs and GPU-hours; 299.9B tokens)"
# Published throughput of a GPU-hours row: (run id, tokens/s per GPU, source). LLaMA 65B: 1.4T tokens / 380 tok/s
# = 1,023,392 GPU-hours against Table 15's 1,022,362 (0.1 %): the published hours are throughput time.
THROUGHPUT = [("llama-65b", 380.0, "Touvron et al. 2023, LLaMA arXiv:2302.13971 Sec 2.4: 'around 380 "
                                   "tokens/sec/GPU on 2048 A100 GPU with 80GB of RAM'")]
DECILE = 10.0  # percentile of the planner's accepted layouts reported beside the best one

# 2023 Meta stack (PyTorch eager with xformers memory-efficient attention, linear outputs saved and the rest
# recomputed, bf16: LLaMA paper Sec 2.4)
_META = dict(precision="bf16", flash_attention=True, stack="meta_llama_2023")
# GPT-NeoX 2022 (Megatron + DeepSpeed; fp16, activation checkpointing, no FlashAttention: assumption, unverified
# against the paper and configs here; with FlashAttention-1-class attention every Pythia row comes out faster,
# see the README). Optimizer states sharded with ZeRO stage 1 only (Biderman et al. 2023; the released
# Pythia GPT-NeoX configs set zero_optimization stage 1), so the planner may not pick ZeRO-2/3.
_NEOX = dict(precision="fp16", flash_attention=False, recompute="full", stack="megatron_deepspeed_2022", zero=(1,))

# run id, registry model, node, fabric, GPUs, tokens, published GPU-hours, software, source
RUNS = [
    ("llama-7b", "LLaMA_7B", "DGX_A100", "InfiniBand_HDR", 2048, 1.0e12, 82432, _META, LLAMA1),
    ("llama-13b", "LLaMA_13B", "DGX_A100", "InfiniBand_HDR", 2048, 1.0e12, 135168, _META, LLAMA1),
    ("llama-33b", "LLaMA_33B", "DGX_A100", "InfiniBand_HDR", 2048, 1.4e12, 530432, _META, LLAMA1),
    ("llama-65b", "LLaMA_65B", "DGX_A100", "InfiniBand_HDR", 2048, 1.4e12, 1022362, _META, LLAMA1),
    ("llama-2-7b", "Llama2_7B", "DGX_A100", "InfiniBand_HDR", 2048, 2.0e12, 184320, _META, LLAMA2),
    ("llama-2-13b", "Llama2_13B", "DGX_A100", "InfiniBand_HDR", 2048, 2.0e12, 368640, _META, LLAMA2),
    ("llama-2-70b", "Llama2_70B", "DGX_A100", "InfiniBand_HDR", 2048, 2.0e12, 1720320, _META, LLAMA2),
    ("pythia-1.4b", "Pythia_1_4B", "DGX_A100_40GB", "InfiniBand_HDR", 64, 299.892736e9, 7120, _NEOX, PYTHIA),
    ("pythia-6.9b", "Pythia_6_9B", "DGX_A100_40GB", "InfiniBand_HDR", 128, 299.892736e9, 33500, _NEOX, PYTHIA),
    ("pythia-12b", "Pythia_12B", "DGX_A100_40GB", "InfiniBand_HDR", 256, 299.892736e9, 72300, _NEOX, PYTHIA),
]


def planned(model, fleet, tokens, sw, **fixed):
    """The planner's fastest feasible layout for `model` on `fleet` with the software `sw`, the GoodputResult of
    training `tokens` on it, and the DECILE-th percentile of the compute GPU-hours of every layout it accepts.
    `fixed` pins axes a source states (e.g. tp=8, pp=4); the others stay free."""
    import numpy as np
    from ..explore import optimize
    from ..solvers.goodput import GoodputModel
    axes = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4, 8], microbatch=[1, 2, 4], zero=list(sw.get("zero", (1, 2, 3))),
                precision=[sw["precision"]], recompute=[sw.get("recompute", "selective"), "full"])
    axes.update({k: [v] for k, v in fixed.items()})
    opt = optimize(model, "time_to_train", {"memory_headroom": 0.1}, fleets=fleet, tokens=tokens,
                   flash_attention=sw["flash_attention"], stack=sw["stack"], runners_up=100_000,
                   tp_overlap=sw.get("tp_overlap", 0.0), ep_overlap=sw.get("ep_overlap", 0.0), **axes)
    decile = float(np.percentile(opt.table["gpu_hours"], DECILE))
    return opt.best, GoodputModel().solve(performance=opt.solve()), decile


def predicted_row(run_id, key, node_key, fabric, gpus, tokens, published, sw, **fixed) -> dict:
    """One run predicted by `planned()` on `gpus` GPUs of `node_key` over `fabric`, against its `published`
    GPU-hours: the best layout's (goodput composed in) and the decile's, with the best layout's figures."""
    from ..models.registry import Models
    from ..systems.registry import Systems
    from ..systems.system import Fleet

    node = Systems.Nodes[node_key]
    fleet = Fleet(node=node, count=gpus // node.accelerators_per_node, fabric=Systems.Fabrics[fabric])
    best, good, decile = planned(Models.get(key), fleet, tokens, sw, **fixed)
    pred = good.gpu_hours
    pred_decile = decile * pred / best["gpu_hours"]  # the same goodput composed in
    ep = f" ep{best['ep']}" if best["ep"] > 1 else ""
    return dict(run_id=run_id, gpus=gpus, published=published, predicted=pred,
                error_pct=100.0 * (pred - published) / published,
                decile=pred_decile, decile_error_pct=100.0 * (pred_decile - published) / published,
                tokens_per_s=tokens / (best["gpu_hours"] * 3600.0), mfu=best["mfu"],
                goodput=good.goodput, compute_hours=best["gpu_hours"],
                layout=f"tp{best['tp']} pp{best['pp']} dp{best['dp']}{ep} mb{best['microbatch']} "
                       f"z{best['zero']} {best['recompute']}")


def gpu_hours_table() -> list[dict]:
    return [dict(predicted_row(run_id, key, node_key, fabric, gpus, tokens, published, sw), source=source)
            for run_id, key, node_key, fabric, gpus, tokens, published, sw, source in RUNS]


def hours_lines(rows, detail, wide: bool = False) -> list[str]:
    """A GPU-hours table (here and holdout.py): a line of figures per run with its layout (`detail(row)`) on an
    indented line under it (80 columns) or at its end (`wide`)."""
    from ._text import note
    w = max(len(r["run_id"]) for r in rows)
    lines = [f"{'run':{w}} {'gpus':>5} {'published h':>11} {'predicted h':>11} {'error':>7} {'decile':>7} {'MFU':>5} "
             f"{'goodput':>7}"]
    for r in rows:
        line = (f"{r['run_id']:{w}} {r['gpus']:>5} {r['published']:>11,.0f} {r['predicted']:>11,.0f} "
                f"{r['error_pct']:>+6.1f}% {r['decile_error_pct']:>+6.1f}% {r['mfu']:>5.2f} {r['goodput']:>7.3f}")
        lines += [f"{line}  {detail(r)}"] if wide else [line] + note(detail(r), indent="    ")
    return lines


def format_gpu_hours_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (each best layout on a line under its run) or `wide` (one line per run)."""
    from ._text import note
    rows = rows if rows is not None else gpu_hours_table()
    lines = hours_lines(rows, lambda r: f"best layout {r['layout']}", wide)
    errs = [r["error_pct"] for r in rows]
    inside = sum(1 for r in rows if r["error_pct"] <= 0.0 <= r["decile_error_pct"])
    lines += note(f"GPU-hours: {len(rows)} runs, median error {median(errs):+.1f}%, max |error| "
                  f"{max(abs(e) for e in errs):.1f}% (best layout, goodput composed in; negative: the model is faster "
                  f"than the published training time); decile: the {DECILE:.0f}th percentile of the accepted layouts; "
                  f"published between the best layout and the decile: {inside} of {len(rows)}", wide)
    by_id = {r["run_id"]: r for r in rows}
    for run_id, tps, source in THROUGHPUT:
        if run_id in by_id:
            pred = by_id[run_id]["tokens_per_s"]
            lines += note(f"check: {run_id} {tps:.0f} tokens/s/GPU published, {pred:.0f} at the best layout "
                          f"({100.0 * (pred - tps) / tps:+.1f}%): {source}", wide, indent="  ")
    return "\n".join(lines)
