"""Plots (PNG/SVG, non-empty, from the solvers' numbers) and the self-contained HTML report, written whole or
not at all."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("yaml")
pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402
from mlsysim.report import plots as P  # noqa: E402
from mlsysim.report import series as S  # noqa: E402
from mlsysim.scenario import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"
PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


@pytest.fixture(scope="module")
def outcome():
    sc = load_scenario(GOLDEN)
    return sc, sc.evaluate()


def is_image(blob: bytes, fmt: str) -> bool:
    if fmt == "png":
        return blob.startswith(PNG) and len(blob) > 5000
    return b"<svg" in blob[:2000] and len(blob) > 5000


def test_every_plot_renders_png_and_svg(outcome, tmp_path):
    sc, o = outcome
    perf = o.performance
    scaling = S.scaling(perf)
    regions = S.regions(perf, sc.datacenter)
    figs = {"breakdown": P.breakdown(perf), "scaling": P.scaling(scaling),
            "carbon_by_region": P.carbon_by_region(regions), "cost_split": P.cost_split(o.economics),
            "pareto": P.pareto({"x": "time_to_train_days", "y": "cost_usd", "points": [(1.0, 2.0), (3.0, 1.0)],
                                "front": [{"time_to_train_days": 1.0, "cost_usd": 2.0, "tp": 8, "pp": 1, "dp": 4},
                                          {"time_to_train_days": 3.0, "cost_usd": 1.0, "tp": 4, "pp": 2, "dp": 4}],
                                "current": (2.0, 2.0)})}
    for name, fig in figs.items():
        P.save(fig, tmp_path / f"{name}.png")
        assert is_image((tmp_path / f"{name}.png").read_bytes(), "png"), name
    P.save(figs["breakdown"], tmp_path / "b.svg")
    assert is_image((tmp_path / "b.svg").read_bytes(), "svg")
    assert not list(tmp_path.glob(".*.tmp"))  # no temp files left behind
    with pytest.raises(Exception, match="image format"):
        P.to_bytes(figs["breakdown"], "gif")


def test_series_come_from_the_solvers(outcome):
    sc, o = outcome
    perf = o.performance
    rows = S.scaling(perf)
    cur = [r for r in rows if r["current"]]
    assert len(cur) == 1 and cur[0]["time_to_train_days"] == pytest.approx(perf.time_to_train_s / 86400)
    # one meaning of "scaling efficiency" (issue 16): the performance result's compute share of the step
    assert cur[0]["scaling_efficiency"] == perf.scaling_efficiency
    assert all(0 < r["scaling_efficiency"] <= 1.0 for r in rows)
    assert [r["gpus"] for r in rows] == sorted(r["gpus"] for r in rows)
    # the Amdahl trap: efficiency falls as the fleet grows
    assert rows[-1]["scaling_efficiency"] < rows[len(rows) // 2]["scaling_efficiency"]
    regions = S.regions(perf, sc.datacenter)
    carbon = [r["carbon_t"] for r in regions]
    assert carbon == sorted(carbon) and sum(r["current"] for r in regions) == 1
    here = next(r for r in regions if r["current"])
    assert here["carbon_t"] == pytest.approx(o.sustainability.carbon_footprint)
    # carbon scales with grid intensity alone: the tutorial's Quebec-to-Poland gap
    by = {r["grid_key"]: r for r in regions}
    if "Quebec" in by and "Poland" in by:
        ratio = by["Poland"]["carbon_t"] / by["Quebec"]["carbon_t"]
        assert ratio == pytest.approx(by["Poland"]["gco2_per_kwh"] / by["Quebec"]["gco2_per_kwh"])


def test_report_command_writes_a_self_contained_file(tmp_path):
    out = tmp_path / "r.html"
    plots = tmp_path / "plots"
    plots.mkdir()
    r = runner.invoke(app, ["report", str(GOLDEN), "-o", str(out), "--plots", str(plots), "--format", "svg",
                            "--json"])
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["command"] == "report" and d["report"]["html"] == str(out) and d["report"]["bytes"] > 50_000
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    imgs = re.findall(r"<img alt='(\w+)' src='data:image/png;base64,([A-Za-z0-9+/=]+)'", html)
    names = {n for n, _ in imgs}
    assert {"breakdown", "scaling", "carbon_by_region", "cost_split"} <= names
    import base64
    assert all(base64.b64decode(b).startswith(PNG) for _, b in imgs)
    assert not re.search(r"(src|href)=['\"]https?://", html)  # nothing fetched from the network
    for s in ("Assumptions", "Constraints", "matmul ceiling", "Energy and carbon", "Cost", "Sources",
              "Llama 3 70B"):
        assert s in html, s
    assert set(d["plots"]) == names and all(is_image(Path(p).read_bytes(), "svg") for p in d["plots"].values())


def test_report_on_bad_input_writes_nothing(tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(GOLDEN), "-o", str(out), "--set", "layout.tp_size=-1"])
    assert r.exit_code == 2 and not out.exists() and list(tmp_path.iterdir()) == []
    r = runner.invoke(app, ["report", str(GOLDEN), "-o", str(tmp_path / "nodir" / "r.html"), "--no-pareto"])
    assert r.exit_code == 2 and "does not exist" in r.stderr and list(tmp_path.iterdir()) == []
    (tmp_path / "afile").write_text("")  # --plots creates a missing folder (issue 16), but a file is no folder
    r = runner.invoke(app, ["report", str(GOLDEN), "-o", str(out), "--plots", str(tmp_path / "afile"),
                            "--no-pareto"])
    assert r.exit_code == 2 and not out.exists()


def test_report_of_an_infeasible_scenario_is_complete_and_exits_4(tmp_path):
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(GOLDEN), "-o", str(out), "--set", "layout.zero_stage=0", "--no-pareto"])
    assert r.exit_code == 4 and r.stderr.count("\n") == 1 and "infeasible" in r.stderr
    html = out.read_text()
    assert "infeasible: does not fit in memory" in html and html.rstrip().endswith("</html>")


def test_train_plots_option(tmp_path):
    r = runner.invoke(app, ["train", str(GOLDEN), "--plots", str(tmp_path), "--json"])
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d["plots"]) == {"breakdown", "scaling", "carbon_by_region", "cost_split"}
    assert all(is_image(Path(p).read_bytes(), "png") for p in d["plots"].values())


def test_notebook_and_terminal_views(outcome):
    sc, o = outcome
    html = o._repr_html_()
    assert "<table>" in html and sc.name in html
    text = str(o)
    assert "time to train" in text and "ok" in text
