"""`mlsysim report` on the README's serving example: the serving answer alone, exit 0. It led with a training run
nobody asked for (15T tokens on one DGX node at TP1: 719.9 GB per device, "infeasible") and exited 4 while the
fleet met its SLO."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

EX = str(Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_serving.yaml")


def test_a_serving_only_scenario_reports_serving(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", EX, "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text().split("</style>")[1]
    assert "<h2>Serving</h2>" in page and "time to train" not in page and "infeasible" not in page
    d = json.loads(CliRunner().invoke(app, ["report", EX, "-o", str(out), "--json"]).stdout)
    s = d["serving"]
    assert d["exit_code"] == 0 and s["feasible"] is True
    # the fleet is whole TP4 replicas, and 40 QPS x 200 output tokens spread over its GPUs is the per-GPU rate
    assert s["gpus"] == 4 * s["replicas"]
    assert s["tokens_per_s_per_gpu"] == pytest.approx(40 * 200 / s["gpus"])


def test_a_missed_slo_exits_4_and_a_paragraph_is_refused(tmp_path):
    out = tmp_path / "r.html"
    # a 1 ms TTFT: Llama 3 70B's 1,000-token prefill alone is >= 2 x 70.55e9 x 1000 / (4 x 1979e12) = 17.8 ms
    r = CliRunner().invoke(app, ["report", EX, "-o", str(out), "--set", "serving.ttft_slo_ms=1"])
    assert r.exit_code == 4 and out.exists()
    assert CliRunner().invoke(app, ["report", EX, "--markdown"]).exit_code == 2


def test_a_training_layout_keeps_the_training_report(tmp_path):
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", EX, "-o", str(out), "--no-pareto", "--set", "layout.tp_size=8",
                                 "--set", "layout.zero_stage=3"])
    assert r.exit_code in (0, 3, 4)
    page = out.read_text()
    assert "time to train" in page and "<h2>Serving</h2>" in page


def test_train_on_a_serving_only_scenario_points_to_serve():
    d = json.loads(CliRunner().invoke(app, ["train", EX, "--json"]).stdout)
    assert any("mlsysim serve" in n for n in d["notes"])
    # with a layout given it is a training scenario: no such note
    d = json.loads(CliRunner().invoke(app, ["train", EX, "--json", "--set", "layout.tp_size=8"]).stdout)
    assert not any("mlsysim serve" in n for n in d["notes"])
