"""`Hardware`: the accelerator registry, built from data/hardware.toml (values in datasheet units + sources)."""
from __future__ import annotations

from ..registry import Registry
from .accelerator import Accelerator

_KEYS = {"name", "vendor", "year", "tflops", "memory_gb", "memory_gib", "memory_source", "memory_bw_tbps", "tdp_w", "idle_w", "scaleup_gbps",
         "mamf_bf16_tflops", "mamf_source", "attention_efficiency", "attention_source", "measured_system_w", "price_usd", "price_source", "embodied_kgco2e",
         "embodied_source", "source", "notes"}


def _build(category: str, key: str, raw: dict) -> Accelerator:
    from ..errors import ConfigError

    extra = set(raw) - _KEYS
    if extra:
        raise ConfigError(f"hardware.toml [{category}.{key}]: unknown field(s) {sorted(extra)}")
    peak = {p: float(v) * 1e12 for p, v in raw["tflops"].items()}
    mamf = raw.get("mamf_bf16_tflops")
    eff = None
    if mamf is not None:
        ref = peak.get("bf16") or peak.get("fp16")
        eff = float(mamf) * 1e12 / ref
    return Accelerator(
        name=raw["name"], vendor=raw.get("vendor", ""), year=raw.get("year"), peak_flops=peak,
        memory_bytes=(raw["memory_gib"] * 2.0**30 if "memory_gib" in raw else raw["memory_gb"] * 1e9), memory_bw=raw["memory_bw_tbps"] * 1e12, tdp_w=raw["tdp_w"],
        idle_w=raw.get("idle_w"), scaleup_bw=(raw["scaleup_gbps"] * 1e9 if raw.get("scaleup_gbps") else None),
        matmul_efficiency=eff, matmul_efficiency_source=raw.get("mamf_source", ""),
        measured_system_w=raw.get("measured_system_w"),
        attention_efficiency=raw.get("attention_efficiency"), attention_efficiency_source=raw.get("attention_source", ""),
        price_usd=raw.get("price_usd"), price_source=raw.get("price_source", ""),
        embodied_kgco2e=raw.get("embodied_kgco2e"), embodied_source=raw.get("embodied_source", ""),
        source=raw.get("source", ""), notes=raw.get("notes", ""), key=key)


# Short names the tutorial uses: its "A100" is the DGX A100 part in the 80 GB configuration (the one with a
# measured matmul ceiling and a price; A100_40GB stays available by its full key).
ALIASES = {"A100": "A100_80GB"}

Hardware = Registry("Hardware", "hardware.toml", _build, ALIASES)
