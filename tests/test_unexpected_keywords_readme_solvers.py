"""The README's other solvers refuse a misspelt keyword as the training and serving solvers do: a ConfigError
naming the keyword meant, not Python's bare TypeError (GoodputModel, UncertaintyModel, DataModel,
TransformationModel, SustainabilityModel.regions, SynthesisSolver and Engine.solve raised TypeError)."""
import pytest

from mlsysim import ConfigError, DistributedModel, GoodputModel, Hardware, Models, SustainabilityModel, Systems
from mlsysim import UncertaintyModel
from mlsysim.core.constants import Q_
from mlsysim.engine.engine import Engine
from mlsysim.solvers import SynthesisSolver
from mlsysim.solvers.data import DataModel, TransformationModel


@pytest.fixture(scope="module")
def perf():
    return DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8)


@pytest.mark.parametrize("call, meant", [
    (lambda p: GoodputModel().solve(p, checkpoint_intervals=3600),
     r"'checkpoint_intervals' \(did you mean checkpoint_interval\b"),
    (lambda p: UncertaintyModel().solve(p, range={"pue": (1.08, 1.2)}), r"'range' \(did you mean ranges\?\)"),
    (lambda p: DataModel().solve(Q_("6 GB/s"), Hardware.Cloud.A100, nic=Q_("25 GB/s")),
     r"'nic' \(did you mean nic_bw\?\)"),
    (lambda p: TransformationModel().solve(256, 400, 16, step=0.1), r"'step' \(did you mean step_time\?\)"),
    (lambda p: SustainabilityModel().regions(p, grid=["Quebec"]), r"'grid' \(did you mean grids\?\)"),
    (lambda p: SynthesisSolver().solve(Models.Language.Llama3_8B, Q_("30 ms"), batch=4),
     r"'batch' \(did you mean batch_size\?\)"),
    # a staticmethod has no self: its first argument, model, is among the names it lists
    (lambda p: Engine.solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, batch=4),
     r"'batch' \(did you mean batch_size\?\); it takes: model, hardware, batch_size"),
])
def test_misspelt_keyword_is_a_config_error_naming_the_right_one(perf, call, meant):
    with pytest.raises(ConfigError, match=meant):
        call(perf)
