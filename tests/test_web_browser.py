"""The page end to end in headless Chromium (Debian `chromium` + `chromium-driver`, driven by selenium): the
tutorial's run, a region change, a bad value, the shared URL and a screenshot. In CI (CI=true) a missing browser
is a failure, not a skip."""
import os
import shutil
import socket
import threading
import time

import pytest

pytest.importorskip("fastapi")


def _missing(why):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need {why} in CI: apt-get install -y chromium chromium-driver")
    pytest.skip(f"{why} not installed (apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from mlsysim.web import create_app
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    t.join(10)


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        _missing("chromium and chromedriver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1800"):
        opts.add_argument(a)
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    d.set_page_load_timeout(30)
    yield d
    d.quit()


def _wait(driver, cond, timeout=20):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(cond)


def _submit(driver):
    driver.execute_script("document.body.dataset.state = ''")
    driver.find_element("id", "submit").click()
    _wait(driver, lambda d: d.execute_script("return document.body.dataset.state") == "done")


def _set(driver, field, value, prefix="f-"):
    from selenium.webdriver.support.ui import Select
    e = driver.find_element("id", prefix + field)
    if e.tag_name == "select":
        Select(e).select_by_value(value)
    else:
        e.clear()
        e.send_keys(value)


def _value(driver, key):
    return float(driver.find_element("id", "out-" + key).get_attribute("data-value"))


def test_tutorial_run_region_error_share_and_screenshot(server, browser, tmp_path):
    from mlsysim.infrastructure.registry import Infrastructure
    from mlsysim.models.registry import Models
    from mlsysim.solvers import DistributedModel, SustainabilityModel
    from mlsysim.systems.registry import Systems
    browser.get(server + "/")
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.ready") == "1")
    for field, value in (("model", "Llama3_70B"), ("cluster", "Research_256"), ("tp_size", "8"), ("pp_size", "1"),
                         ("dp_size", "32"), ("datacenter", "GCP_Iowa")):
        _set(browser, field, value)
    _submit(browser)

    fleet = Systems.Clusters.Research_256
    perf = DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=fleet, tp_size=8, pp_size=1, dp_size=32)
    days = perf.latency.to("days").magnitude
    iowa = Infrastructure.Datacenters.GCP_Iowa
    sust = SustainabilityModel().solve(fleet=fleet, duration_days=days, mfu=perf.mfu, datacenter=iowa)
    assert _value(browser, "time_to_train_days") == pytest.approx(days, rel=1e-9)
    assert _value(browser, "mfu") == pytest.approx(perf.mfu, rel=1e-9)
    carbon = _value(browser, "carbon_location_t")
    assert carbon == pytest.approx(sust.carbon_footprint, rel=1e-9)
    shown = browser.find_element("id", "out-carbon_location_t").text
    assert f"{sust.carbon_footprint:,.1f}" in shown
    shared = browser.current_url
    assert "tp_size=8" in shared and "datacenter=GCP_Iowa" in shared

    png = tmp_path / "page.png"
    browser.save_screenshot(str(png))
    _assert_not_blank(png)
    _maybe_save_docs(png)

    # same fleet and duration, grid override: carbon scales by the grid ratio (Quebec 20 / Iowa 431.95, same PUE)
    _set(browser, "grid", "Quebec")
    _submit(browser)
    q = Infrastructure.Grids.Quebec.gco2_per_kwh
    assert _value(browser, "carbon_location_t") / carbon == pytest.approx(q / iowa.grid.gco2_per_kwh, rel=1e-9)

    # a bad value: the solver's message inline, the field marked
    _set(browser, "grid", "")
    _set(browser, "tp_size", "abc")
    _submit(browser)
    err = browser.find_element("id", "error")
    assert err.is_displayed() and "layout.tp_size must be an integer" in err.text
    assert "invalid" in browser.find_element("id", "f-tp_size").get_attribute("class")

    # the shared URL reproduces the first page
    browser.get(shared)
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.state") == "done")
    assert _value(browser, "carbon_location_t") == pytest.approx(carbon, rel=1e-12)
    assert browser.find_element("id", "out-carbon_location_t").text == shown


def _assert_not_blank(png):
    import matplotlib.image as mpimg
    img = mpimg.imread(str(png))
    assert img.shape[0] > 100 and img.shape[1] > 100
    assert float(img[..., :3].std()) > 0.05  # a blank page has ~0 variance


def _maybe_save_docs(png):
    """MLSYSIM_SCREENSHOT=path copies the screenshot there (how docs/web-calculator.png is made)."""
    dest = os.environ.get("MLSYSIM_SCREENSHOT")
    if dest:
        shutil.copyfile(png, dest)
