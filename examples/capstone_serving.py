"""The tutorial's capstone (module 4): serve Llama-3 70B at 1,000 QPS with p99 TTFT < 100 ms in two regions
(US-East and EU-West, 500 QPS each) within a $5M yearly budget, across GPU x precision (fp16 / fp8 / int4) x TP x PP:
which GPU, how many, which precision and layout, and with what carbon?

Traffic: Poisson, 1,000-token prompts and 200-token answers (a chat-style assumption). The SLO percentile is the
p99 of TTFT; TPOT is reported. Budget = the fleet's yearly cost of ownership: CapEx from the node, fabric and
facility records (IT amortised over 5 years, the facility over 15) + maintenance + energy at each region's price.
Run: python examples/capstone_serving.py
"""
from textwrap import fill

from mlsysim import Infrastructure, Models
from mlsysim.solvers.serving_plan import plan_serving

QPS, ISL, OSL, TTFT_SLO, BUDGET = 1000, 1000, 200, 0.100, 5e6
REGIONS = [Infrastructure.Datacenters.US_East_Virginia, Infrastructure.Datacenters.EU_West_Ireland]


def say(text, indent=""):
    """Print a sentence wrapped for an 80-column terminal."""
    print(fill(text, 80, initial_indent=indent, subsequent_indent=indent + "  ", break_on_hyphens=False))


def main():
    plan = plan_serving(Models.Language.Llama3_70B, qps=QPS, input_len=ISL, output_len=OSL, ttft_slo=TTFT_SLO,
                        hardware=("H100", "H200", "B200"), precisions=("fp16", "fp8", "int4"),
                        tp_sizes=(1, 2, 4, 8), pp_sizes=(1, 2), datacenters=REGIONS, objective="cost",
                        budget_usd=BUDGET)
    b = plan.best
    print(plan)
    print()
    say(f"Answer: {b['gpus']} x {b['hardware']} at {b['precision']}, TP{b['tp']} x PP{b['pp']}, "
          f"{b['replicas'] // 2} replicas in each of US-East and EU-West; p99 TTFT {b['ttft_p99_ms']:.0f} ms "
          f"(SLO 100 ms), "
          f"${b['usd_per_year'] / 1e6:.2f}M per year (budget $5M), {b['carbon_t_per_year']:.0f} t CO2e per year.")
    for region, v in b["regions"].items():
        say(f"{region}: {b['replicas'] // 2} replicas, ${v['usd_per_year'] / 1e6:.2f}M/yr, "
              f"{v['wh_per_request']:.3f} Wh and {v['g_per_request']:.3f} gCO2e per request (location-based; "
              f"market-based {v['g_market_per_request']:.3f}; embodied "
              + (f"+{v['g_embodied_per_request']:.4f} g)" if v["g_embodied_per_request"] else
                 f"not counted: no registry figure for {b['hardware']})"), "  ")
    say("Why: decode streams the weights every step, so tokens/s per GPU follow HBM bandwidth and bytes per weight"
          "; fp8 halves the bytes of fp16 and keeps fp8 compute for prefill, while int4 is weight-only (bf16 "
          "compute: slower prefill, so a tighter TTFT). Runners-up by yearly cost:")
    for r in plan.rows[1:6]:
        print(f"  {r['hardware']:5s} {r['precision']:5s} TP{r['tp']} PP{r['pp']}: {r['gpus']:4d} GPUs, "
              f"${r['usd_per_year'] / 1e6:5.2f}M/yr, p99 TTFT {r['ttft_p99_ms']:5.1f} ms")
    low = min(plan.rows, key=lambda r: r["capex_usd"])
    verdict = "within it" if low["capex_usd"] <= BUDGET else "over it: no plan meeting the SLO costs less up front"
    say(f"Read as a purchase budget instead (CapEx <= ${BUDGET / 1e6:.0f}M): the least CapEx meeting the SLO is "
          f"${low['capex_usd'] / 1e6:.2f}M ({low['gpus']} x {low['hardware']} {low['precision']} TP{low['tp']} "
          f"PP{low['pp']}), {verdict}.")
    return plan


if __name__ == "__main__":
    main()
