"""Typed parts for a custom accelerator (tutorial module 1): `HardwareNode(compute=ComputeCore(...),
memory=MemoryHierarchy(...))` builds the package's `Accelerator` record, so every solver accepts it.

    >>> from mlsysim.core.units import TFLOPs, GB, TB, second, watt
    >>> chip = HardwareNode(name="X", release_year=2027, compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
    ...                     memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB / second), tdp=800 * watt)
    >>> chip.memory_bw
    5000000000000.0
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .accelerator import PRECISIONS, Accelerator


@dataclass(frozen=True)
class ComputeCore:
    """Dense peak FLOP/s (a quantity, e.g. `1200 * TFLOPs / second`) at `precision`; 16-bit peaks serve both
    fp16 and bf16 (tensor cores run them at the same rate on every chip in data/hardware.toml)."""

    peak_flops: object
    precision: str = "fp16"
    matmul_efficiency: float | None = None  # None: the documented default ceiling (physics.constants)


@dataclass(frozen=True)
class MemoryHierarchy:
    """Main-memory (HBM) capacity (bytes) and bandwidth (bytes/s), as quantities or SI numbers."""

    capacity: object
    bandwidth: object


def HardwareNode(*, name: str, compute: ComputeCore, memory: MemoryHierarchy, tdp, release_year: int | None = None,
                 interconnect_bw=None, vendor: str = "custom", source: str = "user-defined") -> Accelerator:
    """An `Accelerator` from typed parts; units are checked by dimension (`Accelerator` refuses wrong ones)."""
    if not isinstance(compute, ComputeCore):
        raise ConfigError(f"HardwareNode {name}: compute must be a ComputeCore, got {compute!r}")
    if not isinstance(memory, MemoryHierarchy):
        raise ConfigError(f"HardwareNode {name}: memory must be a MemoryHierarchy, got {memory!r}")
    if compute.precision not in PRECISIONS:
        from ..errors import unknown
        raise unknown("precision", compute.precision, PRECISIONS)
    from ..units import si
    peak = si(compute.peak_flops, "FLOP/s", f"HardwareNode {name}: peak_flops")
    precisions = ("fp16", "bf16") if compute.precision in ("fp16", "bf16") else (compute.precision,)
    return Accelerator(name=name, peak_flops={p: peak for p in precisions}, memory_bytes=memory.capacity,
                       memory_bw=memory.bandwidth, tdp_w=tdp, scaleup_bw=interconnect_bw,
                       matmul_efficiency=compute.matmul_efficiency, year=release_year, vendor=vendor,
                       source=source, key=name)
