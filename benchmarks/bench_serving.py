"""Serving timings: one replica (ServingModel.solve), one fleet under load (ServingLoadModel.solve), and a
capacity search over >= 1e5 serving configurations vectorised through the same physics (max_load on arrays).

Configurations = accelerator x precision x TP x (input, output) lengths x max batch x prefill budget x SLO: each one is
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


TTFT_SLOS = (0.1, 0.2, 0.5, 1.0)  # p99 TTFT targets (s); p99 TPOT <= 50 ms throughout


def capacity_search():
    """Broadcast every configuration of one model through serving_load.max_load at once: replica layouts and
    lengths on axis 0, max batch on axis 1, prefill budget on axis 2, TTFT SLO on axis 3 (the iteration time is
    computed per layout, the engine settings and SLO algebra per configuration)."""
    from mlsysim import Models
    from mlsysim.physics import serving_load as SL
    from mlsysim.solvers.serving_setup import replica_setup
    model = Models.Language.Llama3_70B
    lengths = [(i, o) for i in (128, 256, 512, 1000, 2000, 4000) for o in (64, 128, 256, 512, 1000)]
    batches = np.array([64, 128, 256, 384, 512, 768, 1024, 1536, 2048], float)
    chunks = np.array([1024, 2048, 3072, 4096, 6144, 8192, 12288, 16384], float)
    setups = []
    for hw in ("H100", "H200", "B200"):
        for prec in ("fp16", "fp8", "int4"):
            for tp in (1, 2, 4, 8):
                for isl, osl in lengths:
                    s = replica_setup(model, hw, input_len=isl, output_len=osl, tp=tp, precision=prec)
                    if s.kv_capacity >= 1:
                        setups.append(s)
    lay = {k: np.array([s.kw[k] for s in setups], float)[:, None, None, None] for k in setups[0].kw if k != "chunk"}
    cap = np.array([s.kv_capacity for s in setups])[:, None, None, None]
    chunk = chunks[None, None, :, None]
    b_max = np.maximum(np.minimum(np.minimum(batches[None, :, None, None], cap), chunk - 1.0), 1.0)
    b_max = np.broadcast_to(b_max, b_max.shape[:3] + (len(TTFT_SLOS),))
    t = time.perf_counter()
    r = SL.max_load(setups[0].dims, b_max=b_max, slo_ttft_s=np.array(TTFT_SLOS)[None, None, None, :],
                    slo_tpot_s=0.05, chunk=chunk, **lay)
    dt = time.perf_counter() - t
    assert np.all(np.isfinite(r["qps"])) and r["qps"].size == b_max.size
    return b_max.size, dt, int(r["ok"].sum())


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
