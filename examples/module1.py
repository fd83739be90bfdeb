"""Tutorial module 1 (Foundations & Architecture): the roofline of one decode step, on a catalogue chip and on a
chip built from typed parts."""
from mlsysim import Hardware, Models
from mlsysim.core.constants import Q_
from mlsysim.core.units import GB, TB, TFLOPs, second, watt
from mlsysim.engine.engine import Engine
from mlsysim.hardware.types import ComputeCore, HardwareNode, MemoryHierarchy

r = Engine.solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, batch_size=1, precision="fp16", seq_len=1)
print(f"Llama 3 8B on H100, batch 1: {r.bottleneck}-bound, latency {r.latency:.2f~P} "
      f"(ideal roof {r.ideal_latency:.2f~P}),\n  {r.throughput.magnitude:.0f} tokens/s")

chip = HardwareNode(name="X2027", release_year=2027, compute=ComputeCore(peak_flops=1200 * TFLOPs / second),
                    memory=MemoryHierarchy(capacity=144 * GB, bandwidth=5.0 * TB / second), tdp=800 * watt)
x = Engine.solve(Models.Language.Llama3_8B, chip, seq_len=1)
print(f"on {chip.name}: {x.bottleneck}-bound, latency {x.latency:.2f~P}")
print(f"400 Gbps = {Q_('400 Gbps').to('GB/s'):.0f~P}")
