"""The web API answers JSON the page can show, never a bare 500: "find the best layout" with no plan (was
'Internal Server Error' as text, which the page could not parse), an unexpected error, and a run whose 90 % range
cannot be sampled (the whole request failed with a message about failure_rate_scale, a knob the page lacks)."""
import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from mlsysim.web import create_app  # noqa: E402


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(), raise_server_exceptions=False)


def test_best_layout_with_no_plan_is_a_json_answer(client):
    # 100,000 DGX nodes = 800,000 GPUs: the smallest batch any layout reaches is DP x 1 sequence x 8,192 tokens,
    # far over the batch window the search holds Llama 3 8B's published batch to, so nothing qualifies
    r = client.post("/api/train", json={"model": "Llama3_8B", "cluster": "Research_256", "nodes": 100000,
                                        "best_layout": True})
    assert r.status_code == 422
    e = r.json()["error"]
    assert e["kind"] == "infeasible" and e["message"].startswith("no configuration satisfies the constraints")


def test_an_unexpected_error_is_json_without_a_traceback(client, monkeypatch):
    import mlsysim.web.compute as C

    def boom(req):
        raise RuntimeError("secret detail")
    monkeypatch.setattr(C, "train", boom)
    r = client.post("/api/train", json={"model": "Llama3_8B"})
    assert r.status_code == 500
    e = r.json()["error"]
    assert e["kind"] == "internal" and "RuntimeError" in e["message"] and "secret detail" not in r.text
    assert client.get("/no-such-page").status_code == 404  # routing errors stay what they were


def test_a_run_whose_range_cannot_be_sampled_still_answers(client):
    # 1,000,000 nodes x 8 GPUs: failures arrive faster than checkpoints and restarts in some Monte Carlo samples;
    # the failure-free run still stands: TP8 leaves DP = 8e6 / 8 = 1e6 sequences of 8,192 tokens per step, so
    # 15e12 tokens take 15e12 / (1e6 x 8,192) = 1,831 steps
    r = client.post("/api/train", json={"model": "Llama3_8B", "cluster": "Research_256", "nodes": 1000000,
                                        "tp_size": 8})
    assert r.status_code == 200
    d = r.json()
    assert "error" in d["range"] and "time_to_train" not in d["range"]
    assert d["headline"]["time_to_train_days"]["formula"].startswith("steps x step time = 1,831 x ")
