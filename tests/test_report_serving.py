"""The HTML report's serving section shows the fleet ServingLoadModel sizes for the scenario's `serving:` section."""
from pathlib import Path

from mlsysim import Infrastructure, Models, Systems
from mlsysim.report.serving_html import serving_section
from mlsysim.scenario import from_dict
from mlsysim.solvers.serving_load import ServingLoadModel

RAW = {"workload": {"model": "Llama3_70B"}, "system": {"node": "DGX_H100"}, "datacenter": "US_East_Virginia",
       "serving": {"qps": 40, "input_len": 1000, "output_len": 200, "tp_size": 4, "precision": "fp8",
                   "ttft_slo_ms": 500, "tpot_slo_ms": 60}}


def test_serving_section_matches_the_solver():
    html = serving_section(from_dict(RAW))
    r = ServingLoadModel().solve(Models.Language.Llama3_70B, Systems.Nodes.DGX_H100, qps=40, input_len=1000,
                                 output_len=200, tp_size=4, precision="fp8", ttft_slo=0.5, tpot_slo=0.06,
                                 datacenter=Infrastructure.Datacenters.US_East_Virginia)
    assert "<h2>Serving</h2>" in html
    assert f"{r.replicas} x 4 (TP4 x PP1" in html
    # the SLO holds at the percentile: p99 TTFT <= 500 ms and p99 TPOT <= 60 ms, shown in ms
    assert r.ttft_p99_s <= 0.5 and r.tpot_p99_s <= 0.06
    assert f"{r.tpot_p99_s * 1e3:,.1f}" in html
    for what in ("$ per million input / output tokens", "energy per request (Wh)", "gCO2e per request"):
        assert what in html
    assert f"{r.usd_per_m_output:.3g}" in html


def test_no_serving_section_without_serving():
    raw = {k: v for k, v in RAW.items() if k != "serving"}
    assert serving_section(from_dict(raw)) == ""


def test_report_command_writes_the_serving_section(tmp_path):
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    out = tmp_path / "r.html"
    ex = Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_serving.yaml"
    CliRunner().invoke(app, ["report", str(ex), "-o", str(out)])
    assert "<h2>Serving</h2>" in out.read_text()
