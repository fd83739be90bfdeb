"""The uncertain inputs of `mlsysim.uncertainty` and their ranges: what each input is, its default spread with
the evidence, and how a range is checked and sampled."""
from __future__ import annotations

import numpy as np

from .errors import ConfigError, unknown
from .physics import reliability as _R

# name: (what it is, unit shown, lowest valid value, whether the value itself may be zero)
PARAMETERS = {
    "matmul_efficiency_scale": ("multiplier on the achieved matmul and fused-attention ceiling", "", 0.0, False),
    "bandwidth_scale": ("multiplier on achieved scale-up and scale-out bandwidth", "", 0.0, False),
    "straggler_cv": ("per-rank step-time coefficient of variation", "", 0.0, True),
    "failure_rate_scale": ("multiplier on every component failure rate", "", 0.0, True),
    "relaunch_time_s": ("failure-to-restart overhead before the checkpoint read", "s", 0.0, True),
    "storage_bw_scale": ("multiplier on checkpoint storage bandwidth", "", 0.0, False),
    "pue": ("power usage effectiveness", "", 1.0, True),
    "grid_gco2_per_kwh": ("grid carbon intensity", "gCO2e/kWh", 0.0, True),
    "electricity_usd_per_kwh": ("electricity price", "USD/kWh", 0.0, True),
    "price_scale": ("multiplier on the accelerator purchase price (CapEx)", "", 0.0, False),
}

# Used when no ranges are given. Reasons:
# - matmul efficiency: the calibrated throughput model's errors on published runs reach ~+-10 % (validate table);
# - straggler CV: the 0.4 % default is an assumption; 0.2-1 % spans quiet to noisy clusters (Llama 3 paper Sec
#   3.3.4 reports 1-2 % whole-job diurnal swings, an upper bound on the independent per-rank part);
# - failure rates: the spread of the independent clusters pooled in physics.reliability (a log-normal with their
#   5-95 % multipliers for a new cluster);
# - relaunch: reported restarts of large jobs range ~5-30 min.
DEFAULT_RANGES = {
    "matmul_efficiency_scale": (0.9, 1.05),
    "straggler_cv": ("loguniform", 0.002, 0.01),
    "failure_rate_scale": ("lognormal", *_R.RATE_SCALE_90),
    "relaunch_time_s": (300.0, 1800.0),
}


def _check_value(name, v):
    _, unit, low, zero_ok = PARAMETERS[name]
    if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not np.isfinite(v):
        raise ConfigError(f"range for {name!r}: values must be finite numbers, got {v!r}")
    if v < low or (v == low and not zero_ok):
        raise ConfigError(f"range for {name!r}: {v!r} is {'below' if v < low else 'at'} the lowest valid value "
                          f"{low:g}{' ' + unit if unit else ''} ({PARAMETERS[name][0]})")
    return float(v)


def parse_range(name: str, spec):
    """Validate a range and return (kind, parameters) with kind in fixed/uniform/loguniform/triangular/empirical."""
    if name not in PARAMETERS:
        raise unknown("uncertain input", name, PARAMETERS)
    if isinstance(spec, np.ndarray):
        if spec.ndim != 1 or spec.size == 0:
            raise ConfigError(f"range for {name!r}: an array of draws must be 1-D and non-empty")
        if spec.dtype.kind not in "iuf":
            raise ConfigError(f"range for {name!r}: an array of draws must hold numbers, got dtype {spec.dtype}")
        return "empirical", tuple(_check_value(name, float(x)) for x in spec)
    if not isinstance(spec, (tuple, list)):
        return "fixed", (_check_value(name, spec),)
    spec = tuple(spec)
    kind = "uniform"
    if spec and isinstance(spec[0], str):
        kind, spec = spec[0], spec[1:]
        if kind not in ("uniform", "loguniform", "lognormal", "triangular"):
            raise unknown("distribution", kind, ("uniform", "loguniform", "lognormal", "triangular"))
    need = 3 if kind == "triangular" else 2
    if len(spec) != need:
        form = "('triangular', low, mode, high)" if kind == "triangular" else f"('{kind}', low, high) or (low, high)"
        raise ConfigError(f"range for {name!r}: expected {form}, got {spec!r}")
    vals = tuple(_check_value(name, v) for v in spec)
    lo, hi = vals[0], vals[-1]
    if lo > hi:
        raise ConfigError(f"range for {name!r}: the low end {lo:g} exceeds the high end {hi:g}; write "
                          f"({hi:g}, {lo:g})")
    if kind == "triangular" and not (lo <= vals[1] <= hi):
        raise ConfigError(f"range for {name!r}: the mode {vals[1]:g} must lie within [{lo:g}, {hi:g}]")
    if kind in ("loguniform", "lognormal") and lo <= 0:
        raise ConfigError(f"range for {name!r}: a log-uniform or log-normal range needs a low end > 0, got {lo:g}")
    return kind, vals


def draw(kind, vals, n, rng):
    if kind == "fixed":
        return np.full(n, vals[0])
    if kind == "empirical":
        return rng.choice(np.asarray(vals), size=n, replace=True)
    if kind == "uniform":
        return rng.uniform(vals[0], vals[1], n) if vals[1] > vals[0] else np.full(n, vals[0])
    if kind == "loguniform":
        return np.exp(rng.uniform(np.log(vals[0]), np.log(vals[1]), n))
    if kind == "lognormal":  # (low, high) = the 5th and 95th percentiles
        lo, hi = np.log(vals[0]), np.log(vals[1])
        return np.exp(rng.normal(0.5 * (lo + hi), (hi - lo) / (2 * _R.Z90), n))
    lo, mode, hi = vals
    return rng.triangular(lo, mode, hi, n) if hi > lo else np.full(n, lo)
