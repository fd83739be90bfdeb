"""`mlsysim zoo` lists the small networks the README's TinyML section uses (SmallModels: DS-CNN, MobileNetV2,
ResNet-50); `mlsysim zoo DS_CNN_KWS` was "unknown registry, category or entry"."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("typer")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402


def run(*argv, width=80):
    return CliRunner().invoke(app, list(argv), env={"COLUMNS": str(width)})


def test_one_small_model_in_full():
    r = run("zoo", "DS_CNN_KWS", "--json")
    assert r.exit_code == 0, r.output
    (e,) = json.loads(r.stdout)["entries"]
    # Hello Edge (Zhang et al. 2017): DS-CNN S, 5.4 M operations and 38.6 KB of 8-bit weights
    assert e["registry"] == "SmallModels" and e["gflop"] == pytest.approx(5.4e6 / 1e9)
    assert e["params"] == pytest.approx(38.6e3)
    assert all(len(x) <= 80 for x in run("zoo", "DS_CNN_KWS").stdout.splitlines())


def test_filter_small_models_by_flops():
    # He et al. 2016: ResNet-50 at 3.8 G multiply-adds = 7.6 GFLOP; Sandler et al. 2018: MobileNetV2 at 300 M = 0.6
    r = run("zoo", "smallmodels", "--where", "gflop>1", "--json")
    keys = [e["key"] for e in json.loads(r.stdout)["entries"]]
    assert keys == ["ResNet50"]
    text = run("zoo", "smallmodels").stdout
    assert all(len(x) <= 80 for x in text.splitlines())
    assert {"DS_CNN_KWS", "MobileNetV2", "ResNet50"} <= {x.split()[0] for x in text.splitlines() if x.strip()}
