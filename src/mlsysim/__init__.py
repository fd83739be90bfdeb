"""mlsysim: a first-principles analytical simulator of ML systems at scale.

    >>> from mlsysim import Models, Systems, DistributedModel
    >>> perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
    ...                                 tp_size=8, pp_size=1, dp_size=32)

Everything is loaded lazily: `import mlsysim` reads no data file and imports neither numpy nor pint.
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "Models": "mlsysim.models.registry", "Hardware": "mlsysim.hardware.registry",
    "Systems": "mlsysim.systems.registry", "Infrastructure": "mlsysim.infrastructure.registry",
    "TransformerWorkload": "mlsysim.models.workload", "Accelerator": "mlsysim.hardware.accelerator",
    "Node": "mlsysim.systems.system", "Fabric": "mlsysim.systems.system", "Fleet": "mlsysim.systems.system",
    "Grid": "mlsysim.infrastructure.site", "Datacenter": "mlsysim.infrastructure.site",
    "DistributedModel": "mlsysim.solvers", "SingleNodeModel": "mlsysim.solvers",
    "SustainabilityModel": "mlsysim.solvers", "EconomicsModel": "mlsysim.solvers", "GoodputModel": "mlsysim.solvers",
    "ServingModel": "mlsysim.solvers", "InferenceScalingModel": "mlsysim.solvers",
    "ServingLoadModel": "mlsysim.solvers.serving_load", "plan_serving": "mlsysim.solvers.serving_plan",
    "UncertaintyModel": "mlsysim.uncertainty", "CalibrationModel": "mlsysim.calibration",
    "regions": "mlsysim.solvers.regions", "ConfigError": "mlsysim.errors", "UnknownNameError": "mlsysim.errors",
    "Q": "mlsysim.units",
    "SensitivitySolver": "mlsysim.solvers", "SynthesisSolver": "mlsysim.solvers", "ScalingLawModel": "mlsysim.solvers",
    "SmallModels": "mlsysim.models.small", "InferenceWorkload": "mlsysim.models.small",
}
__all__ = list(_LAZY)


_SUBMODULES = {"explore", "solvers", "physics", "units", "errors", "validation"}


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f"mlsysim.{name}")
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mlsysim' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
