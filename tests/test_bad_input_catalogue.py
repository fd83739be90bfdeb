"""The bad-input catalogue: every public entry point x every class of bad input -> the project's own error (or a
documented CLI exit code) AND the words that tell the user how to fix it.

Classes of bad input: zero, negative, non-integer, NaN/inf, wrong unit/dimension, wrong type, unknown name,
contradictory fields, divisibility violations, impossible constraints, empty ranges. A valid input that simply
does not fit (out of memory) is not an error: those rows expect a result with feasible=False.

Each row: (call, expected, words). `expected` is an exception class of mlsysim.errors, an int (a CLI exit code;
the words are looked for in stderr), or "infeasible" (the result must come back with feasible=False).
"""
from __future__ import annotations

import tempfile
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from mlsysim import (CalibrationModel, Datacenter, DistributedModel, EconomicsModel, GoodputModel, Grid, Hardware,
                     Infrastructure, Models, SingleNodeModel, SustainabilityModel, Systems, TransformerWorkload,
                     UncertaintyModel, explore)
from mlsysim.errors import ConfigError, InfeasibleError, MlsysimError, UnknownNameError
from mlsysim.scenario import ScenarioError, from_dict, load_scenario
from mlsysim.systems.system import Fleet
from mlsysim.units import Q

L70 = Models.Language.Llama3_70B
L8 = Models.Language.Llama3_8B
R256 = Systems.Clusters.Research_256
S64 = Systems.Clusters.Small_64
H100 = Hardware.Cloud.H100
DGX = Systems.Nodes.DGX_H100
NDR = Systems.Fabrics.InfiniBand_NDR
IOWA = Infrastructure.Datacenters.GCP_Iowa
GOLDEN = Path(__file__).resolve().parents[1] / "examples" / "llama3_70b_research256.yaml"
OK_SCENARIO = "workload: {model: Llama3_8B}\nsystem: {cluster: Small_64}\nlayout: {tp_size: 2}\n"


@lru_cache(maxsize=None)
def perf():
    return DistributedModel().solve(L70, R256, tp_size=8, zero_stage=2)


def dm(**kw):
    base = dict(model=L70, fleet=R256, tp_size=8, zero_stage=2)
    return DistributedModel().solve(**{**base, **kw})


def sus(**kw):
    base = dict(fleet=R256, duration_days=30, mfu=0.4, datacenter=IOWA)
    return SustainabilityModel().solve(**{**base, **kw})


def econ(**kw):
    base = dict(fleet=R256, duration_days=30, datacenter=IOWA)
    return EconomicsModel().solve(**{**base, **kw})


def sweep(**kw):
    return explore.sweep(**{**dict(model=L8, fleets=S64, tp=[1, 2], pp=[1]), **kw})


def opt(objective="time_to_train", constraints=None, **kw):
    return explore.optimize(L8, objective, constraints, **{**dict(fleets=S64, tp=[1, 2], pp=[1, 2]), **kw})


def scenario_text(text: str, evaluate: bool = True):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.yaml"
        p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
        sc = load_scenario(p)
        return sc.evaluate() if evaluate else sc


def cli(*args):
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    return CliRunner().invoke(app, [str(a) for a in args])


P = pytest.param
CASES = [
    # ------------------------------------------------------------------ DistributedModel
    P(lambda: dm(tp_size=0), ConfigError, ["tp_size", ">= 1"], id="dm-zero-tp"),
    P(lambda: dm(pp_size=-2), ConfigError, ["pp_size", ">= 1"], id="dm-negative-pp"),
    P(lambda: dm(tp_size=8.0), ConfigError, ["tp_size", "integer", "write 8"], id="dm-float-tp"),
    P(lambda: dm(tp_size="8"), ConfigError, ["tp_size", "integer"], id="dm-str-tp"),
    P(lambda: dm(tokens=float("nan")), ConfigError, ["tokens", "finite"], id="dm-nan-tokens"),
    P(lambda: dm(tokens=float("inf")), ConfigError, ["tokens", "finite"], id="dm-inf-tokens"),
    P(lambda: dm(tokens=1.7e308), ConfigError, ["tokens=1.7e+308", "beyond any training budget", "1e+18"],
      id="dm-overflowing-tokens"),
    P(lambda: dm(tokens=Q(1e12, "s")), ConfigError, ["tokens", "dimensionless"], id="dm-tokens-in-seconds"),
    P(lambda: dm(tp_size=6), ConfigError, ["6*1*1", "does not divide", "product divides 256"],
      id="dm-tp-not-dividing-fleet"),
    P(lambda: dm(model=L8, tp_size=64), ConfigError, ["tp_size=64", "32 attention heads", "try one of"],
      id="dm-tp-not-dividing-heads"),
    P(lambda: dm(tp_size=8, dp_size=16), ConfigError, ["dp_size=32", "omit"], id="dm-contradictory-dp"),
    P(lambda: dm(global_batch_size=100), ConfigError, ["not divisible by dp_size", "try"], id="dm-batch-divisibility"),
    P(lambda: dm(pp_size=256, tp_size=1), ConfigError, ["pp_size=256", "80 layers"], id="dm-pp-exceeds-layers"),
    P(lambda: dm(ep_size=2), ConfigError, ["dense model", "ep_size=1"], id="dm-ep-on-dense"),
    P(lambda: dm(zero_stage=4), ConfigError, ["zero_stage", "0, 1, 2 or 3"], id="dm-zero-stage-4"),
    P(lambda: dm(recompute="ful"), UnknownNameError, ["recompute", "full"], id="dm-unknown-recompute"),
    P(lambda: dm(recompute=["full"]), UnknownNameError, ["recompute", "full"], id="dm-list-recompute"),
    P(lambda: dm(precision="fp64"), UnknownNameError, ["precision", "fp16"], id="dm-unknown-precision"),
    P(lambda: dm(precision=["bf16"]), UnknownNameError, ["precision", "bf16"], id="dm-list-precision"),
    P(lambda: dm(flash_attention="no"), ConfigError, ["flash_attention", "True or False"], id="dm-str-flag"),
    P(lambda: dm(straggler_cv=-0.1), ConfigError, ["straggler_cv", ">= 0"], id="dm-negative-straggler"),
    P(lambda: dm(model="Llama3_70", fleet=R256), UnknownNameError, ["Llama3_70B"], id="dm-unknown-model"),
    P(lambda: dm(fleet="Research256"), UnknownNameError, ["Research_256"], id="dm-unknown-fleet"),
    P(lambda: dm(fleet=H100), ConfigError, ["fleet must be a Fleet", "Research_256"], id="dm-wrong-type-fleet"),
    P(lambda: DistributedModel().solve(L70.with_(tokens=0.0), R256, tp_size=8), ConfigError,
      ["token budget", "tokens=15e12 in Python", "--tokens", "Tokens field"], id="dm-no-token-budget"),
    P(lambda: dm(zero_stage=0, tp_size=1, pp_size=1), "infeasible", [], id="dm-does-not-fit"),
    # ------------------------------------------------------------------ SingleNodeModel
    P(lambda: SingleNodeModel().solve(L70, H100, batch_size=0), ConfigError, ["batch_size", ">= 1"],
      id="sn-zero-batch"),
    P(lambda: SingleNodeModel().solve(L70, H100, seq_len=2.5), ConfigError, ["seq_len", "integer"],
      id="sn-float-seq"),
    P(lambda: SingleNodeModel().solve(L70, H100, mode="inference"), UnknownNameError, ["mode", "prefill"],
      id="sn-unknown-mode"),
    P(lambda: SingleNodeModel().solve(L70, "H1000"), UnknownNameError, ["H100"], id="sn-unknown-hardware"),
    P(lambda: SingleNodeModel().solve(L70, R256), ConfigError, ["Accelerator"], id="sn-fleet-as-hardware"),
    P(lambda: SingleNodeModel().solve(L70, H100, zero_stage=7), ConfigError, ["zero_stage", "0, 1, 2 or 3"],
      id="sn-zero-stage-7"),
    P(lambda: SingleNodeModel().solve(L70, "TPUv2", precision="fp8"), ConfigError, ["no fp8", "bf16"],
      id="sn-precision-the-chip-lacks"),
    P(lambda: SingleNodeModel().solve(L70, H100, mode="training"), "infeasible", [], id="sn-does-not-fit"),
    # ------------------------------------------------------------------ SustainabilityModel
    P(lambda: sus(duration_days=0), ConfigError, ["duration_days", "> 0"], id="sus-zero-duration"),
    P(lambda: sus(duration_days=-1), ConfigError, ["duration_days", "> 0"], id="sus-negative-duration"),
    P(lambda: sus(duration_days=Q(5, "GB")), ConfigError, ["duration_days", "units of day"],
      id="sus-duration-in-bytes"),
    P(lambda: sus(mfu=45), ConfigError, ["fraction", "0.45"], id="sus-mfu-percentage"),
    P(lambda: sus(mfu=float("nan")), ConfigError, ["mfu", "finite"], id="sus-nan-mfu"),
    P(lambda: sus(pue=0.9), ConfigError, ["pue", ">= 1"], id="sus-pue-below-1"),
    P(lambda: sus(datacenter="GCP_Iowaa"), UnknownNameError, ["GCP_Iowa"], id="sus-unknown-datacenter"),
    P(lambda: sus(datacenter=IOWA.grid), ConfigError, ["Datacenter", "wrap it"], id="sus-grid-as-datacenter"),
    P(lambda: sus(datacenter=None), ConfigError, ["datacenter is required"], id="sus-no-datacenter"),
    P(lambda: SustainabilityModel().solve(performance=perf(), fleet=R256, datacenter=IOWA), ConfigError,
      ["either performance", "not both"], id="sus-contradictory-performance-and-fleet"),
    P(lambda: sus(service_life_years=0), ConfigError, ["service_life_years", "> 0"], id="sus-zero-life"),
    # ------------------------------------------------------------------ EconomicsModel
    P(lambda: econ(accelerator_price_usd=-30000), ConfigError, ["accelerator_price_usd", "> 0"],
      id="eco-negative-price"),
    P(lambda: econ(electricity_usd_per_kwh=-0.1), ConfigError, ["electricity_usd_per_kwh", "> 0"],
      id="eco-negative-electricity"),
    P(lambda: econ(electricity_usd_per_kwh=Q(1, "kWh")), ConfigError, ["units of USD/kWh"],
      id="eco-electricity-wrong-unit"),
    P(lambda: econ(cloud_usd_per_gpu_hour=Q(2, "W")), ConfigError, ["units of USD/hour"], id="eco-cloud-in-watts"),
    P(lambda: econ(infrastructure_multiplier=0.5), ConfigError, [">= 1"], id="eco-multiplier-below-1"),
    P(lambda: econ(infrastructure_multiplier=2, infrastructure_usd={"network": 1e6}), ConfigError,
      ["either", "not both"], id="eco-contradictory-capex"),
    P(lambda: econ(infrastructure_usd={"netwrk": 1e6}), UnknownNameError, ["network"], id="eco-unknown-part"),
    P(lambda: econ(infrastructure_usd={}), ConfigError, ["infrastructure_usd must be a dict like"],
      id="eco-empty-breakdown"),
    P(lambda: econ(maintenance_fraction_per_year=5), ConfigError, ["fraction of CapEx"], id="eco-maintenance-5"),
    P(lambda: econ(depreciation_years=float("inf")), ConfigError, ["depreciation_years", "finite"],
      id="eco-inf-depreciation"),
    P(lambda: EconomicsModel().solve(performance=perf(), datacenter=IOWA, tokens=1e12), ConfigError,
      ["already known", "omit tokens"], id="eco-contradictory-tokens"),
    # ------------------------------------------------------------------ GoodputModel
    P(lambda: GoodputModel().solve(), ConfigError, ["DistributedModel result"], id="gp-no-performance"),
    P(lambda: GoodputModel().solve(perf(), failure_rates={"gpu": 0.0}), ConfigError, ["all failure rates are zero"],
      id="gp-zero-rates"),
    P(lambda: GoodputModel().solve(perf(), failure_rates={"gpu": -1e-5}), ConfigError, [">= 0"],
      id="gp-negative-rate"),
    P(lambda: GoodputModel().solve(perf(), failure_rates="lama3"), UnknownNameError, ["llama3"],
      id="gp-unknown-preset"),
    P(lambda: GoodputModel().solve(perf(), checkpoint_interval=0), ConfigError, ["checkpoint_interval", "> 0"],
      id="gp-zero-interval"),
    P(lambda: GoodputModel().solve(perf(), storage_bw=Q(10, "s")), ConfigError, ["storage_bw", "byte/s"],
      id="gp-bandwidth-in-seconds"),
    P(lambda: GoodputModel().solve(perf(), failure_rates={"gpu": 1e6}), ConfigError,
      ["never finish", "lower the failure rates"], id="gp-impossible-failure-rate"),
    # ------------------------------------------------------------------ UncertaintyModel / CalibrationModel
    P(lambda: UncertaintyModel().solve(5), ConfigError, ["DistributedModel result"], id="unc-wrong-type"),
    P(lambda: UncertaintyModel().solve(perf(), {"straggler_cv": (0.2, 0.1)}), ConfigError, ["write (0.1, 0.2)"],
      id="unc-reversed-range"),
    P(lambda: UncertaintyModel().solve(perf(), {"straggler_cv": np.array(["a"])}), ConfigError, ["numbers"],
      id="unc-string-draws"),
    P(lambda: UncertaintyModel().solve(perf(), seed="x"), ConfigError, ["seed", "integer"], id="unc-str-seed"),
    P(lambda: UncertaintyModel().solve(perf(), {"pue": (1.1, 1.2)}), ConfigError, ["need datacenter"],
      id="unc-range-needs-datacenter"),
    P(lambda: CalibrationModel().solve(perf(), measured_mfu=40), ConfigError, ["percentage", "0.4"],
      id="cal-mfu-percentage"),
    P(lambda: CalibrationModel().solve(perf(), measured_step_time=1, measured_mfu=0.4), ConfigError,
      ["exactly one"], id="cal-contradictory"),
    # ------------------------------------------------------------------ records
    P(lambda: TransformerWorkload("x", n_layers=0, hidden=64, n_heads=4, ffn_hidden=256, vocab=100), ConfigError,
      ["n_layers", ">= 1"], id="tw-zero-layers"),
    P(lambda: L70.with_(n_kv_heads=7), ConfigError, ["n_kv_heads=7", "divide n_heads=64"], id="tw-kv-divisibility"),
    P(lambda: TransformerWorkload("x", n_layers=2, hidden=100, n_heads=3, ffn_hidden=4, vocab=10), ConfigError,
      ["does not divide hidden", "head_dim"], id="tw-heads-not-dividing-hidden"),
    P(lambda: L70.with_(gated_mlp="no"), ConfigError, ["gated_mlp", "True or False"], id="tw-str-bool"),
    P(lambda: L70.with_(n_shared_experts=2), ConfigError, ["n_experts=1", "n_shared_experts=0"],
      id="tw-shared-experts-on-dense"),
    P(lambda: L70.with_(q_lora_rank=512), ConfigError, ["kv_lora_rank"], id="tw-mla-without-kv-rank"),
    P(lambda: L70.with_(kv_lora_rank=512, qk_rope_head_dim=256), ConfigError, ["qk_rope_head_dim", "head_dim"],
      id="tw-rope-dim-exceeds-head-dim"),
    P(lambda: L70.with_(tokens=-1.0), ConfigError, ["tokens", ">= 0"], id="tw-negative-tokens"),
    P(lambda: replace(H100, memory_bytes=Q(80, "s")), ConfigError, ["memory_bytes", "units of byte"],
      id="acc-memory-in-seconds"),
    P(lambda: replace(H100, matmul_efficiency="0.8"), ConfigError, ["matmul_efficiency", "number"],
      id="acc-str-efficiency"),
    P(lambda: replace(H100, matmul_efficiency=1.5), ConfigError, ["(0, 1]"], id="acc-efficiency-above-1"),
    P(lambda: replace(H100, peak_flops={"fp64": 1e15}), UnknownNameError, ["precision"], id="acc-unknown-precision"),
    P(lambda: replace(NDR, port_bw=Q(50, "s")), ConfigError, ["port_bw", "units of byte/s"],
      id="fabric-bandwidth-in-seconds"),
    P(lambda: replace(NDR, oversubscription=float("inf")), ConfigError, ["oversubscription", "finite"],
      id="fabric-inf-oversubscription"),
    P(lambda: replace(NDR, oversubscription=0.5), ConfigError, [">= 1", "non-blocking"],
      id="fabric-oversubscription-below-1"),
    P(lambda: replace(DGX, scaleup_efficiency="high"), ConfigError, ["scaleup_efficiency", "number"],
      id="node-str-efficiency"),
    P(lambda: replace(DGX, accelerator="H100"), ConfigError, ["must be an Accelerator"], id="node-str-accelerator"),
    P(lambda: Fleet(node=DGX, count=2.0, fabric=NDR), ConfigError, ["integer", "write 2"], id="fleet-float-count"),
    P(lambda: Fleet(node=DGX, count=0, fabric=NDR), ConfigError, ["count", ">= 1"], id="fleet-zero-count"),
    P(lambda: Grid(name="g", gco2_per_kwh=-5), ConfigError, ["gco2_per_kwh", ">= 0"], id="grid-negative"),
    P(lambda: Grid(name="g", gco2_per_kwh=Q(400, "W")), ConfigError, ["units of g/kWh"], id="grid-wrong-unit"),
    P(lambda: replace(IOWA, pue=0.8), ConfigError, ["PUE must be >= 1"], id="dc-pue-below-1"),
    P(lambda: replace(IOWA, cfe_fraction=1.5), ConfigError, ["cfe_fraction", "[0, 1]"], id="dc-cfe-above-1"),
    P(lambda: replace(IOWA, cfe_fraction="half"), ConfigError, ["cfe_fraction", "number"], id="dc-str-cfe"),
    # ------------------------------------------------------------------ explorer
    P(lambda: sweep(tp=[]), ConfigError, ["empty range", "tp=[1]"], id="sweep-empty-tp"),
    P(lambda: sweep(tp=[0, 2]), ConfigError, ["tp", ">= 1"], id="sweep-zero-tp"),
    P(lambda: sweep(tp=[2.5]), ConfigError, ["tp", "integer"], id="sweep-float-tp"),
    P(lambda: sweep(zero=[4]), ConfigError, ["between 0 and 3"], id="sweep-zero-stage-4"),
    P(lambda: sweep(precision=None), ConfigError, ["precision", "list of names"], id="sweep-precision-none"),
    P(lambda: sweep(recompute=[]), ConfigError, ["empty list"], id="sweep-empty-recompute"),
    P(lambda: sweep(fleets=[]), ConfigError, ["at least one fleet"], id="sweep-empty-fleets"),
    P(lambda: sweep(datacenters=["GCP_Iowaa"]), UnknownNameError, ["GCP_Iowa"], id="sweep-unknown-datacenter"),
    P(lambda: sweep(keep="some"), UnknownNameError, ["feasible"], id="sweep-unknown-keep"),
    P(lambda: sweep(tokens=-1), ConfigError, ["tokens", "> 0"], id="sweep-negative-tokens"),
    P(lambda: sweep(max_memory_gb=float("nan")), ConfigError, ["max_memory_gb", "finite"], id="sweep-nan-memory"),
    P(lambda: opt("speed"), UnknownNameError, ["objective"], id="opt-unknown-objective"),
    P(lambda: opt(5), ConfigError, ["objective must be a name"], id="opt-int-objective"),
    P(lambda: opt([]), ConfigError, ["objective", "time_to_train"], id="opt-empty-objective"),
    P(lambda: opt("cost"), ConfigError, ["datacenters"], id="opt-cost-without-datacenter"),
    P(lambda: opt(constraints={"min_mfu": 0.6, "max_mfu": 0.5}), ConfigError, ["contradictory", "min_mfu"],
      id="opt-contradictory-constraints"),
    P(lambda: opt(constraints={"deadline_days": -1}), ConfigError, ["cannot be met"], id="opt-negative-deadline"),
    P(lambda: opt(constraints={"dedline_days": 30}), UnknownNameError, ["deadline_days"],
      id="opt-unknown-constraint"),
    P(lambda: opt(constraints={"deadline_days": 1e-6}), InfeasibleError, ["deadline_days", "relax a constraint"],
      id="opt-impossible-deadline"),
    P(lambda: opt(constraints={"memory_headroom": 1.0}), ConfigError, ["[0, 1)"], id="opt-headroom-1"),
    P(lambda: opt(runners_up=-1), ConfigError, ["runners_up", ">= 0"], id="opt-negative-runners-up"),
    P(lambda: explore.pareto(L8, ("time_to_train_days", "cost_usd"), fleets=S64, tp=[1, 2], pp=[1]), ConfigError,
      ["datacenters"], id="pareto-cost-without-datacenter"),
    P(lambda: explore.pareto(L8, 5, fleets=S64, tp=[1, 2], pp=[1]), ConfigError, ["objective must be a name"],
      id="pareto-int-objective"),
    P(lambda: explore.pareto_mask([["a", "b"]]), ConfigError, ["array of numbers"], id="pareto-mask-strings"),
    P(lambda: explore.smallest_fleet(L70, DGX, NDR, deadline_days=0), ConfigError, ["deadline_days", "> 0"],
      id="smallest-fleet-zero-deadline"),
    P(lambda: explore.smallest_fleet(L70, DGX, NDR, 30, counts=[]), ConfigError, ["empty range"],
      id="smallest-fleet-empty-counts"),
    P(lambda: explore.smallest_fleet(L70, DGX, NDR, 0.01, counts=[1, 2], tp=[8], pp=[1]), InfeasibleError,
      ["no configuration satisfies", "larger fleet"], id="smallest-fleet-impossible"),
    P(lambda: explore.smallest_fleet(L70, "DGX_H1000", NDR, 30), UnknownNameError, ["DGX_H100"],
      id="smallest-fleet-unknown-node"),
    P(lambda: explore.best_region(L8, S64, ["GCP_Iowa"], carbon_price_usd_per_t=-1), ConfigError,
      ["carbon_price_usd_per_t", ">= 0"], id="best-region-negative-price"),
    P(lambda: explore.best_region(L8, S64, None, carbon_price_usd_per_t=50), ConfigError, ["at least one datacenter"],
      id="best-region-no-datacenter"),
    P(lambda: explore.fleet_grid(DGX, [0], NDR), ConfigError, ["counts", ">= 1"], id="fleet-grid-zero-count"),
    # ------------------------------------------------------------------ scenario loader
    P(lambda: scenario_text(""), ScenarioError, ["s.yaml:1", "empty", "workload"], id="scenario-empty"),
    P(lambda: scenario_text("workload: [1\n"), ScenarioError, ["malformed YAML"], id="scenario-malformed"),
    P(lambda: scenario_text(b"workload: \xff\n"), ScenarioError, ["cannot read"], id="scenario-not-utf8"),
    P(lambda: scenario_text("workload: \x00\n"), ScenarioError, ["malformed YAML"], id="scenario-nul-byte"),
    P(lambda: scenario_text("name: 2001-02-30\n"), ScenarioError, ["s.yaml:1", "quote it"], id="scenario-bad-date"),
    P(lambda: scenario_text("a: &x [*x]\n"), ScenarioError, ["alias refers to itself"], id="scenario-recursive-alias"),
    P(lambda: scenario_text("a: " + "[" * 3000 + "]" * 3000 + "\n"), ScenarioError, ["nested too deeply"],
      id="scenario-deep-nesting"),
    P(lambda: scenario_text("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                            "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"),
      ScenarioError, ["aliases are expanded"], id="scenario-billion-laughs"),
    P(lambda: scenario_text("!!python/object:os.system {}\n"), ScenarioError, ["malformed YAML"],
      id="scenario-python-tag"),
    P(lambda: scenario_text("workload: {model: Llama3_8B}\nsystem: {cluster: Small_64}\nregion: Iowa\n"),
      ScenarioError, ["s.yaml:3", "unknown top-level key 'region'"], id="scenario-unknown-key"),
    P(lambda: scenario_text(OK_SCENARIO + "datacenter: GCP_Iowaa\n"), ScenarioError, ["s.yaml:4", "GCP_Iowa"],
      id="scenario-misspelt-region"),
    P(lambda: scenario_text(OK_SCENARIO.replace("tp_size: 2", "tp_size: 2.5")), ScenarioError,
      ["s.yaml:3", "layout.tp_size must be an integer"], id="scenario-non-integer"),
    P(lambda: scenario_text(OK_SCENARIO.replace("tp_size: 2", "tp_size: 0")), ScenarioError,
      ["layout.tp_size must be >= 1"], id="scenario-zero"),
    P(lambda: scenario_text(OK_SCENARIO + "tokens: .nan\n"), ScenarioError, ["tokens must be finite"],
      id="scenario-nan"),
    P(lambda: scenario_text(OK_SCENARIO + "tokens: -1.0e12\n"), ScenarioError, ["tokens must be > 0"],
      id="scenario-negative"),
    P(lambda: scenario_text(OK_SCENARIO.replace("tp_size: 2", "tp_size: 3")), ScenarioError,
      ["s.yaml:3", "3*1*1", "product divides 64"], id="scenario-divisibility"),
    P(lambda: scenario_text(OK_SCENARIO + "constraints: {budget_usd: 1.0e6}\n"), ScenarioError,
      ["needs a `datacenter:`"], id="scenario-contradictory-constraint"),
    P(lambda: scenario_text("workload: {model: Llama3_8B}\nsystem: {node: DGX_H100, nodes: 4}\n"), ScenarioError,
      ["needs system.fabric"], id="scenario-nodes-without-fabric"),
    P(lambda: scenario_text(OK_SCENARIO + "search: {nodes: []}\n"), ScenarioError, ["non-empty list"],
      id="scenario-empty-range"),
    P(lambda: from_dict({"workload": {"model": "Llama3_8B"}, "system": {"cluster": "Small_64"},
                         "datacenter": {"name": "GCP_Iowa", "pue": "high"}}), ScenarioError,
      ["datacenter.pue must be a number"], id="scenario-dict-wrong-type"),
    P(lambda: scenario_text(OK_SCENARIO.replace("tp_size: 2", "tp_size: 1, zero_stage: 0")
                            .replace("Llama3_8B", "Llama3_70B")), "infeasible", [], id="scenario-does-not-fit"),
    # ------------------------------------------------------------------ CLI (exit code + words on stderr)
    P(lambda: cli("train", GOLDEN, "--tp", "0"), 2, ["layout.tp_size must be >= 1"], id="cli-zero-tp"),
    P(lambda: cli("train", GOLDEN, "--tp", "x"), 2, ["--tp"], id="cli-non-integer-tp"),
    P(lambda: cli("train", GOLDEN, "--tokens", "nan"), 2, ["tokens must be finite"], id="cli-nan-tokens"),
    P(lambda: cli("train", GOLDEN, "--tokens", "-1"), 2, ["tokens must be > 0"], id="cli-negative-tokens"),
    P(lambda: cli("train", GOLDEN, "--datacenter", "GCP_Iowaa"), 2, ["GCP_Iowa"], id="cli-unknown-datacenter"),
    P(lambda: cli("train", GOLDEN, "--tp", "3"), 2, ["research256.yaml:17", "product divides 256"], id="cli-divisibility"),
    P(lambda: cli("train", GOLDEN, "--set", "layout.tp_size=2001-02-30"), 2, ["not valid YAML"],
      id="cli-set-bad-date"),
    P(lambda: cli("train", GOLDEN, "--set", "layout.tp_size=!!int abc"), 2, ["not valid YAML"],
      id="cli-set-bad-tag"),
    P(lambda: cli("train", GOLDEN, "--set", "layout.tp_sise=8"), 2, ["tp_size"], id="cli-set-unknown-key"),
    P(lambda: cli("train", GOLDEN, "--set", "constraints.deadline_days=1"), 3, ["deadline_days"],
      id="cli-constraint-violated"),
    P(lambda: cli("train", GOLDEN, "--zero", "0"), 4, ["zero_stage"], id="cli-does-not-fit"),
    P(lambda: cli("train", "no/such/file.yaml"), 2, ["no such scenario file"], id="cli-missing-file"),
    P(lambda: cli("eval", "--model", "Llama3_70B", "--hardware", "H100", "--mode", "infer"), 2, ["prefill"],
      id="cli-unknown-mode"),
    P(lambda: cli("eval", "--model", "Llama3_70B", "--hardware", "H100", "--batch-size", "-3"), 2,
      ["batch_size must be >= 1"], id="cli-negative-batch"),
    P(lambda: cli("optimize", GOLDEN, "--top", "0"), 2, ["--top must be >= 1"], id="cli-zero-top"),
    P(lambda: cli("optimize", GOLDEN, "--objective", "speed"), 2, ["time"], id="cli-unknown-objective"),
    P(lambda: cli("optimize", GOLDEN, "--set", "constraints.deadline_days=0.001"), 3, ["deadline_days"],
      id="cli-impossible-constraint"),
    P(lambda: cli("zoo", "--where", "nonfield>1"), 2, ["--where field"], id="cli-zoo-unknown-field"),
]


@pytest.mark.parametrize("call, expected, words", CASES)
def test_bad_input(call, expected, words):
    if isinstance(expected, int):  # a CLI exit code; never a traceback
        r = call()
        assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
        assert r.exit_code == expected, (r.exit_code, r.stderr)
        msg = r.stderr
    elif expected == "infeasible":  # valid but does not fit: a result marked feasible=False, not an exception
        out = call()
        assert out.feasible is False
        return
    else:
        with pytest.raises(expected) as ei:
            call()
        assert isinstance(ei.value, MlsysimError)
        msg = str(ei.value)
    for w in words:
        assert w in msg, f"{w!r} not in {msg!r}"


def test_catalogue_is_large_and_covers_every_entry_point():
    ids = [c.id for c in CASES]
    assert len(ids) >= 40 and len(set(ids)) == len(ids)
    prefixes = {i.split("-")[0] for i in ids}
    for p in ("dm", "sn", "sus", "eco", "gp", "unc", "cal", "tw", "acc", "fabric", "node", "fleet", "grid", "dc",
              "sweep", "opt", "pareto", "smallest", "best", "scenario", "cli"):
        assert p in prefixes, p
