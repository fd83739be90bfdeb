"""plan_serving takes candidates as a user types them: a misspelt name is an UnknownNameError with suggestions
(it was every layout skipped, then "no configuration meets p99 TTFT <= 500 ms"), and one name is a list of one
(hardware="H100" was searched as the chips "H", "1", "0", "0")."""
from __future__ import annotations

import pytest

from mlsysim import Infrastructure, Models
from mlsysim.errors import UnknownNameError
from mlsysim.solvers.serving_plan import plan_serving

DC = Infrastructure.Datacenters.GCP_Iowa
KW = dict(qps=10, input_len=1000, output_len=200, ttft_slo=0.5)


@pytest.mark.parametrize("bad, said", [(dict(hardware=["H10"]), "H100"), (dict(precisions=["fp3"]), "fp8"),
                                       (dict(datacenters=["Iowa"]), "GCP_Iowa")])
def test_a_misspelt_candidate_is_named(bad, said):
    kw = {"datacenters": [DC], **KW, **bad}
    with pytest.raises(UnknownNameError, match=said):
        plan_serving(Models.Language.Llama3_70B, **kw)


def test_a_misspelt_model_is_named():
    with pytest.raises(UnknownNameError, match="Llama3_70B"):
        plan_serving("Llama3_7B", datacenters=[DC], **KW)


def test_one_name_is_a_list_of_one():
    one = plan_serving(Models.Language.Llama3_70B, hardware="H100", precisions="fp8", tp_sizes=4, datacenters=DC,
                       **KW)
    listed = plan_serving(Models.Language.Llama3_70B, hardware=["H100"], precisions=["fp8"], tp_sizes=[4],
                          datacenters=["GCP_Iowa"], **KW)
    # one layout searched: H100 fp8 TP4. Hand floor on its size: 10 QPS x 200 output tokens = 2,000 tokens/s, and a
    # TP4 replica's decode step streams at least its 70.55e9 / 4 = 17.6 GB of fp8 weights at 3.35 TB/s (5.3 ms),
    # so it is a fleet of whole TP4 replicas: a multiple of 4 GPUs, the same either way
    assert len(one.rows) == len(listed.rows) == 1
    assert (one.best["hardware"], one.best["precision"], one.best["tp"]) == ("H100", "fp8", 4)
    assert one.best["gpus"] % 4 == 0 and one.best["gpus"] == listed.best["gpus"]


def test_the_sweep_checks_names_the_same_way():
    from mlsysim import explore
    with pytest.raises(UnknownNameError, match="H100"):
        explore.serving_sweep(Models.Language.Llama3_70B, hardware=["H10"])
    one = explore.serving_sweep(Models.Language.Llama3_70B, hardware="H100", precisions="fp8", tp_sizes=[4])
    listed = explore.serving_sweep(Models.Language.Llama3_70B, hardware=["H100"], precisions=["fp8"], tp_sizes=[4])
    assert len(one) == len(listed) > 0
