"""EconomicsModel: total cost of ownership of a training run, and the comparison with renting.

    >>> from mlsysim import Systems, Infrastructure, EconomicsModel
    >>> econ = EconomicsModel().solve(fleet=Systems.Clusters.Research_256, duration_days=30,
    ...                               datacenter=Infrastructure.Datacenters.GCP_Iowa)
    >>> round(econ.accelerator_share_of_capex, 2)   # GPUs' share of CapEx: a result (the tutorial says ~40 %)
    0.48

Composes with the other solvers, so no number is typed twice:
    perf = DistributedModel().solve(...); sust = SustainabilityModel().solve(performance=perf, datacenter=dc)
    econ = EconomicsModel().solve(sustainability=sust)     # or EconomicsModel().solve(performance=perf, datacenter=dc)

The formulas live in mlsysim.physics.cost; energy comes from SustainabilityModel (mlsysim.physics.power).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError, unknown, unexpected_keywords
from ..physics import cost as PX
from ..physics import power as PP
from ..units import quantity, si
from ._common import INFEASIBLE_ROW, TableRepr, carried_feasibility, finite
from .sustainability import SustainabilityModel, SustainabilityResult

# Default cloud rental price per accelerator-hour, by Hardware registry key (systems_and_facilities.csv
# "cloud_price" rows). AWS EC2 Capacity Blocks are the hyperscaler reserved rate, between on-demand ($12.29/GPU-h
# for p5 in 2023) and neocloud prices ($2-3/GPU-h in 2026 surveys). Override with cloud_usd_per_gpu_hour=...
CLOUD_USD_PER_GPU_HOUR = {
    "H100": (4.916, "AWS EC2 Capacity Blocks p5.48xlarge (8x H100), US East, $39.33/instance-h, 2024"),
    "H200": (5.408, "AWS EC2 Capacity Blocks p5e.48xlarge (8x H200), $43.26/instance-h, 2024"),
    "A100_40GB": (1.844, "AWS EC2 Capacity Blocks p4d.24xlarge (8x A100 40GB), $14.75/instance-h, 2024"),
    "A100_80GB": (2.0, "MosaicML MPT-7B blog 2023 A100 rental assumption $2/GPU-h (quoted for 40 GB; no 80 GB "
                       "price in the data: assumption)"),
    "H800": (2.0, "DeepSeek-V3 Technical Report arXiv:2412.19437 Table 1 rental assumption, 2024"),
}

INFRASTRUCTURE_PARTS = ("servers", "network", "power", "cooling", "facility", "operations")


@dataclass(frozen=True)
class EconomicsResult(TableRepr):
    """Cost of a run. Stored floats are USD / s / J; the public views are pint quantities (USD).

    `tco` is the run's share of the total cost of ownership: amortised CapEx + energy + maintenance/staff.
    `lifetime_tco` is the whole fleet over its IT depreciation life (and the facility's share of that time), busy
    at the run's power throughout.
    """

    fleet: object
    datacenter: object
    duration_s: float
    tokens: float | None
    accelerator_price_usd: float
    capex_parts_usd: dict          # purchase cost by part: accelerators, servers, network, facility (or as given)
    depreciation_life_s: float     # IT (servers, network); power, cooling and facility use facility_life_s
    amortized_capex_usd: float
    energy_usd: float
    maintenance_usd: float
    lifetime_usd: float
    cloud_usd_per_gpu_hour: float | None
    break_even: float | None       # share of the year the fleet must be busy for owning to beat renting
    sustainability: SustainabilityResult
    assumptions: dict = field(default_factory=dict)
    feasible: bool = True          # False when built from an infeasible performance result
    facility_life_s: float = PX.FACILITY_LIFE_S

    @property
    def n_accelerators(self) -> int:
        return self.fleet.total_accelerators

    @property
    def gpu_hours(self) -> float:
        return self.n_accelerators * self.duration_s / PP.SECONDS_PER_HOUR

    @property
    def total_usd(self) -> float:
        return self.amortized_capex_usd + self.energy_usd + self.maintenance_usd

    @property
    def capex(self):
        """Purchase cost of the fleet and its infrastructure share."""
        from ..units import Q
        return Q(sum(self.capex_parts_usd.values()), "USD")

    @property
    def capex_breakdown(self) -> dict:
        from ..units import Q
        return {k: Q(v, "USD") for k, v in self.capex_parts_usd.items()}

    @property
    def accelerator_share_of_capex(self) -> float:
        return self.capex_parts_usd["accelerators"] / sum(self.capex_parts_usd.values())

    capex_amortized = quantity("amortized_capex_usd", "USD")

    opex_energy = quantity("energy_usd", "USD")

    opex_maintenance = quantity("maintenance_usd", "USD")

    tco = quantity("total_usd", "USD", doc="The run's cost of ownership: amortised CapEx + energy + maintenance/staff.")

    total_cost = tco

    lifetime_tco = quantity("lifetime_usd", "USD")

    @property
    def split(self) -> dict:
        """Shares of the run's cost: capex (amortised), energy, maintenance."""
        t = self.total_usd
        return {"capex": self.amortized_capex_usd / t, "energy": self.energy_usd / t,
                "maintenance": self.maintenance_usd / t}

    @property
    def cost_per_gpu_hour_usd(self) -> float:
        return PX.per_gpu_hour(self.total_usd, self.n_accelerators, self.duration_s)

    @property
    def cost_per_gpu_hour(self):
        from ..units import Q
        return Q(self.cost_per_gpu_hour_usd, "USD/hour")

    @property
    def cost_per_million_tokens_usd(self) -> float | None:
        """None when the token count is unknown (pass performance=... or tokens=...)."""
        return self.total_usd / self.tokens * 1e6 if self.tokens else None

    @property
    def cost_per_million_tokens(self):
        """None when the token count is unknown (pass performance=... or tokens=...)."""
        if not self.tokens:
            return None
        from ..units import Q
        return Q(self.cost_per_million_tokens_usd, "USD")

    @property
    def cloud_cost_usd(self) -> float | None:
        """Renting the same accelerator-hours (None when no cloud price is known for this accelerator)."""
        if self.cloud_usd_per_gpu_hour is None:
            return None
        return PX.cloud_cost_usd(self.n_accelerators, self.duration_s, self.cloud_usd_per_gpu_hour)

    @property
    def cloud_cost(self):
        """Renting the same accelerator-hours (None when no cloud price is known for this accelerator)."""
        if self.cloud_usd_per_gpu_hour is None:
            return None
        from ..units import Q
        return Q(self.cloud_cost_usd, "USD")

    @property
    def break_even_utilization(self) -> float | None:
        """Share of the year the owned fleet must be busy for owning to cost what renting does per busy hour.
        None when no cloud price is known or the cloud price does not even cover the energy."""
        return self.break_even

    def _title(self):
        return f"Economics: {self.fleet.name} at {self.datacenter.name}"

    def _rows(self):
        rows = [] if self.feasible else [INFEASIBLE_ROW]
        rows += [("duration", f"{self.duration_s / PP.SECONDS_PER_DAY:.4g} days"),
                ("accelerator-hours", self.gpu_hours),
                ("accelerator price", f"{self.accelerator_price_usd:,.0f} USD")]
        rows += [(f"CapEx: {k}", f"{v:,.0f} USD") for k, v in self.capex_parts_usd.items()]
        rows += [("CapEx total", f"{sum(self.capex_parts_usd.values()):,.0f} USD"),
                 ("accelerators' share of CapEx", f"{self.accelerator_share_of_capex:.0%}"),
                 ("depreciation life (IT / facility)", f"{self.depreciation_life_s / PP.SECONDS_PER_YEAR:g} / "
                                                        f"{self.facility_life_s / PP.SECONDS_PER_YEAR:g} years"),
                 ("run: CapEx amortised", f"{self.amortized_capex_usd:,.0f} USD"),
                 ("run: energy", f"{self.energy_usd:,.0f} USD"),
                 ("run: maintenance/staff", f"{self.maintenance_usd:,.0f} USD"),
                 ("run: total (TCO share)", f"{self.total_usd:,.0f} USD"),
                 ("cost per accelerator-hour", f"{self.cost_per_gpu_hour.magnitude:.2f} USD"),
                 ("lifetime TCO (fleet, busy)", f"{self.lifetime_usd:,.0f} USD")]
        if self.tokens:
            rows.append(("cost per million tokens", f"{self.cost_per_million_tokens.magnitude:.3g} USD"))
        if self.cloud_usd_per_gpu_hour is not None:
            rows += [("cloud price per accelerator-hour", f"{self.cloud_usd_per_gpu_hour:.2f} USD"),
                     ("renting the same hours", f"{self.cloud_cost.magnitude:,.0f} USD"),
                     ("break-even utilisation (own vs rent)",
                      break_even_text(self.break_even))]
        return rows


class EconomicsModel:
    """Total cost of ownership of a run: CapEx (built from the node, fabric and facility records, or the
    tutorial's infrastructure multiplier, or an explicit breakdown) amortised (IT over its depreciation life, the
    facility over its own), + energy at the datacenter's electricity price, + maintenance and staff; compared
    with renting the same accelerator-hours.

        econ = EconomicsModel().solve(performance=perf, datacenter=Infrastructure.Datacenters.GCP_Iowa)
        econ = EconomicsModel().solve(fleet=fleet, duration_days=30, datacenter="GCP_Iowa",
                                      accelerator_price_usd=30_000)
    """

    def solve(self, fleet=None, duration_days=None, datacenter=None, *, performance=None, sustainability=None,
              mfu=None, tokens=None, accelerator_price_usd=None, infrastructure_multiplier=None,
              infrastructure_usd=None, depreciation_years=None, maintenance_fraction_per_year=None,
              cloud_usd_per_gpu_hour=None, electricity_usd_per_kwh=None,
              facility_life_years=None, **unexpected) -> EconomicsResult:
        """Money in USD (numbers or pint quantities). By default CapEx is built from the records (servers,
        fabric, facility per watt). `infrastructure_multiplier` (the tutorial's shortcut: CapEx = accelerators x
        price x multiplier) or `infrastructure_usd` = {servers, network, power, cooling, facility, operations:
        USD for the whole fleet} replace that. `mfu` only sets power (default 0.40)."""
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        tokens_given = None if tokens is None else si(tokens, "", "tokens")
        sust = self._energy(fleet, duration_days, datacenter, performance, sustainability, mfu)
        fleet, dc, duration_s = sust.fleet, sust.datacenter, sust.duration_s
        acc, n = fleet.node.accelerator, fleet.total_accelerators
        assumptions = {}

        # --- prices: never a silent $0 ---
        price = _given_or_recorded(
            accelerator_price_usd, acc.price_usd, "USD", "accelerator_price_usd", "accelerator price",
            acc.price_source or acc.name + " record", assumptions,
            f"{acc.name} has no price in the hardware registry; give one, e.g. "
            f"EconomicsModel().solve(..., accelerator_price_usd=30000)")
        usd_kwh = _given_or_recorded(
            electricity_usd_per_kwh, dc.electricity_usd_per_kwh, "USD/kWh", "electricity_usd_per_kwh",
            "electricity price", dc.source or dc.name, assumptions,
            f"datacenter {dc.name} has no electricity price; pass electricity_usd_per_kwh=0.08 "
            f"(USD/kWh) or set Datacenter.electricity_usd_per_kwh")

        # --- CapEx ---
        gpus_usd = n * price
        if infrastructure_usd is not None:
            if infrastructure_multiplier is not None:
                raise ConfigError("give either infrastructure_multiplier or infrastructure_usd (a breakdown), "
                                  "not both")
            if not isinstance(infrastructure_usd, dict) or not infrastructure_usd:
                raise ConfigError(f"infrastructure_usd must be a dict like {{'network': 2e6, 'power': 1e6, "
                                  f"'cooling': 1e6, 'facility': 3e6}} (USD for the whole fleet), "
                                  f"got {infrastructure_usd!r}")
            parts = {"accelerators": gpus_usd}
            for k, v in infrastructure_usd.items():
                if k not in INFRASTRUCTURE_PARTS:
                    raise unknown("infrastructure part", k, INFRASTRUCTURE_PARTS)
                parts[k] = si(v, "USD", f"infrastructure_usd[{k!r}]", allow_zero=True)
            assumptions["CapEx"] = "accelerators x price + the given infrastructure breakdown"
        elif infrastructure_multiplier is not None:
            mult = si(infrastructure_multiplier, "", "infrastructure_multiplier")
            if mult < 1:
                raise ConfigError(f"infrastructure_multiplier is CapEx / accelerator spend and must be >= 1, "
                                  f"got {mult} (the tutorial's {PX.INFRASTRUCTURE_MULTIPLIER} makes GPUs 40 % "
                                  f"of CapEx)")
            parts = {"accelerators": gpus_usd, "infrastructure": PX.capex_usd(n, price, mult) - gpus_usd}
            assumptions["CapEx"] = (f"accelerators x price x {mult:g} (the tutorial's infrastructure multiplier; "
                                    f"all of it amortised over the IT depreciation life)")
        else:
            from ._capex import fleet_capex
            parts, src = fleet_capex(fleet, price)
            assumptions["CapEx"] = "built from the records: " + "; ".join(f"{k}: {v}" for k, v in src.items())
        capex = sum(parts.values())
        from ._capex import split_it_facility
        it_capex, fac_capex = split_it_facility(parts)

        life_s = (PX.DEPRECIATION_LIFE_S if depreciation_years is None
                  else si(depreciation_years, "year", "depreciation_years") * PP.SECONDS_PER_YEAR)
        assumptions["depreciation life"] = (f"{life_s / PP.SECONDS_PER_YEAR:g} years, straight line" + (
            "" if depreciation_years is not None else
            " (Meta 5 y 2022 10-K; Amazon AI-server subset 6 -> 5 y, 10-K 2024; Microsoft/Alphabet 6 y)"))
        fac_life_s = (PX.FACILITY_LIFE_S if facility_life_years is None
                      else si(facility_life_years, "year", "facility_life_years") * PP.SECONDS_PER_YEAR)
        if fac_capex:
            assumptions["facility life"] = (f"{fac_life_s / PP.SECONDS_PER_YEAR:g} years, straight line" + (
                "" if facility_life_years is not None else
                " (Barroso et al. 2018 Sec 6.1: facility plant amortised over 10-15 years)"))
        maint = (PX.MAINTENANCE_FRACTION_PER_YEAR if maintenance_fraction_per_year is None
                 else si(maintenance_fraction_per_year, "", "maintenance_fraction_per_year", allow_zero=True))
        if maint > 1:
            raise ConfigError(f"maintenance_fraction_per_year is a fraction of CapEx per year, got {maint}")
        assumptions["maintenance and staff"] = f"{maint:.0%} of CapEx per year" + (
            "" if maintenance_fraction_per_year is not None else
            " (assumption: support contracts ~10-15 %/yr of IT hardware + facility upkeep + staff, blended)")

        # --- the run ---
        amort = PX.amortized_parts_usd(it_capex, fac_capex, duration_s, life_s, fac_life_s)
        energy = PX.energy_cost_usd(sust.facility_energy_j, usd_kwh)
        maint_usd = PX.maintenance_usd(capex, duration_s, maint)
        lifetime = (it_capex + PX.amortized_usd(fac_capex, life_s, fac_life_s)
                    + PX.maintenance_usd(capex, life_s, maint) + energy * life_s / duration_s)

        # --- renting ---
        if cloud_usd_per_gpu_hour is not None:
            cloud = si(cloud_usd_per_gpu_hour, "USD/hour", "cloud_usd_per_gpu_hour")
            assumptions["cloud price"] = f"{cloud:g} USD per accelerator-hour (given)"
        elif acc.key in CLOUD_USD_PER_GPU_HOUR:
            cloud, src = CLOUD_USD_PER_GPU_HOUR[acc.key]
            assumptions["cloud price"] = f"{cloud:g} USD per accelerator-hour ({src})"
        else:
            cloud = None
            assumptions["cloud price"] = (f"none known for {acc.name}: no rental comparison "
                                          f"(pass cloud_usd_per_gpu_hour=...)")
        break_even = None
        if cloud is not None:
            fixed_per_gpu_year = (PX.amortized_parts_usd(it_capex, fac_capex, PP.SECONDS_PER_YEAR, life_s,
                                                         fac_life_s) + capex * maint) / n
            energy_per_gpu_hour = energy / (n * duration_s / PP.SECONDS_PER_HOUR)
            u = float(PX.break_even_utilization(fixed_per_gpu_year, energy_per_gpu_hour, cloud))
            break_even = u if u != float("inf") else None

        tokens = sust.tokens or None
        if tokens_given is not None:
            if tokens is not None:
                raise ConfigError("tokens is already known from the performance result; omit tokens=")
            tokens = tokens_given
        finite({"capex": capex, "amortized": amort, "energy": energy, "maintenance": maint_usd,
                "lifetime": lifetime}, "EconomicsModel")
        return EconomicsResult(
            fleet=fleet, datacenter=dc, duration_s=duration_s, tokens=tokens, accelerator_price_usd=price,
            capex_parts_usd=parts, depreciation_life_s=life_s, amortized_capex_usd=amort, energy_usd=energy,
            maintenance_usd=maint_usd, lifetime_usd=lifetime, cloud_usd_per_gpu_hour=cloud, break_even=break_even,
            sustainability=sust, assumptions=assumptions, facility_life_s=fac_life_s,
            feasible=carried_feasibility(sust, "EconomicsModel"))

    @staticmethod
    def _energy(fleet, duration_days, datacenter, performance, sustainability, mfu) -> SustainabilityResult:
        """The run's energy, from a SustainabilityResult or by solving one (the single energy formula)."""
        if sustainability is not None:
            if not isinstance(sustainability, SustainabilityResult):
                raise ConfigError(f"sustainability must be a SustainabilityModel result, got "
                                  f"{type(sustainability).__name__}")
            given = [k for k, v in (("fleet", fleet), ("duration_days", duration_days), ("mfu", mfu),
                                    ("performance", performance)) if v is not None]
            if given:
                raise ConfigError(f"pass either sustainability=... or {'/'.join(given)}=..., not both "
                                  f"(the sustainability result already carries them)")
            if datacenter is not None:
                from .sustainability import resolve_datacenter
                if resolve_datacenter(datacenter) != sustainability.datacenter:
                    raise ConfigError("datacenter differs from the one the sustainability result was solved for; "
                                      "omit datacenter= or re-solve the sustainability model there")
            return sustainability
        from .sustainability import run_inputs
        run_inputs(performance, fleet, duration_days, mfu, "EconomicsModel")  # its messages name this solver
        return SustainabilityModel().solve(fleet=fleet, duration_days=duration_days, mfu=mfu,
                                           datacenter=datacenter, performance=performance)


def break_even_text(u: float | None) -> str:
    """The break-even utilisation in words: a share of the year, or why owning never breaks even (a share above
    100 % printed as '155%' read as a reachable utilisation)."""
    if u is None:
        return "never (cloud < energy cost)"
    if u > 1:
        return f"never: renting is cheaper even at 100 % use (owning would need {u:.0%})"
    return f"{u:.0%}"


def _given_or_recorded(given, recorded, unit, arg, label, source, assumptions, missing):
    """A price the user gave, else the registry's (with its source); never a silent zero."""
    if given is not None:
        value = si(given, unit, arg)
        assumptions[label] = f"{value:,.6g} {unit} (given)"
    elif recorded:
        value = recorded
        assumptions[label] = f"{value:,.6g} {unit} ({source})"
    else:
        raise ConfigError(missing)
    return value
