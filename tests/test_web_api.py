"""The web calculator's JSON API through FastAPI's TestClient: same numbers as the Python API, 400/413/422 with
the solver's message for bad input, and a scenario YAML that reloads with `mlsysim train`."""
import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from mlsysim.web import create_app  # noqa: E402

TUTORIAL = {"model": "Llama3_70B", "cluster": "Research_256", "tp_size": 8, "pp_size": 1, "dp_size": 32,
            "datacenter": "GCP_Iowa"}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.fixture(scope="module")
def tutorial(client):
    r = client.post("/api/train", json=TUTORIAL)
    assert r.status_code == 200, r.text
    return r.json()


def test_same_figures_as_the_tutorial_python_api(tutorial):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.models.registry import Models
    from mlsysim.solvers import DistributedModel, SustainabilityModel
    from mlsysim.systems.registry import Systems
    fleet = Systems.Clusters.Research_256
    perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=fleet, tp_size=8, pp_size=1, dp_size=32)
    days = perf.latency.to("days").magnitude
    sust = SustainabilityModel().solve(fleet=fleet, duration_days=days, mfu=perf.mfu,
                                       datacenter=Infrastructure.Datacenters.GCP_Iowa)
    h = tutorial["headline"]
    assert h["time_to_train_days"]["value"] == pytest.approx(days, rel=1e-9)
    assert h["mfu"]["value"] == pytest.approx(perf.mfu, rel=1e-9)
    assert h["carbon_location_t"]["value"] == pytest.approx(sust.carbon_footprint, rel=1e-9)


def test_headline_formulas_hold(tutorial):
    h, d = tutorial["headline"], tutorial["datacenter"]
    # carbon (t) = facility energy (MWh) x 1e3 kWh/MWh x grid (g/kWh) / 1e6 g/t
    assert h["carbon_location_t"]["value"] == pytest.approx(h["energy_mwh"]["value"] * d["grid_gco2_per_kwh"] / 1e3,
                                                            rel=1e-9)
    # GHG Protocol market-based = energy x (1 - contractual share) x residual mix (grid average where none)
    residual = d["grid_residual_gco2_per_kwh"] or d["grid_gco2_per_kwh"]
    assert h["carbon_market_t"]["value"] == pytest.approx(
        h["energy_mwh"]["value"] * (1 - d["contractual_fraction"]) * residual / 1e3, rel=1e-9)
    assert "431.95 gCO2e/kWh" in h["carbon_location_t"]["formula"]
    for k in ("time_to_train_days", "mfu", "energy_mwh", "carbon_location_t", "carbon_market_t", "cost_usd"):
        assert h[k]["formula"]


def test_range_brackets_the_point_and_regions_rank(tutorial):
    lo, mid, hi = tutorial["range"]["carbon"]
    assert lo <= mid <= hi and tutorial["range"]["level"] == 0.9
    g = tutorial["regions"]
    # Quebec hydro: 20 gCO2e/kWh at PUE 1.2 vs Iowa 431.95 at PUE 1.1 (registry): ratio 431.95*1.1/(20*1.2) = 19.80
    assert g["lowest_carbon"]["key"] == "Quebec_Hydro"
    assert g["carbon_ratio"] == pytest.approx(431.95 * 1.1 / (20 * 1.2), rel=1e-6)
    assert g["cheapest"]["cost_usd"] <= tutorial["headline"]["cost_usd"]["value"]


def test_equivalents_use_the_cited_factors(tutorial):
    kg = tutorial["headline"]["carbon_location_t"]["value"] * 1e3
    eq = {e["key"]: e for e in tutorial["equivalents"]}
    assert eq["car_km"]["value"] == pytest.approx(kg / (393 / 1609.344), rel=1e-9)  # EPA: 393 g per mile
    assert eq["flights"]["value"] == pytest.approx(kg / 900.0, rel=1e-3)  # Strubell 2019: 1,984 lb = 900 kg
    mwh = tutorial["headline"]["energy_mwh"]["value"]
    assert eq["household_years"]["value"] == pytest.approx(mwh * 1e3 / 10_791, rel=1e-9)  # EIA 2022: 10,791 kWh
    assert all(e["source"] for e in eq.values())


def test_cite_block_has_version(tutorial):
    import mlsysim
    for k in ("markdown", "latex", "bibtex"):
        assert mlsysim.__version__ in tutorial["cite"][k]
    assert tutorial["cite"]["bibtex"].startswith("@software{")


def test_scenario_yaml_reloads_with_mlsysim_train(tutorial, tmp_path):
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    f = tmp_path / "scenario.yaml"
    f.write_text(tutorial["scenario_yaml"])
    res = CliRunner().invoke(app, ["train", str(f), "--json"])
    out = json.loads(res.stdout)
    # the tutorial's layout (no ZeRO) overflows an 80 GB H100: the CLI says so with exit code 4, like the page
    assert (out["status"], res.exit_code) == (tutorial["status"], {"ok": 0, "infeasible": 4}[tutorial["status"]])
    assert out["performance"]["time_to_train_s"] == pytest.approx(tutorial["performance"]["time_to_train_s"])
    assert out["sustainability"]["carbon_location_t"] == pytest.approx(tutorial["headline"]["carbon_location_t"]["value"])


def test_best_layout_is_no_slower_than_the_tutorial_layout(client, tutorial):
    r = client.post("/api/train", json=dict(TUTORIAL, best_layout=True))
    assert r.status_code == 200, r.text
    assert r.json()["headline"]["time_to_train_days"]["value"] <= tutorial["headline"]["time_to_train_days"]["value"]


@pytest.mark.parametrize("body, status, needle", [
    ({"tp_size": "abc"}, 400, "layout.tp_size must be an integer"),
    ({"tp_size": 3}, 400, "does not divide"),
    ({"datacenter": "Mars"}, 400, "unknown Infrastructure.Datacenters"),
    ({"model": "<script>alert(1)</script>"}, 400, "unknown"),
    ({"hf_config": {"a": 1}}, 400, "config.json lacks"),
    ({"tokens": -5}, 400, "tokens must be > 0"),
    ({"samples": 10 ** 6}, 400, "samples must be"),
    ({"samples": "many"}, 422, "samples"),
])
def test_bad_input_is_4xx_with_the_solver_message(client, body, status, needle):
    r = client.post("/api/train", json=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["message"]
    assert r.headers["content-type"].startswith("application/json")


def test_malformed_and_oversized_bodies(client):
    r = client.post("/api/train", content=b"[1, 2", headers={"content-type": "application/json"})
    assert r.status_code == 422 and "[1, 2" not in r.text
    r = client.post("/api/train", content=b" " * 70_000, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_page_options_and_openapi(client):
    page = client.get("/")
    assert page.status_code == 200 and "train-form" in page.text
    assert "http://" not in page.text.replace("http://www.w3.org", "") and "https://" not in page.text
    js = client.get("/app.js").text
    assert "innerHTML" not in js and "https://" not in js
    assert "Llama3_70B" in client.get("/api/options").json()["models"]
    assert "/api/train" in client.get("/openapi.json").json()["paths"]


def test_import_mlsysim_does_not_import_fastapi():
    import subprocess
    import sys
    code = "import sys, mlsysim, mlsysim.web; print('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_stack_is_an_input_and_matches_the_solver(client):
    """The training form's software stack reaches DistributedModel: the page's MFU equals the solver's under the
    same stack, and an unknown stack is a 400 naming the stacks that exist."""
    from mlsysim import DistributedModel, Models, Systems
    body = dict(TUTORIAL, stack="pytorch_fsdp2_eager")
    r = client.post("/api/train", json=body)
    assert r.status_code == 200, r.text
    perf = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8,
                                    pp_size=1, dp_size=32, stack="pytorch_fsdp2_eager")
    assert r.json()["headline"]["mfu"]["value"] == pytest.approx(perf.mfu, rel=1e-9)
    assert "pytorch_fsdp2_eager" in client.get("/api/options").json()["stacks"]
    bad = client.post("/api/train", json=dict(TUTORIAL, stack="megatron_9000"))
    assert bad.status_code == 400 and "megatron_core_2024" in bad.json()["error"]["message"]
