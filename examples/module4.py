"""Tutorial module 4 (Design Space Exploration & Synthesis): sweeps, sensitivity, the inverted roofline, TinyML to
frontier, and the compute-optimal model for a dollar budget, with its training time and carbon."""
from textwrap import fill

import pandas as pd

from mlsysim import Hardware, Infrastructure, Models, Systems
from mlsysim.core.constants import Q_
from mlsysim.engine.engine import Engine
from mlsysim.models.small import SmallModels
from mlsysim.solvers import (DistributedModel, ScalingLawModel, SensitivitySolver, SustainabilityModel,
                             SynthesisSolver)

# 1. A sweep: Llama 3 8B decode steps over chips and batch sizes, one row per Engine.solve.
rows = []
for hw in (Hardware.Cloud.A100, Hardware.Cloud.H100, Hardware.Cloud.B200):
    for batch in (1, 8, 64, 256):
        r = Engine.solve(Models.Language.Llama3_8B, hw, batch_size=batch, precision="fp16", seq_len=1024)
        rows.append({"hardware": hw.key, "batch": batch, "bound": r.bottleneck,
                     "latency_ms": r.latency.to("ms").magnitude, "tokens_per_s": r.throughput.magnitude})
sweep = pd.DataFrame(rows)
print(sweep.to_string(index=False))

# 2. Sensitivity: which resource shortens a batch-1 decode step? (efficiency given: roofline x 0.5)
sens = SensitivitySolver().solve(model=Models.Language.Llama3_8B, hardware=Hardware.Cloud.H100, precision="fp16",
                                 efficiency=0.5)
print(fill(f"invest in {sens.binding_constraint} (latency elasticities: "
           + ", ".join(f"{k} {v:+.2f}" for k, v in sens.sensitivities.items()) + ")", 80, subsequent_indent="  "))

# 3. Synthesis: what hardware serves a Llama 3 8B token within 30 ms? And within 1 ms?
syn = SynthesisSolver().solve(model=Models.Language.Llama3_8B, target_latency=Q_("30 ms"), batch_size=1,
                              precision="fp16")
print(f"30 ms needs {syn.required_bw:.2f~P} and {syn.required_flops:.2f~P}, {syn.required_memory:.1f~P}: "
      f"{len(syn.candidates)} chips, tightest {syn.candidates[0]['hardware']}")
tight = SynthesisSolver().solve(model=Models.Language.Llama3_8B, target_latency=Q_("1 ms"), precision="fp16")
print(f"1 ms: feasible={tight.feasible}, closest {tight.closest} at {tight.closest_latency:.2f~P}")

# 4. TinyML to frontier: the same roofline from a 64 MHz microcontroller (256 M int8 op/s) to a datacenter GPU.
chips = [Hardware.Tiny.nRF52840, Hardware.Tiny.ESP32_S3, Hardware.Edge.Jetson_Orin_Nano_8GB,
         Hardware.Mobile.A17_Pro, Hardware.Cloud.H100]
table = []
for net in (SmallModels.Tiny.DS_CNN_KWS, SmallModels.Vision.MobileNetV2, SmallModels.Vision.ResNet50):
    for chip in chips:
        precision = "int8" if "int8" in chip.peak_flops else "fp32"
        r = Engine.solve(net, chip, precision=precision)
        table.append({"network": net.key, "hardware": chip.key, "precision": precision,
                      "peak_flops": r.detail.assumptions["peak FLOP/s"], "bound": r.bottleneck,
                      "latency_ms": r.latency.to("ms").magnitude, "fits": r.feasible,
                      "energy_mJ_at_tdp": r.latency.to("s").magnitude * chip.tdp_w * 1e3})
tiny = pd.DataFrame(table)
short = {"precision": "prec", "peak_flops": "peak_op/s", "latency_ms": "ms", "energy_mJ_at_tdp": "mJ@TDP"}
print(tiny.rename(columns=short).to_string(index=False, float_format=lambda v: f"{v:.3g}"))  # 80 columns

# 5. Scaling law: the Chinchilla-optimal model for $1M of H100 time on Research_256; how long, how much carbon.
opt = ScalingLawModel().solve(budget_usd=1e6, fleet=Systems.Clusters.Research_256, tp_size=8, pp_size=4)
perf = DistributedModel().solve(opt.workload, Systems.Clusters.Research_256, tp_size=8, pp_size=4)
sust = SustainabilityModel().solve(performance=perf, datacenter=Infrastructure.Datacenters.GCP_Iowa)
print(f"$1M buys {opt.compute_budget:.3g} FLOP: {opt.params / 1e9:.1f}B params on {opt.tokens / 1e12:.2f}T tokens "
      f"({opt.tokens_per_param:.0f} tokens/param),\n  {perf.latency.to('days'):.1f~P}, MFU {perf.mfu:.2f}, "
      f"{sust.carbon_footprint:.1f} t CO2e")
