"""Energy, carbon and dollars per request and per million tokens of a serving fleet, composed from the power,
carbon and cost physics (no formula of their own beyond the per-request division). Floats or numpy arrays.

A fleet of `gpus` accelerators serves `qps` requests/s at compute utilisation `util` (model FLOPs / peak); every
second it draws IT power = gpus x (accelerator power at util + host share), facility power = IT x PUE. Per request:
energy = facility power / QPS. The fleet's cost per second is either owning it (IT and facility CapEx, built from
the records as for training, amortised over their lives + maintenance + energy: physics/cost.py) or renting
(GPU-hours x price); cost per million
output tokens = cost per s / output tokens per s x 1e6, and input tokens are charged at `input_weight` of an
output token's price (the share of GPU time a prompt token takes relative to a generated one). Over a daily load
profile the same division uses the day's mean QPS and mean IT power (profile_it_power_w): energy per request =
the day's energy / the day's requests, and the fleet's fixed cost is spread over the requests it actually serves.
"""
from __future__ import annotations

from . import carbon as CB
from . import cost as CO
from . import power as PW


def profile_it_power_w(multipliers, *, replicas, gpus_per_replica, peak_util, tdp_w, idle_w, host_w_per_gpu):
    """Mean IT power of a fleet sized for the peak over a load profile (equal periods, multipliers of the peak in
    [0, 1]): in each period the load is packed onto ceil(m x n) replicas at their peak compute utilisation x
    m n / active, the other replicas idle at idle power; every GPU's host share draws throughout (assumption: hosts
    are not powered down). At m = 1: every GPU at the peak utilisation plus its host share."""
    import numpy as np
    from .serving_traffic import active_replicas
    m = np.asarray(multipliers, dtype=float)
    act = active_replicas(m, replicas)
    util = peak_util * m * replicas / np.maximum(act, 1.0)
    busy = act * gpus_per_replica * PW.accelerator_power_w(util, tdp_w, idle_w)
    idle = (replicas - act) * gpus_per_replica * idle_w
    return float(np.mean(busy + idle)) + replicas * gpus_per_replica * host_w_per_gpu


def per_request(*, qps, gpus, it_power_w, pue, grid_gco2_per_kwh, residual_gco2_per_kwh, contractual_fraction,
                cfe_fraction, embodied_kg_per_gpu, usd_per_kwh, it_capex_usd=0.0, facility_capex_usd=0.0,
                rent_usd_per_gpu_hour=0.0, wue_l_per_kwh=0.0, grid_water_l_per_kwh=0.0):
    """Energy (J), carbon (kg: location, market (GHG Protocol Scope 2), hourly-CFE-adjusted, embodied), water (L:
    on-site WUE x IT energy + the grid's water per kWh drawn, as for training) and cost (USD) charged to one
    request. Owning: the fleet's IT CapEx over its depreciation life and the facility's over
    its own (as EconomicsModel amortises them), maintenance on both, and the energy."""
    dt = 1.0 / qps  # fleet-seconds per request
    it_j = PW.energy_j(it_power_w, dt)
    facility = PW.facility_energy_j(it_j, pue)
    loc = CB.location_based_kg(facility, grid_gco2_per_kwh)
    energy_usd = CO.energy_cost_usd(facility, usd_per_kwh)
    capex = it_capex_usd + facility_capex_usd
    own = CO.amortized_parts_usd(it_capex_usd, facility_capex_usd, dt) + CO.maintenance_usd(capex, dt) + energy_usd
    rent = CO.cloud_cost_usd(gpus, dt, rent_usd_per_gpu_hour)
    usd = own if rent_usd_per_gpu_hour <= 0 else rent
    return {"energy_j": facility, "carbon_location_kg": loc,
            "carbon_market_kg": CB.market_based_kg(facility, residual_gco2_per_kwh, contractual_fraction),
            "carbon_cfe_adjusted_kg": CB.cfe_adjusted_kg(loc, cfe_fraction),
            "carbon_embodied_kg": CB.embodied_amortized_kg(embodied_kg_per_gpu * gpus, dt),
            "water_l": CB.water_l(it_j, wue_l_per_kwh, facility, grid_water_l_per_kwh), "usd": usd, "capex_usd": capex}


def input_weight(prefill_share, input_len, output_len):
    """What a prompt token costs relative to an output token: the GPU time of the iterations' prefill share over
    the prompt tokens, against the rest over the output tokens (at most 1: a prompt token never costs more)."""
    return min(1.0, prefill_share * output_len / max(input_len, 1) / max(1e-9, 1.0 - prefill_share))


def usd_per_million(usd_per_request, input_len, output_len, input_weight):
    """($/M input tokens, $/M output tokens): a request's cost split over its tokens, an input token weighing
    `input_weight` output tokens."""
    per_out = usd_per_request / (output_len + input_weight * input_len)
    return per_out * input_weight * 1e6, per_out * 1e6
