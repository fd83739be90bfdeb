"""The README's shell blocks and quoted figures stay true: the Quick start demo, every command of the `## Serving
at scale` block, the web section's curl body, the bad-input messages it quotes, and the figures its prose derives
by hand (each recomputed here from published inputs, then looked for in the README)."""
from __future__ import annotations

import json
import math
import re
import runpy
import shlex
import sys
from pathlib import Path

import pytest

from mlsysim import Hardware, Models, Systems

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _section(title):
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _bash_lines(title):
    block = re.search(r"```bash\n(.*?)```", _section(title), re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_quick_start_demo_runs(capsys):
    runpy.run_path(str(ROOT / "examples" / "tutorial.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "Total Carbon:" in out and ", fits" in out


def test_readme_serving_block_runs(tmp_path, monkeypatch, capsys):
    """Every line of the serving block exits 0, in order (the trace it writes is the one it replays)."""
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    lines = _bash_lines("Serving at scale")
    assert len(lines) >= 10
    for cmd in lines:
        argv = shlex.split(cmd)
        if argv[0] == "mlsysim":
            r = CliRunner().invoke(app, argv[1:], env={"COLUMNS": "120"})
            if r.exception and not isinstance(r.exception, SystemExit):
                raise r.exception
            assert r.exit_code == 0, (cmd, r.output)
        else:
            assert argv[0] == "python" and argv[1].startswith("examples/"), cmd
            monkeypatch.setattr(sys, "argv", argv[1:])
            runpy.run_path(argv[1], run_name="__main__")
    assert (tmp_path / "requests.csv").exists()
    assert "Answer: 100 x B200" in capsys.readouterr().out  # the capstone, as the section quotes it


def test_readme_curl_body_answers():
    """The web section's curl body, posted to /api/serve: one TP4 replica, as the README says, and by hand
    ceil(10 QPS / the replica's maximum QPS) replicas of 4 GPUs."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from mlsysim.web.app import create_app
    body = json.loads(re.search(r"-d '(\{.*?\})'", _section("Web calculator"), re.S).group(1))
    r = TestClient(create_app()).post("/api/serve", json=body)
    assert r.status_code == 200, r.text
    fleet = r.json()["fleet"]
    assert fleet["replicas"] == math.ceil(body["qps"] / fleet["qps_per_replica_max"]) == 1
    assert fleet["gpus"] == fleet["replicas"] * body["tp_size"] == 4
    assert "It answers one TP4 replica (4 GPUs)" in README


def test_readme_bad_input_messages_are_the_solvers():
    from mlsysim import DistributedModel, Fleet
    from mlsysim.errors import ConfigError
    text = _section("What you can ask")
    l70, r256 = Models.Language.Llama3_70B, Systems.Clusters.Research_256
    f48 = Fleet(node=Systems.Nodes.DGX_H100, count=6, fabric=Systems.Fabrics.InfiniBand_NDR)  # 48 GPUs
    cases = [(lambda: DistributedModel().solve(l70, r256, tp_size=6), "the fleet's 256 accelerators"),
             (lambda: DistributedModel().solve(l70, f48, tp_size=6), "64 attention heads"),
             (lambda: Hardware.Cloud.H10, "unknown Hardware.Cloud entry"),
             (lambda: DistributedModel().solve(l70, r256, tp=8), "takes no argument 'tp'")]
    quoted = [" ".join(q.split()) for q in re.findall(r"→\s+`([^`]+)`", text)]
    assert len(quoted) == len(cases)
    for (call, key), q in zip(cases, quoted):
        with pytest.raises(ConfigError) as e:
            call()
        assert key in q and q in " ".join(str(e.value).split()), (q, str(e.value))


# Llama 3 8B (HF config meta-llama/Meta-Llama-3-8B): 8,030,261,248 parameters, vocab 128,256, hidden 4,096,
# 32 layers, 8 KV heads of 128; context 8,192. H100 SXM: 3.35 TB/s (datasheet).
L8_PARAMS, VOCAB, HIDDEN, LAYERS, KV_HEADS, HEAD_DIM, CTX = 8_030_261_248, 128_256, 4096, 32, 8, 128, 8192
L8_STREAMED = (L8_PARAMS - VOCAB * HIDDEN) * 2  # bf16 weights but the embedding table: 15.01e9 bytes


def test_module1_roof_by_hand():
    from mlsysim.engine.engine import Engine
    r = Engine.solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, batch_size=1, precision="fp16", seq_len=1)
    hand = L8_STREAMED / 3.35e12  # 4.4806 ms
    assert r.ideal_latency.to("s").magnitude == pytest.approx(hand, rel=1e-3)
    assert "15.0 GB / 3.35 TB/s = 4.48 ms" in README


def test_synthesis_requirements_by_hand():
    from mlsysim.core.constants import Q_
    from mlsysim.solvers import SynthesisSolver
    syn = SynthesisSolver().solve(model=Models.Language.Llama3_8B, target_latency=Q_("30 ms"), batch_size=1,
                                  precision="fp16")
    kv = CTX * LAYERS * KV_HEADS * HEAD_DIM * 2 * 2  # K and V, bf16: 1.074e9 bytes
    hand_bw = (L8_STREAMED + kv) / 0.030  # 0.536e12 B/s
    assert syn.required_bw_bps == pytest.approx(hand_bw, rel=1e-3)
    assert f"{hand_bw / 1e12:.2f} TB/s" == "0.54 TB/s" and "# 0.54 TB/s, 0.64 TFLOP/s, 19.6 GB" in README


def test_tiny_keyword_spotter_by_hand():
    from mlsysim.engine.engine import Engine
    from mlsysim.models.small import SmallModels
    kws = Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.nRF52840, precision="int8")
    roof = 5.4e6 / 256e6  # Hello Edge DS-CNN (S) 5.4 M ops / nRF52840 int8 SMLAD 4 ops x 64 MHz = 21.1 ms
    ceiling = 0.78 * 0.88  # default matmul ceiling x framework GEMM share (physics/constants.py, GPU figures)
    assert kws.ideal_latency.to("s").magnitude == pytest.approx(roof, rel=1e-6)
    assert kws.latency.to("s").magnitude == pytest.approx(roof / ceiling, rel=1e-3)  # 30.7 ms
    assert "= 21.1 ms is the ideal roof" in README and "# compute 30.7 ms True" in README


def test_chinchilla_budget_by_hand():
    from mlsysim.solvers import ScalingLawModel
    n = math.sqrt(5.76e23 / 120)  # C = 6 N D with D = 20 N (Hoffmann et al. 2022; Gopher's budget)
    assert ScalingLawModel().solve(compute_budget=5.76e23).params == pytest.approx(n, rel=1e-6)
    assert f"{n / 1e9:.0f}B" == "69B" and "Gopher's 5.76e23 FLOP gives sqrt(4.8e21) = 69B" in README
