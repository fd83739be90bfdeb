"""The `serving:` section of scenario files (schema) and its evaluation with ServingLoadModel. scenario.py
registers SERVING as a section, so unknown keys are rejected and `mlsysim schema` lists them like any other.

    workload: {model: Llama3_70B}
    system: {accelerator: H100}          # or a node / cluster: its node's NVLink is used for TP
    datacenter: US_East_Virginia         # optional: Wh, gCO2e and $ per request
    serving: {qps: 40, input_len: 1000, output_len: 200, tp_size: 4, precision: fp8, ttft_slo_ms: 500}

Beyond Poisson: `arrival_cv` (bursty, G/G/1), `trace: requests.csv` (arrival_s[,input_len,output_len], relative to
the scenario file; replayed through the replicas, at `qps` if given), `output_cv`, and `load_profile` (multipliers of
the peak qps, e.g. 24 hourly values, for energy, carbon and $ per request). Speculative decoding: `draft_model` or
`mtp_depth`, with `draft_acceptance_rate` (and `draft_tokens`).
"""
from __future__ import annotations

import re

from .physics.precision import SHORTHAND


def _field(*a, **k):
    from .scenario_schema import F
    return F(*a, **k)


POS = dict(minimum=0, exclusive_minimum=True)
SERVING = {
    "qps": _field("float", "requests per second (Poisson arrivals; the peak under a load_profile; a trace is "
                           "time-scaled to it)", **POS),
    "trace": _field("str", "CSV of requests (arrival_s[,input_len,output_len]) replayed through the replicas"),
    "arrival_cv": _field("float", "coefficient of variation of the inter-arrival times (1 = Poisson, > 1 bursty)",
                         minimum=0),
    "output_cv": _field("float", "coefficient of variation of the output lengths (KV capacity, batch context)",
                        minimum=0),
    "load_profile": _field("list[float]", "load over equal periods (e.g. 24 hours) as shares of the peak qps",
                           minimum=0, maximum=1),
    "input_len": _field("int", "mean prompt tokens", minimum=1),
    "output_len": _field("int", "mean generated tokens", minimum=1),
    "input_cv": _field("float", "coefficient of variation of the prompt lengths (queueing)", minimum=0),
    "tp_size": _field("int", "tensor-parallel size of a replica", minimum=1),
    "pp_size": _field("int", "pipeline-parallel size of a replica", minimum=1),
    "ep_size": _field("int", "expert-parallel ranks of an MoE replica (attention data-parallel over them)",
                      minimum=1),
    "precision": _field("enum", "weights / KV / compute shorthand", choices=tuple(SHORTHAND)),
    "ttft_slo_ms": _field("float", "time-to-first-token target at the percentile, ms", **POS),
    "tpot_slo_ms": _field("float", "time-per-output-token target at the percentile, ms", **POS),
    "percentile": _field("float", "SLO percentile: 0.5, 0.9, 0.95, 0.99 or 0.999", choices=("<percentiles>",)),
    "replicas": _field("int", "fixed number of replicas (default: as many as the SLO needs)", minimum=1),
    "disaggregation": _field("list[int]", "[prefill replicas, decode replicas] per group", minimum=1),
    "engine": _field("str", "serving-engine profile in data/engines.toml (default TensorRT_LLM)"),
    "rent_usd_per_gpu_hour": _field("float", "rent instead of own: price per GPU-hour", **POS),
    "draft_model": _field("name", "speculative decoding: the draft model", registry="Models"),
    "mtp_depth": _field("int", "speculative decoding with the model's own multi-token-prediction modules",
                        minimum=1),
    "draft_acceptance_rate": _field("float", "speculative decoding: per-token acceptance of drafted tokens, [0, 1)",
                                    minimum=0),
    "draft_tokens": _field("int", "speculative decoding: tokens drafted per iteration (default 4)", minimum=1),
}
HELP = "LLM serving under load (`mlsysim serve SCENARIO.yaml`): traffic, replica layout, SLO"


def evaluate(sc):
    """ServingLoadModel on a scenario's workload, system, datacenter and `serving:` section."""
    from .errors import ConfigError
    from .solvers.serving_load import ServingLoadModel
    cfg = dict(sc.raw.get("serving") or {})
    if "qps" not in cfg and "trace" not in cfg:
        raise ConfigError(f"{sc.path}: the `serving:` section needs qps: or trace: (e.g. `serving: {{qps: 10}}`)")
    hw = sc.fleet.node if sc.fleet is not None else sc.accelerator
    if hw is None:
        raise ConfigError(f"{sc.path}: serving needs `system:` with an accelerator, node or cluster")
    kw = {k: cfg[k] for k in ("input_len", "output_len", "input_cv", "tp_size", "pp_size", "ep_size", "precision",
                              "percentile", "replicas", "engine", "rent_usd_per_gpu_hour", "arrival_cv", "output_cv",
                              "load_profile", "draft_model", "mtp_depth", "draft_acceptance_rate", "draft_tokens")
          if k in cfg}
    if "trace" in cfg:
        from pathlib import Path
        from .solvers.serving_traffic import load_trace
        p = Path(cfg["trace"])
        kw.update(load_trace(p if p.is_absolute() else Path(sc.path).parent / p))
    if "disaggregation" in cfg:
        if len(cfg["disaggregation"]) != 2:
            raise ConfigError(f"{sc.path}: serving.disaggregation must be [prefill replicas, decode replicas]")
        kw["disaggregation"] = tuple(cfg["disaggregation"])
    for ms, key in (("ttft_slo_ms", "ttft_slo"), ("tpot_slo_ms", "tpot_slo")):
        if ms in cfg:
            kw[key] = cfg[ms] / 1e3
    try:
        return ServingLoadModel().solve(sc.model, hw, qps=cfg.get("qps"), datacenter=sc.datacenter, **kw)
    except ConfigError as exc:  # the solver's message, at the line of the serving key it names
        from .scenario_schema import ScenarioError
        msg = str(exc)
        key = next((k for k in cfg if re.search(rf"\b{re.escape(k)}\b", msg)), None)
        raise ScenarioError((sc.where("serving", key) if key else sc.where("serving")) + msg) from None
