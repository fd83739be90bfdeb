"""What a user reads at 80 columns: every zoo table fits and shows every key whole, the optimize summary and
a serving result's title wrap with an indent, and `zoo` finds the dataset grids the Python API takes."""
from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402


def run_at(width, *args):
    r = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(width)})
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


@pytest.mark.parametrize("width", [80, 160])
def test_every_zoo_table_fits_and_shows_whole_keys(width):
    r = run_at(width, "zoo")
    assert r.exit_code == 0
    assert all(len(line) <= width for line in r.stdout.splitlines())
    keys = [e["key"] for e in json.loads(run_at(160, "zoo", "--json").stdout)["entries"]]
    # a key is what a user types back (`mlsysim zoo KEY`): it is never cut with an ellipsis
    shown = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    assert not [k for k in keys if k not in shown]
    # the Models table keeps its year column (it was cut to "20…" at 80 columns)
    assert re.search(r"^Llama3_70B\s.*\s2024(\s|$)", r.stdout, re.M)


def test_zoo_shows_a_dataset_grid_in_full():
    # Electricity Maps' 2022 yearly average for Poland: 876 gCO2e/kWh (the grids.py doctest gives the same)
    d = json.loads(run_at(160, "zoo", "PL@2022", "--json").stdout)
    (e,) = d["entries"]
    assert e["key"] == "PL@2022" and e["gco2_per_kwh"] == 876.0
    text = run_at(80, "zoo", "PL@2022").stdout
    assert "876 gCO2e/kWh" in text and all(len(line) <= 80 for line in text.splitlines())
    assert run_at(80, "zoo", "XX@2022").exit_code == 2


def test_a_wrapped_title_continues_indented():
    from mlsysim.solvers._common import text_table
    title = "Serving a model with a long name " * 4
    lines = text_table(title.strip(), [("traffic", "Poisson")]).splitlines()
    assert len(lines[0]) <= 80 and lines[1].startswith("    ") and lines[-1] == "  traffic  Poisson"
    assert " ".join(" ".join(lines[:-1]).split()) == title.strip()
