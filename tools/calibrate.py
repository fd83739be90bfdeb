"""Fit the global efficiency constants of physics/constants.py once, jointly, against every published run in
mlsysim/validation/runs.py (no per-run factors). Prints the grid's best points; a human copies the chosen values
into constants.py with this script named as their provenance.

Run: .venv/bin/python tools/calibrate.py
"""
from __future__ import annotations

import itertools
import statistics

from mlsysim.physics import constants as C
from mlsysim.solvers import distributed
from mlsysim.validation import runs as V

GRID = {
    "GEMM_HALF_DIM": [32.0, 48.0, 64.0, 96.0],
    "FRAMEWORK_GEMM_FRACTION": [0.86, 0.88, 0.90, 0.92, 0.94],
    "ELEMENTWISE_PASSES": [12.0, 16.0, 20.0],
    "STRAGGLER_CV": [0.002, 0.004, 0.008],
}


def score():
    distributed._dims.cache_clear()
    errs = [abs(r["error_pct"]) for r in V.throughput_table() if not r["flags"]]
    return statistics.median(errs), max(errs), statistics.mean(errs)


def main():
    base = {k: getattr(C, k) for k in GRID}
    results = []
    for values in itertools.product(*GRID.values()):
        for k, v in zip(GRID, values):
            setattr(C, k, v)
        med, mx, mean = score()
        results.append((mean + 0.25 * mx, med, mx, dict(zip(GRID, values))))
    for k, v in base.items():
        setattr(C, k, v)
    results.sort(key=lambda r: r[0])
    print("current:", base, "median/max/mean |error| %.1f/%.1f/%.1f" % score())
    for loss, med, mx, vals in results[:8]:
        print(f"loss {loss:6.2f}  median {med:4.1f}%  max {mx:4.1f}%  {vals}")


if __name__ == "__main__":
    main()
