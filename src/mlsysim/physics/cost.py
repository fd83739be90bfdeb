"""Total cost of ownership of a training run. Plain floats or numpy arrays; money in USD, time in s, energy in J.

TCO of a run = CapEx amortised over the depreciation life, pro rata for the run
             + OpEx energy (facility energy x electricity price)
             + OpEx maintenance and staff (a share of CapEx per year, pro rata).
CapEx = accelerators x unit price x infrastructure multiplier (networking, power delivery, cooling, facility),
or accelerators x price + an explicit breakdown.
"""
from __future__ import annotations

from ._np import vwhere
from .power import J_PER_KWH, SECONDS_PER_HOUR, SECONDS_PER_YEAR

HOURS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_HOUR

# CapEx / accelerator spend. The tutorial (module 3, "Economics & TCO"): "GPUs are only ~40 % of total CapEx.
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


def capex_usd(n_accelerators, accelerator_price_usd, infrastructure_multiplier=INFRASTRUCTURE_MULTIPLIER):
    """Purchase cost of the fleet and its facility share: n x price x multiplier (multiplier >= 1)."""
    return n_accelerators * accelerator_price_usd * infrastructure_multiplier


def amortized_usd(capex, duration_s, life_s=DEPRECIATION_LIFE_S):
    """Straight-line depreciation charged to a run of `duration_s`: capex x duration / life."""
    return capex * duration_s / life_s


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
