"""Solvers: thin classes over the physics. Single node, distributed training, sustainability, economics, serving,
sensitivity, synthesis (the inverted roofline) and compute-optimal scaling."""
from __future__ import annotations

_LAZY = {
    "DistributedModel": ".distributed", "DistributedResult": ".distributed",
    "SingleNodeModel": ".single_node", "SingleNodeResult": ".single_node",
    "SustainabilityModel": ".sustainability", "SustainabilityResult": ".sustainability",
    "EconomicsModel": ".economics", "EconomicsResult": ".economics",
    "GoodputModel": ".goodput", "GoodputResult": ".goodput",
    "DataModel": ".data", "TransformationModel": ".data",
    "ServingModel": ".serving", "ServingResult": ".serving", "InferenceScalingModel": ".reasoning",
    "SensitivitySolver": ".sensitivity", "SynthesisSolver": ".synthesis", "ScalingLawModel": ".scaling",
}
__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'mlsysim.solvers' has no attribute {name!r}")
