"""Bug bash 7, as a notebook shows it: the explorer's HTML views rendered in headless Chromium (fixtures from
test_web_browser.py), read back as the text a user sees."""
import warnings
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
from test_web_browser import _wait, browser, server  # noqa: E402,F401 (fixtures)


def _shown(driver, html):
    driver.get("data:text/html;charset=utf-8," + quote(html))
    return driver.find_element("tag name", "body").text


def test_a_serving_sweep_view_names_the_layouts_it_left_out(browser):  # noqa: F811
    # fp8 on an A100 (no fp8 tensor cores: NVIDIA A100 datasheet 2020, TF32/BF16/FP16/INT8) and bf16 70B weights
    # on one 80 GB H100 (70.6e9 x 2 bytes = 141 GB > 80 GB) are not rows; the view said "4 serving configurations"
    # and nothing else, as if the A100 had been tried at fp8
    from mlsysim import explore
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = explore.serving_sweep("Llama3_70B", hardware=("H100", "A100_80GB"), precisions=("fp8", "bf16"),
                                    tp_sizes=(1, 8), lengths=((1000, 200),), max_batches=(64,), chunks=(8192,),
                                    ttft_slos=(1.0,))
    text = _shown(browser, res._repr_html_())
    assert "4 serving configurations" in text and len(res) == 4  # 2 x 2 x 2 layouts = 8, 4 left out
    assert "4 layouts not in the table" in text
    assert "A100_80GB fp8 TP1: NVIDIA A100 SXM4 80GB has no fp8 compute" in text
    assert "H100 bf16 TP1: does not fit in memory" in text
    assert "4 layouts not in the table" in repr(res)


def test_the_range_table_of_a_short_run_is_not_zeros(server, browser):  # noqa: F811
    # 1e9 tokens of Llama 3 8B on 256 H100s: 6 x 8.03e9 x 1e9 = 4.8e19 FLOP at 256 x 989 TFLOP/s x ~36 % MFU is
    # ~530 s = 0.006 days, ~0.1 MWh, ~0.05 t: the 90 % range table printed every one of them as "0 0 0" and the
    # regions line "Lowest carbon: Quebec, 0 t" (the cards above had been fixed)
    from mlsysim.web.compute import train
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = train({"model": "Llama3_8B", "tp_size": 8, "tokens": 1e9})
    assert 0.001 < r["range"]["time_to_train"][1] < 0.02
    browser.get(server + "/?model=Llama3_8B&tp_size=8&tokens=1e9")
    _wait(browser, lambda d: d.execute_script("return document.body.dataset.state") == "done", timeout=60)
    rows = {tr.find_elements("tag name", "td")[0].text: [td.text for td in tr.find_elements("tag name", "td")[1:]]
            for tr in browser.find_element("id", "range").find_elements("tag name", "tr")[1:]}
    shown = {k: v for k, v in zip(("time_to_train", "energy", "carbon"), (next(v for k, v in rows.items() if w in k)
                                                                          for w in ("time", "energy", "carbon")))}
    for key, cells in shown.items():
        want = [f"{float(f'{x:.3g}'):g}" for x in r["range"][key]]  # three significant figures, as the cards
        assert cells == want and "0" not in cells, (key, cells, want)
    low = r["regions"]["lowest_carbon"]["carbon_t"]
    assert low < 1 and f", {float(f'{low:.3g}'):g} t" in browser.find_element("id", "regions").text
