"""`mlsysim eval` on a small network, as the README's TinyML example runs it through Engine.solve: `--model
DS_CNN_KWS --hardware nRF52840` was "unknown Models entry" (the command knew only transformers)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim import Hardware  # noqa: E402
from mlsysim.cli.main import app  # noqa: E402
from mlsysim.engine.engine import Engine  # noqa: E402
from mlsysim.models.small import SmallModels  # noqa: E402


def run(*argv):
    return CliRunner().invoke(app, ["eval", *argv], env={"COLUMNS": "80"})


def test_keyword_spotting_on_a_microcontroller():
    r = run("--model", "DS_CNN_KWS", "--hardware", "nRF52840", "--precision", "int8", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    # Hello Edge's DS-CNN S: 38,600 8-bit weights + a 49 x 10 MFCC input = 39,090 bytes, in 1 MiB + 256 KiB
    assert d["bytes_moved"] == pytest.approx(38_600 + 490) and d["feasible"] is True
    # 5.4 MFLOP at the nRF52840's 256 MFLOP/s int8 peak is 21.1 ms at best: compute-bound, slower than that
    assert d["bound"] == "compute" and d["latency_s"] > 5.4e6 / 256e6
    # the same number as the Python API of the README
    api = Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.nRF52840, precision="int8")
    assert d["latency_s"] == pytest.approx(api.latency_s)
    text = run("--model", "DS_CNN_KWS", "--hardware", "nRF52840", "--precision", "int8").stdout
    assert all(len(x) <= 80 for x in text.splitlines()) and "0.00131 GB" in text


def test_resnet_does_not_fit_and_bad_options_say_why():
    r = run("--model", "ResNet50", "--hardware", "nRF52840", "--precision", "int8")
    # 25.6 M int8 weights = 25.6 MB > 1.31 MB
    assert r.exit_code == 4 and "has 0.00131 GB" in r.output
    r = run("--model", "ResNet50", "--hardware", "nRF52840")
    assert r.exit_code == 2 and "--precision fp32 or int8" in r.output
    r = run("--model", "ResNet50", "--hardware", "H100", "--seq-len", "5")
    assert r.exit_code == 2 and "--seq-len" in r.output
