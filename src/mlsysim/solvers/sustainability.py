"""SustainabilityModel: energy, carbon (location- and market-based, embodied) and water of a training run.

    >>> from mlsysim import Systems, Infrastructure, SustainabilityModel
    >>> sust = SustainabilityModel().solve(fleet=Systems.Clusters.Research_256, duration_days=30, mfu=0.45,
    ...                                    datacenter=Infrastructure.Datacenters.GCP_Iowa)
    >>> 50 < sust.carbon_footprint < 120   # operational, location-based, tonnes CO2e (~80 t)
    True

The physics (one formula each) lives in mlsysim.physics.power and mlsysim.physics.carbon.
"""
from __future__ import annotations

from dataclasses import field

from .._codecache import dataclass  # dataclasses.dataclass, its code compiled once
from ..errors import ConfigError, unexpected_keywords
from ..physics import carbon as PC
from ..physics import power as PP
from ..units import quantity, si
from ._common import INFEASIBLE_ROW, TableRepr, carried_feasibility, finite, resolve_fleet

# MFU assumed for power when none is given (e.g. EconomicsModel().solve(fleet=..., duration_days=...)): a typical
# large-scale training MFU (Llama 3 405B 38-43 %, Llama Team 2024 Table 4; PaLM 46 %, Chowdhery et al. 2022).
# On the flat part of the power curve the choice moves power by a few percent.
DEFAULT_TRAINING_MFU = 0.40
# Longest duration accepted (days): 100 years, far past any hardware's service life (4-6 years, physics.cost and
# physics.carbon), so a larger number is a unit slip (seconds or hours given as days); 1e300 days overflowed to a
# "please report" error.
MAX_DURATION_DAYS = 36_525


@dataclass(frozen=True)
class SustainabilityResult(TableRepr):
    """Energy, carbon and water of a run. Stored floats are SI (J, W, kg, L, s); the public views are pint
    quantities, except `carbon_footprint`, a float in tonnes CO2e (the tutorial prints it with `:.1f`).

    `carbon_footprint` is OPERATIONAL, LOCATION-BASED carbon only (facility energy x grid average), the
    tutorial's meaning and the one model cards report; `total_carbon` adds the amortised embodied carbon.
    """

    fleet: object
    datacenter: object
    duration_s: float
    mfu: float
    tokens: float | None
    accelerator_w: float           # average power per accelerator (board, or measured system incl. host share)
    power_w: dict                  # average IT power by part: accelerators, hosts, network
    it_energy_j: float
    facility_energy_j: float
    pue: float
    location_kg: float
    market_kg: float               # GHG Protocol Scope 2 market-based (instruments, else residual mix / grid)
    embodied_kg: dict              # amortised embodied carbon: accelerators, servers
    water_onsite_l: float
    water_offsite_l: float
    assumptions: dict = field(default_factory=dict)
    feasible: bool = True          # False when built from an infeasible performance result
    cfe_adjusted_kg: float | None = None   # location x (1 - hourly CFE share); None where no CFE % is published

    # --- quantity views ---
    @property
    def duration(self):
        from ..units import Q
        return Q(self.duration_s / PP.SECONDS_PER_DAY, "day")

    @property
    def gpu_hours(self) -> float:
        return self.fleet.total_accelerators * self.duration_s / PP.SECONDS_PER_HOUR

    @property
    def average_power(self):
        """Average IT power of the fleet (accelerators + hosts + switches), before PUE."""
        from ..units import Q
        return Q(sum(self.power_w.values()) / 1e3, "kW")

    @property
    def facility_power(self):
        from ..units import Q
        return Q(sum(self.power_w.values()) * self.pue / 1e3, "kW")

    @property
    def power_breakdown(self) -> dict:
        from ..units import Q
        return {k: Q(v / 1e3, "kW") for k, v in self.power_w.items()}

    power_per_accelerator = quantity("accelerator_w", "W")

    @property
    def it_energy(self):
        from ..units import Q
        return Q(self.it_energy_j / PP.J_PER_KWH / 1e3, "MWh")

    @property
    def facility_energy(self):
        from ..units import Q
        return Q(self.facility_energy_j / PP.J_PER_KWH / 1e3, "MWh")

    energy = facility_energy

    @property
    def carbon_location(self):
        from ..units import Q
        return Q(self.location_kg / 1e3, "t")

    operational_carbon = carbon_location

    @property
    def carbon_market(self):
        """GHG Protocol Scope 2 market-based carbon (contractual instruments, else residual mix or grid average)."""
        from ..units import Q
        return Q(self.market_kg / 1e3, "t")

    @property
    def carbon_cfe_adjusted(self):
        """Location-based carbon x (1 - the site's hourly carbon-free energy share); None where none is published.
        Not a GHG Protocol quantity: hourly matching (e.g. Google's CFE %) is reported beside Scope 2."""
        if self.cfe_adjusted_kg is None:
            return None
        from ..units import Q
        return Q(self.cfe_adjusted_kg / 1e3, "t")

    @property
    def embodied_carbon(self):
        from ..units import Q
        return Q(sum(self.embodied_kg.values()) / 1e3, "t")

    @property
    def total_carbon(self):
        """Operational (location-based) + amortised embodied carbon."""
        from ..units import Q
        return Q((self.location_kg + sum(self.embodied_kg.values())) / 1e3, "t")

    @property
    def carbon_footprint(self) -> float:
        """Operational location-based carbon in tonnes CO2e, as a float (embodied carbon excluded)."""
        return self.location_kg / 1e3

    @property
    def water(self):
        from ..units import Q
        return Q((self.water_onsite_l + self.water_offsite_l) / 1e3, "m**3")

    water_onsite = quantity("water_onsite_l", "L", to="m**3")
    water_offsite = quantity("water_offsite_l", "L", to="m**3")

    @property
    def energy_per_token(self):
        """Facility energy per trained token (None when the token count is unknown)."""
        if not self.tokens:
            return None
        from ..units import Q
        return Q(self.facility_energy_j / self.tokens, "J")

    def _title(self):
        return f"Sustainability: {self.fleet.name} at {self.datacenter.name}"

    def _rows(self):
        g = self.datacenter.grid
        rows = ([] if self.feasible else [INFEASIBLE_ROW]) + [
            ("duration", self.duration), ("accelerator-hours", self.gpu_hours), ("MFU (for power)", self.mfu),
            ("power per accelerator", self.power_per_accelerator)]
        rows += [(f"  IT power: {k}", v) for k, v in self.power_breakdown.items()]
        rows += [("average IT power", self.average_power), ("PUE", self.pue),
                 ("IT energy", self.it_energy), ("facility energy", self.facility_energy),
                 (f"grid intensity ({g.name})", f"{g.gco2_per_kwh:g} gCO2e/kWh"),
                 ("carbon, location-based (carbon_footprint)", self.carbon_location),
                 ("carbon, market-based (GHG Protocol)", self.carbon_market)]
        if self.cfe_adjusted_kg is not None:
            rows.append(("carbon, hourly-CFE-adjusted", self.carbon_cfe_adjusted))
        known = self.fleet.node.accelerator.embodied_kgco2e is not None
        rows += [("embodied carbon (amortised)", self.embodied_carbon if known
                  else "unknown (no figure for this accelerator): not counted"),
                 ("total carbon (location + embodied)" if known
                  else "total carbon (location only: embodied unknown)", self.total_carbon),
                 ("water on-site", self.water_onsite), ("water off-site (grid)", self.water_offsite)]
        return rows


def resolve_datacenter(datacenter):
    """A Datacenter object, or a registry name looked up in Infrastructure (typos get suggestions)."""
    from ..infrastructure.site import Datacenter, Grid
    if datacenter is None:
        raise ConfigError("datacenter is required, e.g. datacenter=Infrastructure.Datacenters.GCP_Iowa "
                          "(or a Datacenter(name=..., grid=Grid(...), pue=..., electricity_usd_per_kwh=...))")
    if isinstance(datacenter, str):
        from ..infrastructure.registry import Infrastructure
        datacenter = Infrastructure.get(datacenter)
    if isinstance(datacenter, Grid):
        from ..infrastructure.registry import Infrastructure
        dcs = Infrastructure.Datacenters
        on = [k for k in dcs.names() if datacenter.key and dcs[k].grid.key == datacenter.key]
        raise ConfigError(f"datacenter must be a Datacenter, got the grid {datacenter.name!r}; "
                          + (f"the registry's datacenters on it: {', '.join(on)}; or " if on else "")
                          + "wrap it: Datacenter(name=..., grid=<that grid>, pue=1.1, electricity_usd_per_kwh=0.08)")
    if not isinstance(datacenter, Datacenter):
        raise ConfigError(f"datacenter must be a Datacenter (e.g. Infrastructure.Datacenters.GCP_Iowa) or its "
                          f"registry name, got {datacenter!r}")
    return datacenter


def run_inputs(performance, fleet, duration_days, mfu, what: str):
    """(fleet, duration_s, mfu or None, tokens or None) from either a performance result or explicit values."""
    if performance is not None:
        given = [n for n, v in (("fleet", fleet), ("duration_days", duration_days), ("mfu", mfu)) if v is not None]
        if given:
            raise ConfigError(f"{what}: pass either performance=... or {'/'.join(given)}=..., not both "
                              f"(the performance result already carries them)")
        for attr in ("fleet", "latency", "mfu"):  # on the class first: `latency` is a pint view made on access
            if not (hasattr(type(performance), attr) or hasattr(performance, attr)):
                raise ConfigError(f"{what}: performance must be a DistributedModel result (with .fleet, .latency "
                                  f".mfu), got {type(performance).__name__}")
        seconds = getattr(performance, "time_to_train_s", None)  # the float behind .latency (no pint needed)
        duration_s = si(performance.latency if seconds is None else seconds, "s", "performance.latency")
        fleet = performance.fleet
        mfu = performance.mfu
        tokens = getattr(performance, "tokens", None)
    else:
        if fleet is None or duration_days is None:
            raise ConfigError(f"{what}: give performance=<DistributedModel result>, or fleet=... and "
                              f"duration_days=...")
        days = si(duration_days, "day", "duration_days")
        if days > MAX_DURATION_DAYS:
            raise ConfigError(f"duration_days={days:.4g} is beyond any run ({MAX_DURATION_DAYS:,} days = 100 years "
                              f"at most); give the run's length in days, e.g. duration_days=30")
        duration_s = days * PP.SECONDS_PER_DAY
        tokens = None
    fleet = resolve_fleet(fleet)
    if mfu is not None:
        mfu = si(mfu, "", "mfu")
        if mfu > 1:
            raise ConfigError(f"mfu must be a fraction in (0, 1], got {mfu} (did you pass a percentage? "
                              f"use {mfu / 100:g})")
    if tokens is not None:
        tokens = si(tokens, "", "tokens")
    return fleet, duration_s, mfu, tokens


class SustainabilityModel:
    """Energy, carbon and water of running `fleet` for a duration, or of a DistributedModel result.

    Power per accelerator follows utilisation (physics.power.accelerator_power_w, fitted to OLMo 3's measured
    H100 averages), or the chip's published measured system power where the registry has one; plus host power
    per node and scale-out switch power, then the datacenter's PUE. Carbon: location-based (grid average),
    market-based (GHG Protocol Scope 2: contractual instruments, else residual mix), hourly-CFE-adjusted where the
    operator publishes a CFE share, and embodied carbon amortised over the service life.

        sust = SustainabilityModel().solve(performance=perf, datacenter="GCP_Iowa")
    """

    def regions(self, performance=None, facility=None, grids=None, *, fleet=None, duration_days=None, mfu=None,
                **unexpected):
        """The same run at one facility on several grids (the tutorial's geography table); see
        mlsysim.solvers.regions.regions."""
        if unexpected:
            raise unexpected_keywords(self.regions, unexpected)
        from .regions import regions
        return regions(performance, facility, grids, fleet=fleet, duration_days=duration_days, mfu=mfu)

    def solve(self, fleet=None, duration_days=None, mfu=None, datacenter=None, *, performance=None,
              pue=None, service_life_years=None, **unexpected) -> SustainabilityResult:
        """`duration_days`: number of days or a pint time; `mfu` in (0, 1] (default DEFAULT_TRAINING_MFU);
        `pue` overrides the datacenter's; `service_life_years` (default 4) amortises embodied carbon."""
        if unexpected:
            raise unexpected_keywords(self.solve, unexpected)
        fleet, duration_s, mfu, tokens = run_inputs(performance, fleet, duration_days, mfu, "SustainabilityModel")
        dc = resolve_datacenter(datacenter)
        assumptions = {}
        if mfu is None:
            mfu = DEFAULT_TRAINING_MFU
            assumptions["MFU"] = f"{mfu} assumed (none given): typical large-scale training (Llama 3, PaLM)"
        pue_used = dc.pue if pue is None else si(pue, "", "pue")
        if pue_used < 1:
            raise ConfigError(f"pue must be >= 1 (facility energy / IT energy), got {pue_used}")
        life_s = (PC.SERVICE_LIFE_S if service_life_years is None
                  else si(service_life_years, "year", "service_life_years") * PP.SECONDS_PER_YEAR)
        power, acc_w, more = fleet_power(fleet, mfu)
        assumptions.update(more)
        power, acc_w = _idle_share(power, acc_w, fleet, performance, duration_s, assumptions)
        it_w = sum(power.values())
        it_j = PP.energy_j(it_w, duration_s)
        fac_j = PP.facility_energy_j(it_j, pue_used)
        loc = PC.location_based_kg(fac_j, dc.grid.gco2_per_kwh)
        market = PC.market_based_kg(fac_j, dc.market_residual_gco2_per_kwh, dc.contractual_fraction)
        cfe_adj = PC.cfe_adjusted_kg(loc, dc.cfe_fraction) if dc.cfe_fraction else None
        acc, node = fleet.node.accelerator, fleet.node
        embodied = {
            "accelerators": PC.embodied_amortized_kg(fleet.total_accelerators * (acc.embodied_kgco2e or 0.0),
                                                     duration_s, life_s),
            "servers": PC.embodied_amortized_kg(fleet.count * (node.embodied_kgco2e or 0.0), duration_s, life_s),
        }
        onsite = PC.water_l(it_j, dc.wue_l_per_kwh)
        offsite = PC.water_l(0.0, 0.0, fac_j, dc.grid.water_l_per_kwh or 0.0)
        finite({"it_energy": it_j, "location": loc, "market": market, **embodied, "water": onsite + offsite},
               "SustainabilityModel")
        g = dc.grid
        assumptions.update({
            "PUE": f"{pue_used:g} ({'given' if pue is not None else dc.source or dc.name})",
            "grid intensity": f"{g.gco2_per_kwh:g} gCO2e/kWh, {g.basis or 'basis not stated'}, "
                              f"{g.year or 'year n/a'} ({g.source or g.name})",
            "market-based (GHG Protocol Scope 2)": (
                f"{dc.contractual_fraction:.0%} of energy covered by contractual instruments (RECs/PPAs, 0 g/kWh); "
                f"the rest at " + (f"the residual mix {dc.grid.residual_gco2_per_kwh:g} gCO2e/kWh"
                                   if dc.grid.residual_gco2_per_kwh is not None else
                                   "the grid average (no residual mix published; the Guidance's last tier)")),
            "hourly carbon-free energy share": (f"{dc.cfe_fraction:g} (carbon_cfe_adjusted = location x (1 - CFE))"
                                                if dc.cfe_fraction else "none published: no CFE-adjusted figure"),
            "embodied carbon per accelerator": (f"{acc.embodied_kgco2e:g} kgCO2e ({acc.embodied_source})"
                                                if acc.embodied_kgco2e is not None else "unknown: not counted"),
            "embodied carbon per server (excl. accelerators)": (
                f"{node.embodied_kgco2e:g} kgCO2e" if node.embodied_kgco2e is not None
                else "not given: not counted (per-accelerator figures such as Morrison et al.'s 463 kg/H100 "
                     "already spread the whole server over its GPUs)"),
            "service life for embodied carbon": f"{life_s / PP.SECONDS_PER_YEAR:g} years"
                                                + ("" if service_life_years is not None
                                                   else " (Morrison et al. 2025 Sec 4.1)"),
            "WUE on-site": f"{dc.wue_l_per_kwh:g} L/kWh of IT energy",
            "grid water": (f"{g.water_l_per_kwh:g} L/kWh" if g.water_l_per_kwh is not None
                           else "not sourced for this grid: off-site water not counted"),
            "carbon_footprint": "operational, location-based only (embodied in total_carbon)",
        })
        return SustainabilityResult(
            fleet=fleet, datacenter=dc, duration_s=duration_s, mfu=mfu, tokens=tokens, accelerator_w=acc_w,
            power_w=power, it_energy_j=it_j, facility_energy_j=fac_j, pue=pue_used, location_kg=loc,
            market_kg=market, embodied_kg=embodied, water_onsite_l=onsite, water_offsite_l=offsite,
            assumptions=assumptions, cfe_adjusted_kg=cfe_adj,
            feasible=carried_feasibility(performance, "SustainabilityModel"))


def _idle_share(power, acc_w, fleet, performance, duration_s, assumptions):
    """A goodput result's wall-clock time includes checkpoint writes and restarts with the accelerators near idle
    (GoodputResult.busy_s / idle_s): average the accelerators' power over busy and idle time, as the Monte Carlo
    does (hosts and switches draw throughout). Other results: unchanged."""
    busy_s, idle_s = getattr(performance, "busy_s", None), getattr(performance, "idle_s", None)
    acc = fleet.node.accelerator
    if busy_s is None or idle_s is None or not idle_s or acc.measured_system_w:
        return power, acc_w
    idle = accelerator_idle_w(acc)
    avg = (acc_w * busy_s + idle * idle_s) / duration_s
    assumptions["accelerator power while checkpointing/restarting"] = (
        f"idle {idle:g} W for {idle_s / 3600:,.4g} of {duration_s / 3600:,.4g} h: {acc_w:.0f} W busy -> "
        f"{avg:.0f} W average")
    return dict(power, accelerators=avg * fleet.total_accelerators), avg


def accelerator_idle_w(acc) -> float:
    """The accelerator's idle draw: its record's idle_w, else the documented share of TDP."""
    return acc.idle_w if acc.idle_w is not None else PP.default_idle_w(acc.tdp_w)


def scaleout_ports(fleet):
    """(NIC ports per node, scale-out switch ports): one port per NIC, non-blocking fat tree; one node needs none."""
    nics = max(1, round(fleet.node.nic_bw / fleet.fabric.port_bw))
    return nics, (PP.switch_ports(float(fleet.count * nics)) if fleet.count > 1 else 0.0)


def fleet_power(fleet, mfu: float):
    """Average IT power of a fleet at `mfu`, by part (W), the per-accelerator figure, and what was assumed."""
    node, acc, fabric = fleet.node, fleet.node.accelerator, fleet.fabric
    n_per = node.accelerators_per_node
    idle = accelerator_idle_w(acc)
    if node.host_power_w is not None:
        host, host_src = node.host_power_w, f"{node.host_power_w:g} W per node (Node.host_power_w: {node.name})"
    elif node.max_power_w is not None:
        host = PP.host_power_from_max_w(node.max_power_w, n_per, acc.tdp_w)
        host_src = (f"{host:.0f} W per node = {PP.HOST_LOAD_FRACTION} x (max {node.max_power_w:g} W - "
                    f"{n_per} x {acc.tdp_w:g} W TDP) (assumption, physics.power.HOST_LOAD_FRACTION)")
    else:
        host = PP.HOST_W_PER_ACCELERATOR * n_per
        host_src = (f"{host:.0f} W per node = {PP.HOST_W_PER_ACCELERATOR:g} W per accelerator "
                    f"(assumption: node gives neither host_power_w nor max_power_w)")
    nics, ports = scaleout_ports(fleet)
    measured = acc.measured_system_w or 0.0
    power = PP.fleet_power_w(mfu, fleet.total_accelerators, acc.tdp_w, idle, fleet.count, host, ports,
                             fabric.switch_w_per_port, measured)
    power = {k: float(v) for k, v in power.items()}
    acc_w = power["accelerators"] / fleet.total_accelerators
    if measured:
        acc_src = (f"{measured:g} W per chip: measured average system power incl. host share "
                   f"({acc.name} record; source: {acc.source or 'registry'}); host not added")
    else:
        acc_src = (f"{acc_w:.0f} W = idle {idle:g} W + (TDP {acc.tdp_w:g} W - idle) x (1 - exp(-mfu/"
                   f"{PP.POWER_TAU_MFU})) (fit to OLMo 3 measured H100 averages; Morrison et al. 2025)")
    more = {"accelerator power": acc_src}
    if not measured:
        more["host power"] = host_src
    more["network power"] = (f"{ports:g} switch ports ({nics} NIC ports/node, non-blocking fat tree of radix "
                             f"{PP.SWITCH_RADIX:g}) x {fabric.switch_w_per_port:g} W/port"
                             + ("" if fabric.switch_w_per_port else
                                f" (Fabric {fabric.name} gives no switch power: not counted)"))
    return power, acc_w, more
