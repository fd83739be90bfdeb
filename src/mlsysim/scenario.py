"""Scenario files: one YAML file describing a workload, a system, a layout, where it runs, the token budget and
the constraints a plan must meet. Safe-loaded, validated field by field, with `file:line` in every message.

    >>> from mlsysim.scenario import load_scenario
    >>> sc = load_scenario("examples/llama3_70b_research256.yaml")      # doctest: +SKIP
    >>> out = sc.evaluate()                                              # doctest: +SKIP
    >>> out.performance.mfu, out.sustainability.carbon_footprint         # doctest: +SKIP

A scenario file (every key optional except a workload and a system; `mlsysim schema` prints the JSON Schema):

    name: Llama 3 70B on Research_256
    workload: {model: Llama3_70B, seq_len: 8192}          # a Models name plus overrides, or a full architecture
    system: {cluster: Research_256}                       # or {node: DGX_H100, nodes: 32, fabric: InfiniBand_NDR}
    layout: {tp_size: 8, pp_size: 1, zero_stage: 2}
    datacenter: GCP_Iowa                                  # or {name: GCP_Iowa, grid: Quebec, pue: 1.2}
    tokens: 15.0e12
    economics: {depreciation_years: 4}
    constraints: {deadline_days: 90, budget_usd: 2.0e7, max_carbon_t: 1000, max_memory_gb: 78}

Only `yaml.safe_load`-equivalent parsing is used (SafeLoader): a scenario file can never run code.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, unknown


class ScenarioError(ConfigError):
    """A scenario file is invalid; the message starts with `file:line:` where the position is known."""


# ----------------------------------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class F:
    """One scenario field: its type ('int', 'float', 'bool', 'str', 'name', 'enum', 'list[int]', 'list[name]',
    'list[enum]'), bounds, choices (enum), the registry category for names, and a description."""

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
    "electricity_usd_per_kwh": F("float", "electricity price, USD per kWh", minimum=0),
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


# ------------------------------------------------------------------------------------ YAML with line numbers
def parse_yaml(text: str, path: str = "<scenario>") -> tuple[dict, dict]:
    """Safe-parse YAML into plain Python, plus {key path tuple: line} for every key (1-based)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover
        raise ConfigError("reading scenario files needs PyYAML: pip install 'mlsysim[cli]'") from None
    lines: dict[tuple, int] = {}
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses control characters (NUL, ...) right here
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(f"{path}:1: the scenario is empty; it needs at least `workload:` and `system:`")
        data = _build(loader, node, (), lines, path, _Budget())
    except RecursionError:  # the YAML composer recurses once per nesting level
        raise ScenarioError(f"{path}: malformed YAML: nested too deeply (a scenario is a few levels of "
                            f"key: value lines)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        raise ScenarioError(f"{where}: malformed YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario must be a mapping (key: value lines), got a "
                            f"{type(data).__name__}")
    return data, lines


class _Budget:
    """Limits on building YAML nodes into Python: aliases are expanded, so `&a [*a]` would recurse forever and a
    few nested aliases would expand exponentially ("billion laughs"); a scenario has a few dozen values."""

    MAX_VALUES = 100_000
    MAX_DEPTH = 32

    def __init__(self):
        self.left = self.MAX_VALUES
        self.active: set[int] = set()  # ids of the nodes on the path being built


def _construct(loader, node, path: str):
    """A scalar (or key) as Python; a value its tag cannot read (`!!int abc`, `2001-02-30`) is a ScenarioError."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        shown = repr(node.value[:60]) if isinstance(node.value, str) else "this value"
        raise ScenarioError(f"{path}:{node.start_mark.line + 1}: malformed YAML: cannot read {shown} as "
                            f"{node.tag.rsplit(':', 1)[-1]} ({str(exc)[:100]}); quote it to make it a string") from None


def _build(loader, node, kp: tuple, lines: dict, path: str, budget: _Budget):
    import yaml
    line = node.start_mark.line + 1
    budget.left -= 1
    if budget.left < 0:
        raise ScenarioError(f"{path}:{line}: malformed YAML: more than {_Budget.MAX_VALUES:,} values once aliases "
                            f"are expanded; a scenario file needs a few dozen")
    if len(kp) > _Budget.MAX_DEPTH or id(node) in budget.active:
        why = "an alias refers to itself" if id(node) in budget.active else "nested too deeply"
        raise ScenarioError(f"{path}:{line}: malformed YAML: {why} (at '{_dot(kp)}')")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        kind = "map" if isinstance(node, yaml.MappingNode) else "seq"
        if node.tag not in (f"tag:yaml.org,2002:{kind}", "tag:yaml.org,2002:omap" if kind == "seq" else ""):
            raise ScenarioError(f"{path}:{node.start_mark.line + 1}: malformed YAML: unsupported tag {node.tag} "
                                f"(scenario files are plain data)")
    if isinstance(node, yaml.MappingNode):
        out = {}
        budget.active.add(id(node))
        for key, knode, vnode in _pairs(loader, node, kp, lines, path, budget):
            lines[kp + (key,)] = knode.start_mark.line + 1
            out[key] = _build(loader, vnode, kp + (key,), lines, path, budget)
        budget.active.discard(id(node))
        return out
    if isinstance(node, yaml.SequenceNode):
        out = []
        budget.active.add(id(node))
        for i, item in enumerate(node.value):
            lines[kp + (i,)] = item.start_mark.line + 1
            out.append(_build(loader, item, kp + (i,), lines, path, budget))
        budget.active.discard(id(node))
        return out
    return _construct(loader, node, path)


def _pairs(loader, node, kp: tuple, lines: dict, path: str, budget: _Budget) -> list:
    """A mapping's (key, key node, value node) with merge keys resolved as YAML specifies (yaml.org/type/merge):
    keys written out override merged ones, and of several merged maps (`<<: [*a, *b]`) the earlier wins.
    (pyyaml's own flattening lets the later map win.) Only written-out keys may not repeat."""
    import yaml
    merge_tag = "tag:yaml.org,2002:merge"
    own, sources, seen = [], [], {}
    for knode, vnode in node.value:
        line = knode.start_mark.line + 1
        if knode.tag == merge_tag:
            subs = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
            if not all(isinstance(m, yaml.MappingNode) for m in subs):
                raise ScenarioError(f"{path}:{line}: malformed YAML: `<<` merges a mapping or a list of mappings "
                                    f"(e.g. `<<: *base`)")
            sources.extend(subs)
            continue
        key = _construct(loader, knode, path)
        if not isinstance(key, str):
            raise ScenarioError(f"{path}:{line}: keys must be names, got {key!r}")
        if key in seen:
            raise ScenarioError(f"{path}:{line}: duplicate key '{_dot(kp + (key,))}' (first on line {seen[key]})")
        seen[key] = line
        own.append((key, knode, vnode))
    for src in sources:
        budget.left -= len(src.value)
        if budget.left < 0:
            raise ScenarioError(f"{path}:{src.start_mark.line + 1}: malformed YAML: more than "
                                f"{_Budget.MAX_VALUES:,} values once merge keys are expanded")
        if id(src) in budget.active:
            raise ScenarioError(f"{path}:{src.start_mark.line + 1}: malformed YAML: an alias refers to itself "
                                f"(at '{_dot(kp)}')")
        budget.active.add(id(src))
        for key, knode, vnode in _pairs(loader, src, kp, {}, path, budget):
            if key not in seen:
                seen[key] = knode.start_mark.line + 1
                own.append((key, knode, vnode))
        budget.active.discard(id(src))
    return own


def _dot(kp) -> str:
    return ".".join(str(k) for k in kp)


# ------------------------------------------------------------------------------------------------- checking
_FLOAT_STR = re.compile(r"^[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _Where:
    """Formats `file:line: ` for a key path (the nearest known line up the path)."""

    def __init__(self, path: str, lines: dict):
        self.path, self.lines = path, lines

    def __call__(self, kp: tuple) -> str:
        for i in range(len(kp), 0, -1):
            line = self.lines.get(kp[:i])
            if line == "cli":
                return f"command line ({_dot(kp[:i])}): "
            if line is not None:
                return f"{self.path}:{line}: "
        return f"{self.path}: "


def _check(value, f: F, kp: tuple, where: _Where):
    """Validate and convert one value against its spec; raise a one-line ScenarioError."""
    name = _dot(kp)
    if f.type.startswith("list["):
        if not isinstance(value, list) or not value:
            raise ScenarioError(f"{where(kp)}{name} must be a non-empty list, got {value!r}")
        item = dataclasses.replace(f, type=f.type[5:-1])
        return [_check(v, item, kp + (i,), where) for i, v in enumerate(value)]
    t = f.type
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f"; write {int(value)}" if isinstance(value, float) and value.is_integer() else ""
            raise ScenarioError(f"{where(kp)}{name} must be an integer, got {_show(value)}{hint}")
    elif t == "float":
        if isinstance(value, str) and _FLOAT_STR.match(value.strip()):
            value = float(value.replace("_", ""))  # YAML 1.1 reads 15e12 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where(kp)}{name} must be a number, got {_show(value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(f"{where(kp)}{name} must be finite, got {value}")
    elif t == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(f"{where(kp)}{name} must be true or false, got {_show(value)}")
        return value
    elif t in ("str", "name", "enum"):
        if not isinstance(value, str):
            raise ScenarioError(f"{where(kp)}{name} must be a {'name' if t != 'str' else 'string'}, got "
                                f"{_show(value)}")
        if t == "enum" and value not in _choices(f):
            raise ScenarioError(where(kp) + str(unknown(name, value, _choices(f))))
        if t == "name":
            names = _names(f.registry)
            if value not in names and not _dataset_name(f.registry, value):
                raise ScenarioError(where(kp) + str(unknown(f"{f.registry} entry for {name}", value, names)))
        return value
    if f.minimum is not None and (value < f.minimum or (f.exclusive_minimum and value == f.minimum)):
        op = ">" if f.exclusive_minimum else ">="
        raise ScenarioError(f"{where(kp)}{name} must be {op} {f.minimum:g}, got {value:g}")
    if f.maximum is not None and value > f.maximum:
        raise ScenarioError(f"{where(kp)}{name} must be <= {f.maximum:g}, got {value:g}")
    return value


def _show(v) -> str:
    return f"{type(v).__name__} {v!r}" if not isinstance(v, (dict, list)) else f"a {type(v).__name__}"


def _section(raw: dict, sec: str, spec: dict, where: _Where) -> dict:
    val = raw.get(sec)
    if val is None:
        return {}
    if not isinstance(val, dict):
        what = "a name or a mapping" if sec == "datacenter" else "a mapping"
        raise ScenarioError(f"{where((sec,))}{sec} must be {what} (indented key: value lines), got "
                            f"{_show(val)}")
    out = {}
    for k, v in val.items():
        if k not in spec:
            raise ScenarioError(where((sec, k)) + str(unknown(f"key in {sec}", k, spec)))
        if v is None:
            continue
        out[k] = _check(v, spec[k], (sec, k), where)
    return out


# ------------------------------------------------------------------------------------------------ Scenario
@dataclass
class Scenario:
    """A validated scenario: the described objects, ready for the solvers.

    `raw` is the checked mapping (None values dropped); `model`, `fleet`, `accelerator`, `datacenter` are built
    registry objects (`fleet`/`datacenter` may be None); `layout`, `economics`, `constraints`, `search` are the
    keyword arguments of their solvers.
    """

    path: str
    raw: dict
    lines: dict
    name: str
    description: str
    model: Any
    fleet: Any
    accelerator: Any
    layout: dict
    datacenter: Any
    tokens: float | None
    economics: dict
    constraints: dict
    search: dict
    _where: _Where = field(repr=False, default=None)

    def where(self, *kp) -> str:
        """'file:line: ' for a key path such as ('layout', 'tp_size')."""
        return self._where(tuple(kp))

    def locate(self, message: str) -> str:
        """Prefix a solver message with the file:line of the layout/workload key it names, if any."""
        for sec in ("layout", "workload", "system"):
            for k in self.raw.get(sec) or {}:
                if re.search(rf"\b{re.escape(k)}\b", message):
                    return self.where(sec, k) + message
        return self.where("layout") + message

    def require_fleet(self):
        if self.fleet is None:
            raise ScenarioError(f"{self.where('system')}this needs a fleet: give system.cluster, or system.node "
                                f"(+ nodes, fabric)")
        return self.fleet

    def solve_kwargs(self) -> dict:
        """Arguments for DistributedModel().solve(...)."""
        kw = dict(self.layout)
        if self.tokens is not None:
            kw["tokens"] = self.tokens
        return kw

    def sweep_kwargs(self) -> dict:
        """Arguments for mlsysim.explore.sweep / optimize / pareto: the `search` section's axes around the
        scenario (fleets of the system's node and fabric; the layout's fixed choices kept)."""
        from .explore import fleet_grid
        fleet = self.require_fleet()
        s, L = self.search, self.layout
        counts = s.get("nodes") or sorted({c for c in _powers_of_two(fleet.count)} | {fleet.count})
        kw = dict(fleets=fleet_grid(fleet.node, counts, fleet.fabric),
                  tp=s.get("tp_sizes", "auto"), pp=s.get("pp_sizes", "auto"),
                  microbatch=s.get("microbatch_sizes", (1, 2)), zero=s.get("zero_stages", (1, 2, 3)),
                  recompute=s.get("recompute", (L.get("recompute", "selective"),)),
                  precision=(L.get("precision", "bf16"),), cp=(L.get("cp_size", 1),), ep=(L.get("ep_size", 1),),
                  interleave=(L.get("interleave", 1),))
        dcs = s.get("datacenters")
        if dcs:
            from .infrastructure.registry import Infrastructure
            kw["datacenters"] = [Infrastructure.Datacenters[d] for d in dcs]
        elif self.datacenter is not None:
            kw["datacenters"] = [self.datacenter]
        for k in ("global_batch_size",):
            if k in L:
                kw[k] = (L[k],)
        for k in ("flash_attention", "sequence_parallel", "dp_overlap", "straggler_cv", "stack"):
            if k in L:
                kw[k] = L[k]
        if self.tokens is not None:
            kw["tokens"] = self.tokens
        return kw

    def explore_constraints(self) -> dict:
        """The `constraints` section in the explorer's names."""
        names = {"deadline_days": "deadline_days", "budget_usd": "budget_usd", "max_carbon_t": "carbon_t",
                 "max_memory_gb": "max_memory_gb", "max_gpus": "max_accelerators"}
        return {names[k]: v for k, v in self.constraints.items()}

    def evaluate(self, *, sustainability: bool = True, economics: bool = True) -> "Outcome":
        """Run the composed solvers (performance -> energy/carbon -> cost) and check the constraints."""
        return evaluate(self, sustainability=sustainability, economics=economics)

    def to_yaml(self, header: str | None = None) -> str:
        """The scenario as YAML text that `load_scenario` reads back into the same scenario (mlsysim.plans)."""
        from .plans import to_yaml
        return to_yaml(self, header)


def load_scenario(path, overrides: list[tuple[str, Any]] | None = None) -> Scenario:
    """Read, validate and build a scenario file. `overrides` are (dotted key, value) pairs applied on top
    (the command line's options), e.g. [("layout.tp_size", 4)]."""
    from pathlib import Path
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{p}: cannot read the scenario: {exc}") from None
    raw, lines = parse_yaml(text, p)
    return build_scenario(raw, lines, p, overrides)


def from_dict(raw: dict, overrides=None, path: str = "<dict>") -> Scenario:
    """Build a scenario from an in-memory mapping (notebooks, tests)."""
    import copy
    return build_scenario(copy.deepcopy(raw), {}, path, overrides)


def apply_override(raw: dict, lines: dict, dotted: str, value):
    """Set raw[a][b] = value for 'a.b' (a top-level key for 'a'); the line becomes '(command line)'."""
    parts = dotted.split(".")
    if len(parts) > 2 or not all(parts):
        raise ScenarioError(f"--set {dotted}: use section.key (e.g. layout.tp_size) or a top-level key")
    if parts[0] not in SECTIONS and parts[0] not in TOP:
        raise ScenarioError("command line: " + str(unknown("scenario section", parts[0],
                                                           list(SECTIONS) + list(TOP))))
    if len(parts) == 1:
        raw[parts[0]] = value
        lines[(parts[0],)] = "cli"
        return
    sec, key = parts
    cur = raw.get(sec)
    if sec == "datacenter" and isinstance(cur, str):
        cur = {"name": cur}
    if not isinstance(cur, dict):
        cur = {}
    cur[key] = value
    raw[sec] = cur
    lines[(sec, key)] = "cli"


def build_scenario(raw: dict, lines: dict, path: str, overrides=None) -> Scenario:
    where = _Where(path, lines)
    for dotted, value in overrides or ():
        apply_override(raw, lines, dotted, value)
    where.path = path
    for k in raw:
        if k not in SECTIONS and k not in TOP:
            raise ScenarioError(where((k,)) + str(unknown("top-level key", k, list(SECTIONS) + list(TOP))))
    top = {k: _check(raw[k], f, (k,), where) for k, f in TOP.items() if raw.get(k) is not None}
    dc_raw = raw.get("datacenter")
    if isinstance(dc_raw, str):
        raw["datacenter"] = {"name": dc_raw}
        if ("datacenter",) in lines:
            lines[("datacenter", "name")] = lines[("datacenter",)]
    sec = {s: _section(raw, s, spec, where) for s, spec in SECTIONS.items()}
    if "workload" not in raw or not sec["workload"]:
        raise ScenarioError(f"{where(('workload',))}missing `workload:` (e.g. `workload: {{model: Llama3_70B}}`)")
    if "system" not in raw or not sec["system"]:
        raise ScenarioError(f"{where(('system',))}missing `system:` (e.g. `system: {{cluster: Research_256}}`)")

    model = _build_model(sec["workload"], where)
    fleet, acc = _build_system(sec["system"], where)
    dc = _build_datacenter(sec["datacenter"], where) if sec["datacenter"] else None
    clean = {k: v for k, v in top.items()}
    clean.update({s: v for s, v in sec.items() if v})
    return Scenario(path=path, raw=clean, lines=lines, name=top.get("name") or _default_name(model, fleet, acc),
                    description=top.get("description", "").strip(), model=model, fleet=fleet, accelerator=acc,
                    layout=dict(sec["layout"]), datacenter=dc, tokens=top.get("tokens"),
                    economics=dict(sec["economics"]), constraints=dict(sec["constraints"]),
                    search=dict(sec["search"]), _where=where)


def _powers_of_two(hi: int) -> list[int]:
    out, c = [], 1
    while c <= hi:
        out.append(c)
        c *= 2
    return out


def _default_name(model, fleet, acc) -> str:
    return f"{model.name} on {fleet.name if fleet is not None else acc.name}"


def _wrap(where: _Where, kp: tuple, fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except ScenarioError:
        raise
    except ConfigError as exc:
        raise ScenarioError(where(kp) + str(exc)) from None


def _build_model(w: dict, where: _Where):
    from .models.registry import Models
    from .models.workload import TransformerWorkload
    fields = {k: v for k, v in w.items() if k != "model"}
    if "model" in w:
        base = _wrap(where, ("workload", "model"), Models.get, w["model"])
        if not fields:
            return base
        return _wrap(where, ("workload",), base.with_, **fields)
    missing = [k for k in _WORKLOAD_REQUIRED if k not in fields]
    if missing:
        raise ScenarioError(f"{where(('workload',))}workload needs `model:` (a Models name) or a full "
                            f"architecture; missing {', '.join(missing)}")
    fields.setdefault("name", "custom workload")
    return _wrap(where, ("workload",), TransformerWorkload, **fields)


def _build_system(s: dict, where: _Where):
    from .hardware.registry import Hardware
    from .systems.registry import Systems
    from .systems.system import Fleet
    acc = Hardware.get(s["accelerator"]) if "accelerator" in s else None
    if "cluster" in s:
        base = Systems.Clusters[s["cluster"]]
        node, count, fabric, name = base.node, base.count, base.fabric, base.name
        if not any(k in s for k in ("node", "nodes", "fabric", "accelerator", "oversubscription")):
            return base, base.node.accelerator
        name = ""
    elif "node" in s:
        node, count, fabric, name = Systems.Nodes[s["node"]], s.get("nodes", 1), None, ""
        if "fabric" not in s and s.get("nodes", 1) > 1:
            raise ScenarioError(f"{where(('system', 'nodes'))}system.nodes = {s['nodes']} needs "
                                f"system.fabric (e.g. InfiniBand_NDR) to connect the nodes")
    else:
        if any(k in s for k in ("nodes", "fabric", "oversubscription")):
            raise ScenarioError(f"{where(('system',))}system.nodes/fabric need system.cluster or system.node")
        return None, acc
    if "node" in s:
        node = Systems.Nodes[s["node"]]
    if "nodes" in s:
        count = s["nodes"]
    if "fabric" in s:
        fabric = Systems.Fabrics[s["fabric"]]
    if fabric is None:  # a single node: any fabric (unused)
        fabric = Systems.Fabrics[Systems.Fabrics.names()[0]]
    if acc is not None:
        node = _wrap(where, ("system", "accelerator"), dataclasses.replace, node, accelerator=acc,
                     name=f"{node.name} with {acc.name}")
    if "oversubscription" in s:
        fabric = _wrap(where, ("system", "oversubscription"), dataclasses.replace, fabric,
                       oversubscription=s["oversubscription"])
    fleet = _wrap(where, ("system",), Fleet, node=node, count=count, fabric=fabric, name=name)
    return fleet, node.accelerator


def _build_datacenter(d: dict, where: _Where):
    from .infrastructure.registry import Infrastructure
    from .infrastructure.site import Datacenter
    over = {k: v for k, v in d.items() if k not in ("name", "grid")}
    if "grid" in d:
        over["grid"] = Infrastructure.Grids[d["grid"]]
    if "name" in d:
        base = Infrastructure.Datacenters[d["name"]]
        if not over:
            return base
        label = base.name + (f" on the {over['grid'].name} grid" if "grid" in over else " (modified)")
        return _wrap(where, ("datacenter",), dataclasses.replace, base, name=label, **over)
    missing = [k for k in ("grid", "pue", "electricity_usd_per_kwh") if k not in d]
    if missing:
        raise ScenarioError(f"{where(('datacenter',))}datacenter needs `name:` (an Infrastructure.Datacenters "
                            f"entry) or grid, pue and electricity_usd_per_kwh; missing {', '.join(missing)}")
    return _wrap(where, ("datacenter",), Datacenter, name=f"custom site on the {over['grid'].name} grid", **over)


# ------------------------------------------------------------------------------------------------ evaluating
@dataclass
class Check:
    """One constraint: its name (the scenario key), the limit, the predicted value, and whether it holds."""

    name: str
    limit: float
    value: float | None
    ok: bool
    message: str


@dataclass
class Outcome:
    """The composed answer for a scenario: performance, energy/carbon (None without a datacenter), cost (None
    without a datacenter or solver), constraint checks, and notes on what was skipped."""

    scenario: Scenario
    performance: Any
    sustainability: Any = None
    economics: Any = None
    checks: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return bool(self.performance.feasible)

    @property
    def violated(self) -> list:
        return [c for c in self.checks if not c.ok]

    @property
    def status(self) -> str:
        """'infeasible' (does not fit in memory), 'constraint_violated', or 'ok'."""
        if not self.feasible:
            return "infeasible"
        return "constraint_violated" if self.violated else "ok"

    def _parts(self):
        return [r for r in (self.performance, self.sustainability, self.economics) if r is not None]

    def __str__(self):
        lines = [f"{self.scenario.name}: {self.status}"]
        lines += [str(r) for r in self._parts()]
        lines += [("  ok       " if c.ok else "  VIOLATED ") + c.message for c in self.checks]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_html_(self):
        import html
        head = f"<h4>{html.escape(self.scenario.name)}: {html.escape(self.status)}</h4>"
        body = "".join(r._repr_html_() for r in self._parts())
        checks = "".join(f"<li>{'&#10003;' if c.ok else '&#10007;'} {html.escape(c.message)}</li>"
                         for c in self.checks)
        return head + body + (f"<ul>{checks}</ul>" if checks else "")


def _solver(name: str):
    import mlsysim.solvers as S
    try:
        return getattr(S, name)
    except (ImportError, AttributeError):
        return None


def evaluate(sc: Scenario, *, sustainability: bool = True, economics: bool = True) -> Outcome:
    """The composed answer; an infeasible layout marks the outcome (status), so the parts' warnings are muted."""
    import warnings

    from .errors import InfeasibleResultWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InfeasibleResultWarning)
        return _evaluate(sc, sustainability, economics)


def _evaluate(sc: Scenario, sustainability: bool, economics: bool) -> Outcome:
    fleet = sc.require_fleet()
    DM = _solver("DistributedModel")
    try:
        perf = DM().solve(model=sc.model, fleet=fleet, **sc.solve_kwargs())
    except ScenarioError:
        raise
    except ConfigError as exc:
        raise ScenarioError(sc.locate(str(exc))) from None
    out = Outcome(scenario=sc, performance=perf)
    needs_dc = [k for k in ("budget_usd", "max_carbon_t") if k in sc.constraints]
    if sc.datacenter is None:
        if needs_dc:
            raise ScenarioError(f"{sc.where('constraints', needs_dc[0])}constraints.{needs_dc[0]} needs a "
                                f"`datacenter:` (for energy, carbon and electricity price)")
        if sc.economics:
            raise ScenarioError(f"{sc.where('economics')}economics needs a `datacenter:` (electricity price)")
        out.notes.append("no datacenter given: energy, carbon and cost not computed")
    else:
        if sustainability or economics or needs_dc:
            SM = _solver("SustainabilityModel")
            if SM is None:
                out.notes.append("SustainabilityModel not available in this build: energy and carbon skipped")
            else:
                try:
                    out.sustainability = SM().solve(performance=perf, datacenter=sc.datacenter)
                except ConfigError as exc:
                    raise ScenarioError(f"{sc.where('datacenter')}{exc}") from None
        if (economics or "budget_usd" in sc.constraints or sc.economics) and out.sustainability is not None:
            EM = _solver("EconomicsModel")
            if EM is None:
                out.notes.append("EconomicsModel not available in this build: cost skipped")
            else:
                try:
                    out.economics = EM().solve(sustainability=out.sustainability, **sc.economics)
                except ConfigError as exc:
                    if sc.economics or "budget_usd" in sc.constraints:
                        raise ScenarioError(f"{sc.where('economics')}{exc}") from None
                    out.notes.append(f"cost not computed: {exc}")
    out.checks = check_constraints(sc, perf, out.sustainability, out.economics)
    return out


def check_constraints(sc: Scenario, perf, sust=None, econ=None) -> list[Check]:
    c, checks = sc.constraints, []

    def add(name, value, unit, what):
        limit = c[name]
        ok = value is not None and value <= limit
        msg = (f"{what} {value:,.4g} {unit} {'<=' if ok else 'exceeds'} the limit {limit:,.4g} {unit} "
               f"({name})") if value is not None else f"{name}: not computed"
        checks.append(Check(name, float(limit), None if value is None else float(value), ok, msg))

    if "deadline_days" in c:
        add("deadline_days", perf.time_to_train_s / 86400.0, "days", "time to train")
    if "max_memory_gb" in c:
        add("max_memory_gb", sum(perf.memory_bytes.values()) / 1e9, "GB", "memory per device")
    if "max_gpus" in c:
        add("max_gpus", float(perf.fleet.total_accelerators), "accelerators", "fleet size")
    if "budget_usd" in c:
        add("budget_usd", econ.total_usd if econ is not None else None, "USD", "cost")
    if "max_carbon_t" in c:
        add("max_carbon_t", sust.carbon_footprint if sust is not None else None, "t CO2e", "carbon")
    return checks
