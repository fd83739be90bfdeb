"""Serving takes registry names as the training solvers do: a datacenter name (ServingLoadModel raised
AttributeError: 'str' object has no attribute 'pue'), and a node or cluster name for the hardware (its node's NVLink
carries the tensor-parallel all-reduces; 'DGX_H100' was "unknown Hardware entry; did you mean H100")."""
from __future__ import annotations

import pytest

from mlsysim import Hardware, Infrastructure, Models, Systems
from mlsysim.errors import ConfigError, UnknownNameError
from mlsysim.solvers import ServingModel
from mlsysim.solvers.serving_load import ServingLoadModel

L70 = Models.Language.Llama3_70B


def test_a_datacenter_by_name_is_the_datacenter():
    kw = dict(qps=10, input_len=1000, output_len=200, tp_size=4, precision="fp8")
    by_name = ServingLoadModel().solve(L70, Hardware.Cloud.H100, datacenter="GCP_Iowa", **kw)
    by_obj = ServingLoadModel().solve(L70, Hardware.Cloud.H100, datacenter=Infrastructure.Datacenters.GCP_Iowa, **kw)
    assert by_name.usd_per_m_output == by_obj.usd_per_m_output > 0
    # carbon per request = energy per request x PUE-included grid intensity: location-based, Iowa 431.95 g/kWh
    e_kwh = by_name.per_request["energy_j"] / 3.6e6
    assert by_name.per_request["carbon_location_kg"] == pytest.approx(e_kwh * 431.95 / 1e3, rel=1e-9)
    with pytest.raises(UnknownNameError, match="GCP_Iowa"):
        ServingLoadModel().solve(L70, Hardware.Cloud.H100, datacenter="Iowa", **kw)
    with pytest.raises(ConfigError, match="Datacenter"):
        ServingLoadModel().solve(L70, Hardware.Cloud.H100, datacenter=Infrastructure.Grids.Quebec, **kw)


def test_a_node_or_cluster_name_is_its_node():
    node = ServingModel().solve(L70, Systems.Nodes.DGX_H100, tp_size=8)
    for name in ("DGX_H100", "Research_256"):  # Research_256 = 32 x DGX H100
        assert ServingModel().solve(L70, name, tp_size=8).itl_s == node.itl_s
    with pytest.raises(UnknownNameError, match="DGX_H100"):
        ServingModel().solve(L70, "DGX_H10", tp_size=8)
