"""A misspelt solver keyword is a ConfigError naming the keyword it meant (the explorer spells TP `tp=`, the
solvers `tp_size=`), not Python's bare TypeError."""
import pytest

from mlsysim import ConfigError, DistributedModel, Hardware, Models, Systems
from mlsysim.solvers import EconomicsModel, InferenceScalingModel, ServingModel, SustainabilityModel
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.single_node import SingleNodeModel

L70, L8, R256, H100 = Models.Language.Llama3_70B, Models.Language.Llama3_8B, Systems.Clusters.Research_256, \
    Hardware.Cloud.H100


def test_the_explorers_spelling_in_the_solver_names_the_solvers():
    with pytest.raises(ConfigError, match=r"DistributedModel.solve\(\) takes no argument 'tp' \(did you mean "
                                          r"tp_size\?\), 'pp' \(did you mean pp_size\?\)"):
        DistributedModel().solve(L70, R256, tp=8, pp=1)
    with pytest.raises(ConfigError, match=r"'precison' \(did you mean precision\?\)"):
        DistributedModel().solve(L70, R256, tp_size=8, precison="fp8")


@pytest.mark.parametrize("call", [
    lambda: ServingModel().solve(L8, H100, tp=2),
    lambda: InferenceScalingModel().solve(L8, H100, tp=2),
    lambda: ServingLoadModel().solve(L8, H100, qps=1, tp=2),
])
def test_serving_and_roofline_solvers_too(call):
    with pytest.raises(ConfigError, match=r"'tp' \(did you mean tp_size\?\)"):
        call()


def test_a_solver_without_the_keyword_says_what_it_takes():
    with pytest.raises(ConfigError, match=r"'tp'; it takes: model, hardware, mode"):
        SingleNodeModel().solve(L8, H100, tp=2)  # one device: no tensor parallelism to set
    with pytest.raises(ConfigError, match=r"'seqlen' \(did you mean seq_len\?\)"):
        SingleNodeModel().solve(L8, H100, seqlen=2048)


def test_sustainability_and_economics_list_what_they_take():
    with pytest.raises(ConfigError, match=r"'days'.*duration_days") as e:
        SustainabilityModel().solve(fleet=R256, days=10, mfu=0.4, datacenter="GCP_Iowa")
    assert "it takes: fleet, duration_days, mfu, datacenter" in str(e.value)
    with pytest.raises(ConfigError, match=r"'days'.*duration_days"):
        EconomicsModel().solve(fleet=R256, days=10, datacenter="GCP_Iowa")
