"""The expected maximum of n standard normals, on floats or numpy arrays alike: the slowest of n ranks (stragglers,
training_step) and the busiest expert rank (training.busiest_rank_load)."""
from __future__ import annotations

from ._np import inline_helpers, vlog, vmax, vsqrt, vwhere


def expected_max_normal(n):
    """_expected_max_normal(n), memoised for a plain float rank count (solve() asks the same few counts)."""
    return (_EMN.get(n) or _expected_max_normal_float(n)) if n.__class__ is float else _expected_max_normal(n)


def _expected_max_normal(n):
    """E[max of n standard normals], the straggler multiplier (0 for n = 1): Blom's (1958) approximation
    Phi^-1((n - 0.375) / (n + 0.25)), within ~4 % of the exact values at small n (n = 2: 0.589 vs 1/sqrt(pi) =
    0.564; n = 5: 1.18 vs 1.163, Harter 1961 tables) and converging to them as n grows; Phi^-1 by Abramowitz &
    Stegun 26.2.23 (|error| < 4.5e-4)."""
    n = vmax(n, 1.0)
    p = (n - 0.375) / (n + 0.25)
    t = vsqrt(-2.0 * vlog(1.0 - p))
    x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t
                                                             + 0.001308 * t * t * t)
    return vwhere(n >= 2.0, vmax(x, 0.0), 0.0)


_EMN = {}  # rank count -> _expected_max_normal(count), plain floats (a dict lookup is cheaper than lru_cache's)


def _expected_max_normal_float(n):
    if len(_EMN) >= 1024:
        _EMN.clear()
    value = _EMN[n] = _expected_max_normal(n)
    return value


inline_helpers(globals())
