"""Core timings: `import mlsysim`, first registry access, DistributedModel.solve, and start-up of the tutorial
snippet, `mlsysim --help` and `mlsysim train` on the golden scenario (fresh processes).

Run: .venv/bin/python benchmarks/bench_core.py
Fresh-process figures are the minimum over runs of the wall time, with the child's CPU time (user + sys) beside
it: on a shared machine the wall time includes waiting for a core, the CPU time does not. The children may write
bytecode (PYTHONDONTWRITEBYTECODE is dropped for them), as an installed package has it: the first, unmeasured run
compiles the sources once instead of every run compiling them again (~30 ms of the tutorial snippet).
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the tutorial's code, in the shared/ folder beside the checkout (as tests/test_tutorial_snippet.py finds it)
SNIPPET = next((p / "shared" / "seed" / "tutorial_snippet.py" for p in ROOT.parents
                if (p / "shared" / "seed" / "tutorial_snippet.py").exists()), None)
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def fresh(cmd, runs: int = 7) -> tuple[float, float]:
    """(min wall s, min CPU s) of a command in fresh processes (the first run warms the file, bytecode and unit
    caches)."""
    env = CHILD_ENV
    subprocess.run(cmd, capture_output=True, check=True, env=env)
    wall = cpu = float("inf")
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, env=env)
        wall = min(wall, time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = min(cpu, r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return wall, cpu


def in_child(code: str, runs: int = 7) -> float:
    """Median of a duration a fresh process measures itself and prints (after one unmeasured run)."""
    def once():
        return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    env=CHILD_ENV).stdout.strip())
    once()
    times = sorted(once() for _ in range(runs))
    return times[len(times) // 2]


def solve_us() -> float:
    """DistributedModel().solve: the best of 200 batches of 50 calls (the least disturbed by other processes)."""
    from mlsysim import DistributedModel, Models, Systems
    m, f = Models.Language.Llama3_70B, Systems.Clusters.Research_256
    solver = DistributedModel()
    for _ in range(300):
        solver.solve(m, f, tp_size=8, pp_size=1, dp_size=32)
    best = float("inf")
    for _ in range(200):
        t = time.perf_counter()
        for _ in range(50):
            solver.solve(m, f, tp_size=8, pp_size=1, dp_size=32)
        best = min(best, (time.perf_counter() - t) / 50)
    return best * 1e6


def main():
    py = sys.executable
    imp = in_child("import time; t=time.perf_counter(); import mlsysim; print(time.perf_counter()-t)")
    reg = in_child("import time; import mlsysim; t=time.perf_counter(); mlsysim.Hardware.Cloud.H100; "
                   "mlsysim.Models.Language.Llama3_70B; mlsysim.Systems.Clusters.Research_256; "
                   "print(time.perf_counter()-t)")
    print(f"import mlsysim (median of 7 fresh processes):  {imp * 1e3:.1f} ms")
    print(f"first access to three registry entries:        {reg * 1e3:.1f} ms")
    print(f"DistributedModel().solve (best of 200 x 50):    {solve_us():.1f} us")
    for label, cmd in (("python -c pass (interpreter alone)", [py, "-c", "pass"]),
                       ("python -c 'import numpy'", [py, "-c", "import numpy"]),
                       ("tutorial snippet", [py, str(SNIPPET)] if SNIPPET else None),
                       ("mlsysim --help", [py, "-m", "mlsysim", "--help"]),
                       ("mlsysim train (golden scenario)", [py, "-m", "mlsysim", "train", str(GOLDEN)])):
        if cmd is None:
            print(f"{label}: shared/seed/tutorial_snippet.py not found beside this checkout")
            continue
        wall, cpu = fresh(cmd)
        print(f"{label + ':':<40} {wall * 1e3:6.0f} ms wall (min of 7), {cpu * 1e3:6.0f} ms CPU")


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
