"""Every country, grid zone and cloud region as a Grid: yearly averages from open datasets (data/grids.csv, made
by tools/grids_from_co2js.py from the co2.js package: Ember, Electricity Maps, Google Cloud region data).

    >>> from mlsysim.infrastructure.grids import grid
    >>> grid("PL").gco2_per_kwh, grid("PL", year=2022).gco2_per_kwh   # Ember (latest) / Electricity Maps 2022
    (614.98, 876.0)

Names: an ISO 3166 code ("PL", "POL") or a country name ("Poland") -> Ember, or Electricity Maps where a year is
asked that Ember does not have; an Electricity Maps zone ("US-MIDA-PJM", "CA-QC", "SE-SE3"); a Google Cloud region
("gcp:us-central1"); an AWS or Azure region mapped to its grid zone ("aws:us-east-1"). A dataset can be forced with
a prefix ("ember:", "electricitymaps:" or "em:"). In the registry: Infrastructure.Grids["PL@2022"].
The file is read on first use and cached.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources

from ..errors import ConfigError, unknown
from .site import Grid

DATASETS = {
    "ember": "Ember Yearly Electricity Data (CC BY 4.0; republished by co2.js 0.19.0 under CC BY-SA 4.0)",
    "electricitymaps": "Electricity Maps yearly zone averages (ODbL; via co2.js 0.19.0)",
    "google": "Google Cloud region carbon data, github.com/GoogleCloudPlatform/region-carbon-info (CC BY 4.0)",
}
# an unknown grid name's message lists the curated entries; it must also say what else resolves
CODES_HINT = ("or any country, zone or cloud region, optionally @YEAR (PL, PL@2022, US-MIDA-PJM, gcp:us-central1, "
              "aws:us-east-1)")
_PREFIX = {"ember": "ember", "electricitymaps": "electricitymaps", "em": "electricitymaps", "gcp": "google"}

# Cloud regions of AWS and Azure -> the Electricity Maps zone of the grid they draw from. Locations from each
# provider's public region list (AWS "Regions and Availability Zones", Azure "Azure geographies", 2024); the
# zone is the balancing authority / bidding zone of that location (assumption where a metro spans several).
CLOUD_ZONES = {
    "aws:us-east-1": ("US-MIDA-PJM", "N. Virginia"), "aws:us-east-2": ("US-MIDA-PJM", "Ohio"),
    "aws:us-west-1": ("US-CAL-CISO", "N. California"), "aws:us-west-2": ("US-NW-BPAT", "Oregon"),
    "aws:ca-central-1": ("CA-QC", "Montreal"), "aws:eu-west-1": ("IE", "Ireland"),
    "aws:eu-west-2": ("GB", "London"), "aws:eu-west-3": ("FR", "Paris"),
    "aws:eu-central-1": ("DE", "Frankfurt"), "aws:eu-north-1": ("SE-SE3", "Stockholm"),
    "aws:ap-northeast-1": ("JP-TK", "Tokyo"), "aws:ap-southeast-1": ("SG", "Singapore"),
    "aws:ap-southeast-2": ("AU-NSW", "Sydney"), "aws:ap-south-1": ("IN-WE", "Mumbai"),
    "aws:sa-east-1": ("BR-CS", "Sao Paulo"),
    "azure:eastus": ("US-MIDA-PJM", "Virginia"), "azure:eastus2": ("US-MIDA-PJM", "Virginia"),
    "azure:westus2": ("US-NW-PACW", "Washington (Quincy)"), "azure:centralus": ("US-MIDW-MISO", "Iowa"),
    "azure:southcentralus": ("US-TEX-ERCO", "Texas"), "azure:northeurope": ("IE", "Ireland"),
    "azure:westeurope": ("NL", "Netherlands"), "azure:swedencentral": ("SE-SE3", "Gavle"),
    "azure:uksouth": ("GB", "London"), "azure:francecentral": ("FR", "Paris"),
    "azure:germanywestcentral": ("DE", "Frankfurt"), "azure:japaneast": ("JP-TK", "Tokyo"),
    "azure:southeastasia": ("SG", "Singapore"), "azure:australiaeast": ("AU-NSW", "New South Wales"),
    "azure:centralindia": ("IN-WE", "Pune"), "azure:canadacentral": ("CA-ON", "Toronto"),
}


@lru_cache(maxsize=1)
def _table():
    """{(dataset, CODE): {year: row}} and {lower-case name or code: (iso2, iso3)} from data/grids.csv."""
    rows: dict = {}
    alias: dict = {}
    with resources.files("mlsysim.data").joinpath("grids.csv").open(encoding="utf-8") as fh:
        reader = csv.reader(line for line in fh if line[0] != "#")
        cols = next(reader)
        for values in reader:
            r = dict(zip(cols, values))
            rows.setdefault((r["dataset"], r["code"].upper()), {})[int(r["year"])] = r
            if r["dataset"] == "ember" and r["iso2"]:
                for k in (r["code"], r["iso2"], r["name"]):
                    alias[k.lower()] = (r["iso2"].upper(), r["code"].upper())
    return rows, alias


def _pick(by_year: dict, year, label):
    if year is None:
        return by_year[max(by_year)]
    if year not in by_year:
        raise ConfigError(f"grid {label}: no {year} value; years available: {sorted(by_year)}")
    return by_year[year]


def _resolve(name: str, year):
    rows, alias = _table()
    prefix, sep, rest = name.partition(":")
    if sep and prefix.lower() in ("aws", "azure"):
        if name.lower() not in CLOUD_ZONES:
            raise unknown("cloud region", name, CLOUD_ZONES)
        zone, where = CLOUD_ZONES[name.lower()]
        r = _pick(rows[("electricitymaps", zone)], year, name)
        return r, f"{name} ({where}) on zone {zone}"
    if sep and prefix.lower() in _PREFIX:
        ds, code = _PREFIX[prefix.lower()], rest
        if ds == "google":
            code = name
    else:
        ds, code = None, name
    iso2, iso3 = alias.get(code.lower(), (None, None))
    if ds is None:  # a country: Ember unless the year asked for is only in Electricity Maps
        if iso3 and (year is None or year in rows[("ember", iso3)]):
            ds, code = "ember", iso3
        else:
            ds, code = "electricitymaps", iso2 or code
    elif ds == "ember":
        code = iso3 or code
    elif ds == "electricitymaps":
        code = iso2 or code
    key = (ds, code.upper())
    if key not in rows:
        raise KeyError(name)
    return _pick(rows[key], year, name), None


def grid(name: str, year: int | None = None) -> Grid:
    """A Grid for a country, zone or cloud region (see the module docstring); `year` picks the data year (default:
    the latest the dataset has). Unknown names raise UnknownNameError with close matches."""
    if year is not None and not isinstance(year, int):
        raise ConfigError(f"year must be an integer such as 2023, got {year!r}")
    try:
        r, label = _resolve(name, year)
    except KeyError:
        rows, alias = _table()
        names = {r["name"] for by_year in rows.values() for r in by_year.values() if r["dataset"] == "ember"}
        raise unknown("grid (country, zone or cloud region)", name,
                      sorted({c for _, c in rows} | set(CLOUD_ZONES) | names)) from None
    ds = r["dataset"]
    region = label or (r["name"] if r["name"] == r["country"] or not r["country"] else f"{r['name']}, {r['country']}")
    share = r["carbon_free_pct"]
    notes = ("" if share == "" else
             f"{'hourly CFE (Google)' if ds == 'google' else 'carbon-free share of the grid'}: {share} %")
    return Grid(name=f"{region} ({ds.replace('electricitymaps', 'Electricity Maps').title()} {r['year']})",
                gco2_per_kwh=float(r["gco2_per_kwh"]), country=r["country"], basis=r["basis"], year=int(r["year"]),
                source=f"{DATASETS[ds]}: {r['code']} {r['year']}", notes=notes, key=f"{name}@{r['year']}")


def lookup(key: str) -> Grid:
    """Registry form: 'PL', 'PL@2022', 'gcp:us-central1@2024', 'aws:us-east-1'."""
    name, _, year = key.partition("@")
    if year and not year.isdigit():
        raise ConfigError(f"grid {key!r}: write the year after '@' as digits, e.g. PL@2022")
    return grid(name, int(year) if year else None)


def years(name: str) -> list[int]:
    """The data years available for a name, over the datasets it resolves to (a country: Ember's latest and
    Electricity Maps' years)."""
    rows, alias = _table()
    out = set()
    for ds in (None, "electricitymaps"):
        try:
            r, _ = _resolve(name if ds is None else f"em:{name}", None)
        except KeyError:
            continue
        out |= set(rows[(r["dataset"], r["code"].upper())])
    if not out:
        grid(name)  # raises the unknown-name error with suggestions
    return sorted(out)
