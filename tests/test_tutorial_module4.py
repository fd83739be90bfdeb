"""Tutorial module 4 (sensitivity, synthesis, TinyML to frontier, scaling law) and the module 1-2 contract items
not covered in test_tutorial_modules.py; every expected number is derived by hand in the comment beside it."""
from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest

from mlsysim import Hardware, Models, Systems
from mlsysim.core.constants import Q_
from mlsysim.engine.engine import Engine
from mlsysim.errors import ConfigError
from mlsysim.models.small import SmallModels
from mlsysim.solvers import (DataModel, ScalingLawModel, SensitivitySolver, ServingModel, SynthesisSolver,
                             TransformationModel)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
L8, L70, H100 = Models.Language.Llama3_8B, Models.Language.Llama3_70B, Hardware.Cloud.H100
# Llama 3 8B decode, one token over 8,192 cached tokens. Weights: 8,030,261,248 params less the untied input
# embedding table (128,256 x 4,096 = 525,336,576, gathered: only the token's row of 4,096 is read) = 7,504,924,672 +
# 4,096 params x 2 B = 15.010 GB; KV 32 layers x 8 KV heads x 128 x 2 (K, V) x 2 B = 131,072 B/token x 8,192 =
# 1.074 GB; activations 4 passes x 4,096 x 32 layers x 2 B = 1.05 MB. Total 16.085 GB.
L8_WEIGHT_BYTES = (8_030_261_248 - 128_256 * 4_096 + 4_096) * 2
L8_DECODE_BYTES = L8_WEIGHT_BYTES + 131072 * 8192 + 4 * 4096 * 32 * 2


# ---------------------------------------------------------------------------------------- modules 1 and 2
def test_engine_efficiency_overrides_and_says_so():
    # seq_len=1: 15.010 GB + 131 kB KV + 1 MB; at efficiency 0.5 of 3.35 TB/s: 15.011e9 / 1.675e12 = 8.96 ms
    r = Engine.solve(L8, H100, batch_size=1, precision="fp16", seq_len=1, efficiency=0.5)
    seq1 = L8_WEIGHT_BYTES + 131072 + 4 * 4096 * 32 * 2
    assert r.latency.to("ms").magnitude == pytest.approx(seq1 / 1.675e12 * 1e3, rel=0.001)
    assert r.efficiency == pytest.approx(0.5)
    assert "given" in r.assumptions["efficiency"]
    assert "predicted" in Engine.solve(L8, H100, seq_len=1).assumptions["efficiency"]
    for bad in (0, -0.5, 1.5, "half"):
        with pytest.raises(ConfigError):
            Engine.solve(L8, H100, efficiency=bad)


def test_hardware_cloud_a100_name_and_the_data_wall():
    assert Hardware.Cloud.A100 is Hardware.Cloud.A100_80GB
    # 40,000 /s x 150 KB = 6.0 GB/s against the NVMe share of a DGX A100: 4 x 7 GB/s / 8 = 3.5 GB/s: stalled
    r = DataModel().solve(workload_data_rate=Q_("40000 1/s") * Q_("150 KB"), hardware=Hardware.Cloud.A100)
    assert r.is_stalled and r.demand.to("GB/s").magnitude == pytest.approx(6.0)
    with pytest.raises(ConfigError):  # a rate divided by the wrong thing: bytes x seconds is not a rate
        DataModel().solve(workload_data_rate=Q_("150 KB") * Q_("1 s"), hardware=Hardware.Cloud.A100)


def test_quantised_weights_change_memory_time_and_kv_capacity():
    # Llama 3 8B, 8,030,261,248 params: int8 = 1 B each = 8.03 GB; int4 = 0.5 B + one fp16 scale per 128 weights
    # = 0.515625 B = 4.14 GB. Decode streams 7.50e9 weights (not the input embedding) + KV 131,072 B/token x 2,176
    # (input 2,048 + output 256/2) = 0.285 GB (bf16 KV for int4, W4A16) at 0.85 x 3.35 TB/s:
    # int4 ITL = (7.505e9 x 0.515625 + 0.285e9) / 2.8475e12 = 1.459 ms.
    b16, i8, i4 = (ServingModel().solve(L8, H100, seq_len=2048, precision=p) for p in ("bf16", "int8", "int4"))
    assert i8.memory_bytes["weights"] == pytest.approx(8.030e9, rel=1e-3)
    assert i4.memory_bytes["weights"] == pytest.approx(8.030e9 * 0.515625, rel=1e-3)
    assert i4.itl.to("ms").magnitude == pytest.approx(1.459, rel=0.02)
    assert i4.itl_s < i8.itl_s < b16.itl_s
    # KV capacity: the bytes int4 frees (16.06 - 4.14 = 11.92 GB) hold 11.92e9 / 0.302e9 = 39.5 more sequences
    per_seq = 131072 * 2304
    assert i4.kv_capacity - b16.kv_capacity == pytest.approx((16.06e9 - 4.141e9) / per_seq, abs=1)
    assert i8.kv_capacity > 2 * b16.kv_capacity  # int8 KV halves the bytes per sequence as well


# ---------------------------------------------------------------------------------------------- sensitivity
def test_sensitivity_memory_bound_decode():
    # At a given efficiency the latency is max(F / (eff P), B / (eff BW)); memory-bound (intensity ~1 FLOP/B <<
    # ridge 295) so T ~ 1 / BW: elasticity -1 for bandwidth, 0 for FLOP/s, capacity and links.
    s = SensitivitySolver().solve(model=L8, hardware=H100, precision="fp16", efficiency=0.5)
    assert s.sensitivities["memory_bw"] == pytest.approx(-1.0, abs=1e-9)
    assert s.sensitivities["peak_flops"] == pytest.approx(0.0, abs=1e-9)
    assert s.sensitivities["memory_capacity"] == 0 and s.sensitivities["interconnect_bw"] == 0
    assert s.binding_constraint == "memory_bw"
    assert s.latency.to("ms").magnitude == pytest.approx(L8_DECODE_BYTES / 1.675e12 * 1e3, rel=0.01)


def test_sensitivity_compute_bound_prefill_and_euler():
    # Prefill of 8,192 tokens: ~2 x 7e9 x 8,192 = 1.2e14 FLOP over ~17 GB: intensity ~7,000 >> 295: compute-bound.
    s = SensitivitySolver().solve(model=L8, hardware=H100, efficiency=0.5, mode="prefill")
    assert s.sensitivities["peak_flops"] == pytest.approx(-1.0, abs=1e-9) and s.binding_constraint == "peak_flops"
    # Predicted (kernel model): the step time depends on peak and bandwidth only and scales as 1/rate when both
    # scale together (homogeneous of degree -1), so by Euler's theorem the two elasticities sum to -1.
    p = SensitivitySolver().solve(model=L8, hardware=H100, batch_size=64, seq_len=2048)
    assert p.sensitivities["peak_flops"] + p.sensitivities["memory_bw"] == pytest.approx(-1.0, abs=0.01)


def test_sensitivity_capacity_and_fleet():
    # Llama 3 70B: 70.6e9 x 2 B = 141 GB of weights > 80 GiB: capacity binds whatever the latency elasticities
    assert SensitivitySolver().solve(model=L70, hardware=H100).binding_constraint == "memory_capacity"
    # A fleet: training time depends on every rate (FLOP/s, HBM, NVLink, InfiniBand) and on fixed latencies; scaling
    # all rates by f scales the bandwidth/compute terms by 1/f, so the elasticities sum to ~-1 (latency terms
    # alpha make it slightly less).
    s = SensitivitySolver().solve(model=L70, hardware=Systems.Clusters.Research_256, tp_size=8)
    total = sum(s.sensitivities.values())
    assert -1.0 <= total < -0.9
    assert s.sensitivities["interconnect_bw"] < 0 and s.binding_constraint == "peak_flops"
    with pytest.raises(ConfigError):
        SensitivitySolver().solve(model=L70, hardware=Systems.Clusters.Research_256, efficiency=0.5)
    with pytest.raises(ConfigError):
        SensitivitySolver().solve(model=L8, hardware=H100, step=0.9)


# ------------------------------------------------------------------------------------------------ synthesis
def test_synthesis_inverts_the_roofline():
    # FLOPs of the decode step: 2 x 6.98e9 matmul weights (8.03e9 - 2 x 0.525e9 embedding/head) = 13.96e9, attention
    # 4 x 32 heads x 128 x 8,192 x 32 layers = 4.29e9, LM head 2 x 4,096 x 128,256 = 1.05e9: 19.30e9 FLOP.
    s = SynthesisSolver().solve(model=L8, target_latency=Q_("30 ms"), batch_size=1, precision="fp16")
    assert s.required_bw.to("TB/s").magnitude == pytest.approx(L8_DECODE_BYTES / 0.030 / 1e12, rel=0.01)
    assert s.required_flops.to("TFLOP/s").magnitude == pytest.approx(19.30e9 / 0.030 / 1e12, rel=0.01)
    assert s.feasible
    keys = {c["hardware"] for c in s.candidates}
    assert {"H100", "A100_80GB", "B200"} <= keys
    # L4: 0.3 TB/s x 0.85 -> 16.09e9 streamed bytes / 0.255e12 = 63 ms > 30 ms: not a candidate
    assert "L4" not in keys and "Gaudi2" in s.skipped  # Gaudi 2 lists no fp16 peak
    for c in s.candidates:
        assert c["latency_s"] <= 0.030 and c["margin"] == pytest.approx(0.030 / c["latency_s"] - 1)


def test_synthesis_over_a_custom_shortlist():
    from mlsysim.core.units import GB, TB, TFLOPs, second, watt
    from mlsysim.hardware.types import ComputeCore, HardwareNode, MemoryHierarchy
    # a 2027 chip with 5 TB/s: ~16.1e9 streamed bytes / (0.85 x 5e12) = 3.8 ms, within 5 ms; the L4 is not
    chip = HardwareNode(name="X2027", compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
                        memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB / second), tdp=800 * watt)
    s = SynthesisSolver().solve(model=L8, target_latency=Q_("5 ms"), hardware=[chip, "L4"])
    assert [c["hardware"] for c in s.candidates] == ["X2027"]
    assert s.candidates[0]["latency_s"] == pytest.approx(16.08e9 / 4.25e12, rel=0.03)


def test_synthesis_unreachable_target_names_the_closest():
    # 1 ms: the fastest memory (8 TB/s, B200/GB200) streams 15.0 GB of weights + 1.07 GB KV at 0.85 x 8 TB/s in
    # 16.08e9 / 6.8e12 = 2.36 ms: infeasible, closest named with its latency.
    s = SynthesisSolver().solve(model=L8, target_latency=Q_("1 ms"), precision="fp16")
    assert not s.feasible and s.candidates == []
    assert s.closest in ("B200", "GB200")
    assert s.closest_latency.to("ms").magnitude == pytest.approx(16.08e9 / 6.8e12 * 1e3, rel=0.03)


# ------------------------------------------------------------------------------------- TinyML to frontier
def test_resnet50_from_microcontroller_to_h100():
    # ResNet-50: 7.6e9 FLOP, (25.6e6 + 150,528) fp32 values = 103 MB: intensity 73.8 FLOP/B. nRF52840 ridge
    # 64e6 / 256e6 = 0.25, H100 fp32 ridge 67e12 / 3.35e12 = 20: compute-bound on both, so at one efficiency the
    # latency ratio is the peak ratio 67e12 / 64e6 = 1.047e6 (nRF: 7.6e9 / (0.5 x 64e6) = 237.5 s).
    net = SmallModels.Vision.ResNet50
    mcu = Engine.solve(net, Hardware.Tiny.nRF52840, precision="fp32", efficiency=0.5)
    gpu = Engine.solve(net, H100, precision="fp32", efficiency=0.5)
    assert mcu.bottleneck == gpu.bottleneck == "compute"
    assert mcu.latency.to("s").magnitude == pytest.approx(237.5)
    assert mcu.latency_s / gpu.latency_s == pytest.approx(67e12 / 64e6)
    assert not mcu.feasible  # 103 MB of weights in 1 MiB flash + 256 KiB RAM
    # the registry spans 64 MFLOP/s (nRF52840 fp32) to 5 PFLOP/s (GB200 fp8, per GPU): log10(5e15 / 64e6) = 7.9
    # orders of magnitude in peak
    peaks = [p for cat in Hardware.categories() for a in getattr(Hardware, cat) for p in a.peak_flops.values()]
    assert min(peaks) == 64e6 and math.log10(max(peaks) / min(peaks)) >= math.log10(5e15 / 64e6) - 1e-9


def test_keyword_spotting_on_a_microcontroller():
    # DS-CNN: 5.4e6 FLOP, 38.6e3 int8 weights = 38.6 kB (fits 1.25 MiB). int8 peak 4 ops x 64 MHz = 256e6 at the
    # default matmul ceiling 0.78 x 0.88: 5.4e6 / (256e6 x 0.6864) = 30.7 ms; at 15 mW: 0.46 mJ per inference.
    r = Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.nRF52840, precision="int8")
    assert r.feasible and r.bottleneck == "compute"
    assert r.latency.to("ms").magnitude == pytest.approx(5.4e6 / (256e6 * 0.78 * 0.88) * 1e3, rel=1e-6)
    assert r.throughput.to("1/s").magnitude == pytest.approx(1 / r.latency_s)
    # MobileNetV2 at int8 is 3.4 MB of weights: does not fit the nRF52840
    assert not Engine.solve(SmallModels.Vision.MobileNetV2, Hardware.Tiny.nRF52840, precision="int8").feasible
    with pytest.raises(ConfigError):  # ESP32-S3 lists no int8 peak here
        Engine.solve(SmallModels.Tiny.DS_CNN_KWS, Hardware.Tiny.ESP32_S3, precision="int8")


# ---------------------------------------------------------------------------------------------- scaling law
def test_chinchilla_recovered_from_gophers_budget():
    # Hoffmann et al. 2022: Chinchilla, 70B params on 1.4T tokens, Gopher's budget 5.76e23 FLOP.
    # N = sqrt(5.76e23 / (6 x 20)) = sqrt(4.8e21) = 69.3e9; D = 20 N = 1.386e12.
    r = ScalingLawModel().solve(compute_budget=5.76e23)
    assert r.params == pytest.approx(70e9, rel=0.02) and r.tokens == pytest.approx(1.4e12, rel=0.02)
    assert r.tokens_per_param == pytest.approx(20)
    w = r.workload  # shaped model: its own count, and a token budget that spends exactly C = 6 N D
    assert w.params == pytest.approx(r.params, rel=0.10)
    assert 6 * w.params * w.tokens == pytest.approx(5.76e23)
    # the inverse: 70B at 20 tokens/param needs 6 x 70e9 x 1.4e12 = 5.88e23 FLOP (Gopher's budget within 2 %)
    assert ScalingLawModel().solve(params=70e9).compute_budget == pytest.approx(5.76e23, rel=0.025)
    # fitted law: G = (0.34 x 406.4 / (0.28 x 410.7))^(1/0.62) = 1.2016^1.6129 = 1.3447;
    # N = 1.3447 x (9.6e22)^(0.28/0.62) = 1.3447 x e^(52.918 x 0.45161) = 1.3447 x 2.394e10 = 3.219e10
    f = ScalingLawModel().solve(compute_budget=5.76e23, method="fitted")
    assert f.params == pytest.approx(3.219e10, rel=0.01)
    assert f.loss == pytest.approx(1.69 + 406.4 / f.params**0.34 + 410.7 / f.tokens**0.28)


def test_dollar_budget_composes_with_the_fleet():
    # $1M at $4.916 per H100-hour on 256 GPUs = 1e6 / (4.916 x 256) = 794.6 h = 33.1 days of the fleet
    r = ScalingLawModel().solve(budget_usd=1e6, fleet=Systems.Clusters.Research_256, tp_size=8, pp_size=4)
    p = r.performance
    assert p.time_to_train_s / 3600 == pytest.approx(1e6 / (4.916 * 256), rel=1e-3)
    assert p.feasible and r.tokens_per_param == pytest.approx(20)
    # the FLOPs bought = 6 N x predicted tokens/s x time
    assert r.compute_budget == pytest.approx(6 * r.workload.params * p.tokens_per_s * p.time_to_train_s, rel=1e-3)
    # $100M buys a ~560B model: bf16 weights + grads 4 B x 5.6e11 / (tp8 x pp4 = 32) = 70 GB per GPU, plus Adam
    # state 12 B x 5.6e11 / 32 / dp 8 = 26 GB: 96 GB > 85.9 GB (80 GiB). The result carries feasible=False.
    big = ScalingLawModel().solve(budget_usd=1e8, fleet=Systems.Clusters.Research_256, tp_size=8, pp_size=4)
    assert big.params > 5e11 and not big.feasible and not big.performance.feasible


# ------------------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call", [
    lambda: DataModel().solve(workload_data_rate=Q_("-1 GB/s"), hardware=Hardware.Cloud.A100),     # negative rate
    lambda: TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=0,
                                        step_time=0.1),                                            # zero workers
    lambda: SynthesisSolver().solve(model=L8, target_latency=Q_("0 ms")),                          # zero target
    lambda: SynthesisSolver().solve(model=L8, target_latency=Q_("-30 ms")),                        # negative
    lambda: SynthesisSolver().solve(model=L8, target_latency=Q_("30 GB")),                         # not a time
    lambda: SynthesisSolver().solve(model=L8, target_latency=Q_("30 ms"), precision="fp64"),       # no such dtype
    lambda: ScalingLawModel().solve(compute_budget=-1e23),
    lambda: ScalingLawModel().solve(),                                                             # nothing given
    lambda: ScalingLawModel().solve(budget_usd=1e6),                                               # no fleet
    lambda: ScalingLawModel().solve(compute_budget=1e23, method="kaplan"),
    lambda: Engine.solve(SmallModels.Vision.ResNet50, H100, batch_size=0),
])
def test_bad_input_is_refused(call):
    with pytest.raises(ConfigError):
        call()


def test_example_module4_runs_and_matches_hand_figures(capsys):
    ns = runpy.run_path(str(EXAMPLES / "module4.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "invest in memory_bw" in out and "feasible=False" in out
    sweep = ns["sweep"]
    assert len(sweep) == 12 and set(sweep["bound"]) == {"memory"}
    # H100, batch 1, 1,024-token context: 7.505e9 weights x 2 B + 131,072 B x 1,024 KV = 15.14 GB at 2.8475 TB/s
    h1 = sweep[(sweep.hardware == "H100") & (sweep.batch == 1)].latency_ms.item()
    assert h1 == pytest.approx((7.505e9 * 2 + 131072 * 1024) / 2.8475e12 * 1e3, rel=0.02)
    tiny = ns["tiny"]
    assert len(tiny) == 15 and tiny.peak_flops.max() / tiny.peak_flops.min() == pytest.approx(1979e12 / 256e6)
    assert ns["opt"].tokens_per_param == pytest.approx(20) and ns["sust"].carbon_footprint > 0


def test_example_module2_serving_figures(capsys):
    ns = runpy.run_path(str(EXAMPLES / "module2.py"), run_name="__main__")
    assert "stalled=True" in capsys.readouterr().out
    # the loop ends on int4: (7.505e9 x 0.515625 + 0.285e9) / 2.8475e12 = 1.459 ms (as in the quantisation test)
    assert ns["s"].itl.to("ms").magnitude == pytest.approx(1.459, rel=0.02)
    # 128 tokens x (15.010e9 B of weights + 131,072 B x 576 of KV at the chain's mean context) / (0.5 x 3.35e12
    # B/s) + prefill 1.6e10 x 512 / (0.5 x 989.5e12) = 1.153 + 0.0166 s (as test_serving's reasoning-wall test)
    per_token = (L8_WEIGHT_BYTES + 131_072 * 576) / 1.675e12
    assert ns["think"].total_reasoning_time.to("s").magnitude == pytest.approx(128 * per_token + 0.0166, rel=0.01)
