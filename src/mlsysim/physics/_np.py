"""Tiny float/array dispatch: the same physics line works on Python floats (fast) and numpy arrays."""
from __future__ import annotations

import math

import numpy as np


_ND = np.ndarray  # the scalar branches are plain-Python fast paths (a solve() must take tens of microseconds)


def vmax(a, b):
    if a.__class__ is float and b.__class__ is float:  # the scalar path, without a call to isinstance
        return a if a > b else b
    return np.maximum(a, b) if (isinstance(a, _ND) or isinstance(b, _ND)) else (a if a > b else b)


def vmin(a, b):
    if a.__class__ is float and b.__class__ is float:
        return a if a < b else b
    return np.minimum(a, b) if (isinstance(a, _ND) or isinstance(b, _ND)) else (a if a < b else b)


def vwhere(cond, a, b):
    if cond.__class__ is bool:  # scalar condition: pick a branch (whatever its type)
        return a if cond else b
    if isinstance(cond, _ND) or isinstance(a, _ND) or isinstance(b, _ND):
        return np.where(cond, a, b)
    return a if cond else b


def vlog(x):
    return np.log(x) if isinstance(x, _ND) else math.log(x)


def vsqrt(x):
    return np.sqrt(x) if isinstance(x, _ND) else math.sqrt(x)


def vceil(x):
    if x.__class__ is float:
        return float(math.ceil(x))
    return np.ceil(x) if isinstance(x, _ND) else float(math.ceil(x))


def vlog2ceil(x):
    """ceil(log2(x)) for x >= 1."""
    if isinstance(x, _ND):
        return np.ceil(np.log2(np.maximum(x, 1)))
    return float(math.ceil(math.log2(x))) if x > 1 else 0.0
