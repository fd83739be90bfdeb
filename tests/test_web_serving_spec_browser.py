"""The serving tab's speculative-decoding fields in headless Chromium (fixtures from test_web_browser.py): the
draft changes the answer to ServingLoadModel's with the same draft, travels in the URL, and a bad value is shown
inline on its field."""
import pytest

pytest.importorskip("fastapi")
from test_web_browser import _wait, browser, server  # noqa: E402,F401 (fixtures)
from test_web_serving_browser import FORM, _card, _set, _submit  # noqa: E402


def test_draft_fields_change_the_answer_and_travel_in_the_url(server, browser):  # noqa: F811
    from selenium.webdriver.support.ui import Select

    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_load import ServingLoadModel
    browser.get(server + "/?form=serve")
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveReady") == "1")
    for field, value in FORM + (("qps", "60"), ("draft_model", ""), ("mtp_depth", ""),
                                ("draft_acceptance_rate", ""), ("draft_tokens", "")):
        _set(browser, field, value)
    regions = Select(browser.find_element("id", "s-datacenters"))
    regions.deselect_all()
    regions.select_by_value("GCP_Iowa")
    _submit(browser)
    plain = _card(browser, "tpot_ms")[0]

    def solve(**spec):
        return ServingLoadModel().solve("Llama3_70B", "H100", qps=60, input_len=1000, output_len=200, tp_size=4,
                                        precision="fp8", ttft_slo=1.0, tpot_slo=0.05,
                                        datacenter=Infrastructure.Datacenters.GCP_Iowa, **spec)

    # a draft model from the registry's language models, 3 drafted tokens at acceptance 0.7
    _set(browser, "draft_model", "Llama3_8B")
    _set(browser, "draft_acceptance_rate", "0.7")
    _set(browser, "draft_tokens", "3")
    _submit(browser)
    r = solve(draft_model="Llama3_8B", draft_acceptance_rate=0.7, draft_tokens=3)
    assert _card(browser, "tpot_ms")[0] == pytest.approx(r.tpot_p99_s * 1e3, rel=1e-9) != plain
    assert _card(browser, "replicas")[0] == r.replicas
    assert "speculative decoding: 3 tokens drafted by the draft model" in browser.find_element(
        "id", "s-assumptions").text
    shared = browser.current_url
    assert "s_draft_model=Llama3_8B" in shared and "s_draft_acceptance_rate=0.7" in shared \
        and "s_draft_tokens=3" in shared

    # the model's own MTP modules instead: draft model back to none
    _set(browser, "draft_model", "")
    _set(browser, "draft_tokens", "")
    _set(browser, "mtp_depth", "1")
    _set(browser, "draft_acceptance_rate", "0.8")
    _submit(browser)
    m = solve(mtp_depth=1, draft_acceptance_rate=0.8)
    assert _card(browser, "tpot_ms")[0] == pytest.approx(m.tpot_p99_s * 1e3, rel=1e-9)

    # a bad acceptance: the message inline, only its field marked
    _set(browser, "draft_acceptance_rate", "1.5")
    _submit(browser)
    err = browser.find_element("id", "s-error")
    assert err.is_displayed() and "draft_acceptance_rate must be in [0, 1)" in err.text
    assert "invalid" in browser.find_element("id", "s-draft_acceptance_rate").get_attribute("class")
    assert "invalid" not in browser.find_element("id", "s-mtp_depth").get_attribute("class")

    # the shared URL brings the draft model back and the same answer
    browser.get(shared)
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveState") == "done")
    assert browser.find_element("id", "s-draft_model").get_attribute("value") == "Llama3_8B"
    assert _card(browser, "tpot_ms")[0] == pytest.approx(r.tpot_p99_s * 1e3, rel=1e-9)
