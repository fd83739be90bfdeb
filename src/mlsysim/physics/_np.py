"""Tiny float/array dispatch: the same physics line works on Python floats (fast) and numpy arrays.

numpy is imported only when something needs it (a scalar `mlsysim train` never does; importing it is a third of
the command's start-up): until then `np` and `_ND` stand in for numpy and numpy.ndarray. No value can be an array
before numpy is imported, so the stand-in ndarray matches nothing; the first check or use after numpy is imported
puts the real module and class in place of the stand-ins, here and in every mlsysim module that imported them.
"""
from __future__ import annotations

import math
import sys


class _LazyArrayType(type):
    def __instancecheck__(cls, obj):
        numpy = sys.modules.get("numpy")
        if numpy is None or not hasattr(numpy, "ndarray"):  # not imported (or half-way): nothing is an array yet
            return False
        return isinstance(obj, _bind(numpy).ndarray)


class _LazyArray(metaclass=_LazyArrayType):
    """numpy.ndarray for isinstance checks, until numpy is imported."""


class _LazyNumpy:
    """The numpy module, imported on first use."""
    ndarray = _LazyArray

    def __getattr__(self, name):
        import numpy
        return getattr(_bind(numpy), name)


def _bind(numpy):
    """Replace the stand-ins with numpy itself wherever an mlsysim module holds them."""
    lazy_np, lazy_nd = _STANDINS
    for name, mod in list(sys.modules.items()):
        if name.startswith("mlsysim") and mod is not None:
            d = getattr(mod, "__dict__", {})
            for key, value in list(d.items()):
                if value is lazy_np:
                    d[key] = numpy
                elif value is lazy_nd:
                    d[key] = numpy.ndarray
    return numpy


_STANDINS = (_LazyNumpy(), _LazyArray)
np = sys.modules.get("numpy") or _STANDINS[0]
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


from ._inline import inline_helpers  # noqa: E402,F401 (the physics modules inline the helpers above into their code)
