"""The scenario file's schema: every section's fields (type, bounds, choices, registry, help) and the JSON
Schema that `mlsysim schema` prints. Read by the parser (scenario_yaml.py) and the builder (scenario.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import ConfigError


class ScenarioError(ConfigError):
    """A scenario file is invalid; the message starts with `file:line:` where the position is known."""


# ----------------------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class F:
    """One scenario field: its type ('int', 'float', 'bool', 'str', 'name', 'enum', 'list[int]', 'list[name]',
    'list[enum]'), bounds, choices (enum, or the allowed values of a float), the registry category for names, and
    a description."""

    type: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple = ()
    registry: str = ""  # "Models", "Hardware", "Systems.Clusters", "Infrastructure.Grids", ...


def _precisions():
    from .hardware.accelerator import PRECISIONS
    return tuple(PRECISIONS)


def _recompute():
    from .physics.training import RECOMPUTE
    return tuple(RECOMPUTE)


POS = dict(minimum=0, exclusive_minimum=True)

WORKLOAD = {
    "model": F("name", "a Models registry entry to start from (e.g. Llama3_70B); the other keys override it",
               registry="Models"),
    "name": F("str", "display name of the workload"),
    "n_layers": F("int", "transformer layers", minimum=1),
    "hidden": F("int", "hidden size (model dimension)", minimum=1),
    "n_heads": F("int", "attention heads", minimum=1),
    "n_kv_heads": F("int", "key/value heads (GQA/MQA); default n_heads", minimum=1),
    "head_dim": F("int", "dimension per head; default hidden / n_heads", minimum=1),
    "ffn_hidden": F("int", "FFN inner size", minimum=1),
    "vocab": F("int", "vocabulary size", minimum=1),
    "gated_mlp": F("bool", "SwiGLU/GeGLU MLP (three matrices)"),
    "tied_embeddings": F("bool", "input embedding shared with the LM head"),
    "linear_bias": F("bool", "biases in every linear layer (GPT-2/3, OPT, BLOOM)"),
    "learned_pos_emb": F("int", "rows of a learned position-embedding table (0 for RoPE/ALiBi)", minimum=0),
    "embedding_norm": F("bool", "LayerNorm after the word embedding (BLOOM)"),
    "dropout": F("bool", "trained with dropout (stores dropout masks)"),
    "n_experts": F("int", "routed experts per MoE layer (1 = dense)", minimum=1),
    "experts_per_token": F("int", "experts each token is routed to", minimum=1),
    "n_shared_experts": F("int", "always-on shared experts", minimum=0),
    "expert_ffn_hidden": F("int", "FFN inner size of one expert; default ffn_hidden", minimum=1),
    "n_dense_layers": F("int", "leading layers with a dense FFN in an MoE model", minimum=0),
    "q_lora_rank": F("int", "MLA query low-rank dimension (0 = ordinary attention)", minimum=0),
    "kv_lora_rank": F("int", "MLA key/value low-rank dimension (0 = ordinary attention)", minimum=0),
    "qk_rope_head_dim": F("int", "MLA rotary dimension per head", minimum=0),
    "v_head_dim": F("int", "MLA value dimension per head", minimum=1),
    "seq_len": F("int", "training sequence length (tokens)", minimum=1),
    "max_context": F("int", "serving: the longest request (prompt + output tokens) the model takes; a value "
                            "other than the published one is a what-if", minimum=1),
    "global_batch_tokens": F("float", "tokens per optimizer step, used when layout.global_batch_size is not "
                                      "given", **POS),
}
_WORKLOAD_REQUIRED = ("n_layers", "hidden", "n_heads", "ffn_hidden", "vocab")

SYSTEM = {
    "cluster": F("name", "a Systems.Clusters entry (node, node count and fabric)", registry="Systems.Clusters"),
    "node": F("name", "a Systems.Nodes entry (replaces the cluster's node)", registry="Systems.Nodes"),
    "nodes": F("int", "number of nodes (replaces the cluster's count)", minimum=1),
    "fabric": F("name", "a Systems.Fabrics entry (replaces the cluster's fabric)", registry="Systems.Fabrics"),
    "accelerator": F("name", "a Hardware entry (replaces the node's accelerator; alone, enough for `eval`)",
                     registry="Hardware"),
    "oversubscription": F("float", "scale-out fabric oversubscription (1 = non-blocking)", minimum=1),
}

LAYOUT = {
    "tp_size": F("int", "tensor-parallel size", minimum=1),
    "pp_size": F("int", "pipeline-parallel size", minimum=1),
    "dp_size": F("int", "data-parallel size (default: the rest of the fleet)", minimum=1),
    "cp_size": F("int", "context-parallel size", minimum=1),
    "ep_size": F("int", "expert-parallel size (MoE)", minimum=1),
    "microbatch_size": F("int", "sequences per micro-batch", minimum=1),
    "global_batch_size": F("int", "sequences per optimizer step (default: workload.global_batch_tokens / "
                                  "seq_len)", minimum=1),
    "interleave": F("int", "virtual pipeline stages per device (interleaved 1F1B)", minimum=1),
    "zero_stage": F("int", "ZeRO stage (0-3)", minimum=0, maximum=3),
    "precision": F("enum", "training precision", choices=("<precisions>",)),
    "recompute": F("enum", "activation recomputation policy", choices=("<recompute>",)),
    "flash_attention": F("bool", "fused (Flash) attention"),
    "sequence_parallel": F("bool", "Megatron sequence parallelism (default: on when tp_size > 1)"),
    "dp_overlap": F("bool", "overlap the gradient reduction with the backward pass"),
    "tp_overlap": F("float", "share of tensor-parallel traffic hidden behind compute (async TP), 0-1", minimum=0,
                    maximum=1),
    "ep_overlap": F("float", "share of expert all-to-all hidden behind compute (e.g. DualPipe: 1), 0-1",
                    minimum=0, maximum=1),
    "straggler_cv": F("float", "per-rank step-time coefficient of variation (stragglers)", minimum=0),
    "stack": F("name", "software stack (a Stacks.Training entry; default megatron_core_2024)",
               registry="Stacks.Training"),
}

DATACENTER = {
    "name": F("name", "an Infrastructure.Datacenters entry", registry="Infrastructure.Datacenters"),
    "grid": F("name", "an Infrastructure.Grids entry, or a country / zone / cloud region code such as PL, "
                      "PL@2022, US-MIDA-PJM, gcp:us-central1 (replaces the datacenter's grid)",
              registry="Infrastructure.Grids"),
    "pue": F("float", "power usage effectiveness (>= 1)", minimum=1),
    "wue_l_per_kwh": F("float", "on-site water use, litres per kWh of IT energy", minimum=0),
    "electricity_usd_per_kwh": F("float", "electricity price, USD per kWh", **POS),  # 0 read as "no price"
    "cfe_fraction": F("float", "hourly carbon-free energy share (e.g. Google CFE %): carbon_cfe_adjusted",
                      minimum=0, maximum=1),
    "contractual_fraction": F("float", "share of energy covered by RECs/PPAs (GHG Protocol market-based carbon)",
                              minimum=0, maximum=1),
}

ECONOMICS = {
    "accelerator_price_usd": F("float", "purchase price of one accelerator, USD", **POS),
    "infrastructure_multiplier": F("float", "the tutorial's shortcut: CapEx / accelerator spend (default: CapEx "
                                            "built from the node, fabric and facility records)", minimum=1),
    "depreciation_years": F("float", "straight-line depreciation life of the IT equipment, years", **POS),
    "facility_life_years": F("float", "straight-line life of the facility (power, cooling, building), years",
                             **POS),
    "maintenance_fraction_per_year": F("float", "maintenance and staff per year, fraction of CapEx", minimum=0,
                                       maximum=1),
    "cloud_usd_per_gpu_hour": F("float", "rental price per accelerator-hour for the own-vs-rent comparison",
                                **POS),
}

CONSTRAINTS = {
    "deadline_days": F("float", "time to train must not exceed this many days", **POS),
    "budget_usd": F("float", "the run's cost (TCO share) must not exceed this, USD (needs a datacenter)", **POS),
    "max_carbon_t": F("float", "operational location-based carbon must not exceed this, tonnes CO2e (needs a "
                               "datacenter)", **POS),
    "max_memory_gb": F("float", "memory per device must not exceed this, GB", **POS),
    "max_gpus": F("int", "the fleet must not have more accelerators than this", minimum=1),
}

SEARCH = {
    "objective": F("enum", "what `optimize` minimises", choices=("time", "cost", "carbon")),
    "nodes": F("list[int]", "node counts to try (default: powers of two up to the system's count)", minimum=1),
    "tp_sizes": F("list[int]", "tensor-parallel sizes to try (default: powers of two up to a node)", minimum=1),
    "pp_sizes": F("list[int]", "pipeline-parallel sizes to try (default: 1, 2, 4, 8, 16)", minimum=1),
    "microbatch_sizes": F("list[int]", "micro-batch sizes to try (default: 1, 2)", minimum=1),
    "zero_stages": F("list[int]", "ZeRO stages to try (default: 1, 2, 3)", minimum=0, maximum=3),
    "ep_sizes": F("list[int]", "expert-parallel sizes to try, for a mixture-of-experts model (default: the layout's "
                  "ep_size)", minimum=1),
    "recompute": F("list[enum]", "recomputation policies to try (default: the layout's)", choices=("<recompute>",)),
    "datacenters": F("list[name]", "datacenters to compare (default: the scenario's)",
                     registry="Infrastructure.Datacenters"),
    "top": F("int", "rows of the ranking to show", minimum=1),
}

from .scenario_serving import HELP as _SERVING_HELP, SERVING  # noqa: E402  (the serving section's schema)

SECTIONS: dict[str, dict[str, F]] = {
    "workload": WORKLOAD, "system": SYSTEM, "layout": LAYOUT, "datacenter": DATACENTER, "economics": ECONOMICS,
    "constraints": CONSTRAINTS, "search": SEARCH, "serving": SERVING,
}
TOP = {
    "name": F("str", "title of the scenario (reports, JSON)"),
    "description": F("str", "a sentence or two shown in the report"),
    "tokens": F("float", "training token budget (default: the workload's published budget)", **POS),
}
SECTION_HELP = {
    "workload": "the transformer: a Models name plus overrides, or a full architecture",
    "system": "the fleet: a cluster, or a node + node count + fabric; `accelerator` alone is enough for `eval`",
    "layout": "the parallel layout and training recipe (DistributedModel.solve arguments)",
    "datacenter": "where it runs: an Infrastructure.Datacenters name, or a mapping with overrides",
    "economics": "cost-model overrides (EconomicsModel.solve arguments)",
    "constraints": "limits the plan must meet: violated -> exit code 3",
    "search": "the design space `mlsysim optimize` explores",
    "serving": _SERVING_HELP,
}


def _choices(f: F) -> tuple:
    if f.choices == ("<precisions>",):
        return _precisions()
    if f.choices == ("<recompute>",):
        return _recompute()
    if f.choices == ("<percentiles>",):  # the serving tails with a tabulated normal quantile
        from .physics.serving_load import Z
        return tuple(sorted(Z))
    return f.choices


def _category(reg: str):
    """The registry (or category) object for 'Models', 'Systems.Clusters', ..."""
    import mlsysim
    head, _, cat = reg.partition(".")
    r = getattr(mlsysim, head)
    return getattr(r, cat) if cat else r


def _names(reg: str) -> list[str]:
    obj = _category(reg)
    return obj.names() if hasattr(obj, "names") else obj.all_names()


def _dataset_name(reg: str, value: str) -> bool:
    """A name outside the listed entries that the category still resolves (grids: countries, zones, clouds)."""
    return reg == "Infrastructure.Grids" and value in _category(reg)


# -------------------------------------------------------------------------------------------- JSON Schema
def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a scenario file, generated from the same table the loader checks."""

    def prop(f: F) -> dict:
        base = f.type.removeprefix("list[").removesuffix("]")
        p: dict[str, Any] = {}
        if base == "int":
            p["type"] = "integer"
        elif base == "float":
            p["type"] = "number"
            if f.choices:
                p["enum"] = list(_choices(f))
        elif base == "bool":
            p["type"] = "boolean"
        elif base == "str":
            p["type"] = "string"
        elif base == "enum":
            p["enum"] = list(_choices(f))
        elif base == "name":
            p["type"] = "string"
            # grids also take any country, zone or cloud region code ("PL", "PL@2022", "gcp:us-central1")
            p["examples" if f.registry == "Infrastructure.Grids" else "enum"] = _names(f.registry)
        if f.minimum is not None:
            p["exclusiveMinimum" if f.exclusive_minimum else "minimum"] = f.minimum
        if f.maximum is not None:
            p["maximum"] = f.maximum
        if f.type.startswith("list["):
            p = {"type": "array", "items": p, "minItems": 1}
        p["description"] = f.help + (f" ({f.registry} registry)" if f.registry else "")
        return p

    def obj(spec: dict, desc: str) -> dict:
        return {"type": "object", "description": desc, "additionalProperties": False,
                "properties": {k: prop(f) for k, f in spec.items()}}

    props: dict[str, Any] = {k: prop(f) for k, f in TOP.items()}
    for sec, spec in SECTIONS.items():
        props[sec] = obj(spec, SECTION_HELP[sec])
    props["datacenter"] = {"description": SECTION_HELP["datacenter"],
                           "oneOf": [prop(DATACENTER["name"]), obj(DATACENTER, "a datacenter with overrides")]}
    props["workload"]["anyOf"] = [{"required": ["model"]}, {"required": list(_WORKLOAD_REQUIRED)}]
    props["system"]["anyOf"] = [{"required": ["cluster"]}, {"required": ["node"]}, {"required": ["accelerator"]}]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mlsysim scenario",
            "description": "A training scenario for mlsysim (YAML or JSON). Numbers are plain numbers in the unit "
                           "named by the key (_days, _usd, _gb, _per_kwh ...).",
            "type": "object", "additionalProperties": False, "required": ["workload", "system"],
            "properties": props}
