# The tutorial's module 3 ("Scale, Dollars, and Carbon"; slide "Cross-Domain Carbon Accounting"), verbatim.
# Run: python examples/tutorial.py
from mlsysim.solvers import DistributedModel, SustainabilityModel
from mlsysim.systems.registry import Systems
from mlsysim.infrastructure.registry import Infrastructure
from mlsysim.models.registry import Models

fleet = Systems.Clusters.Research_256 # 32x DGX H100 nodes

perf = DistributedModel().solve(
    model=Models.Language.Llama3_70B, fleet=fleet,
    tp_size=8, pp_size=1, dp_size=32)
days = perf.latency.to("days").magnitude

sust = SustainabilityModel().solve(
    fleet=fleet, duration_days=days, mfu=perf.mfu,
    datacenter=Infrastructure.Datacenters.GCP_Iowa)
print(f"Total Carbon: {sust.carbon_footprint:.1f} tonnes CO2e")

# Not the tutorial's text: a carbon figure means something only if the layout runs, so say whether it fits.
fits = "fits" if perf.feasible else "DOES NOT FIT: the carbon above is for a plan that cannot run"
print(f"Layout TP8 x DP32: {perf.memory_total.magnitude:.1f} GB per GPU of "
      f"{perf.memory_capacity_bytes / 1e9:.1f} GB, {fits}")
