"""Tutorial module 2 (Advanced Single-Node Analysis): the data wall and the CPU transformation budget."""
from mlsysim import Hardware
from mlsysim.core.constants import Q_
from mlsysim.solvers.data import DataModel, TransformationModel

wall = DataModel().solve(workload_data_rate=Q_("40000 1/s") * Q_("150 KB"), hardware=Hardware.Cloud.A100_80GB)
print(f"demand {wall.demand:.1f~P} vs {wall.binding_path} {wall.supply_bw:.1f~P}: stalled={wall.is_stalled}")

cpu = TransformationModel().solve(batch_size=256, cpu_throughput_per_worker_hz=400, num_workers=16,
                                  step_time=Q_("100 ms"))
print(f"CPUs make {cpu.supply:.0f~P}, the GPU eats {cpu.demand:.0f~P}: bottleneck={cpu.is_bottleneck}")
