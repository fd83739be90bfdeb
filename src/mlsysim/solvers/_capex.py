"""A fleet's CapEx from its records: accelerators, the rest of each server, the scale-out fabric and the facility
that powers and cools it. Shared by EconomicsModel, the explorer and the Monte Carlo (one account, three faces)."""
from __future__ import annotations

from ..physics import cost as PX
from ..physics import power as PP


def provisioned_it_w(fleet) -> float:
    """IT power the facility must be built for: each node's datasheet maximum (else accelerators at TDP + the host
    at full load) + the scale-out switches."""
    from .sustainability import fleet_power, scaleout_ports
    node, acc = fleet.node, fleet.node.accelerator
    if node.max_power_w:
        per_node = node.max_power_w
    else:
        hosts_w = fleet_power(fleet, 1.0)[0]["hosts"] / fleet.count
        per_node = node.accelerators_per_node * acc.tdp_w + hosts_w / PP.HOST_LOAD_FRACTION
    return fleet.count * per_node + scaleout_ports(fleet)[1] * fleet.fabric.switch_w_per_port


def fleet_capex(fleet, accelerator_price_usd: float) -> tuple[dict, dict]:
    """(CapEx by part in USD, where each part came from). `accelerator_price_usd` may differ from the record's
    price (a what-if): the rest of the server keeps its recorded cost."""
    from .sustainability import scaleout_ports
    node, acc, fabric = fleet.node, fleet.node.accelerator, fleet.fabric
    n, n_per = fleet.total_accelerators, node.accelerators_per_node
    record_acc = acc.price_usd or accelerator_price_usd
    src = {}
    if node.price_usd:
        rest = max(node.price_usd - n_per * record_acc, 0.0)
        src["servers"] = (f"node price {node.price_usd:,.0f} - {n_per} x {record_acc:,.0f} accelerators = "
                          f"{rest:,.0f} USD per node ({node.name} record)")
    else:
        rest = PX.SERVER_REST_PER_ACCELERATOR_USD * n_per * record_acc
        src["servers"] = (f"{PX.SERVER_REST_PER_ACCELERATOR_USD:.3f} x accelerator spend per node (assumption: the "
                          f"DGX H100 record's ratio; {node.name} has no price)")
    nics, ports = scaleout_ports(fleet)
    links = PX.fat_tree_links(float(fleet.count * nics), ports) if ports else 0.0
    per_port = fabric.price_usd_per_port or PX.SWITCH_USD_PER_PORT
    per_link = fabric.price_usd_per_link or PX.LINK_USD
    net = PX.network_usd(ports, links, per_port, per_link)
    src["network"] = (f"{ports:,.0f} switch ports x {per_port:,.0f} USD"
                      + ("" if fabric.price_usd_per_port else " (assumption: NDR price; fabric has none)")
                      + f" + {links:,.0f} links x {per_link:,.0f} USD (optics + fibre"
                      + (f", {fabric.name} record)" if fabric.price_usd_per_link else ", assumption)"))
    it_w = provisioned_it_w(fleet)
    parts = PX.capex_parts_usd(n, accelerator_price_usd, fleet.count * rest, net, it_w)
    src["facility"] = (f"{it_w / 1e3:,.0f} kW provisioned IT power x {PX.FACILITY_USD_PER_W:g} USD/W (power "
                       f"delivery, cooling, building; Barroso et al. 2018 Sec 6.1: $9-13/W)")
    return parts, src


def split_it_facility(parts: dict) -> tuple[float, float]:
    """(IT CapEx, facility CapEx) of a breakdown: power, cooling and facility are the facility."""
    fac = sum(v for k, v in parts.items() if k in PX.FACILITY_PARTS)
    return sum(parts.values()) - fac, fac


def serving_capex(acc, gpus: float) -> tuple[float, float, str]:
    """(IT CapEx, facility CapEx, where it came from) of `gpus` serving accelerators, from the records as for a
    training fleet: whole nodes of the accelerator's registry node on an InfiniBand NDR fabric, charged pro rata
    to the GPUs used. An accelerator with no node record falls back to price x the infrastructure multiplier."""
    import math
    from ..systems.registry import Systems
    from ..systems.system import Fleet
    node = next((Systems.Nodes[k] for k in Systems.Nodes.names()
                 if Systems.Nodes[k].accelerator.key == acc.key), None)
    price = acc.price_usd or 0.0
    if node is None:
        capex = PX.capex_usd(gpus, price)
        return capex, 0.0, (f"{PX.INFRASTRUCTURE_MULTIPLIER:g} x accelerator price (no node record for "
                            f"{acc.name}: assumption)")
    per = node.accelerators_per_node
    count = max(1, math.ceil(gpus / per))
    fleet = Fleet(node=node, count=count, fabric=Systems.Fabrics.InfiniBand_NDR)
    it, fac = split_it_facility(fleet_capex(fleet, price)[0])
    share = gpus / (count * per)
    return it * share, fac * share, (f"{node.name} nodes on InfiniBand NDR: accelerators + servers + network + "
                                     f"facility per W (as EconomicsModel), pro rata to {gpus:g} GPUs")
