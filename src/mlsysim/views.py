"""How a registry record reads: a one-line summary, every field with its unit and source, and a short HTML card.

One place for the CLI's `zoo`, the notebook reprs and (later) the web app. Key names spell their unit the same
way everywhere: `_gb`, `_tflops`, `_w`, `_usd`, and rates as `_gb_per_s` / `_tb_per_s` (bytes) or
`_gbit_per_s` (bits: network links are sold in Gb/s).
"""
from __future__ import annotations

import dataclasses
import re

# field -> (display key, unit, scale from the record's SI float); fields not listed are shown as stored
_FIELDS = {
    "memory_bytes": ("memory_gb", "GB", 1e-9), "memory_bw": ("memory_bw_tb_per_s", "TB/s", 1e-12),
    "scaleup_bw": ("scaleup_gb_per_s", "GB/s", 1e-9), "nic_bw": ("nic_gbit_per_s", "Gb/s", 8e-9),
    "port_bw": ("port_gbit_per_s", "Gb/s", 8e-9), "latency_s": ("latency_us", "µs", 1e6),
    "scaleup_latency_s": ("scaleup_latency_us", "µs", 1e6), "tdp_w": ("tdp_w", "W", 1.0),
    "idle_w": ("idle_w", "W", 1.0), "measured_system_w": ("measured_system_w", "W", 1.0),
    "max_power_w": ("max_power_kw", "kW", 1e-3), "host_power_w": ("host_power_w", "W", 1.0),
    "price_usd": ("price_usd", "USD", 1.0), "price_usd_per_port": ("price_usd_per_port", "USD", 1.0),
    "switch_w_per_port": ("switch_w_per_port", "W", 1.0),
    "embodied_kgco2e": ("embodied_kgco2e", "kgCO2e", 1.0), "gco2_per_kwh": ("gco2_per_kwh", "gCO2e/kWh", 1.0),
    "water_l_per_kwh": ("water_l_per_kwh", "L/kWh", 1.0), "wue_l_per_kwh": ("wue_l_per_kwh", "L/kWh", 1.0),
    "electricity_usd_per_kwh": ("electricity_usd_per_kwh", "USD/kWh", 1.0),
    "matmul_efficiency": ("matmul_efficiency", "of peak", 1.0),
    "attention_efficiency": ("attention_efficiency", "of peak", 1.0),
}
# how a field reads (the key stays the machine name)
_LABEL = {"memory_bytes": "memory", "memory_bw": "memory bandwidth", "tdp_w": "TDP", "scaleup_bw": "scale-up bandwidth",
          "matmul_efficiency": "matmul ceiling (MAMF)", "attention_efficiency": "attention efficiency",
          "idle_w": "idle power", "measured_system_w": "measured system power", "price_usd": "price",
          "embodied_kgco2e": "embodied carbon", "nic_bw": "NIC bandwidth", "port_bw": "port bandwidth",
          "latency_s": "latency", "scaleup_latency_s": "scale-up latency", "max_power_w": "max power",
          "host_power_w": "host power", "gco2_per_kwh": "grid intensity", "pue": "PUE",
          "wue_l_per_kwh": "WUE (on-site water)", "water_l_per_kwh": "grid water", "cfe_fraction":
          "carbon-free energy share", "electricity_usd_per_kwh": "electricity price"}
# a field's own source, where the record keeps one
_SOURCE_FIELD = {"matmul_efficiency": "matmul_efficiency_source", "attention_efficiency": "attention_efficiency_source",
                 "price_usd": "price_source", "embodied_kgco2e": "embodied_source",
                 "max_context": "max_context_source"}
_SKIP = {"name", "key", "source", "notes", "year"} | set(_SOURCE_FIELD.values())


def _ref(obj):
    """A nested record by its registry key (or name)."""
    return getattr(obj, "key", "") or getattr(obj, "name", str(obj))


def _note_for(field: str, notes: str) -> str:
    """The sentence of `notes` that starts with 'field:' (records note assumptions that way), if any; the
    sentence ends at the first '. ' outside parentheses."""
    m = re.search(rf"(?:^|[.;]\s+){re.escape(field)}:\s*", notes or "")
    if not m:
        return ""
    depth, text = 0, notes[m.end():]
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        if ch in ".;" and depth <= 0 and (i + 1 == len(text) or text[i + 1] == " "):
            return text[:i].strip()
    return text.strip()


def full(obj) -> list[dict]:
    """Every field of a record: {field, key, value, unit, source}; value None = unknown (not in the registry)."""
    src, notes = getattr(obj, "source", "") or "", getattr(obj, "notes", "") or ""
    rows = []
    for f in dataclasses.fields(obj):
        name = f.name
        if name in _SKIP:
            continue
        v = getattr(obj, name)
        own = getattr(obj, _SOURCE_FIELD[name], "") if name in _SOURCE_FIELD else ""
        source = own or _note_for(name, notes) or (src if v is not None else "")
        if isinstance(v, dict) and name == "peak_flops":
            for p, x in v.items():
                rows.append(dict(field=f"peak {p}", key=f"{p}_tflops", value=x / 1e12, unit="TFLOP/s (dense)",
                                 source=source))
            continue
        key, unit, scale = _FIELDS.get(name, (name, "", 1.0))
        if dataclasses.is_dataclass(v):
            v = _ref(v)
        elif isinstance(v, float) and scale != 1.0:
            v = v * scale
        rows.append(dict(field=_LABEL.get(name, name.replace("_", " ")), key=key, value=v, unit=unit,
                         source=source))
        if name == "matmul_efficiency" and v is not None and "bf16" in getattr(obj, "peak_flops", {}):
            rows.append(dict(field="matmul ceiling, bf16", key="mamf_bf16_tflops",
                             value=v * obj.peak_flops["bf16"] / 1e12, unit="TFLOP/s", source=source))
    if getattr(obj, "year", None) is not None:
        rows.append(dict(field="year", key="year", value=obj.year, unit="", source=src))
    return rows


def summary(obj) -> dict:
    """The key specs of a record as a flat dict, units in the key names (what `zoo` lists and filters on)."""
    kind = type(obj).__name__
    row = {"kind": kind, "name": getattr(obj, "name", "")}
    if kind == "TransformerWorkload":
        row.update(params=obj.params, active_params=obj.active_params, n_layers=obj.n_layers, hidden=obj.hidden,
                   n_heads=obj.n_heads, n_kv_heads=obj.n_kv_heads, n_experts=obj.n_experts, seq_len=obj.seq_len,
                   tokens=obj.tokens or None)
    elif kind == "InferenceWorkload":
        row.update(gflop=obj.flops / 1e9, params=obj.params, task=obj.task)
    elif kind == "Accelerator":
        row.update(vendor=obj.vendor, bf16_tflops=obj.peak_flops.get("bf16", 0) / 1e12 or None,
                   fp8_tflops=obj.peak_flops.get("fp8", 0) / 1e12 or None, memory_gb=obj.memory_bytes / 1e9,
                   memory_bw_tb_per_s=obj.memory_bw / 1e12, tdp_w=obj.tdp_w, price_usd=obj.price_usd)
    elif kind == "Node":
        row.update(accelerator=_ref(obj.accelerator), accelerators_per_node=obj.accelerators_per_node,
                   scaleup_gb_per_s=obj.scaleup_bw / 1e9, nic_gbit_per_s=obj.nic_bw * 8 / 1e9,
                   max_power_kw=obj.max_power_w / 1e3 if obj.max_power_w else None, price_usd=obj.price_usd)
    elif kind == "Fabric":
        row.update(port_gbit_per_s=obj.port_bw * 8 / 1e9, latency_us=obj.latency_s * 1e6,
                   efficiency=obj.efficiency, oversubscription=obj.oversubscription)
    elif kind == "Fleet":
        row.update(node=_ref(obj.node), nodes=obj.count, accelerators=obj.total_accelerators,
                   accelerator=_ref(obj.accelerator), fabric=_ref(obj.fabric))
    elif kind == "Grid":
        row.update(gco2_per_kwh=obj.gco2_per_kwh, country=obj.country, basis=obj.basis)
    elif kind == "Datacenter":
        row.update(grid=_ref(obj.grid), gco2_per_kwh=obj.grid.gco2_per_kwh, pue=obj.pue,
                   electricity_usd_per_kwh=obj.electricity_usd_per_kwh, wue_l_per_kwh=obj.wue_l_per_kwh,
                   cfe_fraction=obj.cfe_fraction)
    row.update(year=getattr(obj, "year", None), source=getattr(obj, "source", ""), notes=getattr(obj, "notes", ""))
    return row


def _small(v, fmt) -> str:
    """`fmt` for ordinary values; 3 significant digits below 1 (a microcontroller's 0.00131 GB and 0.015 W)."""
    return f"{v:.3g}" if 0 < v < 1 else format(v, fmt)


# what the one-line summary shows per kind, from the summary dict
_LINE = {
    "TransformerWorkload": lambda s: [f"{s['params'] / 1e9:,.1f}B params", f"{s['n_layers']} layers",
                                      f"hidden {s['hidden']:,}", f"seq {s['seq_len']:,}"],
    "InferenceWorkload": lambda s: [f"{s['gflop']:.3g} GFLOP per inference", f"{s['params'] / 1e6:.3g}M params"],
    "Accelerator": lambda s: [f"{s['bf16_tflops']:,.4g} bf16 TFLOP/s" if s["bf16_tflops"] else "",
                              f"{_small(s['memory_gb'], '.1f')} GB", f"{s['memory_bw_tb_per_s']:.3g} TB/s",
                              f"{_small(s['tdp_w'], '.0f')} W"],
    "Node": lambda s: [f"{s['accelerators_per_node']} x {s['accelerator']}",
                       f"NICs {s['nic_gbit_per_s']:,.0f} Gb/s",
                       f"{s['max_power_kw']:.3g} kW max" if s["max_power_kw"] else ""],
    "Fabric": lambda s: [f"{s['port_gbit_per_s']:,.0f} Gb/s per port", f"{s['latency_us']:.3g} µs"],
    "Fleet": lambda s: [f"{s['accelerators']:,} accelerators"],
    "Grid": lambda s: [f"{s['gco2_per_kwh']:g} gCO2e/kWh", s["basis"] or "", s["country"] or ""],
    "Datacenter": lambda s: [f"grid {s['grid']} ({s['gco2_per_kwh']:g} gCO2e/kWh)", f"PUE {s['pue']:g}",
                             f"${s['electricity_usd_per_kwh']:.3g}/kWh" if s["electricity_usd_per_kwh"] else ""],
}


def line(obj) -> str:
    """'Accelerator H100: NVIDIA H100 SXM5 80GB · 989.5 bf16 TFLOP/s · 85.9 GB · 3.35 TB/s · 700 W (2022)'."""
    s = summary(obj)
    parts = [p for p in _LINE.get(s["kind"], lambda s: [])(s) if p]
    key, name = getattr(obj, "key", ""), s["name"]
    head = f"{s['kind']} {key}: {name}" if key and not name.startswith(key) else f"{s['kind']} {name}"
    year = f" ({s['year']})" if s.get("year") else ""
    return head + (" · " + " · ".join(parts) if parts else "") + year


def _value_text(r) -> str:
    from .solvers._common import format_number
    v = r["value"]
    if v is None:
        return "unknown"
    if isinstance(v, float) and r["key"] in ("matmul_efficiency", "attention_efficiency"):
        return f"{v:.1%} {r['unit']}"
    if r["key"] == "year" or (isinstance(v, int) and r["key"].endswith(("year", "_year"))):
        return str(v)
    txt = format_number(v) if isinstance(v, (bool, int, float)) else str(v)
    return f"{txt} {r['unit']}".strip()


def html(obj) -> str:
    """A short HTML card: the summary line, then a collapsed table of every field with its source."""
    from html import escape as e  # only notebooks show cards: html.entities stays out of start-up
    rows = "".join(f"<tr><td>{e(r['field'])}</td><td style='text-align:right'>{e(_value_text(r))}</td>"
                   f"<td style='font-size:smaller'>{e(r['source'])}</td></tr>" for r in full(obj))
    src = e(getattr(obj, "source", "") or "")
    return (f"<div><b>{e(line(obj))}</b><details><summary>every field, with its source</summary>"
            f"<table><tr><th>field</th><th>value</th><th>source</th></tr>{rows}</table>"
            f"<p style='font-size:smaller'>source: {src}</p></details></div>")


class RecordView:
    """Mixin for the registry records: a one-line repr and a short notebook card instead of a field dump."""

    def __repr__(self):
        return f"<{line(self)}>"

    def _repr_html_(self):
        return html(self)
