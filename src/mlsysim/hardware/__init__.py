"""Accelerators: peak throughput per precision, memory, power, price and embodied carbon, with sources."""
from .accelerator import Accelerator

__all__ = ["Accelerator"]
