"""`Systems`: nodes, fabrics and clusters (data/systems.toml), in datasheet units converted to SI here.

Nodes name their accelerator by its Hardware key; clusters name a node and a fabric by their keys.
"""
from __future__ import annotations

from ..errors import ConfigError
from ..hardware.registry import Hardware
from ..registry import Registry
from .system import Fabric, Fleet, Node

_NODE = {"name", "accelerator", "accelerators_per_node", "scaleup_gbps", "nic_gbps", "scaleup_latency_us",
         "scaleup_efficiency", "max_power_kw", "host_power_w", "price_usd", "embodied_kgco2e", "nvme_drives", "year",
         "source", "notes"}
_FABRIC = {"name", "port_gbps", "latency_us", "efficiency", "oversubscription", "switch_w_per_port",
           "price_usd_per_port", "price_usd_per_link", "year", "source", "notes"}
_CLUSTER = {"name", "node", "count", "fabric", "year", "source", "notes"}


def _check(raw, allowed, where):
    extra = set(raw) - allowed
    if extra:
        raise ConfigError(f"systems.toml [{where}]: unknown field(s) {sorted(extra)}")


def _build(category: str, key: str, raw: dict):
    where = f"{category}.{key}"
    if category == "Nodes":
        _check(raw, _NODE, where)
        return Node(
            name=raw["name"], accelerator=Hardware.get(raw["accelerator"]),
            accelerators_per_node=raw["accelerators_per_node"], scaleup_bw=raw["scaleup_gbps"] * 1e9,
            nic_bw=raw["nic_gbps"] * 1e9 / 8, scaleup_latency_s=raw.get("scaleup_latency_us", 3.0) * 1e-6,
            scaleup_efficiency=raw.get("scaleup_efficiency", 0.8),
            max_power_w=raw["max_power_kw"] * 1e3 if raw.get("max_power_kw") else None,
            host_power_w=raw.get("host_power_w"), price_usd=raw.get("price_usd"),
            embodied_kgco2e=raw.get("embodied_kgco2e"), nvme_drives=raw.get("nvme_drives"), year=raw.get("year"), source=raw.get("source", ""),
            notes=raw.get("notes", ""), key=key)
    if category == "Fabrics":
        _check(raw, _FABRIC, where)
        return Fabric(
            name=raw["name"], port_bw=raw["port_gbps"] * 1e9 / 8, latency_s=raw["latency_us"] * 1e-6,
            efficiency=raw.get("efficiency", 0.9), oversubscription=raw.get("oversubscription", 1.0),
            switch_w_per_port=raw.get("switch_w_per_port", 0.0), price_usd_per_port=raw.get("price_usd_per_port"),
            price_usd_per_link=raw.get("price_usd_per_link"),
            year=raw.get("year"), source=raw.get("source", ""), notes=raw.get("notes", ""), key=key)
    if category == "Clusters":
        _check(raw, _CLUSTER, where)
        return Fleet(node=Systems.Nodes[raw["node"]], count=raw["count"], fabric=Systems.Fabrics[raw["fabric"]],
                     name=raw.get("name", key), year=raw.get("year"), source=raw.get("source", ""),
                     notes=raw.get("notes", ""), key=key)
    raise ConfigError(f"systems.toml: unknown category {category}")


Systems = Registry("Systems", "systems.toml", _build)
