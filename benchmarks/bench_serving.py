"""Serving timings: one replica (ServingModel.solve), one fleet under load (ServingLoadModel.solve), and a
capacity search over >= 1e5 serving configurations vectorised through the same physics (max_load on arrays).

Configurations = accelerator x precision x TP x max batch x prefill budget x (input, output) lengths: each one is
a full steady-state search (its best concurrency under the SLO), not a single point.
Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_serving.py
"""
from __future__ import annotations

import statistics
import time

import numpy as np


def per_call(fn, n):
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t) / n)
    return statistics.median(times)


def capacity_search():
    """Broadcast every configuration of one model through serving_load.max_load at once."""
    from mlsysim import Models
    from mlsysim.physics import serving_load as SL
    from mlsysim.solvers.serving_setup import replica_setup
    model = Models.Language.Llama3_70B
    lengths = [(i, o) for i in (128, 256, 512, 1000, 2000, 4000) for o in (64, 128, 256, 512, 1000)]
    batches = np.array([64, 128, 256, 384, 512, 768, 1024, 1536, 2048], float)
    chunks = np.array([1024, 2048, 4096, 6144, 8192, 12288, 16384], float)
    kws, bmax = [], []
    for hw in ("H100", "H200", "B200"):
        for prec in ("fp16", "fp8", "int4"):
            for tp in (1, 2, 4, 8):
                for isl, osl in lengths:
                    s = replica_setup(model, hw, input_len=isl, output_len=osl, tp=tp, precision=prec)
                    if s.b_max < 1:
                        continue
                    for b in batches:
                        for c in chunks:
                            kws.append({**s.kw, "chunk": c})
                            bmax.append(min(b, s.kv_capacity, c - 1))
    keys = kws[0].keys()
    arrays = {k: np.array([kw[k] for kw in kws], float) for k in keys}
    d = replica_setup(model, "H100", input_len=128, output_len=64, tp=1, precision="fp8").dims
    t = time.perf_counter()
    r = SL.max_load(d, b_max=np.array(bmax), slo_ttft_s=0.2, slo_tpot_s=0.05, **arrays)
    dt = time.perf_counter() - t
    assert np.all(np.isfinite(r["qps"]))
    return len(bmax), dt, int(r["ok"].sum())


def main():
    from mlsysim import Hardware, Models, ServingModel
    from mlsysim.solvers.serving_load import ServingLoadModel
    m, h = Models.Language.Llama3_70B, Hardware.Cloud.H100
    one = per_call(lambda: ServingModel().solve(m, h, seq_len=2048, batch_size=8, tp_size=4, precision="fp8"), 200)
    fleet = per_call(lambda: ServingLoadModel().solve(m, h, qps=10, input_len=1000, output_len=200, tp_size=4,
                                                      precision="fp8", ttft_slo=0.5), 10)
    n, dt, ok = capacity_search()
    print(f"ServingModel.solve (one replica): {one * 1e6:.0f} us per call")
    print(f"ServingLoadModel.solve (fleet at a QPS, SLO search): {fleet * 1e3:.1f} ms per call")
    print(f"capacity search: {n:,} configurations in {dt:.2f} s ({n / dt:,.0f} per s; {ok:,} meet the SLO)")


if __name__ == "__main__":
    main()
