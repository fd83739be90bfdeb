"""Tutorial module 2 (Advanced Single-Node Analysis): the data wall, the CPU transformation budget, serving with
quantised weights and the reasoning wall."""
from textwrap import fill

from mlsysim import Hardware, Models
from mlsysim.core.constants import Q_
from mlsysim.solvers import InferenceScalingModel, ServingModel
from mlsysim.solvers.data import DataModel, TransformationModel

wall = DataModel().solve(workload_data_rate=Q_("40000 1/s") * Q_("150 KB"), hardware=Hardware.Cloud.A100)
print(f"demand {wall.demand:.1f~P} vs {wall.binding_path} {wall.supply_bw:.1f~P}: stalled={wall.is_stalled}")

cpu = TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=16,
                                  step_time=Q_("100 ms"))
print(f"CPUs make {cpu.supply:.0f~P}, the GPU eats {cpu.demand:.0f~P}: bottleneck={cpu.is_bottleneck}")

# Serving: one replica's inter-token latency and KV capacity at bf16 and with int4 weights; the reasoning wall.

L8, H100 = Models.Language.Llama3_8B, Hardware.Cloud.H100
for p in ("bf16", "int8", "int4"):
    s = ServingModel().solve(L8, H100, seq_len=2048, batch_size=1, precision=p)
    print(f"Llama 3 8B {p}: weights {s.memory_bytes['weights'] / 1e9:.2f} GB, ITL {s.itl:.2f~P}, "
          f"KV room for {s.kv_capacity} sequences")
think = InferenceScalingModel().solve(model=L8, hardware=H100, reasoning_steps=128, precision="fp16", efficiency=0.5)
print(f"128 hidden tokens: {think.total_reasoning_time:.2f~P}, {think.energy_per_query:.0f~P} per query")
print(fill(f"(efficiency {think.assumptions['efficiency']})", 80, initial_indent="  ", subsequent_indent="   "))
