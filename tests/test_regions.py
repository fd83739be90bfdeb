"""The tutorial's geography table as one call and one CLI verb: only the grid changes (41x), the facility effect
beside it; rendered at 80 columns."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mlsysim.errors import ConfigError
from mlsysim.solvers.sustainability import SustainabilityModel

sys.path.insert(0, str(Path(__file__).parent))
from test_sustainability import make_dc, make_fleet  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"


def test_only_the_grid_changes_41x_and_the_facility_effect():
    """The hand-worked run of test_sustainability (60,277.1 kWh of IT energy in 10 days) at a PUE-1.2 facility:
    72,332.5 kWh x 20 g = 1.4467 t (Quebec) ... x 820 g = 59.313 t (Poland): 41x, the tutorial's ratio.
    Poland's own site (Poland_Colo: PUE 1.56, $0.17/kWh): 60,277.1 x 1.56 = 94,032.3 kWh x 820 g = 77.106 t,
    and 94,032.3 x 0.17 = $15,985.5 of electricity; facility effect 1.56 / 1.2 = 1.3."""
    t = SustainabilityModel().regions(fleet=make_fleet(), duration_days=10, mfu=0.4, facility=make_dc(pue=1.2))
    rows = {r.label: r for r in t.rows}
    assert list(rows) == ["Quebec_Hydro", "Nordic_Sweden", "US_Colo", "Poland_Colo"]  # the tutorial's four
    assert rows["Quebec_Hydro"].carbon_t == pytest.approx(1.4467, rel=1e-4)
    assert rows["Poland_Colo"].carbon_t == pytest.approx(59.313, rel=1e-4)
    assert t.ratio == pytest.approx(41.0)
    assert rows["Poland_Colo"].site_carbon_t == pytest.approx(77.106, rel=1e-4)
    assert rows["Poland_Colo"].site_energy_usd == pytest.approx(15_985.5, rel=1e-4)
    assert rows["Poland_Colo"].facility_effect == pytest.approx(1.56 / 1.2)
    # comparing the two registry sites directly mixes in their PUEs: 820 x 1.56 / (20 x 1.2) = 53.3x, not 41x
    assert rows["Poland_Colo"].site_carbon_t / rows["Quebec_Hydro"].site_carbon_t == pytest.approx(53.3, rel=1e-3)


def test_grids_countries_and_years_and_bad_input():
    import mlsysim
    t = mlsysim.regions(facility=make_dc(pue=1.0), fleet=make_fleet(), duration_days=10, mfu=0.4,
                        grids=["Quebec", "PL", "PL@2022"])
    kwh = 60_277.1  # PUE 1.0
    got = [r.carbon_t for r in t.rows]
    # Quebec 20 (tutorial); PL 614.98 (Ember 2024); PL@2022 876 (Electricity Maps 2022)
    assert got == pytest.approx([kwh * 20 / 1e6, kwh * 614.98 / 1e6, kwh * 876 / 1e6], rel=1e-5)
    assert all(r.site is None for r in t.rows)
    with pytest.raises(ConfigError, match="facility"):
        mlsysim.regions(fleet=make_fleet(), duration_days=1)
    with pytest.raises(ConfigError, match="empty"):
        mlsysim.regions(facility=make_dc(), fleet=make_fleet(), duration_days=1, grids=[])


def test_table_fits_80_columns():
    t = SustainabilityModel().regions(fleet=make_fleet(), duration_days=10, mfu=0.4, facility=make_dc(),
                                      grids=["Quebec_Hydro", "Poland_Colo", "gcp:us-central1", "aws:us-east-1"])
    text = t.table(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "41x" in " ".join(text.splitlines()[:2])  # Quebec 20 and Poland 820 are the extremes of these four
    assert "Poland_Colo" in text and "1.56" in text and "820" in text
    assert "grid bases differ" in text  # tutorial constants vs lifecycle datasets vs Google's direct figures


# ------------------------------------------------------------------------------------------------ the CLI
typer = pytest.importorskip("typer")
pytest.importorskip("yaml")


def run(*args):
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "80"})
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


def test_cli_regions_at_80_columns():
    r = run("regions", GOLDEN)
    assert r.exit_code == 0, r.stdout
    lines = r.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "41x" in r.stdout  # Quebec 20 vs Poland 820 at the scenario's own facility
    for name in ("Quebec_Hydro", "Nordic_Sweden", "US_Colo", "Poland_Colo"):
        assert any(line.strip().startswith(name) for line in lines)


def test_cli_regions_json_and_grid_option():
    r = run("regions", GOLDEN, "--grid", "Quebec,Poland", "-g", "PL@2022", "--json")
    assert r.exit_code == 0
    d = json.loads(r.stdout)
    assert d["command"] == "regions" and d["exit_code"] == 0
    assert [x["region"] for x in d["regions"]] == ["Quebec", "Poland", "PL@2022"]
    assert d["ratio_dirtiest_to_cleanest"] == pytest.approx(876 / 20)
    assert d["regions"][1]["x_cleanest"] == pytest.approx(41.0)
    bad = run("regions", GOLDEN, "--grid", "Plland")
    assert bad.exit_code == 2 and "Poland" in bad.stderr


def test_cli_regions_plot(tmp_path):
    pytest.importorskip("matplotlib")
    r = run("regions", GOLDEN, "--plots", tmp_path, "--json")
    assert r.exit_code == 0, r.stdout
    png = tmp_path / "regions.png"
    assert json.loads(r.stdout)["plots"]["regions"] == str(png) and png.read_bytes()[:4] == b"\x89PNG"
