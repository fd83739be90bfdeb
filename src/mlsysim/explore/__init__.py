"""Design-space exploration: vectorised sweeps over layout x hardware x fleet x region, Pareto fronts,
optimisers and synthesis, on the same physics as the solvers (one formula, two faces).

    >>> from mlsysim import Models, Systems
    >>> from mlsysim import explore
    >>> res = explore.sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[4, 8], pp=[1, 2, 4, 8])
    >>> best = explore.optimize(Models.Language.Llama3_70B, objective="time_to_train",
    ...                         fleets=Systems.Clusters.Research_256, tp=[4, 8], pp=[1, 2, 4, 8]).best
    >>> best["feasible"]
    True

numpy only: pandas (`to_pandas`) and dask (`executor="dask"`) are imported when used.
"""
from __future__ import annotations

from .optimize import OptimizeResult, optimize
from .regions import best_region, smallest_fleet
from .pareto import pareto, pareto_mask
from .result import SweepResult
from .serving import ServingSweepResult, serving_sweep
from .sweep import fleet_grid, make_plan, sweep

__all__ = ["sweep", "SweepResult", "pareto", "pareto_mask", "optimize", "OptimizeResult", "smallest_fleet",
           "best_region", "fleet_grid", "make_plan", "serving_sweep", "ServingSweepResult"]
