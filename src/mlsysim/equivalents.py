"""Everyday equivalents of a run's carbon and energy (car-km, flights, household-years), each with its source,
so a report, the CLI and the web app say the same thing. Pure functions of floats.

    >>> from mlsysim.equivalents import equivalents
    >>> [e["label"] for e in equivalents(carbon_t=100.0, energy_mwh=500.0)]      # doctest: +NORMALIZE_WHITESPACE
    ['km driven by an average US passenger car', 'passengers flying New York - San Francisco and back',
     "US households' electricity for a year"]
"""
from __future__ import annotations

KM_PER_MILE = 1.609344  # international mile (exact)

# EPA Greenhouse Gas Equivalencies Calculator, "Calculations and References" (2023 update): a typical passenger
# vehicle emits 3.93e-4 metric tons CO2e per mile (8,887 g CO2 per gallon of gasoline / 22.8 mpg, CO2 = 99.3 %
# of its CO2e); per km: 3.93e-4 / 1.609344 = 2.442e-4 t.
CAR_T_PER_MILE = 3.93e-4
CAR_T_PER_KM = CAR_T_PER_MILE / KM_PER_MILE

# Strubell, Ganesh & McCallum 2019, "Energy and Policy Considerations for Deep Learning in NLP", Table 1: air
# travel, one passenger, New York <-> San Francisco: 1,984 lbs CO2e = 1,984 x 0.45359237 kg = 0.900 t.
LB_KG = 0.45359237
FLIGHT_NY_SF_T = 1984 * LB_KG / 1e3

# U.S. EIA, "How much electricity does an American home use?" (FAQ, 2022 data): 10,791 kWh per residential
# customer per year.
HOUSEHOLD_KWH_PER_YEAR = 10_791

SOURCES = {
    "car_km": "EPA Greenhouse Gas Equivalencies Calculator (2023): 3.93e-4 t CO2e per passenger-vehicle mile",
    "flights": "Strubell et al. 2019 (ACL), Table 1: one passenger, New York - San Francisco round trip, "
               "1,984 lbs CO2e",
    "household_years": "U.S. EIA FAQ (2022 data): 10,791 kWh of electricity per US home per year",
}


def car_km(carbon_t: float) -> float:
    """Kilometres an average US passenger car drives for the same CO2e."""
    return carbon_t / CAR_T_PER_KM


def flights(carbon_t: float) -> float:
    """One-passenger New York - San Francisco round trips with the same CO2e."""
    return carbon_t / FLIGHT_NY_SF_T


def household_years(energy_mwh: float) -> float:
    """US homes' electricity for a year, for the same energy."""
    return energy_mwh * 1e3 / HOUSEHOLD_KWH_PER_YEAR


def equivalents(carbon_t: float | None, energy_mwh: float | None) -> list[dict]:
    """The equivalents that apply: {key, value, label, basis (what is compared), source}."""
    out = []
    if carbon_t is not None:
        out.append(dict(key="car_km", value=car_km(carbon_t), label="km driven by an average US passenger car",
                        basis="carbon", source=SOURCES["car_km"]))
        out.append(dict(key="flights", value=flights(carbon_t),
                        label="passengers flying New York - San Francisco and back", basis="carbon",
                        source=SOURCES["flights"]))
    if energy_mwh is not None:
        out.append(dict(key="household_years", value=household_years(energy_mwh),
                        label="US households' electricity for a year", basis="energy",
                        source=SOURCES["household_years"]))
    return out
