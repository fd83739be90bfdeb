"""The one error summary every validation table prints: how many rows, the median and max |error| (%), and
optionally the median signed error (negative: the model is faster than published)."""
from __future__ import annotations

from statistics import median


def error_summary(errors, signed: bool = False) -> dict:
    """{n, median_abs_pct, max_abs_pct[, median_pct]} of per-row errors in %; NaN figures for no rows."""
    errors = list(errors)
    absolute = [abs(e) for e in errors]
    out = dict(n=len(errors), median_abs_pct=median(absolute) if errors else float("nan"),
               max_abs_pct=max(absolute) if errors else float("nan"))
    if signed:
        out["median_pct"] = median(errors) if errors else float("nan")
    return out
