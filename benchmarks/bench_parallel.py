"""The local process executor against one core: the same streaming optimize (11.8 M configurations of Llama 3 70B
on Research_256) in this process and in `executor="processes"` worker processes; results must be identical.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_parallel.py [workers]   (default: 2)
Prints the load average, wall times (best of 5, run alternately) and the least CPU seconds of 5 runs, split between this process
and the workers (with executor="processes" this process evaluates chunks too; the workers are kept between
calls, so the first call, which starts them, is shown on its own). On a machine shared with other work the
wall-time speedup understates what the processes do; the CPU accounting gives the speedup on idle cores: the
in-process CPU over the processes' CPU shared out over `workers` cores (overhead included, balance assumed).
The ceiling line runs `workers` independent in-process optimizations at once: what sharing the chip costs.
"""
from __future__ import annotations

import os
import resource
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

from mlsysim import Models, Systems  # noqa: E402
from mlsysim.explore import optimize  # noqa: E402

AXES = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4, 8, 16], cp=[1, 2, 4, 8], microbatch=[1, 2, 3, 4, 6, 8, 12, 16],
            interleave=[1, 2, 4, 5], recompute=["none", "selective", "full"], zero=[0, 1, 2, 3],
            seq_len=[2048, 4096, 6144, 8192, 12288, 16384], global_batch_size=list(range(256, 8193, 256)),
            precision=["bf16", "fp8"])


def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


def workers_cpu() -> float:
    """CPU seconds of the finished child processes and of the executor's live (kept) workers, from /proc."""
    from mlsysim.explore import processes

    total = cpu(resource.RUSAGE_CHILDREN)
    pool = getattr(processes, "_POOL", None)
    for pid in (getattr(pool[1], "_processes", None) or {}) if pool else ():
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
        except (OSError, ValueError, IndexError):
            pass
    return total


def timed(executor, workers):
    """(wall, CPU here, CPU in workers) of one run, and its result."""
    p0, c0, t = cpu(resource.RUSAGE_SELF), workers_cpu(), time.perf_counter()
    opt = optimize(Models.Language.Llama3_70B, "time_to_train", fleets=Systems.Clusters.Research_256,
                   executor=executor, scheduler=workers, **AXES)
    return (time.perf_counter() - t, cpu(resource.RUSAGE_SELF) - p0, workers_cpu() - c0), opt


def _solo_cpu(conn):
    """In a forked child: the CPU seconds of one warm in-process run (the ceiling measurement below)."""
    timed("local", None)
    conn.send(min(timed("local", None)[0][1] for _ in range(2)))


def ceiling(workers):
    """CPU seconds per run of `workers` independent in-process runs at once over one run alone: the slowdown the
    cores' shared cache and memory bandwidth impose on any split of the work, and so the best speedup possible."""
    import multiprocessing as mp
    ctx = mp.get_context("fork")
    out = []
    for k in (1, workers):
        pipes = [ctx.Pipe() for _ in range(k)]
        procs = [ctx.Process(target=_solo_cpu, args=(b,)) for _, b in pipes]
        for p in procs:
            p.start()
        out.append(sum(a.recv() for a, _ in pipes) / k)
        for p in procs:
            p.join()
    return out[1] / out[0]


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    load0 = os.getloadavg()[0]
    runs1, runsn = [], []
    for _ in range(5):  # alternately, so that both see the same load; the minima are the least disturbed runs
        run, ref = timed("local", None)
        runs1.append(run)
        run, par = timed("processes", workers)  # the first of these also starts the workers
        runsn.append(run)
    same = all(ref.table.column(c).tolist() == par.table.column(c).tolist() for c in ref.table.columns) \
        and ref.rejected == par.rejected and ref.n_feasible == par.n_feasible
    n = ref.evaluated
    w1, cpu1 = min(r[0] for r in runs1), min(r[1] for r in runs1)
    wn, (cpun_self, cpun_workers) = min(r[0] for r in runsn), min((r[1:] for r in runsn), key=sum)
    print(f"[parallel] {n:,} configurations, streaming optimize; identical results: {same}; load average "
          f"{load0:.2f} -> {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"  in-process:         {w1:6.3f} s wall ({n / w1 / 1e6:5.1f} M/s), {cpu1:.3f} s CPU")
    print(f"  {workers} processes:        {wn:6.3f} s wall ({n / wn / 1e6:5.1f} M/s), {cpun_self:.3f} s CPU here + "
          f"{cpun_workers:.3f} s in workers; wall-time speedup {w1 / wn:.2f}x")
    print(f"  CPU-bound speedup on {workers} idle cores (in-process CPU / (all processes' CPU / {workers})): "
          f"{cpu1 / ((cpun_workers + cpun_self) / workers):.2f}x")
    slow = ceiling(workers)
    print(f"  ceiling: {workers} independent in-process runs at once take {slow - 1:+.1%} CPU each (shared cache and "
          f"memory bandwidth), so no split beats {workers / slow:.2f}x")
    w0, s0, c0 = runsn[0]
    print(f"  first call (starts the workers): {w0:.3f} s wall, {s0 + c0:.3f} s CPU: {w1 / w0:.2f}x wall, "
          f"{cpu1 / ((s0 + c0) / workers):.2f}x by CPU accounting")


if __name__ == "__main__":
    main()
