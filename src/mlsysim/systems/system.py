"""Node, Fabric and Fleet records: how accelerators are packaged and wired, in SI units."""
from __future__ import annotations

from dataclasses import dataclass, field

from .._record import check_counts, check_si, check_text, refuse
from ..errors import ConfigError
from ..views import RecordView
from ..hardware.accelerator import Accelerator


@dataclass(frozen=True, repr=False)
class Fabric(RecordView):
    """A scale-out network technology: per-port bandwidth (bytes/s per direction), latency, efficiency.

    `efficiency` is the fraction of line rate NCCL-style collectives achieve (bus bandwidth / line rate);
    `oversubscription` >= 1 divides the bandwidth available to traffic crossing the spine (1 = full bisection).
    """

    name: str
    port_bw: float
    latency_s: float
    efficiency: float = 0.9
    oversubscription: float = 1.0
    switch_w_per_port: float = 0.0
    price_usd_per_port: float | None = None
    price_usd_per_link: float | None = None   # one cable with its two transceivers
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        check_si(self, {"port_bw": ("byte/s", False), "latency_s": ("s", True), "switch_w_per_port": ("W", True),
                        "price_usd_per_port": ("USD", True), "price_usd_per_link": ("USD", True),
                        "efficiency": ("", False),
                        "oversubscription": ("", False)})
        if not (0 < self.efficiency <= 1):
            raise ConfigError(f"Fabric {self.name}: efficiency must be in (0, 1], got {self.efficiency}")
        if not (self.oversubscription >= 1):
            raise ConfigError(f"Fabric {self.name}: oversubscription must be >= 1 (1 = non-blocking), "
                              f"got {self.oversubscription}")


@dataclass(frozen=True, repr=False)
class Node(RecordView):
    """A server: `accelerators_per_node` chips joined by a scale-up fabric (NVLink/xGMI/ICI), plus NICs.

    `scaleup_bw` is per accelerator per direction (bytes/s); `nic_bw` is the node's total scale-out line rate
    per direction (bytes/s); `max_power_w` is the whole server at full load; `host_power_w` the non-accelerator
    part (CPUs, memory, NICs, fans) at typical training load; `nvme_drives` the local NVMe data drives (the data
    wall's local-storage path; None where the datasheet does not say).
    """

    name: str
    accelerator: Accelerator
    accelerators_per_node: int
    scaleup_bw: float
    nic_bw: float
    scaleup_latency_s: float = 3e-6
    scaleup_efficiency: float = 0.8
    max_power_w: float | None = None
    host_power_w: float | None = None
    price_usd: float | None = None
    embodied_kgco2e: float | None = None
    nvme_drives: int | None = None
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        if not isinstance(self.accelerator, Accelerator):
            raise ConfigError(f"Node {self.name}: accelerator must be an Accelerator, got {self.accelerator!r}")
        check_counts(self, {"accelerators_per_node": 1, "nvme_drives": 1})
        check_si(self, {"scaleup_bw": ("byte/s", False), "nic_bw": ("byte/s", False),
                        "scaleup_latency_s": ("s", True), "max_power_w": ("W", False), "host_power_w": ("W", True),
                        "price_usd": ("USD", True), "embodied_kgco2e": ("kg", True),
                        "scaleup_efficiency": ("", False)})
        if not (0 < self.scaleup_efficiency <= 1):
            raise ConfigError(f"Node {self.name}: scaleup_efficiency must be in (0, 1]")
        chips_w = self.accelerators_per_node * self.accelerator.tdp_w
        if self.max_power_w is not None and self.max_power_w < chips_w:
            refuse(self, f"max_power_w={self.max_power_w:g} W is below its {self.accelerators_per_node} x "
                         f"{self.accelerator.tdp_w:g} W accelerator TDP = {chips_w:g} W",
                   "max_power_w is the whole server at full load (W), at least the accelerators' TDP")
        if self.host_power_w is not None and self.max_power_w is not None and self.host_power_w >= self.max_power_w:
            refuse(self, f"host_power_w={self.host_power_w:g} W is not below max_power_w={self.max_power_w:g} W",
                   "host_power_w is the non-accelerator part of the server (CPUs, memory, NICs, fans)")

    @property
    def nic_bw_per_accelerator(self) -> float:
        return self.nic_bw / self.accelerators_per_node


@dataclass(frozen=True, repr=False)
class Fleet(RecordView):
    """`count` identical nodes joined by `fabric`. Example: `Fleet(node=Systems.Nodes.DGX_H100, count=32,
    fabric=Systems.Fabrics.InfiniBand_NDR)` is the tutorial's Research_256."""

    node: Node
    count: int
    fabric: Fabric
    name: str = ""
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        if not isinstance(self.node, Node):
            raise ConfigError(f"Fleet: node must be a Node, got {self.node!r}")
        if not isinstance(self.fabric, Fabric):
            raise ConfigError(f"Fleet: fabric must be a Fabric, got {self.fabric!r}")
        check_counts(self, {"count": 1})
        check_text(self)
        if not self.name:
            object.__setattr__(self, "name", f"{self.count}x {self.node.name}")

    @property
    def accelerator(self) -> Accelerator:
        return self.node.accelerator

    @property
    def total_accelerators(self) -> int:
        return self.count * self.node.accelerators_per_node

    @property
    def internode_bw_per_accelerator(self) -> float:
        """Achievable scale-out bandwidth per accelerator per direction (bytes/s): NIC line rate x efficiency."""
        return min(self.node.nic_bw_per_accelerator, self.fabric.port_bw) * self.fabric.efficiency
