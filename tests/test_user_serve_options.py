"""`mlsysim serve` refuses an option its mode would silently drop (a datacenter without --qps gave no $ or CO2,
and `--qps 80` beside a scenario file answered for the file's 40 QPS)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

SCENARIO = str(Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_serving.yaml")
ONE = ["serve", "-m", "Llama3_70B", "-a", "H100", "--tp", "8"]


def run(*argv):
    return CliRunner().invoke(app, list(argv))


@pytest.mark.parametrize("extra, flag", [(["-d", "GCP_Iowa"], "--datacenter"), (["-d", "Mars"], "--datacenter"),
                                         (["--ttft-slo-ms", "100"], "--ttft-slo-ms"),
                                         (["--load-profile", "0.5,1"], "--load-profile")])
def test_one_replica_refuses_fleet_options(extra, flag):
    r = run(*ONE, *extra)
    assert r.exit_code == 2 and flag in r.output and "--qps" in r.output


def test_a_fleet_refuses_a_batch_size():
    r = run(*ONE, "--qps", "3", "-b", "4")
    assert r.exit_code == 2 and "--batch-size" in r.output


def test_a_scenario_takes_set_not_options():
    r = run("serve", SCENARIO, "--qps", "80")
    assert r.exit_code == 2 and "--set serving.qps=80" in r.output
    # the file says 40 QPS; --set makes it 80: twice the traffic needs at least as many GPUs (and no error)
    base, more = (json.loads(run("serve", SCENARIO, "--json", *extra).output)["result"]
                  for extra in ([], ["--set", "serving.qps=80"]))
    assert base["qps"] == 40 and more["qps"] == 80 and more["gpus"] >= base["gpus"]


def test_options_the_mode_uses_still_pass():
    # the single replica with an explicit batch of 1 and a fleet with a datacenter: both are used, both run
    assert run(*ONE, "-b", "1").exit_code == 0
    assert run(*ONE, "--qps", "3", "-d", "GCP_Iowa").exit_code == 0
