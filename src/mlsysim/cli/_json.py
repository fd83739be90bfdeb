"""Results as JSON-ready dicts: numbers stay numbers, units live in the key names (`step_time_s`, `memory_gb`).

These keys are the CLI's stable interface (documented in docs of `mlsysim <command> --help` and the README);
`SCHEMA_VERSION` changes if a key is renamed or removed (new keys may be added).
"""
from __future__ import annotations

import json
import math

SCHEMA_VERSION = 1
DAY = 86400.0


def clean(obj):
    """Recursively turn tuples into lists, numpy scalars into Python numbers, NaN/inf into None, quantities into
    their magnitude (never reached by the serialisers below, a guard)."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if hasattr(obj, "item") and not hasattr(obj, "magnitude"):  # numpy scalar
        return clean(obj.item())
    if hasattr(obj, "magnitude"):
        return clean(obj.magnitude)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    return str(obj)


def dumps(obj) -> str:
    return json.dumps(clean(obj), indent=2, allow_nan=False)


def envelope(command: str, status: str, exit_code: int, **body) -> dict:
    from .. import __version__
    return {"mlsysim_version": __version__, "schema_version": SCHEMA_VERSION, "command": command,
            "status": status, "exit_code": exit_code, **body}


def error_dict(command: str, kind: str, message: str, exit_code: int) -> dict:
    return envelope(command, "error", exit_code, error={"kind": kind, "message": message})


# ---------------------------------------------------------------------------------------------- descriptions
def workload(m) -> dict:
    """The model record. Its token budget is `record_tokens` (the record's training figure): `train`'s
    performance.tokens is the run's own, which a scenario's tokens: or --tokens may set apart from it."""
    return {"key": m.key or None, "name": m.name, "params": m.params, "active_params": m.active_params,
            "n_layers": m.n_layers, "hidden": m.hidden, "n_heads": m.n_heads, "n_kv_heads": m.n_kv_heads,
            "ffn_hidden": m.ffn_hidden, "vocab": m.vocab, "n_experts": m.n_experts, "seq_len": m.seq_len,
            "record_tokens": m.tokens or None, "year": m.year, "source": m.source}


def accelerator(a) -> dict:
    return {"key": a.key or None, "name": a.name, "vendor": a.vendor,
            "peak_tflops": {p: v / 1e12 for p, v in a.peak_flops.items()}, "memory_gb": a.memory_bytes / 1e9,
            "memory_bw_tb_per_s": a.memory_bw / 1e12, "tdp_w": a.tdp_w, "price_usd": a.price_usd, "year": a.year,
            "source": a.source}


def fleet(f) -> dict:
    n = f.node
    return {"key": f.key or None, "name": f.name, "nodes": f.count, "accelerators_per_node": n.accelerators_per_node,
            "accelerators": f.total_accelerators, "node": n.name, "node_key": n.key or None,
            "fabric": f.fabric.name, "fabric_key": f.fabric.key or None,
            "scaleup_gb_per_s_per_accelerator": n.scaleup_bw / 1e9,
            "scaleout_gb_per_s_per_accelerator": f.internode_bw_per_accelerator / 1e9,
            "oversubscription": f.fabric.oversubscription, "accelerator": accelerator(n.accelerator)}


def datacenter(d) -> dict:
    g = d.grid
    return {"key": d.key or None, "name": d.name, "grid": g.name, "grid_key": g.key or None,
            "grid_gco2_per_kwh": g.gco2_per_kwh, "grid_basis": g.basis, "grid_year": g.year, "pue": d.pue,
            "wue_l_per_kwh": d.wue_l_per_kwh, "electricity_usd_per_kwh": d.electricity_usd_per_kwh,
            "cfe_fraction": d.cfe_fraction, "contractual_fraction": d.contractual_fraction,
            "grid_residual_gco2_per_kwh": g.residual_gco2_per_kwh}


# ---------------------------------------------------------------------------------------------------- results
def performance(p) -> dict:
    mem = sum(p.memory_bytes.values())
    return {
        "time_to_train_s": p.time_to_train_s, "time_to_train_days": p.time_to_train_s / DAY,
        "step_time_s": p.step_s, "steps": p.steps, "tokens": p.tokens, "tokens_per_s": p.tokens_per_s,
        "mfu": p.mfu, "hfu": p.hfu, "tflops_per_device": p.flops_per_device / 1e12,
        "scaling_efficiency": p.scaling_efficiency, "gpu_hours": p.gpu_hours,
        "breakdown_s": dict(p.breakdown_s),
        "memory_gb": {k: v / 1e9 for k, v in p.memory_bytes.items()}, "memory_total_gb": mem / 1e9,
        "memory_capacity_gb": p.memory_capacity_bytes / 1e9, "feasible": bool(p.feasible),
    }


def sustainability(s) -> dict | None:
    if s is None:
        return None
    J_MWH = 3.6e9
    return {
        "duration_days": s.duration_s / DAY, "mfu_for_power": s.mfu, "accelerator_power_w": s.accelerator_w,
        "power_kw": {k: v / 1e3 for k, v in s.power_w.items()}, "it_power_kw": sum(s.power_w.values()) / 1e3,
        "pue": s.pue, "it_energy_mwh": s.it_energy_j / J_MWH, "facility_energy_mwh": s.facility_energy_j / J_MWH,
        "grid_gco2_per_kwh": s.datacenter.grid.gco2_per_kwh,
        "carbon_location_t": s.location_kg / 1e3, "carbon_market_t": s.market_kg / 1e3,
        "carbon_cfe_adjusted_t": None if s.cfe_adjusted_kg is None else s.cfe_adjusted_kg / 1e3,
        # an unknown embodied figure (no record for the accelerator) is null, not 0: the total leaves it out
        "carbon_embodied_t": (sum(s.embodied_kg.values()) / 1e3
                              if s.fleet.node.accelerator.embodied_kgco2e is not None else None),
        "carbon_total_t": (s.location_kg + sum(s.embodied_kg.values())) / 1e3,
        "water_onsite_m3": s.water_onsite_l / 1e3, "water_offsite_m3": s.water_offsite_l / 1e3,
        "feasible": bool(s.feasible),  # the mark travels with the block (False: built from an infeasible plan)
    }


def economics(e) -> dict | None:
    if e is None:
        return None
    return {
        "total_usd": e.total_usd, "capex_amortized_usd": e.amortized_capex_usd, "energy_usd": e.energy_usd,
        "maintenance_usd": e.maintenance_usd, "capex_usd": sum(e.capex_parts_usd.values()),
        "capex_parts_usd": dict(e.capex_parts_usd), "accelerator_price_usd": e.accelerator_price_usd,
        "accelerator_share_of_capex": e.accelerator_share_of_capex,
        "depreciation_years": e.depreciation_life_s / (365.25 * DAY),
        "cost_per_gpu_hour_usd": e.cost_per_gpu_hour_usd,
        "cost_per_million_tokens_usd": e.cost_per_million_tokens_usd,
        "lifetime_tco_usd": e.lifetime_usd, "cloud_usd_per_gpu_hour": e.cloud_usd_per_gpu_hour,
        "cloud_cost_usd": e.cloud_cost_usd,
        "break_even_utilization": e.break_even,
        "feasible": bool(e.feasible),
    }


def outcome(o, exit_code: int) -> dict:
    """The `train` command's JSON."""
    sc, p = o.scenario, o.performance
    assumptions = {"performance": dict(p.assumptions)}
    if o.sustainability is not None:
        assumptions["sustainability"] = dict(o.sustainability.assumptions)
    if o.economics is not None:
        assumptions["economics"] = dict(o.economics.assumptions)
    return envelope(
        "train", o.status, exit_code,
        scenario={"name": sc.name, "description": sc.description, "file": sc.path},
        workload=workload(p.model), system=fleet(p.fleet), layout=dict(p.layout),
        datacenter=datacenter(sc.datacenter) if sc.datacenter is not None else None,
        performance=performance(p), sustainability=sustainability(o.sustainability),
        economics=economics(o.economics),
        constraints=constraints(o.checks),
        assumptions=assumptions, notes=list(o.notes))


def constraints(checks) -> list:
    """A scenario's constraint checks: name, limit, value, ok and the message."""
    return [{"name": c.name, "limit": c.limit, "value": c.value, "ok": c.ok, "message": c.message} for c in checks]


def single(r, exit_code: int, status: str, checks=(), workload=None) -> dict:
    """The `eval` command's JSON (`workload`: the description of a non-transformer network)."""
    return envelope(
        "eval", status, exit_code, workload=workload or globals()["workload"](r.model),
        accelerator=accelerator(r.accelerator),
        mode=r.mode, batch_size=r.batch_size, seq_len=r.seq_len, precision=r.assumptions.get("precision"),
        flops=r.flops, bytes_moved=r.bytes_moved, arithmetic_intensity_flop_per_byte=r.arithmetic_intensity,
        ridge_point_flop_per_byte=r.ridge_point, bound=r.bound, latency_s=r.latency_s,
        efficiency=r.efficiency, memory_gb={k: v / 1e9 for k, v in r.memory_bytes.items()},
        memory_total_gb=sum(r.memory_bytes.values()) / 1e9,
        memory_capacity_gb=r.accelerator.memory_bytes / 1e9, feasible=bool(r.feasible),
        constraints=constraints(checks),
        assumptions=dict(r.assumptions))


# ------------------------------------------------------------------------------------------------------ zoo
def zoo_entry(registry: str, category: str, key: str, obj, detail: bool = False) -> dict:
    """One registry entry as a flat row: identity, the key specs of its kind (units in the names), source; with
    `detail`, also every field with its unit and source (`fields`)."""
    from ..views import full, summary
    row = {"registry": registry, "category": category, "key": key, **summary(obj)}
    if detail:
        row["fields"] = full(obj)
    return row
