"""Total cost of ownership of a training run. Plain floats or numpy arrays; money in USD, time in s, energy in J.

TCO of a run = CapEx amortised, pro rata for the run: IT (servers, network) over its depreciation life and the
               facility (power delivery, cooling, building) over its own, longer life
             + OpEx energy (facility energy x electricity price)
             + OpEx maintenance and staff (a share of CapEx per year, pro rata).
CapEx is built from the records: servers (accelerators + the rest of the node) + scale-out network (switch ports
and links of a non-blocking fat tree) + facility (construction cost per watt of provisioned IT power). The
tutorial's "GPUs are ~40 % of CapEx" is then a result; its infrastructure multiplier remains as an explicit
shortcut (accelerators x price x multiplier, all amortised over the IT life).
"""
from __future__ import annotations

from ._np import vwhere
from .power import J_PER_KWH, SECONDS_PER_HOUR, SECONDS_PER_YEAR

HOURS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_HOUR

# CapEx / accelerator spend, used only when a user asks for the tutorial's shortcut. The tutorial (module 3, "Economics & TCO"): "GPUs are only ~40 % of total CapEx.
# Networking (InfiniBand), power delivery, cooling, facility, and operations add 50-150 %": 1 / 0.40 = 2.5.
INFRASTRUCTURE_MULTIPLIER = 2.5

# Depreciation life of servers and network equipment: 5 years. Meta 5 years (2022 10-K; 5.5 for 2025 assets),
# Amazon shortened a subset of servers from 6 to 5 years in Jan 2025 citing the pace of AI hardware (10-K 2024);
# Microsoft and Alphabet use 6 (systems_and_facilities.csv "depreciation" rows). 5 is the AI-server midpoint.
DEPRECIATION_LIFE_S = 5 * SECONDS_PER_YEAR

# Maintenance and operations staff per year as a share of CapEx. Assumption, with reason: hardware support
# contracts run ~10-15 %/yr of IT list price and IT equipment is ~60 % of CapEx here; facility plant (power,
# cooling, building) maintenance ~2-3 %/yr of its cost; staff for a few hundred GPUs ~1-2 engineers. Blended: 5 %.
MAINTENANCE_FRACTION_PER_YEAR = 0.05

# Facility construction (power delivery, UPS, generators, cooling plant, building shell) per watt of provisioned
# critical IT power: $10/W. Barroso, Hoelzle & Ranganathan 2018, "The Datacenter as a Computer" (3rd ed.)
# Sec 6.1: large-datacenter construction costs $9-13 per watt of critical power (recalled, approx); consistent
# with 2024-25 US industry averages of ~$10-11M per MW (JLL / Turner & Townsend cost surveys, recalled, approx).
FACILITY_USD_PER_W = 10.0
# Facility life: 15 years. Barroso et al. 2018 Sec 6.1 amortise the facility over 10-15 years (electrical and
# mechanical plant); buildings last longer (Meta and Microsoft 10-K: buildings up to 25-50 years). Assumption:
# 15, the plant's life, since the plant is most of the cost.
FACILITY_LIFE_S = 15 * SECONDS_PER_YEAR

# A scale-out link (two 400G optical transceivers + fibre) where the fabric record gives no price: $2,000 (the
# NDR record's figure).
# Assumption, with reason: 400G OSFP/QSFP-DD SR4/DR4 optics list at ~$700-1,200 each from third-party vendors in
# 2024 (FS.com, recalled, approx; NVIDIA-branded ~2x), fibre a few tens of dollars.
LINK_USD = 2000.0
# A switch port where the fabric gives no price: the NDR record's $562 (64-port 400G switch ~$36,000; tech-talk-cto
# "H100 Freakonomics" 2024, systems_and_facilities.csv). Assumption for other fabrics.
SWITCH_USD_PER_PORT = 562.0
# The rest of a server (CPUs, DRAM, NVMe, NICs, NVSwitch, chassis) per dollar of accelerators, where a node has no
# price: the DGX H100 record, ($310,000 - 8 x $27,500) / (8 x $27,500) = 0.409. Assumption for other nodes.
SERVER_REST_PER_ACCELERATOR_USD = (310_000.0 - 8 * 27_500.0) / (8 * 27_500.0)

FACILITY_PARTS = ("facility", "power", "cooling")  # amortised over the facility life; everything else is IT


def capex_usd(n_accelerators, accelerator_price_usd, infrastructure_multiplier=INFRASTRUCTURE_MULTIPLIER):
    """Purchase cost of the fleet and its facility share: n x price x multiplier (multiplier >= 1)."""
    return n_accelerators * accelerator_price_usd * infrastructure_multiplier


def fat_tree_links(endpoints, n_switch_ports):
    """Cables of a fat tree: every endpoint has one link to a leaf, and each switch-to-switch link joins two
    switch ports: (switch ports - endpoints) / 2 + endpoints = (switch ports + endpoints) / 2."""
    return (n_switch_ports + endpoints) / 2.0


def capex_parts_usd(n_accelerators, accelerator_price_usd, server_rest_usd, network_usd, provisioned_it_w,
                    facility_usd_per_w=FACILITY_USD_PER_W):
    """Purchase cost by part (USD): accelerators, the rest of the servers, the scale-out network, and the facility
    (provisioned IT power x construction cost per watt)."""
    return {"accelerators": n_accelerators * accelerator_price_usd, "servers": server_rest_usd,
            "network": network_usd, "facility": provisioned_it_w * facility_usd_per_w}


def network_usd(n_switch_ports, n_links, usd_per_port=SWITCH_USD_PER_PORT, usd_per_link=LINK_USD):
    """Scale-out network purchase: switch ports x price per port + links x price per link."""
    return n_switch_ports * usd_per_port + n_links * usd_per_link


def amortized_usd(capex, duration_s, life_s=DEPRECIATION_LIFE_S):
    """Straight-line depreciation charged to a run of `duration_s`: capex x duration / life."""
    return capex * duration_s / life_s


def amortized_parts_usd(it_capex, facility_capex, duration_s, it_life_s=DEPRECIATION_LIFE_S,
                        facility_life_s=FACILITY_LIFE_S):
    """A run's share of CapEx: IT over its depreciation life + the facility over its own life."""
    return amortized_usd(it_capex, duration_s, it_life_s) + amortized_usd(facility_capex, duration_s, facility_life_s)


def energy_cost_usd(facility_energy_j, usd_per_kwh):
    """Electricity bill: facility kWh x price."""
    return facility_energy_j / J_PER_KWH * usd_per_kwh


def maintenance_usd(capex, duration_s, fraction_per_year=MAINTENANCE_FRACTION_PER_YEAR):
    """Maintenance and staff for the run: capex x fraction per year x years."""
    return capex * fraction_per_year * duration_s / SECONDS_PER_YEAR


def per_gpu_hour(cost_usd, n_accelerators, duration_s):
    """Cost per accelerator-hour."""
    return cost_usd / (n_accelerators * duration_s / SECONDS_PER_HOUR)


def cloud_cost_usd(n_accelerators, duration_s, cloud_usd_per_gpu_hour):
    """Renting the same accelerator-hours."""
    return n_accelerators * duration_s / SECONDS_PER_HOUR * cloud_usd_per_gpu_hour


def break_even_utilization(fixed_usd_per_gpu_year, energy_usd_per_busy_gpu_hour, cloud_usd_per_gpu_hour):
    """Share of the year the owned fleet must be busy for owning to cost the same per busy GPU-hour as renting.

    Owning: fixed (depreciation + maintenance) per GPU-year + energy per busy hour; renting: the cloud price per
    busy hour. u* = fixed / (hours_per_year x (cloud - energy)). Returns inf where the cloud price does not even
    cover the energy (owning never breaks even); values > 1 mean renting is cheaper even at 100 % use.
    """
    margin = cloud_usd_per_gpu_hour - energy_usd_per_busy_gpu_hour
    safe = vwhere(margin > 0, margin, 1.0)
    return vwhere(margin > 0, fixed_usd_per_gpu_year / (HOURS_PER_YEAR * safe), float("inf"))
