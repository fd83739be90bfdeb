"""Traffic beyond Poisson means: one mean QPS as Poisson arrivals, as a recorded-style trace of rate surges, and
as bursty arrivals given only their CV (Kingman's G/G/1); then a day's load profile for energy, carbon and $ per
request, with idle replicas at idle power.

    python examples/serving_traffic.py
    python examples/serving_traffic.py --write-trace requests.csv   # the surge trace as a CSV for --trace
"""
import sys

import numpy as np

from mlsysim import Hardware, Infrastructure, Models
from mlsysim.solvers.serving_load import ServingLoadModel

MODEL, GPU = Models.Language.Llama3_70B, Hardware.Cloud.H100
SLO = dict(qps=40, input_len=2000, output_len=200, tp_size=4, precision="fp8", ttft_slo=0.15, tpot_slo=0.05)
DAY = [0.3] * 7 + [0.7] * 4 + [1.0] * 8 + [0.6] * 5  # hourly load as shares of the peak (assumption: a diurnal
# shape with a night trough at 30 % and an 8-hour plateau; replace it with your own service's)


def traces():
    """20,000 synthetic requests averaging 40/s: Poisson, and 10-s surges at 80/s separated by 10-s lulls."""
    rng = np.random.default_rng(0)
    return {"Poisson trace": np.cumsum(rng.exponential(1 / 40, 20_000)),
            "10-s surges at 80/s, 10-s lulls": np.sort(np.concatenate(
                [t0 + rng.uniform(0, 10, 800) for t0 in range(0, 500, 20)]))}


def write_trace(path):
    """The surge trace as CSV (arrival_s, input_len, output_len) for `mlsysim serve --trace`."""
    a = traces()["10-s surges at 80/s, 10-s lulls"]
    with open(path, "w") as f:
        f.write("arrival_s,input_len,output_len\n" + "".join(f"{t:.4f},2000,200\n" for t in a))
    print(f"wrote {len(a):,} requests to {path}")


def main():
    print("Llama 3 70B on H100 TP4 fp8, 40 QPS mean, 2,000-token prompts,\n"
          "p99 TTFT <= 150 ms, TPOT <= 50 ms")
    for name, trace in traces().items():
        r = ServingLoadModel().solve(MODEL, GPU, arrivals=trace, **SLO)
        print(f"  {name:32s} CV {r.arrival_cv:5.2f}: {r.replicas:2d} replicas\n"
              f"    p99 TTFT {r.ttft_p99_s * 1e3:5.1f} ms, p99 TPOT {r.tpot_p99_s * 1e3:4.1f} ms ({r.binding})")
    for cv in (1.0, 2.0):
        r = ServingLoadModel().solve(MODEL, GPU, arrival_cv=cv, **SLO)
        print(f"  {'closed form, inter-arrival CV':32s} {cv:5.1f}: {r.replicas:2d} replicas\n"
              f"    p99 TTFT {r.ttft_p99_s * 1e3:5.1f} ms ({r.assumptions['queueing'].split(',')[0]})")
    dc = Infrastructure.Datacenters.US_East_Virginia
    print("Sized for the 40-QPS peak, 1,000/200 tokens, p99 TTFT <= 500 ms,\nin US-East (Virginia):")
    for name, profile in (("flat at the peak", None), ("diurnal profile", DAY)):
        r = ServingLoadModel().solve(MODEL, GPU, qps=40, input_len=1000, output_len=200, tp_size=4, precision="fp8",
                                     ttft_slo=0.5, load_profile=profile, datacenter=dc)
        print(f"  {name:17s} mean load {r.load_factor:4.0%} of peak: per request {r.energy_per_request_wh * 1e3:5.1f} "
              f"mWh,\n    {r.per_request['carbon_location_kg'] * 1e6:5.1f} mgCO2e (location); "
              f"${r.usd_per_m_output:.3f} per M output tokens")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--write-trace":
        write_trace(sys.argv[2])
    else:
        main()
