"""Core timings: `import mlsysim` (median of fresh processes), first registry access, and DistributedModel.solve.

Run: .venv/bin/python benchmarks/bench_core.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import time


def fresh(code: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def main():
    imp = fresh("import time; t=time.perf_counter(); import mlsysim; print(time.perf_counter()-t)")
    reg = fresh("import time; import mlsysim; t=time.perf_counter(); mlsysim.Hardware.Cloud.H100; "
                "mlsysim.Models.Language.Llama3_70B; mlsysim.Systems.Clusters.Research_256; "
                "print(time.perf_counter()-t)")
    tut = fresh("import time; t=time.perf_counter()\n"
                "from mlsysim.solvers import DistributedModel\nfrom mlsysim import Models, Systems\n"
                "p=DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,"
                " tp_size=8, pp_size=1, dp_size=32); p.latency.to('days')\nprint(time.perf_counter()-t)", runs=5)
    from mlsysim import DistributedModel, Models, Systems
    m, f = Models.Language.Llama3_70B, Systems.Clusters.Research_256
    solver = DistributedModel()
    for _ in range(200):
        solver.solve(m, f, tp_size=8, pp_size=1, dp_size=32)
    per = []
    for _ in range(5):
        n = 1000
        t = time.perf_counter()
        for _ in range(n):
            solver.solve(m, f, tp_size=8, pp_size=1, dp_size=32)
        per.append((time.perf_counter() - t) / n)
    print(f"import mlsysim (median of 7 fresh processes): {imp * 1e3:.1f} ms")
    print(f"first access to three registry entries:       {reg * 1e3:.1f} ms")
    print(f"tutorial perf call in a fresh process:         {tut * 1e3:.0f} ms (imports numpy + pint)")
    print(f"DistributedModel().solve, median of 5 x 1000:  {statistics.median(per) * 1e6:.1f} us")


if __name__ == "__main__":
    main()
