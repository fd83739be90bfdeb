"""Everyday equivalents of a carbon mass, each with its published factor and source."""
from __future__ import annotations

# name: (kg CO2e per unit, unit label, source)
FACTORS = {
    "car_km": (0.393 / 1.609344, "km driven by an average gasoline passenger car",
               "US EPA Greenhouse Gas Equivalencies Calculator (2023 update): 3.93e-4 t CO2e per mile "
               "(recalled value), / 1.609344 km per mile"),
    "flights": (1984 * 0.45359237, "round-trip passenger flights New York - San Francisco",
                "Strubell, Ganesh & McCallum 2019, 'Energy and Policy Considerations for Deep Learning in NLP', "
                "Table 1: 1,984 lbs CO2e per passenger round trip"),
    "household_years": (7930.0, "years of an average US home's energy use",
                        "US EPA Greenhouse Gas Equivalencies Calculator (2023 update): 7.93 t CO2 per home per "
                        "year (electricity + heating fuels; recalled value)"),
}


def equivalents(carbon_kg: float) -> list[dict]:
    """How many of each everyday unit the carbon equals."""
    return [{"key": k, "value": carbon_kg / f, "kg_per_unit": f, "unit": unit, "source": src}
            for k, (f, unit, src) in FACTORS.items()]
