"""The data wall's defaults are a DGX-class server; a device outside one must say what feeds it."""
from __future__ import annotations

import pytest

from mlsysim import Hardware


def test_the_data_wall_asks_for_the_host_of_a_device_outside_a_server():
    # DataModel's defaults are a DGX-class node: PCIe Gen5 x16 (63 GB/s) for a phone or a microcontroller, which
    # have no PCIe at all, was a silent answer; a Jetson with its own numbers works
    from mlsysim.core.constants import Q_
    from mlsysim.errors import ConfigError
    from mlsysim.solvers.data import DataModel
    rate = Q_("30 1/s") * Q_("150 KB")  # 4.5 MB/s
    with pytest.raises(ConfigError, match="pcie_bw="):
        DataModel().solve(workload_data_rate=rate, hardware=Hardware.Tiny.nRF52840)
    w = DataModel().solve(workload_data_rate=rate, hardware=Hardware.Edge.Jetson_Orin_Nano_8GB,
                          pcie_bw=Q_("4 GB/s"), node_storage_bw=Q_("2 GB/s"), nic_bw=Q_("0.125 GB/s"),
                          accelerators_per_node=1)
    # the 1 Gb/s NIC (0.125 GB/s) is the slowest path; 4.5 MB/s / 125 MB/s = 0.036
    assert w.binding_path == "NIC (share)" and w.utilization == pytest.approx(4.5e6 / 0.125e9)
    # a datacenter chip keeps the defaults: 40,000 x 150 KB = 6 GB/s against 28 GB/s of NVMe / 8 = 3.5 GB/s
    a = DataModel().solve(workload_data_rate=Q_("40000 1/s") * Q_("150 KB"), hardware=Hardware.Cloud.A100)
    assert a.is_stalled and a.supply_bps == pytest.approx(28e9 / 8)


def test_a_server_brings_its_own_nvme_drives():
    # DGX H100 datasheet (2022): 8x 3.84 TB NVMe U.2 data drives; at ~7 GB/s each (Samsung PM1733, Gen4 U.2) the
    # node reads 56 GB/s, 7 GB/s per GPU (the DGX A100 320 GB default: 4 drives, 3.5 GB/s per GPU). A 5 GB/s
    # stream per GPU stalls on the default and not on the DGX H100's own drives.
    from mlsysim import Systems
    from mlsysim.core.constants import Q_
    from mlsysim.solvers.data import DataModel
    h100 = DataModel().solve(Q_("5 GB/s"), Systems.Nodes.DGX_H100)
    assert h100.supply["local NVMe (share)"] == pytest.approx(8 * 7e9 / 8) and not h100.is_stalled
    chip = DataModel().solve(Q_("5 GB/s"), "H100")
    assert chip.supply["local NVMe (share)"] == pytest.approx(4 * 7e9 / 8) and chip.is_stalled
    # the 320 GB DGX A100 has 4 drives, the 640 GB one 8 (DGX A100 datasheets, 2020)
    assert DataModel().solve(Q_("1 GB/s"), "DGX_A100_40GB").supply["local NVMe (share)"] == pytest.approx(3.5e9)
    assert DataModel().solve(Q_("1 GB/s"), "DGX_A100").supply["local NVMe (share)"] == pytest.approx(7e9)
