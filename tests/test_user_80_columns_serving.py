"""A user's terminal at 80 columns: the serving plan's summary and ranking fit (they ran to 100 columns)."""
from __future__ import annotations

import pytest


def test_a_long_value_wraps_under_itself():
    from mlsysim.solvers._common import text_table
    value = "Poisson, 1000 QPS split equally over 2 region(s)"          # 48 characters
    label = "gCO2e per request (location + embodied / market)"          # 48 characters
    lines = text_table("t", [(label, "x"), ("traffic", value)]).splitlines()
    # the value column starts at 2 + 48 + 2 = 52, leaving 80 - 52 = 28 columns: 48 characters need two lines
    assert len(lines) == 1 + 1 + 2 and all(len(x) <= 80 for x in lines)
    assert lines[3].startswith(" " * 52) and not lines[3][52].isspace()
    assert " ".join(x[52:] for x in lines[2:]) == value


def test_serve_plan_fits_80_columns():
    pytest.importorskip("typer")
    from typer.testing import CliRunner
    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, ["serve-plan", "--model", "Llama3_70B", "--qps", "1000", "--ttft-slo-ms", "100",
                                 "-d", "US_East_Virginia", "-d", "EU_West_Ireland", "-a", "MI300X", "-a", "B200"],
                           env={"COLUMNS": "80"})
    assert r.exit_code == 0, r.stdout
    wide = [x for x in r.stdout.splitlines() if len(x) > 80]
    assert not wide, wide
    # the five ranking rows are still there, one per line, with the accelerator named first
    ranking = [x for x in r.stdout.splitlines() if " GPUs  p99 TTFT " in x]
    assert len(ranking) == 5 and all(x.split()[0] in ("MI300X", "B200") for x in ranking)
