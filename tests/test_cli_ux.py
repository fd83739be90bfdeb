"""What a user sees in the terminal: optimize names its answer at 80 and 120 columns, the Pareto front keeps to
the scenario's constraints, zoo filters and sorts what it says, a closed pipe and an ASCII terminal are fine."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("typer")
pytest.importorskip("yaml")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llama3_70b_plan.yaml"


def run_at(width, *args):
    r = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(width)})
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


@pytest.fixture(scope="module")
def plan_json():
    r = run_at(160, "optimize", PLAN, "--json")
    assert r.exit_code == 0
    return json.loads(r.stdout)


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("objective", ["cost", "carbon"])
def test_optimize_names_the_winner_at_any_width(width, objective, plan_json):
    r = run_at(width, "optimize", PLAN, "--objective", objective)
    assert r.exit_code == 0, r.output
    text = r.stdout
    assert all(len(line) <= width for line in text.splitlines())
    assert "…" not in text  # nothing cut off
    d = json.loads(run_at(160, "optimize", PLAN, "--objective", objective, "--json").stdout)
    best = d["best"]
    flat = " ".join(text.split())  # the winner's lines may wrap
    assert f"TP{best['tp']} PP{best['pp']} DP{best['dp']}" in flat
    assert f"{best['time_to_train_days']:.1f} days" in flat
    assert f"MFU {best['mfu']:.1%}" in flat
    assert f"${best['cost_usd']:,.0f}" in flat
    assert f"{best['carbon_t']:,.1f} tCO2e" in flat
    # the region is named (the registry key a user types back, and its name)
    assert "Quebec_Hydro" in flat and best["datacenter"] in flat


def test_pareto_front_meets_the_deadline(plan_json):
    # the scenario's deadline is 60 days and its budget $3M: no plan on the front may break them
    front = plan_json["pareto"]["front"]
    assert front
    assert all(r["time_to_train_days"] <= 60 and r["cost_usd"] <= 3e6 for r in front)
    # the best plan by cost meets the constraints, so nothing on the front is both cheaper and as fast
    best = plan_json["best"]
    assert not any(r["cost_usd"] < best["cost_usd"] - 1e-6 and r["time_to_train_days"] <= best["time_to_train_days"]
                   for r in front)
    text = run_at(120, "optimize", PLAN).stdout
    days = [float(m) for m in re.findall(r"^\s+([\d.]+) d / ", text, re.M)]
    assert days and max(days) <= 60  # 78- and 156-day plans were listed before


@pytest.mark.parametrize("expr,words", [("memory_gb>=8O", "not one"), ("memory_gb=>80", "not an operator")])
def test_zoo_where_refuses_what_it_cannot_compare(expr, words):
    # '8O' (letter O) used to be compared as a string and exit 0 with an empty table
    r = run_at(120, "zoo", "hardware", "--where", expr)
    assert r.exit_code == 2 and words in r.stderr and "memory_gb>=80" in r.stderr


def test_zoo_sort_descending_by_memory():
    d = json.loads(run_at(120, "zoo", "Cloud", "--sort", "-memory_gb", "--json").stdout)
    mem = [e["memory_gb"] for e in d["entries"] if e.get("memory_gb") is not None]
    assert len(mem) > 3 and mem == sorted(mem, reverse=True)


def _mlsysim(*args, env=None):
    import os
    return subprocess.run([sys.executable, "-c", "from mlsysim.cli.main import app; app()", *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_closed_pipe_is_not_an_internal_error():
    # `mlsysim zoo models | head -2`: the reader leaves after two lines
    import os
    p = subprocess.Popen(f"{sys.executable} -c 'from mlsysim.cli.main import app; app()' zoo models | head -2; "
                         "echo rc=${PIPESTATUS[0]} >&2",
                         shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         executable="/bin/bash", env={**os.environ, "COLUMNS": "100"})
    out, errs = p.communicate(timeout=120)
    assert len(out.splitlines()) == 2 and "Traceback" not in errs and "internal" not in errs
    assert "rc=0" in errs  # rich's default on a closed pipe is exit 1 (our "internal error")


def test_ascii_only_terminal_does_not_crash_the_renderer():
    r = _mlsysim("train", str(ROOT / "examples" / "llama3_70b_research256.yaml"),
                 env={"PYTHONIOENCODING": "ascii", "COLUMNS": "100"})
    assert r.returncode == 0, r.stderr[-500:]
    assert "Traceback" not in r.stderr and "Performance" in r.stdout
