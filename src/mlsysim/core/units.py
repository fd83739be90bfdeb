"""Unit names for the tutorial (`from mlsysim.core.units import TFLOPs, GB, TB, second, watt`).

Every name is a unit of the package's single pint registry (`mlsysim.units`), looked up on first use so
`import mlsysim` stays light: `1200 * TFLOPs / second` is a quantity every solver accepts.
"""
from __future__ import annotations

# tutorial name -> pint unit expression
_NAMES = {
    "FLOPs": "FLOP", "GFLOPs": "GFLOP", "TFLOPs": "TFLOP", "PFLOPs": "PFLOP", "MFLOPs": "MFLOP",
    "byte": "byte", "KB": "kB", "MB": "MB", "GB": "GB", "TB": "TB", "KiB": "KiB", "MiB": "MiB", "GiB": "GiB",
    "bit": "bit", "Gbps": "Gbit/s",
    "second": "second", "ms": "millisecond", "us": "microsecond", "ns": "nanosecond", "hour": "hour",
    "day": "day", "watt": "watt", "kW": "kilowatt", "MW": "megawatt", "mW": "milliwatt", "joule": "joule",
    "kWh": "kilowatt_hour", "Hz": "hertz", "USD": "USD",
}
__all__ = list(_NAMES)


def __getattr__(name):
    if name in _NAMES:
        from .constants import tutorial_registry
        return tutorial_registry().Unit(_NAMES[name])
    raise AttributeError(f"module 'mlsysim.core.units' has no attribute {name!r}")
