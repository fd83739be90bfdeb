"""The `mlsysim` command line through its real entry point: JSON parsed and checked, documented exit codes,
one-line messages, the golden scenario cross-checked against the Python API, and a fast --help."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("typer")
pytest.importorskip("yaml")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"
PLAN = ROOT / "examples" / "llama3_70b_plan.yaml"
runner = CliRunner()


def cli(*args):
    r = runner.invoke(app, [str(a) for a in args])
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


def cli_json(*args, code=0):
    r = cli(*args, "--json")
    assert r.exit_code == code, (r.exit_code, r.stdout, r.stderr)
    d = json.loads(r.stdout)
    assert d["exit_code"] == code and d["schema_version"] == 1
    return d, r


def walk(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}[{i}]")
    else:
        yield path, obj


UNIT_STRING = re.compile(r"^[-+]?\d[\d.,eE+-]*\s*(T?FLOP|GB|TB|MB|kW|MW|W|s|ms|days?|t|USD|\$|%)")


# ----------------------------------------------------------------------------------------------- entry point
def test_help_subprocess_is_fast_and_documents_exit_codes():
    cmd = [sys.executable, "-m", "mlsysim.cli.main", "--help"]
    subprocess.run(cmd, capture_output=True, check=True)  # warm the file cache
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    assert "Exit codes" in p.stdout and "3 a scenario constraint" in p.stdout and "4 infeasible" in p.stdout
    for c in ("zoo", "eval", "train", "optimize", "validate", "report", "schema"):
        assert re.search(rf"^\s+{c}\s", p.stdout, re.M), c
    assert wall < 1.0, f"mlsysim --help took {wall:.2f} s"
    # nothing heavy imported to print help
    probe = ("import sys, mlsysim.cli.main as m; "
             "print(sorted(x for x in ('numpy', 'pint', 'matplotlib', 'yaml', 'rich') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_console_script_runs():
    exe = Path(sys.executable).with_name("mlsysim")
    if not exe.exists():
        pytest.skip("console script not installed")
    p = subprocess.run([str(exe), "train", str(GOLDEN), "--json"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["status"] == "ok"
    p = subprocess.run([str(exe), "train", str(GOLDEN), "--set", "layout.tp_size=-1"], capture_output=True,
                       text=True)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "tp_size must be >= 1" in p.stderr


def test_version_and_no_args():
    assert "mlsysim" in cli("--version").stdout
    r = cli()
    assert "Usage" in r.stdout + r.stderr


# ---------------------------------------------------------------------------------------------- the golden run
def test_golden_scenario_matches_the_python_api():
    from mlsysim import DistributedModel, EconomicsModel, Infrastructure, Models, SustainabilityModel, Systems
    d, _ = cli_json("train", GOLDEN)
    perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
                                    tp_size=8, pp_size=1, dp_size=32, microbatch_size=1, zero_stage=2,
                                    precision="bf16", recompute="selective", seq_len=8192, tokens=15e12)
    sust = SustainabilityModel().solve(performance=perf, datacenter=Infrastructure.Datacenters.GCP_Iowa)
    econ = EconomicsModel().solve(sustainability=sust)
    P = d["performance"]
    assert d["status"] == "ok" and P["feasible"] is True
    assert P["step_time_s"] == pytest.approx(perf.step_s, rel=1e-12)
    assert P["time_to_train_days"] == pytest.approx(perf.latency.to("day").magnitude, rel=1e-12)
    assert P["mfu"] == pytest.approx(perf.mfu, rel=1e-12)
    assert P["memory_total_gb"] == pytest.approx(perf.memory_total.to("GB").magnitude, rel=1e-12)
    assert P["breakdown_s"] == pytest.approx(perf.breakdown_s, rel=1e-12)
    assert d["sustainability"]["carbon_location_t"] == pytest.approx(sust.carbon_footprint, rel=1e-12)
    assert d["economics"]["total_usd"] == pytest.approx(econ.total_usd, rel=1e-12)
    assert d["layout"]["global_batch_size"] == perf.layout["global_batch_size"]
    assert d["system"]["accelerators"] == 256 and d["workload"]["key"] == "Llama3_70B"
    assert d["constraints"] == [{"name": "max_memory_gb", "limit": 80.0, "value": pytest.approx(P["memory_total_gb"]),
                                 "ok": True, "message": d["constraints"][0]["message"]}]
    # numbers are numbers; no "989 TFLOP/s"-style strings anywhere in the result sections
    for sec in ("performance", "sustainability", "economics", "layout", "constraints"):
        for path, v in walk(d[sec], sec):
            if isinstance(v, str) and not path.endswith(("message", "precision", "recompute", "name", "stack")):
                pytest.fail(f"{path} is a string: {v!r}")
    for path, v in walk({k: v for k, v in d.items() if k not in ("assumptions", "notes")}):  # prose allowed there
        assert not (isinstance(v, str) and UNIT_STRING.match(v)), (path, v)


def test_train_options_override_and_build_a_scenario_alone():
    d, _ = cli_json("train", "--model", "Llama3_70B", "--cluster", "Research_256", "--tp", 8, "--pp", 2,
                    "--zero", 1, "--tokens", 1e12, "--datacenter", "Quebec_Hydro")
    assert d["layout"]["pp_size"] == 2 and d["layout"]["dp_size"] == 16
    assert d["performance"]["tokens"] == 1e12 and d["datacenter"]["key"] == "Quebec_Hydro"
    g, _ = cli_json("train", GOLDEN, "--set", "layout.zero_stage=3", "--set", "datacenter.grid=Poland")
    assert g["layout"]["zero_stage"] == 3 and g["datacenter"]["grid_key"] == "Poland"
    assert g["scenario"]["file"] == str(GOLDEN)


def test_terminal_rendering():
    r = cli("train", GOLDEN, "-v")
    assert r.exit_code == 0
    for s in ("Performance", "Step time breakdown", "Memory per device", "Energy & carbon", "Cost",
              "Constraints", "Assumptions", "MFU"):
        assert s in r.stdout, s


# ------------------------------------------------------------------------------------------ exit codes
@pytest.mark.parametrize("sets, code, pattern", [
    # ZeRO-0 keeps 12 B/param of Adam state unsharded: 8.82e9 x 18 B = 159 GB > 80 GiB (ZeRO-1 now fits, ~82 GB)
    (["layout.zero_stage=0"], 4, r"infeasible: the layout needs 1\d\d\.\d GB per device"),
    (["constraints.max_memory_gb=40"], 3, r"constraint: memory per device .* exceeds the limit 40"),
    (["constraints.deadline_days=30"], 3, r"time to train .* exceeds the limit 30"),
    (["constraints.budget_usd=1000"], 3, r"cost .* exceeds"),
    (["constraints.max_carbon_t=1"], 3, r"carbon .* exceeds"),
    (["constraints.max_gpus=8"], 3, r"fleet size 256"),
    (["layout.tp_size=eight"], 2, r"error: command line \(layout\.tp_size\): layout\.tp_size must be an integer"),
    (["layout.tp_size=-8"], 2, r"must be >= 1, got -8"),
    (["system.cluster=Reserch_256"], 2, r"did you mean Research_256"),
    (["layout.tp_sise=8"], 2, r"unknown key in layout 'tp_sise'; did you mean tp_size"),
    (["layout.tp_size=6"], 2, r"does not divide"),
    (["nosuch=1"], 2, r"unknown scenario section 'nosuch'"),
])
def test_exit_codes_and_one_line_messages(sets, code, pattern):
    args = ["train", GOLDEN]
    for s in sets:
        args += ["--set", s]
    r = cli(*args)
    assert r.exit_code == code, (r.stdout, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("mlsysim: "), r.stderr
    assert re.search(pattern, r.stderr), r.stderr
    d, _ = cli_json(*args, code=code)
    if code == 2:
        assert d["status"] == "error" and d["error"]["kind"] == "bad_input"
        assert "\n" not in d["error"]["message"]
    else:
        assert d["status"] == ("infeasible" if code == 4 else "constraint_violated")
        assert d["performance"]["step_time_s"] > 0  # the numbers are still reported


def test_bad_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("workload:\n  model: Llama3_70B\n system: x\n")
    r = cli("train", bad)
    assert r.exit_code == 2 and re.search(r"bad\.yaml:3: malformed YAML", r.stderr)
    r = cli("train", tmp_path / "missing.yaml")
    assert r.exit_code == 2 and "no such scenario file" in r.stderr
    assert cli("train", GOLDEN, "--bogus-option").exit_code == 2
    assert cli("zoo", "hardwar").exit_code == 2


# -------------------------------------------------------------------------------------------------- others
def test_eval_json():
    d, _ = cli_json("eval", "--model", "Llama3_8B", "--hardware", "H100", "--mode", "decode", "-b", 1)
    assert d["bound"] == "memory" and d["latency_s"] > 0 and d["accelerator"]["memory_gb"] == pytest.approx(80 * 2**30 / 1e9)  # 80 GiB
    assert d["arithmetic_intensity_flop_per_byte"] < d["ridge_point_flop_per_byte"]
    from mlsysim import SingleNodeModel
    r = SingleNodeModel().solve("Llama3_8B", "H100", mode="decode", batch_size=1)
    assert d["latency_s"] == pytest.approx(r.latency_s, rel=1e-12)
    d, r = cli_json("eval", "--model", "Llama3_70B", "--hardware", "H100", code=4)
    assert d["feasible"] is False and "infeasible" in r.stderr
    assert cli("eval", "--model", "Llama3_70B", "--hardware", "H100", "--mode", "decod").exit_code == 2
    assert cli("eval", "--model", "Llama3_70B").exit_code == 2  # no accelerator


def test_zoo():
    d, _ = cli_json("zoo", "hardware", "--where", "memory_gb>=80", "--sort", "-memory_gb")
    mem = [e["memory_gb"] for e in d["entries"]]
    assert mem and all(m >= 80 for m in mem) and mem == sorted(mem, reverse=True)
    assert all(e["registry"] == "Hardware" and "source" in e for e in d["entries"])
    d, _ = cli_json("zoo", "H100")
    assert d["count"] == 1 and d["entries"][0]["bf16_tflops"] == pytest.approx(989.5)
    d, _ = cli_json("zoo", "grids", "--search", "pol")
    assert d["entries"] and all("gco2_per_kwh" in e for e in d["entries"])
    d, _ = cli_json("zoo")
    assert {e["registry"] for e in d["entries"]} == {"Models", "SmallModels", "Hardware", "Systems", "Infrastructure"}
    r = cli("zoo", "--where", "nosuchfield>1")
    assert r.exit_code == 2 and "unknown --where field" in r.stderr
    assert "Hardware.Cloud" in cli("zoo", "hardware").stdout


def test_validate_json_matches_the_tables():
    from mlsysim.validation.runs import summary, throughput_table
    d, _ = cli_json("validate")
    rows = throughput_table()
    assert [r["run_id"] for r in d["throughput"]["rows"]] == [r["run_id"] for r in rows]
    assert d["throughput"]["summary"] == pytest.approx(summary(rows))
    assert isinstance(d["throughput"]["rows"][0]["error_pct"], float)
    r = cli("validate")
    assert "Training throughput" in r.stdout and "median |error|" in r.stdout


def test_schema_command(tmp_path):
    r = cli("schema")
    s = json.loads(r.stdout)
    assert r.exit_code == 0 and s["title"] == "mlsysim scenario" and "layout" in s["properties"]
    out = tmp_path / "schema.json"
    assert cli("schema", "-o", out).exit_code == 0 and json.loads(out.read_text()) == s


def test_optimize_json_and_constraints():
    pytest.importorskip("mlsysim.explore")
    d, _ = cli_json("optimize", PLAN, "--top", 3)
    assert d["objective"] == {"name": "cost", "column": "cost_usd"}
    assert len(d["ranking"]) == 3 and d["best"] == d["ranking"][0]
    costs = [r["cost_usd"] for r in d["ranking"]]
    assert costs == sorted(costs)
    for r in d["ranking"]:
        assert r["time_to_train_days"] <= 60 and r["cost_usd"] <= 3e6 and r["memory_gb"] <= 76
        assert r["accelerators"] <= 1024 and r["nodes"] in (16, 32, 64, 128)
        assert r["tp"] in (2, 4, 8) and r["pp"] in (1, 2, 4, 8)
    assert d["pareto"]["front"] and d["evaluated"] >= d["feasible"] >= d["satisfying"] > 0
    # the objective and top come from the search section unless given on the command line
    t, _ = cli_json("optimize", PLAN, "--objective", "time", "--set", "search.top=2")
    assert t["objective"]["column"] == "time_to_train_days" and len(t["ranking"]) == 2
    assert t["best"]["time_to_train_days"] <= d["best"]["time_to_train_days"]
    e, r = cli_json("optimize", PLAN, "--set", "constraints.deadline_days=1", code=3)
    assert e["error"]["kind"] == "no_feasible_configuration" and r.stderr.count("\n") == 1
