"""The serving calculator's traffic fields (arrival CV, output CV, load profile) through /api/serve: the figures of
ServingLoadModel and plan_serving with the same traffic, hand-checkable load factor and energy, and 400/422 (never
500) with the fix for bad input."""
import json

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from mlsysim.web import create_app  # noqa: E402

BODY = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 40, "input_len": 2000,
        "output_len": 200, "ttft_slo_ms": 150, "tpot_slo_ms": None, "percentile": 0.99, "datacenters": ["GCP_Iowa"]}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def _solve(**kw):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_load import ServingLoadModel
    return ServingLoadModel().solve("Llama3_70B", "H100", qps=40, input_len=2000, output_len=200, tp_size=4,
                                    precision="fp8", ttft_slo=0.15, datacenter=Infrastructure.Datacenters.GCP_Iowa,
                                    **kw)


def test_bursty_arrivals_need_more_replicas_on_the_page_and_in_the_plan(client):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_plan import plan_serving
    pois = client.post("/api/serve", json=dict(BODY, plan=False)).json()
    page = client.post("/api/serve", json=dict(BODY, arrival_cv=2, plan_hardware=["H100"],
                                               plan_precisions=["fp8"])).json()
    r = _solve(arrival_cv=2.0)
    # Kingman: CV-2 arrivals wait 4x the Poisson queue at the same load, so a 150 ms TTFT needs more replicas
    assert page["fleet"]["replicas"] == r.replicas > pois["fleet"]["replicas"]
    assert page["headline"]["ttft_ms"]["value"] == pytest.approx(r.ttft_p99_s * 1e3, rel=1e-12)
    assert "G/G/1 (Kingman, arrival CV 2)" in page["headline"]["ttft_ms"]["formula"]
    assert page["traffic"]["label"] == "G/G/1, inter-arrival CV 2" and page["inputs"]["arrival_cv"] == 2
    # the plan ranking searches with the same traffic
    p = plan_serving("Llama3_70B", qps=40, input_len=2000, output_len=200, ttft_slo=0.15, arrival_cv=2.0,
                     hardware=("H100",), precisions=("fp8",), datacenters=[Infrastructure.Datacenters.GCP_Iowa])
    assert page["plan"]["best"]["gpus"] == p.best["gpus"] and "CV 2" in page["plan"]["assumptions"]["traffic"]


def test_load_profile_text_gives_the_hand_computed_load_factor_and_energy(client):
    page = client.post("/api/serve", json=dict(BODY, plan=False, load_profile="1, 0.5, 0.25, 0.25")).json()
    flat = client.post("/api/serve", json=dict(BODY, plan=False)).json()
    # mean share of the peak: (1 + 0.5 + 0.25 + 0.25) / 4 = 0.5
    card = page["headline"]["load_factor"]
    assert card["value"] == 0.5 and "(1 + 0.5 + 0.25 + 0.25) / 4 = 0.5" in card["formula"]
    assert page["traffic"]["periods"] == 4 and "load_factor" not in flat["headline"]
    # sized for the peak: the same fleet; the energy card divides the mean power by the mean QPS, 40 x 0.5 = 20
    assert page["fleet"]["replicas"] == flat["fleet"]["replicas"]
    assert "/ 20 per s" in page["headline"]["wh_per_request"]["formula"]
    r = _solve(load_profile=[1.0, 0.5, 0.25, 0.25])
    assert page["headline"]["wh_per_request"]["value"] == pytest.approx(r.energy_per_request_wh, rel=1e-12)
    assert page["headline"]["wh_per_request"]["value"] > flat["headline"]["wh_per_request"]["value"]
    # a list is the same as the text
    as_list = client.post("/api/serve", json=dict(BODY, plan=False, load_profile=[1, 0.5, 0.25, 0.25])).json()
    assert as_list["headline"]["wh_per_request"] == page["headline"]["wh_per_request"]


def test_output_cv_reaches_the_kv_capacity(client):
    page = client.post("/api/serve", json=dict(BODY, plan=False, input_len=1000, output_cv=1)).json()
    base = client.post("/api/serve", json=dict(BODY, plan=False, input_len=1000)).json()
    # a sequence in the batch holds 1,000 + 200 x (1 + 1) / 2 = 1,200 tokens instead of 1,100
    # (whole sequences in the JSON: the ratio holds to within one sequence of the smaller count)
    assert page["fleet"]["kv_capacity"] / base["fleet"]["kv_capacity"] == pytest.approx(
        1100 / 1200, abs=1.0 / page["fleet"]["kv_capacity"])


@pytest.mark.parametrize("patch, status, needle", [
    ({"load_profile": "1, x"}, 400, "comma-separated shares"),
    ({"load_profile": "2, 1"}, 400, "divide the profile"),
    ({"load_profile": "0, 0"}, 400, "all zeros"),
    ({"load_profile": [0.5] * 9000}, 400, "1 to 8784"),
    ({"arrival_cv": -1}, 400, "arrival_cv must be >= 0"),
    ({"arrival_cv": "bursty"}, 400, "arrival_cv must be a number"),
    ({"output_cv": 1e6}, 400, "output_cv must be at most 100"),
    ({"arrival_cv": [2]}, 422, "arrival_cv"),
])
def test_bad_traffic_is_4xx_with_the_fix(client, patch, status, needle):
    r = client.post("/api/serve", json=dict(BODY, plan=False, **patch))
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]["message"]


def test_odd_traffic_values_never_500(client):
    odd = [None, "", "x", -1, 0, 0.5, 100, 1e308, [], {}, True, "<script>", ["x"], [0], [1e308], "1,,0.5"]
    for f in ("arrival_cv", "output_cv", "load_profile"):
        for v in odd:
            r = client.post("/api/serve", json={**BODY, "plan_hardware": ["H100"], "plan_precisions": ["fp8"], f: v})
            assert r.status_code in (200, 400, 422), (f, v, r.text)
            json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in the answer to {f}={v!r}"))
