"""Fit the global efficiency constants of physics/constants.py once, jointly, against every published run in
mlsysim/validation/runs.py (no per-run factors), and cross-validate the fit leaving one source family out at a
time. Prints the in-sample fit (a human copies it into constants.py, naming this script as the provenance) and
writes the leave-one-family-out table that `mlsysim validate` prints (src/mlsysim/validation/crossval_table.json).

Run: .venv/bin/python tools/calibrate.py [--write]
"""
from __future__ import annotations

import json
import sys
from importlib import resources

from mlsysim.validation import crossval as X
from mlsysim.validation.runs import runs


def main(write: bool):
    R = runs()
    best = X.fit(R)
    errs = X._errors([r for r in R if not r.flags], best)
    print("in-sample fit:", best, "loss %.2f" % X.loss(errs))
    cv = X.cross_validate(R)
    for fam, res in cv.items():
        print(f"{fam:12} fitted without it: {res['constants']}")
        for rid, e in res["errors"].items():
            print(f"    {rid:40} {e:+6.1f}%")
    if write:
        path = resources.files("mlsysim.validation").joinpath(X.TABLE_FILE)
        table = {"grid": X.GRID, "in_sample": best, "families": cv}
        with open(str(path), "w") as fh:
            json.dump(table, fh, indent=1, sort_keys=True)
        print("wrote", path)


if __name__ == "__main__":
    main("--write" in sys.argv)
