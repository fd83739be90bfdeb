"""The serving tab end to end in headless Chromium (fixtures from test_web_browser.py; in CI a missing browser
fails): the Python API's figures on the page, the plan ranking, a bad value inline, the shared URL, a screenshot."""
import os
import shutil

import pytest

pytest.importorskip("fastapi")
from test_web_browser import _assert_not_blank, _wait, browser, server  # noqa: E402,F401 (fixtures)
from test_web_browser import _set as set_field  # noqa: E402

FORM = (("model", "Llama3_70B"), ("hardware", "H100"), ("precision", "fp8"), ("tp_size", "4"), ("qps", "10"),
        ("input_len", "1000"), ("output_len", "200"), ("ttft_slo_ms", "1000"), ("tpot_slo_ms", "50"),
        ("percentile", "0.99"))


def _set(driver, field, value):
    set_field(driver, field, value, prefix="s-")


def _submit(driver):
    driver.execute_script("document.body.dataset.serveState = ''")
    driver.find_element("id", "s-submit").click()
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.serveState") == "done")


def _card(driver, key):
    e = driver.find_element("id", "s-out-" + key)
    return float(e.get_attribute("data-value")), e.text


def test_serving_form_figures_error_share_and_screenshot(server, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.support.ui import Select

    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.models.registry import Models
    from mlsysim.solvers.serving_load import ServingLoadModel
    from mlsysim.solvers.serving_plan import plan_serving
    browser.get(server + "/")
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveReady") == "1")
    assert not browser.find_element("id", "serve-form").is_displayed()
    browser.find_element("id", "tab-serve").click()
    assert browser.find_element("id", "serve-form").is_displayed()
    for field, value in FORM:
        _set(browser, field, value)
    regions = Select(browser.find_element("id", "s-datacenters"))
    regions.deselect_all()
    regions.select_by_value("GCP_Iowa")
    _submit(browser)

    iowa = Infrastructure.Datacenters.GCP_Iowa
    r = ServingLoadModel().solve(Models.Language.Llama3_70B, "H100", qps=10, input_len=1000, output_len=200,
                                 tp_size=4, precision="fp8", ttft_slo=1.0, tpot_slo=0.05, percentile=0.99,
                                 datacenter=iowa)
    expect = {"replicas": r.replicas, "gpus": r.gpus, "tokens_per_s_per_gpu": r.tokens_per_s_per_gpu,
              "ttft_ms": r.ttft_p99_s * 1e3, "tpot_ms": r.tpot_p99_s * 1e3, "usd_per_m_input": r.usd_per_m_input,
              "usd_per_m_output": r.usd_per_m_output, "wh_per_request": r.per_request["energy_j"] / 3600,
              "g_location": r.per_request["carbon_location_kg"] * 1e3,
              "g_market": r.per_request["carbon_market_kg"] * 1e3}
    shown = {}
    for k, v in expect.items():
        value, shown[k] = _card(browser, k)
        assert value == pytest.approx(v, rel=1e-9), k
    # the printed figures (3 significant digits): 2,000 output tokens/s over the GPUs, GCP Iowa's carbon
    assert f"{r.gpus}" in shown["gpus"] and f"{10 * 200 / r.gpus:.3g} tok/s" in shown["tokens_per_s_per_gpu"]
    assert f"{r.per_request['carbon_location_kg'] * 1e3:.3g} gCO2e" in shown["g_location"]
    assert "TTFT p99" in shown["ttft_ms"] and "431.95 gCO2e/kWh" in shown["g_location"]
    assert r.binding in browser.find_element("id", "s-status").text

    p = plan_serving("Llama3_70B", qps=10, input_len=1000, output_len=200, ttft_slo=1.0, tpot_slo=0.05,
                     hardware=("H100", "H200", "B200"), precisions=("fp16", "fp8", "int4"), datacenters=[iowa])
    first = browser.find_elements("css selector", "#s-plan tr")[1].text
    assert first.startswith(f"{p.best['hardware']} {p.best['precision']} {p.best['tp']} {p.best['gpus']}")
    shared = browser.current_url
    assert "form=serve" in shared and "s_qps=10" in shared and "s_datacenters=GCP_Iowa" in shared

    png = tmp_path / "serving.png"
    browser.save_screenshot(str(png))
    _assert_not_blank(png)
    dest = os.environ.get("MLSYSIM_SCREENSHOT")  # docs/web-calculator.png -> docs/web-calculator-serving.png
    if dest:
        root, ext = os.path.splitext(dest)
        shutil.copyfile(png, root + "-serving" + ext)

    # a bad value: the solver's message inline, the field marked, no results
    _set(browser, "qps", "abc")
    _submit(browser)
    err = browser.find_element("id", "s-error")
    assert err.is_displayed() and "qps must be a number" in err.text
    assert "invalid" in browser.find_element("id", "s-qps").get_attribute("class")
    assert not browser.find_element("id", "s-results").is_displayed()

    # the shared URL reproduces the page: the serving tab, the same figures
    browser.get(shared)
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveState") == "done")
    assert browser.find_element("id", "serve-form").is_displayed()
    for k in expect:
        assert _card(browser, k)[1] == shown[k], k


def test_traffic_fields_change_the_answer_and_travel_in_the_url(server, browser):  # noqa: F811
    from selenium.webdriver.support.ui import Select

    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.solvers.serving_load import ServingLoadModel
    browser.get(server + "/?form=serve")
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveReady") == "1")
    for field, value in FORM + (("qps", "40"), ("input_len", "2000"), ("ttft_slo_ms", "150"), ("tpot_slo_ms", ""),
                                ("arrival_cv", ""), ("output_cv", ""), ("load_profile", "")):
        _set(browser, field, value)
    regions = Select(browser.find_element("id", "s-datacenters"))
    regions.deselect_all()
    regions.select_by_value("GCP_Iowa")
    _submit(browser)
    poisson = _card(browser, "replicas")[0]
    wh_flat = _card(browser, "wh_per_request")[0]
    assert "Traffic: Poisson" in browser.find_element("id", "s-traffic").text

    # bursty arrivals (CV 2) and a profile at 1, 0.5, 0.25, 0.25 of the peak
    _set(browser, "arrival_cv", "2")
    _set(browser, "load_profile", "1, 0.5, 0.25, 0.25")
    _submit(browser)
    r = ServingLoadModel().solve("Llama3_70B", "H100", qps=40, input_len=2000, output_len=200, tp_size=4,
                                 precision="fp8", ttft_slo=0.15, arrival_cv=2.0, load_profile=[1, 0.5, 0.25, 0.25],
                                 datacenter=Infrastructure.Datacenters.GCP_Iowa)
    # Kingman: CV-2 arrivals wait 4x the Poisson queue at the same load, so the 150 ms TTFT takes more replicas
    assert _card(browser, "replicas")[0] == r.replicas > poisson
    # the load factor, (1 + 0.5 + 0.25 + 0.25) / 4 = 0.5, and the energy of a fleet idle part of the day
    value, text = _card(browser, "load_factor")
    assert value == 0.5 and "(1 + 0.5 + 0.25 + 0.25) / 4 = 0.5" in text
    wh = _card(browser, "wh_per_request")[0]
    assert wh == pytest.approx(r.energy_per_request_wh, rel=1e-9) and wh > wh_flat
    line = browser.find_element("id", "s-traffic").text
    assert "inter-arrival CV 2" in line and "4 periods, mean 0.5 of the peak" in line
    shared = browser.current_url
    assert "s_arrival_cv=2" in shared and "s_load_profile=1%2C+0.5%2C+0.25%2C+0.25" in shared

    # a bad profile: the message inline, only its field marked
    _set(browser, "load_profile", "1, x")
    _submit(browser)
    err = browser.find_element("id", "s-error")
    assert err.is_displayed() and "comma-separated shares" in err.text
    assert "invalid" in browser.find_element("id", "s-load_profile").get_attribute("class")
    assert "invalid" not in browser.find_element("id", "s-qps").get_attribute("class")

    # the shared URL brings the traffic fields back and the same answer
    browser.get(shared)
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.serveState") == "done")
    assert browser.find_element("id", "s-arrival_cv").get_attribute("value") == "2"
    assert _card(browser, "load_factor")[0] == 0.5 and _card(browser, "replicas")[0] == r.replicas
