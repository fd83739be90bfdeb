"""numpy's floor for the explorer: count the elementwise work and the numpy calls one evaluation makes, and price
them at this machine's measured cost per element and per call (issue 17).

The count runs the real code with every array a `Counting` ndarray (numpy's array creators are wrapped while it
runs): each ufunc or array function is one call, its elements are the largest operand or result. Python-level
work (dicts, loops) is not counted: the floor is what numpy alone would need for the same operations.
"""
from __future__ import annotations

import time

import numpy as np

_STATS = {"calls": 0, "elements": 0}


def _size(x):
    return x.size if isinstance(x, np.ndarray) else 1


class Counting(np.ndarray):
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        plain = [i.view(np.ndarray) if isinstance(i, Counting) else i for i in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, Counting) else o for o in kwargs["out"])
        res = getattr(ufunc, method)(*plain, **kwargs)
        _STATS["calls"] += 1
        _STATS["elements"] += max([_size(i) for i in plain] + [_size(res)])
        return res.view(Counting) if isinstance(res, np.ndarray) else res

    def __array_function__(self, func, types, args, kwargs):
        _STATS["calls"] += 1
        res = super().__array_function__(func, types, args, kwargs)
        flat = [a for a in args if isinstance(a, np.ndarray)] + [a for a in kwargs.values() if isinstance(a, np.ndarray)]
        for a in args:
            if isinstance(a, (tuple, list)):
                flat += [b for b in a if isinstance(b, np.ndarray)]
        _STATS["elements"] += max([a.size for a in flat] + [_size(res) if isinstance(res, np.ndarray) else 1])
        return res.view(Counting) if isinstance(res, np.ndarray) and not isinstance(res, Counting) else res

    def astype(self, *a, **k):
        _STATS["calls"] += 1
        _STATS["elements"] += self.size
        return super().astype(*a, **k)

    def copy(self, *a, **k):
        _STATS["calls"] += 1
        _STATS["elements"] += self.size
        return super().copy(*a, **k)


_CREATORS = ("empty", "zeros", "ones", "full", "arange", "asarray", "array", "flatnonzero", "broadcast_to")


def count(fn) -> dict:
    """{'calls', 'elements'} of numpy work done by fn() (arrays it creates are made Counting)."""
    saved = {name: getattr(np, name) for name in _CREATORS}

    def wrap(f):
        def g(*a, **k):
            r = f(*a, **k)
            return r.view(Counting) if isinstance(r, np.ndarray) and not isinstance(r, Counting) else r
        return g
    _STATS.update(calls=0, elements=0)
    try:
        for name, f in saved.items():
            setattr(np, name, wrap(f))
        fn()
    finally:
        for name, f in saved.items():
            setattr(np, name, f)
    return dict(_STATS)


def _best(fn, n):
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def unit_costs(size: int) -> tuple[float, float]:
    """(ns per element at arrays of `size`, ns per call on 1-element arrays): a mix of multiply, divide, add and
    compare, the explorer's commonest operations, on float64."""
    size = max(int(size), 1000)
    a, b = np.random.default_rng(0).random((2, size)) + 0.5
    out = np.empty(size)
    ops = (lambda: np.multiply(a, b, out=out), lambda: np.divide(a, b, out=out), lambda: np.add(a, b, out=out),
           lambda: np.less(a, b))
    per_el = sum(_best(op, 20) for op in ops) / len(ops) / size * 1e9
    x, y = np.ones(1), np.ones(1)
    per_call = _best(lambda: x * y, 20000) * 1e9
    return per_el, per_call
