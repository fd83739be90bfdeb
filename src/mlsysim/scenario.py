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
import re
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, unknown
# the schema and the parser live beside this file; their public names stay importable from here
from .scenario_schema import F, SECTIONS, TOP, WORKLOAD, _WORKLOAD_REQUIRED, ScenarioError, json_schema  # noqa: F401
from .scenario_yaml import _check, _section, _Where, parse_yaml  # noqa: F401


# ------------------------------------------------------------------------------------------------ Scenario
# scenario `constraints:` key -> the explorer's constraint name (optimize(); Scenario.scenario_names reverses it)
EXPLORE_NAMES = {"deadline_days": "deadline_days", "budget_usd": "budget_usd", "max_carbon_t": "carbon_t",
                 "max_memory_gb": "max_memory_gb", "max_gpus": "max_accelerators"}


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
                  precision=(L.get("precision", "bf16"),), cp=(L.get("cp_size", 1),), ep=s.get("ep_sizes", (L.get("ep_size", 1),)),
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
        for k in ("flash_attention", "sequence_parallel", "dp_overlap", "tp_overlap", "ep_overlap", "straggler_cv",
                  "stack"):
            if k in L:
                kw[k] = L[k]
        if self.tokens is not None:
            kw["tokens"] = self.tokens
        return kw

    def explore_constraints(self) -> dict:
        """The `constraints` section in the explorer's names."""
        return {EXPLORE_NAMES[k]: v for k, v in self.constraints.items()}

    def scenario_names(self, msg: str) -> str:
        """An explorer message (optimize's "no configuration satisfies...") with its constraint names written as
        the scenario's keys (`carbon_t=` -> `constraints.max_carbon_t=`), so the user sees what they wrote."""
        import re
        back = {v: k for k, v in EXPLORE_NAMES.items()}
        batch = "the batch held near the workload's published one (fix it with layout.global_batch_size)"

        def sub(m):
            name = m.group(2)
            if name in back:
                return f"{m.group(1)}constraints.{back[name]}="
            return f"{m.group(1)}{batch}: {name}=" if name in ("min_batch_tokens", "max_batch_tokens") else m.group(0)
        msg = re.sub(r"(?m)^(\s+)([a-z_]+)=", sub, msg)
        return re.sub(r" \(batch_tolerance [^)]*\)", "", msg)  # a Python option the scenario cannot set

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


# evaluation lives beside this file; its names stay importable from here
from .scenario_eval import Check, Outcome, check_constraints, evaluate  # noqa: E402,F401
