"""Plans as scenario files: a Scenario written back as YAML, and an optimizer row (the best plan) turned into a
scenario that `mlsysim train` reloads."""
from __future__ import annotations

import copy

ORDER = ("name", "description", "workload", "system", "layout", "datacenter", "tokens", "economics",
         "constraints", "search")

# explorer row key -> scenario layout key
ROW_LAYOUT = {"tp": "tp_size", "pp": "pp_size", "dp": "dp_size", "cp": "cp_size", "ep": "ep_size",
              "microbatch": "microbatch_size", "interleave": "interleave", "zero": "zero_stage",
              "recompute": "recompute", "precision": "precision", "global_batch_size": "global_batch_size"}


def scenario_dict(sc) -> dict:
    """The scenario's checked mapping, sections in the usual order (a copy)."""
    raw = copy.deepcopy(sc.raw)
    out = {k: raw.pop(k) for k in ORDER if k in raw}
    out.update(raw)
    return out


def to_yaml(sc, header: str | None = None) -> str:
    """YAML text that `load_scenario` reads back into the same scenario; `header` becomes a comment."""
    text = _dump(scenario_dict(sc))
    if header:
        text = "".join(f"# {line}\n" for line in header.splitlines()) + text
    return text


def _dump(d: dict) -> str:
    """Block-style sections, flow-style lists, large floats as 2.0e+12 (which YAML reads back as a float)."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def flt(dumper, v):
        if v != 0 and (abs(v) >= 1e7 or abs(v) < 1e-4):
            m, e = f"{v:.12e}".split("e")
            m = m.rstrip("0")
            text = f"{m}0e{int(e):+d}" if m.endswith(".") else f"{m}e{int(e):+d}"
        else:
            text = repr(float(v))
        return dumper.represent_scalar("tag:yaml.org,2002:float", text)
    Dumper.add_representer(float, flt)
    Dumper.add_representer(dict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=False))
    Dumper.add_representer(list, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
    return yaml.dump(d, Dumper=Dumper, sort_keys=False, allow_unicode=True, width=110)


def _datacenter_key(name: str):
    from .infrastructure.registry import Infrastructure
    dcs = Infrastructure.Datacenters
    return next((k for k in dcs.names() if dcs[k].name == name), None)


def plan_dict(sc, row: dict, name: str | None = None) -> dict:
    """The scenario with the layout, node count and datacenter of an explorer row (e.g. `optimize`'s best)."""
    d = scenario_dict(sc)
    d["name"] = name or f"{sc.name} (plan: {row['nodes']:,} nodes, TP{row['tp']} PP{row['pp']} DP{row['dp']})"
    system = dict(d.get("system") or {})
    if row.get("nodes") is not None and ("cluster" in system or "node" in system):
        system["nodes"] = int(row["nodes"])
    d["system"] = system
    layout = dict(d.get("layout") or {})
    for rk, lk in ROW_LAYOUT.items():
        if row.get(rk) is not None:
            v = row[rk]
            layout[lk] = v if isinstance(v, str) else int(v)
    d["layout"] = layout
    dc = row.get("datacenter")
    if dc and (sc.datacenter is None or dc != sc.datacenter.name):
        key = _datacenter_key(dc)
        if key is None:
            from .errors import ConfigError
            raise ConfigError(f"the plan's datacenter {dc!r} is not a registry entry; cannot write it as a name")
        d["datacenter"] = {"name": key}
    return {k: d[k] for k in ORDER if k in d} | {k: v for k, v in d.items() if k not in ORDER}


def plan_yaml(sc, row: dict, header: str | None = None, objective: str | None = None) -> str:
    """`plan_dict` as YAML text (what `mlsysim optimize --emit best.yaml` writes). `objective`: the one the plan
    was found for, kept in its `search` section (an --objective carbon plan said `objective: cost`)."""
    from .scenario import from_dict
    d = plan_dict(sc, row)
    if objective is not None and d.get("search"):
        d["search"] = {**d["search"], "objective": objective}
    return to_yaml(from_dict(d, path=sc.path), header)
