"""Workloads: transformer architectures with their published training budgets."""
from .workload import TransformerWorkload

__all__ = ["TransformerWorkload"]
