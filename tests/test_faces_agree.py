"""One answer whatever the face: the CLI's --json equals the Python API, an infeasible plan stays marked in every
result composed from it, `zoo --sort` sorts, and YAML merge keys behave as the YAML spec says."""
import json
import warnings
from pathlib import Path

import pytest

from mlsysim import (DistributedModel, EconomicsModel, GoodputModel, Infrastructure, Models, SustainabilityModel,
                     Systems, UncertaintyModel)
from mlsysim.scenario import parse_yaml

GOLDEN = Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_research256.yaml"


def cli_json(*args):
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, [str(a) for a in args] + ["--json"])
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_cli_json_equals_the_python_api():
    # The golden scenario written out as API calls (its file: TP 8, PP 1, DP 32, mb 1, ZeRO-2, bf16, selective,
    # seq 8192, 15T tokens, GCP_Iowa).
    d = cli_json("train", GOLDEN)
    model = Models.Language.Llama3_70B.with_(seq_len=8192)
    perf = DistributedModel().solve(model, Systems.Clusters.Research_256, tp_size=8, pp_size=1, dp_size=32,
                                    microbatch_size=1, zero_stage=2, precision="bf16", recompute="selective",
                                    tokens=15e12)
    sust = SustainabilityModel().solve(performance=perf, datacenter=Infrastructure.Datacenters.GCP_Iowa)
    econ = EconomicsModel().solve(sustainability=sust)
    assert d["performance"]["step_time_s"] == pytest.approx(perf.step_s, rel=1e-12)
    assert d["performance"]["mfu"] == pytest.approx(perf.mfu, rel=1e-12)
    assert d["performance"]["time_to_train_days"] == pytest.approx(perf.time_to_train_s / 86400, rel=1e-12)
    assert d["sustainability"]["facility_energy_mwh"] == pytest.approx(sust.facility_energy_j / 3.6e9, rel=1e-12)
    assert d["sustainability"]["carbon_location_t"] == pytest.approx(sust.location_kg / 1e3, rel=1e-12)
    assert d["economics"]["total_usd"] == pytest.approx(econ.total_usd, rel=1e-12)


def test_an_out_of_memory_plan_stays_marked_in_everything_built_on_it():
    # Llama 3 70B unsharded (TP 1, ZeRO-0): weights + grads + Adam state alone are 70.55e9 x 16 B = 1.13 TB per
    # device against 80 GiB, so the plan cannot run; each composed result says so instead of a clean number.
    from mlsysim.errors import InfeasibleResultWarning
    perf = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=1,
                                    zero_stage=0)
    assert not perf.feasible and sum(perf.memory_bytes.values()) > 70.55e9 * 16
    with pytest.warns(InfeasibleResultWarning):
        sust = SustainabilityModel().solve(performance=perf, datacenter="GCP_Iowa")
    for build in (lambda: EconomicsModel().solve(sustainability=sust),
                  lambda: EconomicsModel().solve(performance=perf, datacenter="GCP_Iowa"),
                  lambda: GoodputModel().solve(perf),
                  lambda: UncertaintyModel().solve(perf, samples=20, datacenter="GCP_Iowa")):
        with pytest.warns(InfeasibleResultWarning):
            r = build()
        assert r.feasible is False
    ok = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8,
                                  zero_stage=2)
    assert SustainabilityModel().solve(performance=ok, datacenter="GCP_Iowa").feasible is True


def test_zero_failure_rate_in_the_monte_carlo_is_goodput_one_without_warnings():
    perf = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8,
                                    zero_stage=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u = UncertaintyModel().solve(perf, {"failure_rate_scale": (0.0, 0.0)}, samples=50)
    # no failures: no checkpoints, no restarts, wall time = failure-free time
    assert u.stats["goodput"] == (1.0, 1.0, 1.0) and u.stats["interruptions"] == (0.0, 0.0, 0.0)
    assert u.stats["time_to_train"][1] == pytest.approx(u.stats["useful_time"][1], rel=1e-12)


@pytest.mark.parametrize("field, desc", [("params", False), ("params", True), ("name", False), ("year", True)])
def test_zoo_sort_sorts(field, desc):
    rows = cli_json("zoo", "models", "--sort", ("-" if desc else "") + field)["entries"]
    vals = [r[field] for r in rows if r.get(field) not in (None, "")]
    assert len(vals) >= 10
    key = (lambda v: v.lower()) if isinstance(vals[0], str) else (lambda v: v)
    assert vals == sorted(vals, key=key, reverse=desc)


def test_yaml_merge_keys_follow_the_spec():
    # yaml.org/type/merge: written keys override merged ones; of a list of merged maps, the earlier one wins.
    text = ("a: &a {tp_size: 2, pp_size: 1}\n"
            "b: &b {tp_size: 8, zero_stage: 3}\n"
            "x: {<<: [*a, *b], pp_size: 4}\n"
            "y: {<<: *b, zero_stage: 1}\n")
    data, lines = parse_yaml(text)
    assert data["x"] == {"tp_size": 2, "pp_size": 4, "zero_stage": 3}
    assert data["y"] == {"tp_size": 8, "zero_stage": 1}
    assert lines[("x", "pp_size")] == 3


def test_a_constraint_given_as_a_quantity_is_converted_to_its_columns_unit():
    from mlsysim import explore
    from mlsysim.units import Q
    kw = dict(fleets="Small_64", tp=[1, 2], pp=[1], datacenters=["GCP_Iowa"])
    a = explore.optimize("Llama3_8B", "time_to_train", {"deadline_days": Q(52, "week"), "budget_usd": 2e6,
                                                         "carbon_t": Q(5e5, "kg")}, **kw)
    bounds = {name: bound for name, _col, _kind, bound in a.constraints}
    assert bounds["deadline_days"] == pytest.approx(52 * 7) and bounds["carbon_t"] == pytest.approx(500)
