"""The serving calculator's speculative-decoding fields (draft model or MTP depth, acceptance, drafted tokens)
through /api/serve: the fleet and the plan of ServingLoadModel and plan_serving with the same draft, and 400/422
(never 500) with a message naming the field for bad input."""
import json
import math

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from mlsysim.web import create_app  # noqa: E402

BODY = {"model": "Llama3_70B", "hardware": "H100", "precision": "fp8", "tp_size": 4, "qps": 60, "input_len": 1000,
        "output_len": 200, "ttft_slo_ms": 1000, "tpot_slo_ms": 50, "percentile": 0.99, "datacenters": ["GCP_Iowa"],
        "plan_hardware": ["H100"], "plan_precisions": ["fp8"], "plan_tp_sizes": [4, 8]}
DRAFT = {"draft_model": "Llama3_8B", "draft_acceptance_rate": 0.7, "draft_tokens": 3}
MTP = {"mtp_depth": 1, "draft_acceptance_rate": 0.8}


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app())


def _solve(**spec):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_load import ServingLoadModel
    return ServingLoadModel().solve("Llama3_70B", "H100", qps=60, input_len=1000, output_len=200, tp_size=4,
                                    precision="fp8", ttft_slo=1.0, tpot_slo=0.05,
                                    datacenter=Infrastructure.Datacenters.GCP_Iowa, **spec)


@pytest.mark.parametrize("spec", [DRAFT, MTP], ids=["draft", "mtp"])
def test_the_page_fleet_and_plan_are_servingloadmodels_with_the_same_draft(client, spec):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_plan import plan_serving
    r = client.post("/api/serve", json={**BODY, **spec})
    assert r.status_code == 200, r.text
    page, want = r.json(), _solve(**spec)
    f = page["fleet"]
    assert (f["replicas"], f["gpus"], f["binding"]) == (want.replicas, want.gpus, want.binding)
    assert f["qps_per_replica_max"] == pytest.approx(want.qps_per_replica_max, rel=1e-12)
    assert page["headline"]["tpot_ms"]["value"] == pytest.approx(want.tpot_p99_s * 1e3, rel=1e-12)
    # replicas = ceil(60 QPS / what one replica sustains within the SLO)
    assert f["replicas"] == math.ceil(60 / f["qps_per_replica_max"])
    assert "speculative decoding" in page["assumptions"]
    p = plan_serving("Llama3_70B", qps=60, input_len=1000, output_len=200, ttft_slo=1.0, tpot_slo=0.05,
                     hardware=("H100",), precisions=("fp8",), tp_sizes=(4, 8),
                     datacenters=[Infrastructure.Datacenters.GCP_Iowa], **spec)
    best = page["plan"]["best"]
    assert (best["tp"], best["replicas"]) == (p.best["tp"], p.best["replicas"])
    assert best["usd_per_year"] == pytest.approx(p.best["usd_per_year"], rel=1e-12)
    assert "speculative decoding" in page["plan"]["assumptions"]


def test_the_draft_changes_the_answer_and_empty_fields_do_not(client):
    plain = client.post("/api/serve", json={**BODY, "plan": False}).json()
    empty = client.post("/api/serve", json={**BODY, "plan": False, "draft_model": "", "mtp_depth": "",
                                            "draft_acceptance_rate": "", "draft_tokens": ""}).json()
    mtp = client.post("/api/serve", json={**BODY, "plan": False, **MTP}).json()
    assert empty["fleet"] == plain["fleet"]
    assert mtp["fleet"]["qps_per_replica_max"] != pytest.approx(plain["fleet"]["qps_per_replica_max"], rel=1e-3)
    assert "speculative decoding" not in plain["assumptions"]


@pytest.mark.parametrize("patch, status, needle", [
    ({"draft_tokens": 3}, 400, "draft_tokens only matters"),
    ({"draft_model": "Llama3_8B"}, 400, "needs draft_acceptance_rate"),
    ({"draft_model": "Llama3_8B", "mtp_depth": 1, "draft_acceptance_rate": 0.7}, 400, "not both"),
    ({"draft_model": "Nope", "draft_acceptance_rate": 0.7}, 400, "draft_model must be one of"),
    ({"draft_model": "ResNet50", "draft_acceptance_rate": 0.7}, 400, "draft_model must be one of"),
    ({"mtp_depth": 1, "draft_acceptance_rate": 1.5}, 400, "draft_acceptance_rate must be in [0, 1)"),
    ({"mtp_depth": 1, "draft_acceptance_rate": "high"}, 400, "draft_acceptance_rate must be a number"),
    ({"mtp_depth": 100, "draft_acceptance_rate": 0.7}, 400, "mtp_depth must be at most 16"),
    ({"draft_model": "Llama3_8B", "draft_acceptance_rate": 0.7, "draft_tokens": 0}, 400, "draft_tokens must be"),
    ({"mtp_depth": [1]}, 422, "mtp_depth"),
])
def test_bad_draft_input_is_4xx_naming_the_field(client, patch, status, needle):
    r = client.post("/api/serve", json=dict(BODY, plan=False, **patch))
    assert r.status_code == status, r.text
    assert needle in json.dumps(r.json()["error"]) if status == 422 else needle in r.json()["error"]["message"]


def test_odd_draft_values_never_500(client):
    odd = [None, "", "x", -1, 0, 0.5, 100, 1e308, [], {}, True, "<script>", ["x"]]
    for f in ("draft_model", "mtp_depth", "draft_acceptance_rate", "draft_tokens"):
        for v in odd:
            r = client.post("/api/serve", json={**BODY, "plan": False, "draft_acceptance_rate": 0.7, f: v})
            assert r.status_code in (200, 400, 422), (f, v, r.text)
            json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in the answer to {f}={v!r}"))


def test_options_list_the_language_models(client):
    o = client.get("/api/options").json()
    assert "Llama3_8B" in o["language_models"] and "ResNet50" not in o["language_models"]
