"""Tiny float/array dispatch: the same physics line works on Python floats (fast) and numpy arrays."""
from __future__ import annotations

import math

import numpy as np


def _arr(*xs) -> bool:
    return any(isinstance(x, np.ndarray) for x in xs)


def vmax(a, b):
    return np.maximum(a, b) if _arr(a, b) else (a if a > b else b)


def vmin(a, b):
    return np.minimum(a, b) if _arr(a, b) else (a if a < b else b)


def vwhere(cond, a, b):
    return np.where(cond, a, b) if _arr(cond, a, b) else (a if cond else b)


def vlog(x):
    return np.log(x) if _arr(x) else math.log(x)


def vsqrt(x):
    return np.sqrt(x) if _arr(x) else math.sqrt(x)


def vceil(x):
    return np.ceil(x) if _arr(x) else float(math.ceil(x))


def vlog2ceil(x):
    """ceil(log2(x)) for x >= 1."""
    return np.ceil(np.log2(np.maximum(x, 1))) if _arr(x) else float(math.ceil(math.log2(max(x, 1))))
