"""Design-space explorer timings, and where Meta's Llama 3 405B layout ranks in the predicted search.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_explore.py
Prints (one core; numpy's elementwise kernels are single-threaded):
  1. configurations evaluated per second: streaming (optimize) and materialising every row (sweep, keep="all"),
     bytes per kept row, and numpy's floor for the same work (benchmarks/_floor.py: counted element operations x
     measured ns per element + numpy calls x measured ns per call);
  2. exhaustive layout search time for Llama 3 70B on Research_256 and Llama 3 405B on 16,384 H100s;
  3. the rank of Meta's 405B layout (TP8 PP16 DP128 CP1, 8K sequences, 2,048-sequence batch, interleave 8).
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from mlsysim import Models, Systems  # noqa: E402
from mlsysim.explore import optimize, sweep  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _floor import count, unit_costs  # noqa: E402


def best_of(fn, runs=5):
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), statistics.median(times), out


def llama3_405b():
    if "Llama3_405B" in Models.Language:
        return Models.Language.Llama3_405B
    from mlsysim import TransformerWorkload  # registry entry not there yet: Llama 3 paper Table 3
    return TransformerWorkload("Llama3_405B", n_layers=126, hidden=16384, n_heads=128, n_kv_heads=8,
                               ffn_hidden=53248, vocab=128256, gated_mlp=True, seq_len=8192, tokens=15.6e12,
                               global_batch_tokens=16e6)


def h100_16k():
    for f in Systems.Clusters:
        if f.total_accelerators == 16384 and f.node.accelerator.key == "H100":
            return f
    from mlsysim import Fleet  # registry entry not there yet: 2,048 DGX H100 nodes
    return Fleet(node=Systems.Nodes.DGX_H100, count=2048, fabric=Systems.Fabrics.InfiniBand_NDR,
                 name="16,384 H100 (2,048x DGX H100, NDR)")


# Every layout axis the explorer has, at the values a practitioner would consider.
LAYOUT = dict(tp="auto", pp="auto", cp=[1, 2, 4, 8, 16], microbatch=[1, 2, 4, 8], interleave=[1, 2, 3, 4, 6, 8],
              recompute=["none", "selective", "full"], zero=[0, 1, 2, 3])


def throughput():
    m, f = Models.Language.Llama3_70B, Systems.Clusters.Research_256
    axes = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4, 8, 16], cp=[1, 2, 4], microbatch=[1, 2, 4, 8],
                interleave=[1, 2, 4, 5], recompute=["none", "selective", "full"], zero=[0, 1, 2, 3],
                seq_len=[2048, 4096, 8192, 16384], global_batch_size=[256, 512, 768, 1024, 1536, 2048, 3072, 4096],
                precision=["bf16", "fp8"])
    run = lambda: optimize(m, "time_to_train", fleets=f, **axes)
    best, med, opt = best_of(run, runs=5)
    n = opt.evaluated
    print(f"[throughput] {n:,} configurations (70B on Research_256, 10 numeric axes x 2 precisions)")
    print(f"  streaming (optimize, top-k kept):  {n / best / 1e6:5.2f} M configs/s  (best of 5; median "
          f"{n / med / 1e6:.2f})")
    c = count(run)
    el_ns, call_ns = unit_costs(c["elements"] / c["calls"])
    floor_ns = c["elements"] / n * el_ns + c["calls"] / n * call_ns
    print(f"  numpy floor: {c['elements'] / n:.1f} element-ops/config x {el_ns:.2f} ns + {c['calls']:,} numpy calls "
          f"x {call_ns:.0f} ns = {floor_ns:.1f} ns/config ({1e3 / floor_ns:.1f} M/s); optimize is "
          f"{(1e9 * best / n) / floor_ns:.1f}x the floor")
    best, med, res = best_of(lambda: sweep(m, f, **axes), runs=3)
    valid = int(np.count_nonzero(~np.isnan(res["step_s"])))
    nbytes = sum(a.nbytes for a in res._cols.values())
    print(f"  sweep keeping all {len(res):,} rows ({valid:,} valid layouts, {nbytes / 1e6:.0f} MB, "
          f"{nbytes / len(res):.0f} bytes/row): {len(res) / best / 1e6:5.2f} M configs/s (best of 3; median "
          f"{len(res) / med / 1e6:.2f})")


def search(label, model, fleet, **extra):
    axes = dict(LAYOUT, **extra)
    best, med, opt = best_of(lambda: optimize(model, "time_to_train", fleets=fleet, runners_up=20, **axes), runs=5)
    b = opt.best
    print(f"[search] {label}: {opt.evaluated:,} layouts, {opt.n_feasible:,} feasible, "
          f"{best * 1e3:.0f} ms (median {med * 1e3:.0f} ms)")
    print(f"  optimum: tp={b['tp']} pp={b['pp']} dp={b['dp']} cp={b['cp']} mb={b['microbatch']} v={b['interleave']} "
          f"recompute={b['recompute']} zero={b['zero']}: step {b['step_s']:.2f} s, MFU {b['mfu']:.1%}, "
          f"{b['time_to_train_days']:.1f} days, {b['memory_gb']:.0f} GB")
    return opt


def meta_rank(model, fleet):
    """All feasible layouts ranked by step time; where do Meta's (TP8 PP16 DP128 CP1, v=8) rows sit?"""
    res = sweep(model, fleet, keep="feasible", global_batch_size=[2048], **LAYOUT).sort("step_s")
    step = res["step_s"]
    meta = np.flatnonzero((res["tp"] == 8) & (res["pp"] == 16) & (res["cp"] == 1) & (res["interleave"] == 8))
    print(f"[Meta 405B layout] among {len(res):,} feasible layouts (2,048 x 8K batch), by step time:")
    if not meta.size:
        print("  TP8 PP16 DP128 v=8 is not feasible in this model (see its memory)")
        return
    for i in meta[:4]:
        r = res[int(i)]
        print(f"  rank {i + 1:>5,} ({(i + 1) / len(res):.1%}): mb={r['microbatch']} recompute={r['recompute']} "
              f"zero={r['zero']}: step {r['step_s']:.2f} s (+{r['step_s'] / step[0] - 1:.1%} vs optimum "
              f"{step[0]:.2f} s), MFU {r['mfu']:.1%}, {r['memory_gb']:.0f} GB")
    i = int(meta[0])
    faster = np.unique(step[:i][step[:i] < step[i]]).size
    print(f"  distinct step times faster than Meta's best row: {faster:,} (ties, e.g. recompute none vs selective "
          f"with FlashAttention, count once)")


def main():
    throughput()
    search("Llama 3 70B on Research_256 (256 H100)", Models.Language.Llama3_70B, Systems.Clusters.Research_256)
    m405, f16k = llama3_405b(), h100_16k()
    search(f"Llama 3 405B on {f16k.name}", m405, f16k)
    search(f"Llama 3 405B on {f16k.name}, 2,048-sequence batch", m405, f16k, global_batch_size=[2048])
    meta_rank(m405, f16k)


if __name__ == "__main__":
    main()
