"""Grid coverage from open datasets (data/grids.csv): every country, zones and cloud regions, each value with its
dataset, year, basis and licence; a data year can be picked; the tutorial's four constants are untouched."""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import tarfile
from importlib import resources
from pathlib import Path

import pytest

from mlsysim import Infrastructure
from mlsysim.errors import ConfigError, UnknownNameError
from mlsysim.infrastructure import grids as G

ROOT = Path(__file__).resolve().parents[1]


def rows():
    text = resources.files("mlsysim.data").joinpath("grids.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#")))


def test_every_value_has_dataset_year_basis_and_the_file_its_licences():
    rs = rows()
    for r in rs:
        assert r["dataset"] in G.DATASETS and r["year"].isdigit() and r["basis"].startswith(("lifecycle", "direct"))
        assert float(r["gco2_per_kwh"]) >= 0
    head = resources.files("mlsysim.data").joinpath("grids.csv").read_text(encoding="utf-8")[:2000]
    for must in ("CC BY 4.0", "ODbL", "Ember", "Electricity Maps", "tools/grids_from_co2js.py"):
        assert must in head
    # coverage: ~200 countries (Ember), 5 years of ~350 Electricity Maps zones, Google Cloud regions
    countries = {r["code"] for r in rs if r["dataset"] == "ember" and r["iso2"]}
    assert len(countries) >= 200
    em_years = {int(r["year"]) for r in rs if r["dataset"] == "electricitymaps"}
    assert em_years == {2021, 2022, 2023, 2024, 2025}
    assert len({r["code"] for r in rs if r["dataset"] == "electricitymaps" and r["code"].startswith("US-")}) >= 50
    assert len({r["code"] for r in rs if r["dataset"] == "google"}) >= 20


def test_published_values_and_year_choice():
    # shared/validation/grid_intensity.csv: Ember 2024 Poland 614.98, Sweden 35.89; Electricity Maps PL 2022
    # 876 / 2023 726 / 2024 581, SE 2024 23, CA-QC 2022 28; Google us-central1 2022 460 g/kWh with CFE 92 %.
    assert Infrastructure.Grids["PL"].gco2_per_kwh == 614.98
    assert Infrastructure.Grids["Poland"].gco2_per_kwh == 820  # the tutorial's constant wins its own key
    assert Infrastructure.Grids["POL"].gco2_per_kwh == 614.98 and Infrastructure.Grids.SE.gco2_per_kwh == 35.89
    assert [G.grid("PL", y).gco2_per_kwh for y in (2022, 2023, 2024)] == [876, 726, 614.98]  # 2024: Ember
    assert G.grid("em:PL", 2024).gco2_per_kwh == 581 and G.grid("em:SE", 2024).gco2_per_kwh == 23
    assert Infrastructure.Grids["CA-QC@2022"].gco2_per_kwh == 28
    g = Infrastructure.Grids["gcp:us-central1@2022"]
    assert g.gco2_per_kwh == 460 and "92 %" in g.notes and g.basis.startswith("direct") and g.year == 2022
    assert G.years("PL") == [2021, 2022, 2023, 2024, 2025]
    aws = G.grid("aws:us-east-1", 2024)
    assert aws.gco2_per_kwh == G.grid("US-MIDA-PJM", 2024).gco2_per_kwh and "N. Virginia" in aws.name
    for zone, _ in G.CLOUD_ZONES.values():  # every mapped cloud region has its zone in the data
        G.grid(zone)


def test_tutorial_constants_unchanged():
    assert [Infrastructure.Grids[k].gco2_per_kwh for k in ("Quebec", "Sweden", "US_Average", "Poland")] == \
        [20, 25, 390, 820]


def test_bad_names_and_years():
    with pytest.raises(UnknownNameError, match="Poland"):
        G.grid("Plland")
    with pytest.raises(ConfigError, match="2021"):
        G.grid("PL", 2019)
    with pytest.raises(ConfigError, match="digits"):
        Infrastructure.Grids["PL@last"]
    with pytest.raises(UnknownNameError):
        G.grid("aws:mars-north-1")
    assert "PL@2022" in Infrastructure.Grids and "Atlantis" not in Infrastructure.Grids


def test_scenario_accepts_a_country_grid():
    from mlsysim.scenario import from_dict
    sc = from_dict({"workload": {"model": "Llama3_8B"}, "system": {"cluster": "Small_64"},
                    "datacenter": {"name": "US_Colo", "grid": "PL@2022"}})
    assert sc.datacenter.grid.gco2_per_kwh == 876


def test_extraction_script_on_a_miniature_package(tmp_path):
    """The tool reads co2.js's JS data modules (JSON literals with JS \\x escapes) and writes the CSV."""
    spec = importlib.util.spec_from_file_location("grids_tool", ROOT / "tools" / "grids_from_co2js.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tgz = tmp_path / "co2.tgz"
    files = {"average-intensities.min.js": 'const data = { "POL": 614.98, "WORLD": 472.94 };\nconst type = 1;\n'}
    zone = ('{ "AX": { "zone": { "zoneName": "\\xC5land Islands" }, "carbonIntensity": { "value": 33 }, '
            '"carbonFreeEnergy": { "value": 98 } } }')  # as in co2.js: a JS \xC5 escape, not valid JSON
    for y in tool.EM_YEARS:
        files[f"electricity-maps/yearly_{y}.js"] = "const data = " + zone + ";\nconst m = 1;\n"
    with tarfile.open(tgz, "w:gz") as tar:
        for name, text in files.items():
            blob = text.encode()
            info = tarfile.TarInfo(f"package/dist/esm/data/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    iso = tmp_path / "iso.json"
    iso.write_text(json.dumps({"3166-1": [{"alpha_2": "PL", "alpha_3": "POL", "name": "Poland"}]}))
    out = tmp_path / "grids.csv"
    tool.write(tool.rows_from_tarball(tgz, iso), out)
    got = list(csv.DictReader(line for line in out.read_text(encoding="utf-8").splitlines() if line[0] != "#"))
    assert len(got) == 2 + 5
    pol = [r for r in got if r["code"] == "POL"][0]
    assert pol["iso2"] == "PL" and pol["name"] == "Poland" and pol["year"] == "2024" and pol["basis"]
    ax = [r for r in got if r["code"] == "AX"]
    assert [r["year"] for r in ax] == ["2021", "2022", "2023", "2024", "2025"] and ax[0]["name"] == "Åland Islands"
