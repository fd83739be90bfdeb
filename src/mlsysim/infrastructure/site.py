"""Grid and Datacenter records, with the basis (lifecycle / direct) and year of every intensity."""
from __future__ import annotations

from dataclasses import field

from .._codecache import dataclass  # dataclasses.dataclass, its code compiled once
from .._record import check_si, check_text
from ..errors import ConfigError
from ..views import RecordView


@dataclass(frozen=True, repr=False)
class Grid(RecordView):
    """An electricity grid region: average carbon intensity in gCO2e/kWh (location-based), and its residual mix
    (the average without the attributes sold as certificates; for market-based carbon) where published."""

    name: str
    gco2_per_kwh: float
    country: str = ""
    basis: str = ""
    water_l_per_kwh: float | None = None  # water consumed generating 1 kWh (offsite), where sourced
    residual_gco2_per_kwh: float | None = None  # residual mix (GHG Protocol Scope 2 market-based), where sourced
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self, ("name", "country", "basis"))  # a number there failed as a TypeError in its repr
        check_si(self, {"gco2_per_kwh": ("g/kWh", True), "water_l_per_kwh": ("L/kWh", True),
                        "residual_gco2_per_kwh": ("g/kWh", True)})


@dataclass(frozen=True, repr=False)
class Datacenter(RecordView):
    """A site: its grid, PUE (>= 1), on-site WUE (L/kWh of IT energy), electricity price (USD/kWh); for
    market-based carbon (GHG Protocol Scope 2) the share of its energy covered by contractual instruments (RECs,
    PPAs; the rest counts at the grid's residual mix, else its average); and the operator's hourly carbon-free energy share
    (`cfe_fraction`, e.g. Google's CFE %), which gives the separate hourly-CFE-adjusted figure."""

    name: str
    grid: Grid
    pue: float
    electricity_usd_per_kwh: float
    wue_l_per_kwh: float = 0.0
    cfe_fraction: float = 0.0
    contractual_fraction: float = 0.0
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        if not isinstance(self.grid, Grid):
            raise ConfigError(f"Datacenter {self.name}: grid must be a Grid, got {self.grid!r}")
        check_si(self, {"pue": ("", False), "electricity_usd_per_kwh": ("USD/kWh", True),
                        "wue_l_per_kwh": ("L/kWh", True), "cfe_fraction": ("", True),
                        "contractual_fraction": ("", True)})
        if self.pue < 1:
            raise ConfigError(f"Datacenter {self.name}: PUE must be >= 1 (facility energy / IT energy), "
                              f"got {self.pue}")
        if not (0 <= self.cfe_fraction <= 1):
            raise ConfigError(f"Datacenter {self.name}: cfe_fraction must be in [0, 1], got {self.cfe_fraction}")
        if not (0 <= self.contractual_fraction <= 1):
            raise ConfigError(f"Datacenter {self.name}: contractual_fraction (share of energy covered by RECs/PPAs) "
                              f"must be in [0, 1], got {self.contractual_fraction}")

    @property
    def market_residual_gco2_per_kwh(self) -> float:
        """Factor for energy not covered by instruments: the residual mix, else the grid average."""
        g = self.grid
        return g.gco2_per_kwh if g.residual_gco2_per_kwh is None else g.residual_gco2_per_kwh
