"""Carbon and water of a training run. Plain floats or numpy arrays; energy in J, mass in kg, water in L.

Grid intensities are kept in the unit every source publishes (gCO2e/kWh) and named so (`_gco2_per_kwh`);
water intensities likewise in L/kWh.

Accounting (GHG Protocol Scope 2 guidance, 2015; as applied to ML by Patterson et al. 2021 arXiv:2104.10350):
- location-based = facility energy x the grid's average intensity;
- market-based (Scope 2 Guidance Ch. 6, the market-based emission factor hierarchy): energy covered by
  contractual instruments (RECs/GOs, PPAs, green tariffs) at the instruments' emission factor (0 for wind, solar,
  hydro), the rest at the grid's residual mix (the average with those claimed attributes removed) or, where no
  residual mix is published, at the grid average (the hierarchy's last tier; it double counts what others
  claimed);
- hourly-CFE-adjusted (a separate quantity, not Scope 2 market-based): location-based x (1 - the operator's
  hourly carbon-free energy share, e.g. Google's 24/7 CFE % per region);
- embodied (manufacturing) carbon is amortised straight-line over the hardware's service life, pro rata for the
  run (Morrison et al. 2025 arXiv:2503.05804 Sec 4.1: 3,700 kgCO2e per 8x H100 server over 4 years);
- water: on-site = WUE x IT energy (The Green Grid WUE definition); off-site = the grid's water consumed per kWh
  generated x facility energy (Morrison et al. 2025 Sec 3.1; Li et al. 2023 "Making AI Less Thirsty").
"""
from __future__ import annotations

from .power import J_PER_KWH, SECONDS_PER_YEAR

# Service life over which embodied carbon is amortised: Morrison et al. 2025 Sec 4.1 assume 4 years for H100s.
SERVICE_LIFE_S = 4 * SECONDS_PER_YEAR


def location_based_kg(facility_energy_j, grid_gco2_per_kwh):
    """Operational carbon (kgCO2e) at the grid's average intensity: kWh x g/kWh / 1000."""
    return facility_energy_j / J_PER_KWH * grid_gco2_per_kwh * 1e-3


def market_based_kg(facility_energy_j, residual_gco2_per_kwh, contractual_fraction, instrument_gco2_per_kwh=0.0):
    """GHG Protocol Scope 2 market-based carbon (kgCO2e): the contractually covered share at the instruments'
    factor, the rest at the residual mix (pass the grid average where no residual mix is published)."""
    kwh = facility_energy_j / J_PER_KWH
    return kwh * (contractual_fraction * instrument_gco2_per_kwh
                  + (1.0 - contractual_fraction) * residual_gco2_per_kwh) * 1e-3


def cfe_adjusted_kg(location_kg, cfe_fraction):
    """Hourly-CFE-adjusted carbon: location-based x (1 - the hourly carbon-free share matched at the site)."""
    return location_kg * (1.0 - cfe_fraction)


def embodied_amortized_kg(embodied_kg, duration_s, service_life_s=SERVICE_LIFE_S):
    """Share of the hardware's manufacturing carbon charged to a run of `duration_s`: straight-line,
    embodied x duration / life (not capped: a run longer than the life consumes more than one set)."""
    return embodied_kg * duration_s / service_life_s


def water_l(it_energy_j, wue_l_per_kwh, facility_energy_j=0.0, grid_water_l_per_kwh=0.0):
    """Water consumed (L): on-site cooling (WUE x IT kWh) + off-site generation (grid L/kWh x facility kWh)."""
    return it_energy_j / J_PER_KWH * wue_l_per_kwh + facility_energy_j / J_PER_KWH * grid_water_l_per_kwh
