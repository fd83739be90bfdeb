"""Grid and Datacenter records, with the basis (lifecycle / direct) and year of every intensity."""
from __future__ import annotations

from dataclasses import dataclass, field

from .._record import check_si, check_text
from ..errors import ConfigError


@dataclass(frozen=True)
class Grid:
    """An electricity grid region: average carbon intensity in gCO2e/kWh (location-based)."""

    name: str
    gco2_per_kwh: float
    country: str = ""
    basis: str = ""
    water_l_per_kwh: float | None = None  # water consumed generating 1 kWh (offsite), where sourced
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        check_si(self, {"gco2_per_kwh": ("g/kWh", True), "water_l_per_kwh": ("L/kWh", True)})


@dataclass(frozen=True)
class Datacenter:
    """A site: its grid, PUE (>= 1), on-site WUE (L/kWh of IT energy), electricity price (USD/kWh), and the
    share of carbon-free energy it buys (for market-based carbon), where the operator publishes one."""

    name: str
    grid: Grid
    pue: float
    electricity_usd_per_kwh: float
    wue_l_per_kwh: float = 0.0
    cfe_fraction: float = 0.0
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        if not isinstance(self.grid, Grid):
            raise ConfigError(f"Datacenter {self.name}: grid must be a Grid, got {self.grid!r}")
        check_si(self, {"pue": ("", False), "electricity_usd_per_kwh": ("USD/kWh", True),
                        "wue_l_per_kwh": ("L/kWh", True), "cfe_fraction": ("", True)})
        if self.pue < 1:
            raise ConfigError(f"Datacenter {self.name}: PUE must be >= 1 (facility energy / IT energy), "
                              f"got {self.pue}")
        if not (0 <= self.cfe_fraction <= 1):
            raise ConfigError(f"Datacenter {self.name}: cfe_fraction must be in [0, 1], got {self.cfe_fraction}")
