"""Bug bash 7, as a notebook shows it: the explorer's HTML views rendered in headless Chromium (fixtures from
test_web_browser.py), read back as the text a user sees."""
import warnings
from urllib.parse import quote

import pytest

pytest.importorskip("fastapi")
from test_web_browser import browser  # noqa: E402,F401 (fixture)


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
