"""The data wall (tutorial module 2): can storage / PCIe / the NIC feed an accelerator (`DataModel`), and can the
host CPUs decode and augment samples fast enough (`TransformationModel`)? Floats are SI; verdicts carry numbers."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError, unexpected_keywords
from ..hardware.accelerator import Accelerator
from ..units import Q, count, si
from ._common import TableRepr, resolve_accelerator

# Host-link bandwidth per direction, x16: 8 / 16 / 32 GT/s per lane x 16 lanes x 128b/130b encoding
# (PCI-SIG PCIe 3.0 / 4.0 / 5.0 base specifications, 2010 / 2017 / 2019).
PCIE_X16_BW = {3: 15.75e9, 4: 31.5e9, 5: 63.0e9}
# A Gen4 U.2 NVMe drive reads up to ~7 GB/s sequential (Samsung PM1733 datasheet, 2020). Assumption: sequential
# reads, and the same drive class in every DGX (A100, H100, B200: 3.84 TB U.2 data drives).
NVME_DRIVE_BW = 7.0e9
# Local NVMe read of the default node: the DGX A100 320 GB ships 4x 3.84 TB U.2 NVMe (DGX A100 User Guide, 2020).
# A node record with `nvme_drives` (data/systems.toml) brings its own count.
NODE_NVME_BW = 4 * NVME_DRIVE_BW
# Accelerators sharing one node's storage and NICs (DGX/HGX 8-GPU nodes, data/systems.toml).
ACCELERATORS_PER_NODE = 8
# Scale-out NIC per accelerator: 200 Gb/s HDR ConnectX-6 per A100 (DGX A100 datasheet, 2020).
NIC_BW_PER_ACCELERATOR = 200e9 / 8


def pcie_generation(acc: Accelerator) -> int:
    """Host link of a chip by launch year: Gen3 before 2020 (V100), Gen4 2020-21 (A100), Gen5 from 2022 (H100)."""
    year = acc.year or 2022
    return 3 if year < 2020 else 4 if year < 2022 else 5


@dataclass(frozen=True)
class DataResult(TableRepr):
    demand_bps: float
    supply: dict  # path -> bytes/s available to this accelerator
    accelerator: str

    @property
    def binding_path(self) -> str:
        return min(self.supply, key=self.supply.get)

    @property
    def supply_bps(self) -> float:
        return self.supply[self.binding_path]

    @property
    def is_stalled(self) -> bool:
        return self.demand_bps > self.supply_bps

    @property
    def utilization(self) -> float:
        """Demand over the binding path's supply (> 1: stalled)."""
        return self.demand_bps / self.supply_bps

    @property
    def demand(self):
        return Q(self.demand_bps / 1e9, "GB/s")

    @property
    def supply_bw(self):
        return Q(self.supply_bps / 1e9, "GB/s")

    def _title(self):
        return f"Data wall on {self.accelerator}"

    def _rows(self):
        rows = [("demand", self.demand)] + [(f"supply: {k}", Q(v / 1e9, "GB/s")) for k, v in self.supply.items()]
        return rows + [("binding path", self.binding_path), ("demand / supply", self.utilization),
                       ("stalled", self.is_stalled)]


class DataModel:
    """Compare a workload's input rate (bytes/s) with each path that feeds one accelerator; the slowest binds."""

    def solve(self, workload_data_rate, hardware, *, pcie_bw=None, node_storage_bw=NODE_NVME_BW,
              accelerators_per_node=ACCELERATORS_PER_NODE, nic_bw=NIC_BW_PER_ACCELERATOR, **unexpected) -> DataResult:
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        from ..hardware.registry import Hardware
        node = _node(hardware)
        if node is not None:  # a server (or a cluster's): its chip, its chip count and its NICs (was refused)
            hardware = node.accelerator
            if accelerators_per_node is ACCELERATORS_PER_NODE:
                accelerators_per_node = node.accelerators_per_node
            if nic_bw is NIC_BW_PER_ACCELERATOR:
                nic_bw = node.nic_bw_per_accelerator
            if node_storage_bw is NODE_NVME_BW and node.nvme_drives is not None:
                node_storage_bw = node.nvme_drives * NVME_DRIVE_BW
        acc = resolve_accelerator(hardware)
        demand = si(workload_data_rate, "byte/s", "workload_data_rate (e.g. Q_('40000 1/s') * Q_('150 KB'))")
        n = count(accelerators_per_node, "accelerators_per_node")
        defaults = (pcie_bw is None or node_storage_bw is NODE_NVME_BW or nic_bw is NIC_BW_PER_ACCELERATOR
                    or accelerators_per_node is ACCELERATORS_PER_NODE)  # a module's own NVMe was split 8 ways
        if defaults and node is None and acc.key and acc.key not in Hardware.Cloud.names():
            # the defaults describe a DGX-class server; a phone, a microcontroller or a Jetson module has none
            raise ConfigError(f"DataModel's default host is an 8-GPU datacenter server (PCIe x16, 4 NVMe drives, "
                              f"a 200 Gb/s NIC per GPU); {acc.name} is not in one: give its own pcie_bw=, "
                              f"node_storage_bw= and nic_bw= (bytes/s, e.g. Q_('2 GB/s')), accelerators_per_node=1")
        pcie = PCIE_X16_BW[pcie_generation(acc)] if pcie_bw is None else si(pcie_bw, "byte/s", "pcie_bw")
        supply = {"PCIe host link": pcie,
                  "local NVMe (share)": si(node_storage_bw, "byte/s", "node_storage_bw") / n,
                  "NIC (share)": si(nic_bw, "byte/s", "nic_bw")}
        return DataResult(demand_bps=demand, supply=supply, accelerator=acc.name)


def _node(hardware):
    """The Node of a Node, a Fleet, or a Systems node or cluster name; None for a chip."""
    from ..systems.system import Fleet, Node
    if isinstance(hardware, str):
        from ..systems.registry import Systems
        if hardware not in Systems.Nodes.names() + Systems.Clusters.names():
            return None
        hardware = Systems.get(hardware)
    hardware = hardware.node if isinstance(hardware, Fleet) else hardware
    return hardware if isinstance(hardware, Node) else None


@dataclass(frozen=True)
class TransformationResult(TableRepr):
    demand_hz: float  # samples/s the accelerator consumes
    supply_hz: float  # samples/s the CPU workers produce

    @property
    def is_bottleneck(self) -> bool:
        return self.supply_hz < self.demand_hz

    @property
    def demand(self):
        return Q(self.demand_hz, "1/s")

    @property
    def supply(self):
        return Q(self.supply_hz, "1/s")

    @property
    def workers_needed(self) -> int:
        import math
        return math.ceil(self.demand_hz / (self.supply_hz / self._workers))

    _workers: int = 1

    def _title(self):
        return "CPU transformation (decode + augment)"

    def _rows(self):
        return [("samples/s needed", self.demand), ("samples/s produced", self.supply),
                ("workers needed", self.workers_needed), ("bottleneck", self.is_bottleneck)]


class TransformationModel:
    """CPU preprocessing throughput = workers x per-worker rate, against the samples/s the accelerator eats
    (`batch_size` per `step_time`, or `accelerator_rate_hz` samples/s directly)."""

    def solve(self, batch_size, cpu_throughput_per_worker_hz, num_workers, *, step_time=None,
              accelerator_rate_hz=None, **unexpected) -> TransformationResult:
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        b = count(batch_size, "batch_size")
        w = count(num_workers, "num_workers")
        per = si(cpu_throughput_per_worker_hz, "1/s", "cpu_throughput_per_worker_hz")
        if accelerator_rate_hz is not None and step_time is not None:  # one was silently ignored
            raise ConfigError("give step_time= (seconds per step of batch_size samples) or accelerator_rate_hz= "
                              "(samples/s), not both")
        if accelerator_rate_hz is not None:
            demand = si(accelerator_rate_hz, "1/s", "accelerator_rate_hz")
        elif step_time is not None:
            demand = b / si(step_time, "s", "step_time")
        else:
            raise ConfigError("give step_time= (seconds per training step of batch_size samples) or "
                              "accelerator_rate_hz= (samples/s the accelerator consumes)")
        return TransformationResult(demand_hz=demand, supply_hz=w * per, _workers=w)
