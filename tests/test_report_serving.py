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


def test_serving_section_describes_the_traffic():
    # Poisson by default: the rate and the mean lengths, no profile
    html = serving_section(from_dict(RAW))
    assert "Poisson, 40 QPS" in html and "1000 input / 200 output tokens (mean)" in html and "load factor" not in html
    # bursty arrivals, spread outputs and a 4-period profile: load factor (1 + 0.5 + 0.25 + 0.25) / 4 = 0.5, so
    # 40 x 0.5 = 20 QPS on average
    serving = dict(RAW["serving"], arrival_cv=2, output_cv=0.5, load_profile=[1, 0.5, 0.25, 0.25])
    html = serving_section(from_dict(dict(RAW, serving=serving)))
    assert "G/G/1, inter-arrival CV 2 (Kingman), 40 QPS at the peak" in html
    assert "output-length CV 0.5" in html and "4 equal periods, 0.25 to 1 of the peak" in html
    assert "(1 + 0.5 + 0.25 + 0.25) / 4 = 0.5: 20 QPS on average" in html
    r = ServingLoadModel().solve(Models.Language.Llama3_70B, Systems.Nodes.DGX_H100, qps=40, input_len=1000,
                                 output_len=200, tp_size=4, precision="fp8", ttft_slo=0.5, tpot_slo=0.06,
                                 arrival_cv=2.0, output_cv=0.5, load_profile=[1, 0.5, 0.25, 0.25],
                                 datacenter=Infrastructure.Datacenters.US_East_Virginia)
    assert f"{r.replicas} x 4 (TP4" in html and f"{r.usd_per_m_output:.3g}" in html


def test_serving_section_describes_a_trace(tmp_path):
    # 400 arrivals every 0.25 s: a metronome (CV 0) at 4 QPS, 399 gaps over 99.75 s; replayed at 8 QPS the same
    # 399 gaps span 399 / 8 = 49.88 s
    (tmp_path / "t.csv").write_text("arrival_s\n" + "".join(f"{0.25 * i}\n" for i in range(400)))
    raw = dict(RAW, serving={k: v for k, v in RAW["serving"].items() if k != "qps"} | {"trace": "t.csv"})
    sc = from_dict(raw)
    sc.path = tmp_path / "s.yaml"
    html = serving_section(sc)
    assert "trace of 400 arrivals (inter-arrival CV 0.00) from t.csv, replayed at 4 QPS: 399 gaps over 99.75 s" in html
    raw["serving"]["qps"] = 8
    sc = from_dict(raw)
    sc.path = tmp_path / "s.yaml"
    assert "replayed at 8 QPS: 399 gaps over 49.88 s" in serving_section(sc)
