"""Tutorial modules 1 and 2: entry points give figures matching hand calculations; bad input is refused."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from mlsysim import Hardware, Models
from mlsysim.core.constants import Q_
from mlsysim.core.units import GB, TB, TFLOPs, second, watt
from mlsysim.engine.engine import Engine
from mlsysim.errors import ConfigError
from mlsysim.hardware.types import ComputeCore, HardwareNode, MemoryHierarchy
from mlsysim.solvers.data import DataModel, TransformationModel

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_llama3_8b_decode_on_h100_is_memory_bound_near_the_roof():
    # Hand: 8.03e9 params less the untied input embedding (128,256 x 4,096 = 0.525e9; the token reads one row)
    # = 7.505e9 x 2 B = 15.01 GB read per token (+ 131 kB KV, 1 MB activations); / 3.35e12 B/s = 4.48 ms at the
    # ideal roof. Arithmetic intensity ~2 FLOP/param / 2 B = ~1 FLOP/B << ridge 989.5e12 / 3.35e12 = 295: memory-bound.
    r = Engine.solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, batch_size=1, precision="fp16", seq_len=1)
    assert r.bottleneck == "memory"
    assert r.ideal_latency.to("ms").magnitude == pytest.approx(15.011e9 / 3.35e12 * 1e3, rel=0.001)
    # the prediction sits above the roof by the streaming efficiency: 0.85 of HBM, 4.48 / 0.85 = 5.27 ms
    assert r.latency.to("ms").magnitude == pytest.approx(4.481 / 0.85, rel=0.01)
    assert r.efficiency == pytest.approx(0.85, abs=0.01) and r.efficiency <= 1.0
    assert r.throughput.to("1/s").magnitude == pytest.approx(1e3 / r.latency.to("ms").magnitude)


def test_custom_hardware_node_feeds_the_solvers():
    chip = HardwareNode(name="X", release_year=2027, compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
                        memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB / second), tdp=800 * watt)
    assert chip.peak("fp16") == 1.2e15 and chip.memory_bw == 5e12 and chip.memory_bytes == 144e9
    r = Engine.solve(Models.Language.Llama3_8B, chip, seq_len=1)
    # Hand: 15.01 GB streamed (weights less the input embedding table) / 5 TB/s = 3.00 ms ideal
    assert r.ideal_latency.to("ms").magnitude == pytest.approx(3.00, rel=0.01)
    with pytest.raises(ConfigError):  # a bandwidth given as a capacity
        HardwareNode(name="bad", compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
                     memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB), tdp=800 * watt)


def test_q_parses_the_tutorial_units():
    assert Q_("400 Gbps").to("GB/s").magnitude == pytest.approx(50.0)  # 400e9 bit/s / 8 = 50e9 B/s
    with pytest.raises(ConfigError):
        Q_("12 furlongs per fortnite")


def test_data_wall_a100():
    # Hand: 40,000 /s x 150e3 B = 6.0e9 B/s. Paths per A100: PCIe Gen4 x16 = 16 GT/s x 16 x 128/130 / 8 = 31.5 GB/s;
    # local NVMe 4 x 7 GB/s shared by 8 GPUs = 3.5 GB/s; NIC 200 Gb/s = 25 GB/s. NVMe binds: 6 / 3.5 = 1.71, stalled.
    r = DataModel().solve(workload_data_rate=Q_("40000 1/s") * Q_("150 KB"), hardware=Hardware.Cloud.A100_80GB)
    assert r.demand.to("GB/s").magnitude == pytest.approx(6.0)
    assert r.supply["PCIe host link"] == pytest.approx(31.5e9, rel=0.01)
    assert r.binding_path.startswith("local NVMe") and r.is_stalled
    assert r.utilization == pytest.approx(6.0 / 3.5, rel=0.01)
    with pytest.raises(ConfigError):
        DataModel().solve(workload_data_rate=Q_("-1 GB/s"), hardware=Hardware.Cloud.A100_80GB)
    with pytest.raises(ConfigError):  # a rate divided by the wrong thing
        DataModel().solve(workload_data_rate=Q_("150 KB"), hardware=Hardware.Cloud.A100_80GB)


def test_transformation_budget():
    # Hand: 16 workers x 400 /s = 6,400 samples/s vs 256 / 0.1 s = 2,560 needed: not a bottleneck; 4 workers
    # make 1,600 < 2,560: bottleneck, ceil(2560 / 400) = 7 workers needed.
    ok = TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=16, step_time=0.1)
    assert not ok.is_bottleneck and ok.supply.magnitude == 6400
    low = TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=4, step_time=0.1)
    assert low.is_bottleneck and low.workers_needed == 7
    with pytest.raises(ConfigError):
        TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=0, step_time=0.1)
    with pytest.raises(ConfigError):
        TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=-5, num_workers=4, step_time=0.1)


@pytest.mark.parametrize("name, expect", [("module1.py", "memory-bound"), ("module2.py", "stalled=True")])
def test_examples_run(name, expect, capsys):
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    assert expect in capsys.readouterr().out
