"""The bad-input catalogue, part 2 (issue 14): the classes of silent wrong answers, tried as an adversarial but
realistic user would, at every public boundary. Same row format as tests/test_bad_input_catalogue.py: (call,
expected, words) where `expected` is an mlsysim exception class, a CLI exit code, or "infeasible", and `words`
are the words of the message that tell the user the fix.

Classes: wrong dimension (information, computation, time, currency are dimensions: a peak in TB/s, a bandwidth in
TFLOP/s, a count in bytes, a duration in day*byte), constructors that accept the impossible (built directly and via
dataclasses.replace), Hugging Face configs, contradictory or ignored arguments, booleans that are not booleans,
sizes that exhaust memory, faces that disagree (sweep/optimize vs the scalar solvers), the CLI and the YAML loader.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mlsysim import (CalibrationModel, Datacenter, DistributedModel, EconomicsModel, GoodputModel, Grid, Models,
                     ServingModel, SingleNodeModel, SustainabilityModel, TransformerWorkload, UncertaintyModel,
                     explore)
from mlsysim.errors import ConfigError, InfeasibleError, UnknownNameError
from mlsysim.hardware.types import ComputeCore, HardwareNode, MemoryHierarchy
from mlsysim.scenario import ScenarioError
from mlsysim.systems.system import Fabric, Fleet, Node
from mlsysim.units import Q
from test_bad_input_catalogue import (DGX, GOLDEN, H100, IOWA, L8, L70, NDR, OK_SCENARIO, R256, S64, cli,
                                      scenario_text)
from test_bad_input_catalogue import test_bad_input as check_row

MIX = Models.Language.Mixtral_8x7B
NO_PRICE = replace(IOWA, electricity_usd_per_kwh=0.0)  # a site whose operator publishes no electricity price
LLAMA_CFG = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256}


def perf():
    return DistributedModel().solve(L70, R256, tp_size=8, zero_stage=2)


def oom():
    return DistributedModel().solve(L70, R256, tp_size=1, zero_stage=0)


def dm(**kw):
    return DistributedModel().solve(**{**dict(model=L70, fleet=R256, tp_size=8, zero_stage=2), **kw})


def tw(**kw):
    return TransformerWorkload(**{**dict(name="x", n_layers=2, hidden=64, n_heads=4, ffn_hidden=256, vocab=100),
                                  **kw})


def sus(**kw):
    return SustainabilityModel().solve(**{**dict(fleet=R256, duration_days=30, datacenter=IOWA), **kw})


def econ(**kw):
    return EconomicsModel().solve(**{**dict(fleet=R256, duration_days=30, datacenter=IOWA), **kw})


def unc(**kw):
    return UncertaintyModel().solve(perf(), **{**dict(samples=20), **kw})


def sweep(**kw):
    return explore.sweep(**{**dict(model=L8, fleets=S64, tp=[1, 2], pp=[1]), **kw})


def opt(objective="time_to_train", constraints=None, **kw):
    return explore.optimize(L8, objective, constraints, **{**dict(fleets=S64, tp=[1, 2], pp=[1]), **kw})


def hf(cfg, **kw):
    return TransformerWorkload.from_hf_config(cfg, **kw)


P = pytest.param
CASES = [
    # ------------------------------------------------------------------ units: every quantity has its dimension
    P(lambda: replace(H100, peak_flops={"bf16": Q(989, "TB/s")}), ConfigError, ["units of FLOP/s", "TB/s"],
      id="units-peak-in-bytes-per-second"),
    P(lambda: replace(H100, memory_bw=Q(3.35, "TFLOP/s")), ConfigError, ["memory_bw", "units of byte/s"],
      id="units-hbm-bandwidth-in-flops"),
    P(lambda: replace(H100, memory_bytes=Q(80, "TFLOP")), ConfigError, ["memory_bytes", "units of byte"],
      id="units-memory-in-flop"),
    P(lambda: replace(H100, scaleup_bw=Q(900, "GFLOP/s")), ConfigError, ["scaleup_bw", "units of byte/s"],
      id="units-acc-scaleup-in-flops"),
    P(lambda: replace(H100, tdp_w=Q(700, "W*h")), ConfigError, ["tdp_w", "units of W"], id="units-tdp-as-energy"),
    P(lambda: replace(H100, price_usd=Q(30000, "W")), ConfigError, ["price_usd", "units of USD"],
      id="units-price-in-watts"),
    P(lambda: replace(DGX, nic_bw=Q(400, "Gflop/s")), ConfigError, ["nic_bw", "units of byte/s"],
      id="units-nic-in-flops"),
    P(lambda: replace(DGX, scaleup_latency_s=Q(3, "byte")), ConfigError, ["scaleup_latency_s", "units of s"],
      id="units-latency-in-bytes"),
    P(lambda: replace(NDR, latency_s=Q(1, "GB")), ConfigError, ["latency_s", "units of s"],
      id="units-fabric-latency-in-bytes"),
    P(lambda: Grid(name="g", gco2_per_kwh=Q(400, "g")), ConfigError, ["units of g/kWh"], id="units-grid-mass-only"),
    P(lambda: replace(IOWA, electricity_usd_per_kwh=Q(0.1, "USD")), ConfigError, ["units of USD/kWh"],
      id="units-electricity-per-nothing"),
    P(lambda: replace(IOWA, wue_l_per_kwh=Q(1.8, "L")), ConfigError, ["units of L/kWh"], id="units-wue-litres"),
    P(lambda: tw(tokens=Q(1e12, "byte")), ConfigError, ["tokens", "plain (dimensionless) number"],
      id="units-workload-tokens-in-bytes"),
    P(lambda: tw(global_batch_tokens=Q(4, "MB")), ConfigError, ["global_batch_tokens", "dimensionless"],
      id="units-batch-tokens-in-bytes"),
    P(lambda: dm(tokens=Q(15e12, "bit")), ConfigError, ["tokens", "dimensionless"], id="units-dm-tokens-in-bits"),
    P(lambda: dm(straggler_cv=Q(1, "percent*s")), ConfigError, ["straggler_cv", "dimensionless"],
      id="units-dm-straggler-in-seconds"),
    P(lambda: sus(duration_days=Q(30, "day*byte")), ConfigError, ["duration_days", "units of day"],
      id="units-duration-day-byte"),
    P(lambda: sus(mfu=Q(0.4, "FLOP")), ConfigError, ["mfu", "dimensionless"], id="units-mfu-in-flop"),
    P(lambda: sus(service_life_years=Q(4, "GB")), ConfigError, ["service_life_years", "units of year"],
      id="units-life-in-bytes"),
    P(lambda: econ(depreciation_years=Q(5, "kWh")), ConfigError, ["depreciation_years", "units of year"],
      id="units-depreciation-in-energy"),
    P(lambda: econ(accelerator_price_usd=Q(30, "TFLOP")), ConfigError, ["units of USD"], id="units-price-in-flop"),
    P(lambda: GoodputModel().solve(perf(), checkpoint_interval=Q(1, "day*byte")), ConfigError,
      ["checkpoint_interval", "units of s"], id="units-interval-day-byte"),
    P(lambda: GoodputModel().solve(perf(), storage_bw=Q(2, "TFLOP/s")), ConfigError, ["storage_bw", "byte/s"],
      id="units-storage-in-flops"),
    P(lambda: GoodputModel().solve(perf(), checkpoint_size=Q(1, "TFLOP")), ConfigError,
      ["checkpoint_size", "units of byte"], id="units-checkpoint-in-flop"),
    P(lambda: GoodputModel().solve(perf(), relaunch_time=Q(10, "GB")), ConfigError, ["relaunch_time", "units of s"],
      id="units-relaunch-in-bytes"),
    P(lambda: CalibrationModel().solve(perf(), measured_step_time=Q(60, "TB")), ConfigError,
      ["measured_step_time", "units of s"], id="units-calibration-step-in-bytes"),
    P(lambda: sweep(tokens=Q(1e12, "byte")), ConfigError, ["tokens", "dimensionless"], id="units-sweep-tokens-bytes"),
    P(lambda: sweep(max_memory_gb=Q(8, "TFLOP")), ConfigError, ["max_memory_gb", "units of GB"],
      id="units-sweep-budget-in-flop"),
    P(lambda: opt(constraints={"deadline_days": Q(30, "GB")}), ConfigError, ["deadline_days", "units of day"],
      id="units-deadline-in-bytes"),
    P(lambda: opt(constraints={"max_memory_gb": Q(70, "s")}), ConfigError, ["max_memory_gb", "units of GB"],
      id="units-memory-constraint-in-seconds"),
    P(lambda: HardwareNode(name="X", compute=ComputeCore(peak_flops=Q(1000, "TB/s")),
                           memory=MemoryHierarchy(capacity=Q(80, "GB"), bandwidth=Q(3, "TB/s")), tdp=Q(700, "W")),
      ConfigError, ["peak_flops", "units of FLOP/s"], id="units-hardwarenode-peak-in-bytes"),
    P(lambda: HardwareNode(name="X", compute=ComputeCore(peak_flops=Q(1000, "TFLOP/s")),
                           memory=MemoryHierarchy(capacity=Q(80, "GB"), bandwidth=Q(3, "TFLOP/s")), tdp=Q(700, "W")),
      ConfigError, ["memory_bw", "units of byte/s"], id="units-hardwarenode-bandwidth-in-flops"),
    # ------------------------------------------------------------------ records that describe the impossible
    P(lambda: replace(H100, idle_w=900), ConfigError, ["idle_w=900", "above tdp_w=700", "at most the thermal"],
      id="record-idle-above-tdp"),
    P(lambda: replace(H100, name=700), ConfigError, ["name must be a string", "by keyword"],
      id="record-acc-number-as-name"),
    P(lambda: replace(H100, memory_bytes=-80e9), ConfigError, ["memory_bytes", "> 0"], id="record-negative-memory"),
    P(lambda: replace(H100, peak_flops={}), ConfigError, ["peak_flops must map precision"],
      id="record-empty-peaks"),
    P(lambda: replace(DGX, max_power_w=4000), ConfigError, ["max_power_w=4000", "below", "5600",
                                                            "at least the accelerators' TDP"],
      id="record-node-max-below-tdp"),
    P(lambda: Node(name="n", accelerator=H100, accelerators_per_node=8, scaleup_bw=450e9, nic_bw=400e9,
                   max_power_w=10200, host_power_w=10200), ConfigError, ["host_power_w", "not below max_power_w",
                                                                      "non-accelerator part"],
      id="record-node-host-equals-max"),
    P(lambda: replace(DGX, accelerators_per_node=-8), ConfigError, ["accelerators_per_node", ">= 1"],
      id="record-node-negative-chips"),
    P(lambda: replace(DGX, scaleup_efficiency=0), ConfigError, ["scaleup_efficiency", "> 0"],
      id="record-node-zero-efficiency"),
    P(lambda: Fabric(name="f", port_bw=0, latency_s=1e-6), ConfigError, ["port_bw", "> 0"], id="record-fabric-zero-bw"),
    P(lambda: replace(NDR, efficiency=1.2), ConfigError, ["efficiency", "(0, 1]"], id="record-fabric-efficiency-1.2"),
    P(lambda: Fleet(node=DGX, count=-4, fabric=NDR), ConfigError, ["count", ">= 1"], id="record-fleet-negative"),
    P(lambda: Fleet(node=DGX, count=4, fabric="InfiniBand_NDR"), ConfigError, ["fabric must be a Fabric"],
      id="record-fleet-fabric-name"),
    P(lambda: Fleet(node=DGX, count=4, fabric=NDR, name=5), ConfigError, ["name must be a string"],
      id="record-fleet-number-as-name"),
    P(lambda: replace(IOWA, pue=float("nan")), ConfigError, ["pue", "finite"], id="record-dc-nan-pue"),
    P(lambda: replace(IOWA, wue_l_per_kwh=-1.0), ConfigError, ["wue_l_per_kwh", ">= 0"], id="record-dc-negative-wue"),
    P(lambda: replace(IOWA, grid="US-MIDW"), ConfigError, ["grid must be a Grid"], id="record-dc-grid-name"),
    P(lambda: Datacenter(name="d", grid=IOWA.grid, pue=1.1, electricity_usd_per_kwh=-0.05), ConfigError,
      ["electricity_usd_per_kwh", ">= 0"], id="record-dc-negative-price"),
    P(lambda: replace(IOWA.grid, water_l_per_kwh=-2.0), ConfigError, ["water_l_per_kwh", ">= 0"],
      id="record-grid-negative-water"),
    P(lambda: tw(hidden=-64), ConfigError, ["hidden", ">= 1"], id="record-tw-negative-hidden"),
    P(lambda: tw(hidden=100, n_heads=8), ConfigError, ["does not divide hidden", "give head_dim"],
      id="record-tw-heads-not-dividing"),
    P(lambda: replace(L8, n_kv_heads=5), ConfigError, ["n_kv_heads=5 must divide n_heads=32"],
      id="record-tw-replace-kv-not-dividing"),
    P(lambda: tw(tokens=1e6, global_batch_tokens=4e6), ConfigError, ["below one global batch",
                                                                     "raise tokens or lower global_batch_tokens"],
      id="record-tw-budget-below-batch"),
    P(lambda: replace(L70, tokens=1e6), ConfigError, ["below one global batch"], id="record-tw-replace-tiny-budget"),
    P(lambda: tw(n_dense_layers=1), ConfigError, ["n_dense_layers=1", "dense model", "n_dense_layers=0"],
      id="record-tw-dense-layers-on-dense"),
    P(lambda: tw(experts_per_token=2), ConfigError, ["experts_per_token=2 exceeds n_experts=1"],
      id="record-tw-topk-on-dense"),
    P(lambda: replace(MIX, n_dense_layers=64), ConfigError, ["n_dense_layers=64 exceeds n_layers=32"],
      id="record-tw-more-dense-layers-than-layers"),
    P(lambda: tw(dropout="yes"), ConfigError, ["dropout", "True or False"], id="record-tw-str-flag"),
    P(lambda: tw(name=None), ConfigError, ["name must be a string"], id="record-tw-no-name"),
    # ------------------------------------------------------------------ Hugging Face configs
    P(lambda: hf("meta-llama/Meta-Llama-3-8B/config.json"), ConfigError,
      ["parsed config.json as a dict", "json.load"], id="hf-path"),
    P(lambda: hf('{"hidden_size": 4096}'), ConfigError, ["json.load"], id="hf-json-text"),
    P(lambda: hf(None), ConfigError, ["parsed config.json as a dict"], id="hf-none"),
    P(lambda: hf(list(LLAMA_CFG.items())), ConfigError, ["as a dict, got list"], id="hf-list-of-pairs"),
    P(lambda: hf({"model_type": "mamba2", "hidden_size": 2560, "num_hidden_layers": 64, "vocab_size": 50280}),
      ConfigError, ["lacks num_attention_heads", "add it to the dict"], id="hf-unknown-family-missing-heads"),
    P(lambda: hf({**LLAMA_CFG, "model_type": "mystery"}), ConfigError,
      ["lacks tie_word_embeddings", "add it"], id="hf-unknown-family-no-tie-default"),
    P(lambda: hf({k: v for k, v in LLAMA_CFG.items() if k != "intermediate_size"}), ConfigError,
      ["lacks intermediate_size", "add it"], id="hf-missing-ffn"),
    P(lambda: hf({**LLAMA_CFG, "tie_word_embeddings": "sometimes"}), ConfigError,
      ["tie_word_embeddings must be true or false"], id="hf-bad-string-bool"),
    P(lambda: hf({**LLAMA_CFG, "num_hidden_layers": 32.5}), ConfigError, ["num_hidden_layers must be an integer"],
      id="hf-fractional-layers"),
    P(lambda: hf({**LLAMA_CFG, "num_key_value_heads": "8"}), ConfigError, ["num_key_value_heads must be an integer"],
      id="hf-string-kv-heads"),
    P(lambda: hf({**LLAMA_CFG, "rope_scaling": ["yarn"]}), ConfigError, ["rope_scaling must be a mapping"],
      id="hf-rope-scaling-list"),
    P(lambda: hf({**LLAMA_CFG, "num_key_value_heads": 7}), ConfigError, ["n_kv_heads=7 must divide n_heads=32"],
      id="hf-kv-not-dividing"),
    P(lambda: hf({**LLAMA_CFG, "model_type": "qwen2_moe", "num_experts": 60, "moe_intermediate_size": 1408,
                  "shared_expert_intermediate_size": 5000}), ConfigError, ["not a multiple", "overrides"],
      id="hf-shared-expert-not-multiple"),
    P(lambda: hf({**LLAMA_CFG, "model_type": "qwen2_moe", "num_experts": 60, "decoder_sparse_step": 2}),
      ConfigError, ["decoder_sparse_step", "overrides"], id="hf-sparse-step"),
    # ------------------------------------------------------------------ contradictory or ignored arguments
    P(lambda: GoodputModel().solve(perf(), restart_time=600, relaunch_time=300), ConfigError,
      ["either restart_time", "relaunch_time", "not both"], id="args-restart-and-relaunch"),
    P(lambda: GoodputModel().solve(perf(), checkpoint_interval=3600, interval_rule="young"), ConfigError,
      ["either checkpoint_interval", "interval_rule='young'", "not both"], id="args-interval-and-rule"),
    P(lambda: dm(ep_overlap=0.5), ConfigError, ["ep_overlap=0.5", "dense model", "omit ep_overlap"],
      id="args-ep-overlap-on-dense"),
    P(lambda: DistributedModel().solve(L8, S64, tp_size=1, tp_overlap=0.5), ConfigError,
      ["tp_overlap=0.5", "tp_size=1", "omit tp_overlap"], id="args-tp-overlap-without-tp"),
    P(lambda: dm(precision="int8"), ConfigError, ["inference format", "train in 'fp8' or 'bf16'", "ServingModel"],
      id="args-int8-training"),
    P(lambda: SingleNodeModel().solve(L8, H100, precision="int8"), ConfigError, ["inference format"],
      id="args-int8-training-single-node"),
    P(lambda: dm(tokens=1e6), ConfigError, ["below one global batch", "raise tokens="], id="args-budget-below-batch"),
    P(lambda: unc(goodput=False, ranges={}, checkpoint_interval=3600), ConfigError,
      ["checkpoint_interval", "only matter with goodput=True"], id="args-unc-ignored-interval"),
    P(lambda: unc(goodput=False, ranges={}, failure_rates="llama3"), ConfigError, ["failure_rates", "goodput=True"],
      id="args-unc-ignored-rates"),
    P(lambda: unc(goodput="no"), ConfigError, ["goodput must be True or False"], id="args-unc-str-goodput"),
    P(lambda: unc(goodput=1), ConfigError, ["goodput must be True or False"], id="args-unc-int-goodput"),
    P(lambda: dm(dp_overlap="false"), ConfigError, ["dp_overlap must be True or False"], id="args-str-dp-overlap"),
    P(lambda: dm(sequence_parallel=0), ConfigError, ["sequence_parallel must be True or False"],
      id="args-int-sequence-parallel"),
    P(lambda: sweep(flash_attention="yes"), ConfigError, ["flash_attention must be True or False"],
      id="args-sweep-str-flash"),
    P(lambda: unc(samples=10 ** 9), ConfigError, ["exceeds the limit of 1,000,000", "GB"],
      id="args-unc-samples-exhaust-memory"),
    P(lambda: ServingModel().solve(L8, H100, step_overhead_s=Q(1, "byte")), ConfigError,
      ["step_overhead_s", "units of s"], id="units-serving-overhead-in-bytes"),
    P(lambda: ServingModel().solve(L8, H100, draft_tokens=8), ConfigError, ["draft_tokens only matters",
                                                                           "draft_model="],
      id="args-serving-draft-tokens-without-draft"),
    P(lambda: ServingModel().solve(L8, H100, tp_size=3), ConfigError, ["tp_size=3 does not divide", "try one of"],
      id="args-serving-tp-not-dividing-heads"),
    P(lambda: ServingModel().solve(L8, H100, ep_size=2), ConfigError, ["dense model", "ep_size=1"],
      id="args-serving-ep-on-dense"),
    P(lambda: SingleNodeModel().solve(L8, H100, mode="decode", zero_stage=3), ConfigError,
      ["zero_stage only matter", "mode='training'"], id="args-decode-with-zero"),
    P(lambda: SingleNodeModel().solve(L8, H100, mode="prefill", recompute="full"), ConfigError,
      ["recompute only matter", "mode='training'"], id="args-prefill-with-recompute"),
    P(lambda: explore.fleet_grid(DGX, range(1, 10 ** 9), NDR), ConfigError, ["more than 100,000 values",
                                                                           "give at most 100,000"],
      id="args-fleet-grid-billion-counts"),
    P(lambda: sweep(tp=range(1, 10 ** 7)), ConfigError, ["tp: more than 100,000 values"], id="args-sweep-huge-axis"),
    P(lambda: econ(electricity_usd_per_kwh=None, datacenter=NO_PRICE), ConfigError,
      ["no electricity price", "electricity_usd_per_kwh=0.08"], id="args-econ-site-without-price"),
    # ------------------------------------------------------------------ faces agree: explorer refuses what solvers do
    P(lambda: opt("cost", datacenters=[NO_PRICE]), ConfigError, ["needs an electricity price", "0.08"],
      id="faces-optimize-cost-without-price"),
    P(lambda: opt("carbon", {"budget_usd": 1e9}, datacenters=[NO_PRICE]), ConfigError,
      ["needs an electricity price"], id="faces-budget-without-price"),
    P(lambda: explore.pareto(L8, ("time_to_train", "cost"), fleets=S64, tp=[1, 2], pp=[1], datacenters=[NO_PRICE]),
      ConfigError, ["needs an electricity price"], id="faces-pareto-stream-without-price"),
    P(lambda: explore.pareto(sweep(datacenters=[NO_PRICE]), ("time_to_train", "cost")), ConfigError,
      ["unknown (NaN)", "give the missing price"], id="faces-pareto-table-without-price"),
    P(lambda: explore.best_region(L8, S64, [NO_PRICE, IOWA], tp=[1, 2], pp=[1]), ConfigError,
      ["needs an electricity price"], id="faces-best-region-without-price"),
    P(lambda: sweep(precision=["int8"]), ConfigError, ["inference format"], id="faces-sweep-int8"),
    P(lambda: opt(tokens=1e3), InfeasibleError, ["token budget below one global batch"],
      id="faces-optimize-budget-below-batch"),
    P(lambda: SustainabilityModel().solve(performance=oom(), datacenter=IOWA), "infeasible", [],
      id="faces-oom-into-sustainability"),
    P(lambda: EconomicsModel().solve(performance=oom(), datacenter=IOWA), "infeasible", [],
      id="faces-oom-into-economics"),
    P(lambda: GoodputModel().solve(oom()), "infeasible", [], id="faces-oom-into-goodput"),
    # ------------------------------------------------------------------ scenario loader and CLI
    P(lambda: scenario_text("base: &b {tp_size: 2}\n" + OK_SCENARIO), ScenarioError, ["unknown top-level key 'base'"],
      id="scenario-anchor-at-top-level"),
    P(lambda: scenario_text(OK_SCENARIO.replace("layout: {tp_size: 2}", "layout: {<<: 5}")), ScenarioError,
      ["`<<` merges a mapping"], id="scenario-merge-a-number"),
    P(lambda: scenario_text(OK_SCENARIO.replace("layout: {tp_size: 2}", "layout: &l {<<: *l}")), ScenarioError,
      ["malformed YAML"], id="scenario-merge-itself"),
    P(lambda: scenario_text(OK_SCENARIO.replace("layout: {tp_size: 2}", "layout: {tp_size: 2, tp_size: 4}")),
      ScenarioError, ["duplicate key 'layout.tp_size'"], id="scenario-written-duplicate"),
    P(lambda: scenario_text(OK_SCENARIO.replace("tp_size: 2", "tp_size: 2, precision: int8")), ScenarioError,
      ["inference format"], id="scenario-int8-training"),
    P(lambda: scenario_text(OK_SCENARIO + "tokens: 1.0e3\n"), ScenarioError, ["below one global batch"],
      id="scenario-budget-below-batch"),
    P(lambda: cli("train", GOLDEN, "--set", "layout.precision=int8"), 2, ["inference format"], id="cli-int8-training"),
    P(lambda: cli("zoo", "--sort", "nosuchfield"), 2, ["--sort field"], id="cli-zoo-sort-unknown-field"),
    P(lambda: cli("zoo", "--where", "memory_gb>=8O"), 2, ["memory_gb"], id="cli-zoo-where-letter-o"),
]


@pytest.mark.parametrize("call, expected, words", CASES)
def test_bad_input(call, expected, words):
    check_row(call, expected, words)


def test_catalogue_grows_by_at_least_80_rows_over_every_class():
    ids = [c.id for c in CASES]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)
    from test_bad_input_catalogue import CASES as FIRST
    assert not set(ids) & {c.id for c in FIRST}
    prefixes = {i.split("-")[0] for i in ids}
    assert {"units", "record", "hf", "args", "faces", "scenario", "cli"} <= prefixes


def test_every_record_refuses_the_impossible_through_replace_too():
    """dataclasses.replace re-runs __post_init__: each record's cross-field rule holds on both paths."""
    for build in (lambda: replace(H100, idle_w=H100.tdp_w + 1), lambda: replace(DGX, max_power_w=1.0),
                  lambda: replace(L8, n_dense_layers=1), lambda: replace(L8, tokens=1.0)):
        with pytest.raises(ConfigError):
            build()
    assert isinstance(UnknownNameError("x"), ConfigError) and np.isfinite(H100.tdp_w)
