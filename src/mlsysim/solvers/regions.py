"""The tutorial's geography table as one call: this run, this facility, these grids.

    >>> from mlsysim import Systems, SustainabilityModel
    >>> t = SustainabilityModel().regions(fleet=Systems.Clusters.Research_256, duration_days=30,
    ...                                   facility="US_Colo", grids=["Quebec", "Poland"])
    >>> round(t.ratio)        # only the grid changes: 820 / 20 gCO2/kWh
    41

Each grid is tried at the SAME facility (its PUE, the same energy), so the carbon ratio is the grid ratio alone
(Quebec 20 vs Poland 820 gCO2/kWh: 41x). Where a region is given as a datacenter, its own site (PUE, WUE,
electricity price) is shown beside it: the facility effect, a column of its own.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..errors import ConfigError, unexpected_keywords
from ..physics import power as PP

# The tutorial's four regions (module 3, "Geography is the Biggest Lever"), as the registry's sites on them.
TUTORIAL_REGIONS = ("Quebec_Hydro", "Nordic_Sweden", "US_Colo", "Poland_Colo")


@dataclass(frozen=True)
class RegionRow:
    """One grid: the run's carbon at the chosen facility, and at the region's own site where one is given."""

    label: str
    grid: object
    carbon_t: float            # location-based, at the chosen facility (only the grid differs)
    energy_mwh: float
    site: object | None = None
    site_carbon_t: float | None = None
    site_water_m3: float | None = None
    site_energy_usd: float | None = None

    @property
    def facility_effect(self) -> float | None:
        """Carbon at the region's own site / at the chosen facility (its PUE against the facility's)."""
        return None if self.site_carbon_t is None or not self.carbon_t else self.site_carbon_t / self.carbon_t


@dataclass(frozen=True)
class RegionsResult:
    """The same run on several grids. `ratio` = dirtiest / cleanest carbon at the same facility."""

    facility: object
    energy_mwh: float
    rows: tuple
    feasible: bool = True      # False when the run is an infeasible plan: every row carries the mark

    @property
    def ratio(self) -> float | None:
        """None when the cleanest grid emits nothing (a 0 gCO2e/kWh grid): no finite ratio."""
        vals = [r.carbon_t for r in self.rows]
        lo = min(vals)
        return max(vals) / lo if lo > 0 else None

    def _ratio_text(self) -> str:
        return f"{self.ratio:.0f}x dirtiest/cleanest" if self.ratio is not None else \
            "the cleanest emits nothing (no finite ratio)"

    def to_rows(self) -> list[dict]:
        """Plain rows (for JSON and the carbon_by_region chart)."""
        out, lo = [], min(x.carbon_t for x in self.rows)
        for r in self.rows:
            g = r.grid
            out.append({"region": r.label, "grid": g.name, "grid_key": g.key or None, "gco2_per_kwh": g.gco2_per_kwh,
                        "basis": g.basis, "year": g.year, "carbon_t": r.carbon_t,
                        "x_cleanest": r.carbon_t / lo if lo > 0 else None,
                        "site": r.site.name if r.site else None, "site_pue": r.site.pue if r.site else None,
                        "site_carbon_t": r.site_carbon_t, "facility_effect": r.facility_effect,
                        "site_water_m3": r.site_water_m3, "site_energy_usd": r.site_energy_usd})
        return out

    def table(self, width: int = 80) -> str:
        """A text table that fits `width` columns (>= 60): region, grid, carbon here and x cleanest; then each
        region's own site: PUE, carbon there, water and energy cost."""
        f = self.facility
        from ._common import format_number  # three significant digits: a short run's 0.136 MWh read "0 MWh"
        head = (f"Same run at {f.name} (PUE {f.pue:g}, {format_number(float(self.energy_mwh), 3)} MWh): only the "
                f"grid changes -> {self._ratio_text()}")
        cols = [("g/kWh", 6), ("t CO2e", 8), ("x", 5), ("site PUE", 9), ("site t", 8), ("water m3", 9),
                ("energy $", 9)]
        name_w = max(12, width - sum(w + 1 for _, w in cols) - 2)
        lo = min(r.carbon_t for r in self.rows)
        mark = [] if self.feasible else _wrap("INFEASIBLE: built from a layout that does not fit in memory; "
                                              "these are the numbers of a plan that cannot run", width)
        lines = mark + _wrap(head, width) + ["  " + "region".ljust(name_w) + "".join(f" {c:>{w}}" for c, w in cols)]
        for r in self.rows:
            site = [f"{r.site.pue:g}", _num(r.site_carbon_t), _num(r.site_water_m3), _num(r.site_energy_usd)] \
                if r.site else ["-", "-", "-", "-"]
            vals = [f"{r.grid.gco2_per_kwh:g}", _num(r.carbon_t), f"{r.carbon_t / lo:.1f}" if lo > 0 else "-"] + site
            label = r.label if len(r.label) <= name_w else r.label[:name_w - 1] + "~"
            lines.append("  " + label.ljust(name_w) + "".join(f" {v:>{w}}" for v, (_, w) in zip(vals, cols)))
        lines += _wrap("t CO2e and x: location-based carbon at the facility above (same PUE, same energy). site: "
                       "the region's own datacenter (its PUE, WUE and electricity price), the facility effect.",
                       width)
        bases = sorted({r.grid.basis or "basis not stated" for r in self.rows})
        if len(bases) > 1:
            lines += _wrap("grid bases differ: " + "; ".join(bases), width)
        return "\n".join(lines)

    __str__ = table

    def _repr_html_(self):
        import html
        return "<pre>" + html.escape(self.table(100)) + "</pre>"

    def figure(self):
        """The carbon_by_region bar chart of these rows (needs matplotlib)."""
        from ..report.plots import carbon_by_region
        rows = sorted(self.to_rows(), key=lambda r: r["carbon_t"])
        for r in rows:
            r["grid_key"] = r["region"]
        return carbon_by_region(rows, title=f"Same run at {self.facility.name}: only the grid changes, "
                                            f"{self._ratio_text()}", infeasible=not self.feasible)


def _num(v) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _wrap(text: str, width: int) -> list[str]:
    import textwrap
    return textwrap.wrap(text, width=width, initial_indent="", subsequent_indent="  ")


def _region(item):
    """(label, grid, site or None) from a Grid, a Datacenter, or a registry name (datacenter, then grid)."""
    from ..infrastructure.registry import Infrastructure
    from ..infrastructure.site import Datacenter, Grid
    if isinstance(item, Datacenter):
        return item.key or item.name, item.grid, item
    if isinstance(item, Grid):
        return item.key or item.name, item, None
    if not isinstance(item, str):
        raise ConfigError(f"grids: give grid or datacenter names (e.g. 'Poland', 'PL@2022', 'Quebec_Hydro') or "
                          f"records, got {item!r}")
    if item in Infrastructure.Datacenters:
        dc = Infrastructure.Datacenters[item]
        return item, dc.grid, dc
    return item, Infrastructure.Grids[item], None


def regions(performance=None, facility=None, grids=None, *, fleet=None, duration_days=None, mfu=None, **unexpected):
    """The same run at one facility on each grid (default: the tutorial's four regions). `facility` (required):
    the Datacenter, or its name, whose PUE every grid is tried at. `grids`: grid or datacenter names (countries,
    zones and cloud regions too: 'PL', 'PL@2022', 'gcp:us-central1') or Grid / Datacenter records; a datacenter
    also gives its own site's column. The run: `performance=` (a solver result) or fleet + duration_days (+ mfu)."""
    if unexpected:  # a misspelt keyword was a TypeError
        raise unexpected_keywords(regions, unexpected)
    from .sustainability import SustainabilityModel, resolve_datacenter
    if facility is None:
        raise ConfigError("regions needs facility=, the datacenter whose PUE every grid is tried at, e.g. "
                          "facility='US_Colo' (the tutorial's US average site)")
    fac = resolve_datacenter(facility)
    if isinstance(grids, str):  # one name, or "Quebec,Poland" as on the CLI (a string iterated letter by letter)
        grids = [g.strip() for g in grids.split(",") if g.strip()]
    items = list(TUTORIAL_REGIONS if grids is None else grids)
    # a name given twice is one row (as on the CLI); records are kept as given
    items = [x for i, x in enumerate(items) if not isinstance(x, str) or x not in items[:i]]
    if not items:
        raise ConfigError("grids is empty: give at least one grid or datacenter name")
    solve = SustainabilityModel().solve
    kw = dict(performance=performance, fleet=fleet, duration_days=duration_days, mfu=mfu)
    rows, feasible = [], True
    for item in items:
        label, grid, site = _region(item)
        here = solve(datacenter=dataclasses.replace(fac, grid=grid, name=f"{fac.name} on {grid.name}"), **kw)
        feasible = feasible and here.feasible
        row = dict(label=label, grid=grid, carbon_t=here.location_kg / 1e3,
                   energy_mwh=here.facility_energy_j / PP.J_PER_KWH / 1e3)
        if site is not None:
            there = solve(datacenter=site, **kw)
            row.update(site=site, site_carbon_t=there.location_kg / 1e3,
                       site_water_m3=(there.water_onsite_l + there.water_offsite_l) / 1e3,
                       site_energy_usd=there.facility_energy_j / PP.J_PER_KWH * site.electricity_usd_per_kwh)
        rows.append(RegionRow(**row))
    return RegionsResult(facility=fac, energy_mwh=rows[0].energy_mwh, rows=tuple(rows), feasible=feasible)
