"""The serving calculator's JSON API (/api/serve, /api/serve-plan) through FastAPI's TestClient: the same figures as
ServingLoadModel and plan_serving, hand-checkable arithmetic, bounded searches, and 400/422 (never 500) with the
solver's message for bad input."""
import json
import math

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from mlsysim.web import create_app  # noqa: E402

# Llama 3 70B on H100 in fp8, TP4; 10 QPS of 1,000-token prompts and 200-token answers; p99 TTFT 1 s, TPOT 50 ms
BODY = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 10, "input_len": 1000,
        "output_len": 200, "ttft_slo_ms": 1000, "tpot_slo_ms": 50, "percentile": 0.99, "datacenters": ["GCP_Iowa"]}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


@pytest.fixture(scope="module")
def page(client):
    r = client.post("/api/serve", json=BODY)
    assert r.status_code == 200, r.text
    return r.json()


def _solve(qps, dc):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.models.registry import Models
    from mlsysim.solvers.serving_load import ServingLoadModel
    return ServingLoadModel().solve(Models.Language.Llama3_70B, "H100", qps=qps, input_len=1000, output_len=200,
                                    tp_size=4, precision="fp8", ttft_slo=1.0, tpot_slo=0.05, percentile=0.99,
                                    datacenter=Infrastructure.Datacenters[dc])


def test_same_figures_as_the_python_api(page):
    r = _solve(10, "GCP_Iowa")
    f, h = page["fleet"], page["headline"]
    assert (f["replicas"], f["gpus"], f["binding"], f["feasible"]) == (r.replicas, r.gpus, r.binding, r.feasible)
    assert h["tokens_per_s_per_gpu"]["value"] == pytest.approx(r.tokens_per_s_per_gpu, rel=1e-12)
    assert h["ttft_ms"]["value"] == pytest.approx(r.ttft_p99_s * 1e3, rel=1e-12)
    assert h["tpot_ms"]["value"] == pytest.approx(r.tpot_p99_s * 1e3, rel=1e-12)
    assert h["usd_per_m_input"]["value"] == pytest.approx(r.usd_per_m_input, rel=1e-12)
    assert h["usd_per_m_output"]["value"] == pytest.approx(r.usd_per_m_output, rel=1e-12)
    assert h["wh_per_request"]["value"] == pytest.approx(r.per_request["energy_j"] / 3600, rel=1e-12)
    assert h["g_location"]["value"] == pytest.approx(r.per_request["carbon_location_kg"] * 1e3, rel=1e-12)
    assert h["g_market"]["value"] == pytest.approx(r.per_request["carbon_market_kg"] * 1e3, rel=1e-12)


def test_hand_checkable_sizing_and_carbon(page):
    f, h = page["fleet"], page["headline"]
    # the fleet must produce the offered tokens: 10 QPS x 200 output tokens = 2,000 tokens/s
    assert f["gpus"] * h["tokens_per_s_per_gpu"]["value"] >= 10 * 200 * (1 - 1e-12)
    assert f["gpus"] >= 10 * 200 / h["tokens_per_s_per_gpu"]["value"] - 1e-9
    # replicas = ceil(QPS / what one replica sustains within the SLO); GPUs = replicas x TP4
    assert f["replicas"] == math.ceil(10 / f["qps_per_replica_max"])
    assert f["gpus"] == 4 * f["replicas"]
    assert f["ttft_q_ms"] <= 1000 and f["tpot_q_ms"] <= 50
    # GCP Iowa (registry): grid 431.95 gCO2e/kWh, 88 % carbon-free energy bought
    wh = h["wh_per_request"]["value"]
    assert h["g_location"]["value"] == pytest.approx(wh / 1000 * 431.95, rel=1e-9)
    # GHG Protocol market-based: GCP Iowa records no contract share and no residual mix -> the grid average
    assert h["g_market"]["value"] == pytest.approx(h["g_location"]["value"], rel=1e-9)
    # $/M: the request's cost over output + w x input tokens, and an input token costs w output tokens
    g = page["regions"][0]
    w = h["usd_per_m_input"]["value"] / h["usd_per_m_output"]["value"]
    assert 0 < w <= 1
    assert h["usd_per_m_output"]["value"] == pytest.approx(g["usd_per_request"] / (200 + w * 1000) * 1e6, rel=1e-9)
    for k, card in h.items():
        assert card["formula"], k


def test_two_regions_split_the_traffic(client):
    r = client.post("/api/serve", json=dict(BODY, datacenters=["GCP_Iowa", "Quebec_Hydro"], plan=False))
    assert r.status_code == 200, r.text
    page = r.json()
    iowa, quebec = _solve(5, "GCP_Iowa"), _solve(5, "Quebec_Hydro")  # 10 QPS split equally
    assert page["fleet"]["gpus"] == iowa.gpus + quebec.gpus
    a, b = page["regions"]
    assert (a["qps"], b["qps"]) == (5, 5)
    # same fleet and traffic: energy scales with PUE (Quebec 1.2 / Iowa 1.1), carbon also with the grid (20 / 431.95)
    assert b["wh_per_request"] / a["wh_per_request"] == pytest.approx(1.2 / 1.1, rel=1e-9)
    assert b["g_location"] / a["g_location"] == pytest.approx(20 * 1.2 / (431.95 * 1.1), rel=1e-9)
    assert page["headline"]["g_location"]["value"] == pytest.approx((a["g_location"] + b["g_location"]) / 2)
    assert "plan" not in page


def test_plan_ranking_matches_plan_serving(page):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_plan import plan_serving
    p = plan_serving("Llama3_70B", qps=10, input_len=1000, output_len=200, ttft_slo=1.0, tpot_slo=0.05,
                     hardware=("H100", "H200", "B200"), precisions=("fp16", "fp8", "int4"), tp_sizes=(1, 2, 4, 8),
                     datacenters=[Infrastructure.Datacenters.GCP_Iowa], objective="cost")
    plan = page["plan"]
    flat = {k: v for k, v in p.best.items() if k != "regions"}
    assert {k: plan["best"][k] for k in flat} == pytest.approx(flat) and plan["configurations"] == len(p.rows)
    for name, reg in p.best["regions"].items():
        assert plan["best"]["regions"][name] == pytest.approx(reg)
    ranked = [x["usd_per_year"] for x in plan["ranking"]]
    assert len(ranked) == 5 and ranked == sorted(ranked)
    # every plan meets the targets and carries its tokens: GPUs x tokens/s per GPU = 2,000 tokens/s
    for x in plan["ranking"]:
        assert x["ttft_p99_ms"] <= 1000 and x["tpot_p99_ms"] <= 50
        assert x["gpus"] * x["tokens_per_s_per_gpu"] == pytest.approx(2000, rel=1e-9)


def test_unreachable_targets_are_an_answer_with_the_closest_figures(client):
    r = client.post("/api/serve", json=dict(BODY, ttft_slo_ms=1))
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["status"] == "infeasible" and not page["fleet"]["feasible"]
    assert "closest" in page["plan"]["error"] and "TTFT" in page["plan"]["error"]
    r = client.post("/api/serve", json=dict(BODY, ttft_slo_ms=None, plan=False))  # explicit null: no target
    assert r.status_code == 200 and "ttft_slo" not in r.json()["inputs"]


def test_budget_marks_the_plan(client):
    r = client.post("/api/serve-plan", json=dict(BODY, budget_usd=1))
    assert r.status_code == 200, r.text
    assert r.json()["feasible"] is False and r.json()["binding"].startswith("budget")


@pytest.mark.parametrize("patch, status, needle", [
    ({"qps": "abc"}, 400, "qps must be a number"),
    ({"qps": 1e300}, 400, "qps must be at most"),
    ({"tp_size": 3}, 400, "does not divide"),
    ({"precision": "fp3"}, 400, "unknown serving precision"),
    ({"hardware": "<img src=x onerror=alert(1)>"}, 400, "unknown Hardware"),
    ({"hardware": "TPUv4", "precision": "bf16"}, 400, "rent_usd_per_gpu_hour"),
    ({"percentile": 0.3}, 400, "percentile must be one of"),
    ({"ttft_slo_ms": -5}, 400, "ttft_slo_ms must be"),
    ({"datacenters": ["Mars"]}, 400, "unknown Infrastructure.Datacenters"),
    ({"datacenters": ["GCP_Iowa", "Quebec_Hydro", "US_Colo", "JeanZay", "Meta_US"]}, 400, "1 to 4"),
    ({"plan_tp_sizes": [1, 2, 4, 8, 16]}, 400, "search is bounded"),
    ({"plan_hardware": ["H100", "H200", "B200", "A100_80GB", "MI300X"]}, 400, "search is bounded"),
    ({"objective": "speed"}, 400, "objective must be one of"),
    ({"budget_usd": "lots"}, 400, "budget_usd must be"),
    ({"qps": [1]}, 422, "qps"),
    ({"model": {"a": 1}}, 422, "model"),
])
def test_bad_input_is_4xx_with_the_solver_message(client, patch, status, needle):
    r = client.post("/api/serve", json=dict(BODY, **patch))
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["message"]
    assert r.headers["content-type"].startswith("application/json")


def test_odd_values_in_every_field_never_500(client):
    odd = [None, "", "x", -1, 0, 0.5, 1e308, [], {}, True, "<script>", ["x"], [0]]
    fields = ["model", "hardware", "precision", "tp_size", "pp_size", "qps", "input_len", "output_len", "ttft_slo_ms",
              "tpot_slo_ms", "percentile", "datacenters", "rent_usd_per_gpu_hour", "plan_hardware", "plan_precisions",
              "plan_tp_sizes", "objective", "budget_usd"]
    plan_fields = {"plan_hardware", "plan_precisions", "plan_tp_sizes", "objective", "budget_usd"}
    for f in fields:
        for v in odd:
            small = {"plan_hardware": ["H100"], "plan_precisions": ["fp8"]} if f in plan_fields else {"plan": False}
            r = client.post("/api/serve", json={**BODY, **small, f: v})
            assert r.status_code in (200, 400, 422), (f, v, r.text)
            json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in the answer to {f}={v!r}"))


def test_options_openapi_and_page(client):
    o = client.get("/api/options").json()
    assert "H100" in o["hardware"] and "fp8" in o["serving_precisions"] and 0.99 in o["percentiles"]
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/serve" in paths and "/api/serve-plan" in paths
    assert "serve-form" in client.get("/").text
    js = client.get("/serve.js").text
    assert "innerHTML" not in js and "https://" not in js and "http://" not in js
