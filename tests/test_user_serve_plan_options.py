"""serve-plan's numbers are checked as the other commands check theirs: --top 0 printed no ranking and --top -2
all but the last two rows (a Python slice); a negative --budget was "nothing fits" (exit 3); a grid given as
the datacenter names the registry's datacenters on it."""
from __future__ import annotations

import pytest

from mlsysim import Infrastructure, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers.serving_plan import plan_serving

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

PLAN = ["serve-plan", "--model", "Llama3_70B", "--qps", "100", "--ttft-slo-ms", "300", "-a", "H100",
        "--precision", "fp8"]


@pytest.mark.parametrize("extra, said", [(["--top", "0"], "--top must be >= 1"), (["--top", "-2"], "--top"),
                                         (["--budget", "-5"], "budget_usd must be > 0"),
                                         (["-d", "Quebec"], "Quebec_Hydro")])
def test_bad_options_exit_2_with_the_fix(extra, said):
    r = CliRunner().invoke(app, PLAN + extra)
    assert r.exit_code == 2 and said in r.output


def test_top_rows_are_the_first_rows():
    # H100 fp8 over TP 1, 2, 4, 8: four layouts (Llama 3 70B's 64 heads divide by each); --top 2 shows two
    r = CliRunner().invoke(app, PLAN + ["--top", "2"])
    assert r.exit_code == 0 and sum(" GPUs  p99 TTFT " in x for x in r.output.splitlines()) == 2


def test_the_api_refuses_a_negative_budget():
    with pytest.raises(ConfigError, match="budget_usd"):
        plan_serving(Models.Language.Llama3_70B, qps=10, ttft_slo=0.5, budget_usd=-1,
                     datacenters=[Infrastructure.Datacenters.GCP_Iowa])
