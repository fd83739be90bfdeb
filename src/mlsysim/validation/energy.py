"""Energy and carbon of published training runs: predicted (SustainabilityModel) vs published, with % error.

These rows validate the POWER model. Each run is fed its published chip count, duration, PUE and grid intensity;
the model supplies the power. Numbers are copied here from shared/validation/training_runs.csv and
systems_and_facilities.csv (nothing is read from disk), each with its source.

Two kinds of row (column `basis`):
- "measured system" -- Patterson et al. 2021 (arXiv:2104.10350) Tables 1 and 4: energy from MEASURED average system
  power per chip (chip, memory, NIC, fans, host CPU share), x PUE. We predict with the chip family's Table 3
  AVERAGE system power (TPUv2 221 W, TPUv3 283 W, P100 271 W), not the run's own figure (310, 289, 288, 208,
  296 W), so the error measures how well one per-chip figure transfers across runs. Target <= 10 %.
- "GPU, stated W" -- model cards (Llama 2) and BLOOM (Luccioni et al. 2022): energy = GPU-hours x a stated power
  (TDP 400 W; 350 W for the power-capped 34B), no host, no PUE. Under those stated assumptions (GPU only, PUE 1)
  the model's GPU draw follows utilisation instead of TDP, so the error is "our utilisation-based draw vs their
  TDP". These published figures are not measurements (circular: hours x TDP). Column `full_mwh` adds what the
  cards leave out (host power from DGX A100 max power, the operator's PUE): the facility energy we predict.
- "GPU, measured (fit)" -- OLMo 3 measured average GPU power; these two points FIT the power curve's tau
  (physics.power.POWER_TAU_MFU), so their errors are not independent evidence.
"""
from __future__ import annotations

from dataclasses import dataclass

PATTERSON = ("Patterson et al. 2021, 'Carbon Emissions and Large Neural Network Training' arXiv:2104.10350, "
             "Table 4 (Table 1 for the P100 row; Table 3 for the per-chip average system power)")
LLAMA2 = ("Meta, Llama 2 model card, 'CO2 emissions during pretraining' (github.com/meta-llama/llama-models "
          "models/llama2/MODEL_CARD.md); Touvron et al. 2023 arXiv:2307.09288 Table 2")
BLOOM = ("Luccioni, Viguier, Ligozat 2022, 'Estimating the Carbon Footprint of BLOOM' arXiv:2211.02001 "
         "Tables 1/2; BigScience 2022 arXiv:2211.05100 Sec 3.4")
OLMO3 = ("Ai2 OLMo 3 team statement relayed by muxup.com 'Olmo 3 training cost' (2025-12-01); Morrison et al. "
         "2025 arXiv:2503.05804")

# Chips: (name, TDP W, idle W, measured average system W per chip (Patterson Table 3) or None, peak bf16 TFLOP/s,
# memory GB, memory TB/s). Peak/memory only make the record valid; energy uses TDP/idle/measured power.
_CHIPS = {
    "TPUv2": ("Google TPU v2", 280, None, 221, 46, 16, 0.6),
    "TPUv3": ("Google TPU v3", 450, None, 283, 123, 32, 0.9),
    "P100": ("NVIDIA P100", 300, None, 271, 21.2, 16, 0.732),
    "A100_80GB": ("NVIDIA A100 SXM4 80GB", 400, 60, None, 312, 80, 2.039),
    "A100_80GB_350W": ("NVIDIA A100 SXM4 80GB capped at 350 W", 350, 60, None, 312, 80, 2.039),
    "H100": ("NVIDIA H100 SXM5 80GB", 700, 90, None, 989.5, 80, 3.35),
}
# DGX max system power for the 'full' column (systems_and_facilities.csv, NVIDIA datasheets): kW per 8-GPU node.
_NODE_MAX_KW = {"A100_80GB": 6.5, "A100_80GB_350W": 6.5, "H100": 10.2}


@dataclass(frozen=True)
class EnergyRun:
    run_id: str
    chip: str
    chips: int
    days: float                 # wall-clock days (for GPU-hour-only rows: gpu_hours / chips / 24)
    pue: float                  # the PUE the published figure used (1.0 where it excludes PUE)
    gco2_per_kwh: float         # the intensity the published tCO2e used
    mfu: float | None           # for the utilisation-based power (None where measured system power is used)
    published_mwh: float
    published_tco2e: float
    basis: str
    source: str
    notes: str = ""
    operator_pue: float | None = None  # for the full-facility column of GPU-only rows


def _hours(gpu_hours: float, chips: int) -> float:
    return gpu_hours / chips / 24.0


RUNS = (
    EnergyRun("patterson-t5", "TPUv3", 512, 20, 1.12, 545, None, 85.7, 46.7, "measured system", PATTERSON,
              "Google Taiwan, Sep 2019; run's own measured power 310 W/chip"),
    EnergyRun("patterson-meena", "TPUv3", 1024, 30, 1.09, 415, None, 232, 96.4, "measured system", PATTERSON,
              "Google Georgia, Dec 2019; run's own 289 W/chip"),
    EnergyRun("patterson-gshard-600b", "TPUv3", 1024, 3.1, 1.09, 201, None, 24.1, 4.8, "measured system", PATTERSON,
              "Google N. Carolina, Apr 2020; gross 0.201 kg/kWh, 4.8 t gross (4.3 t net); run's own 288 W/chip"),
    EnergyRun("patterson-evolved-transformer-nas", "TPUv2", 200, 6.8, 1.10, 431, None, 7.5, 3.2, "measured system",
              PATTERSON, "Google Georgia, Dec 2018; run's own 208 W/chip"),
    EnergyRun("patterson-transformer-big-p100", "P100", 8, 3.5, 1.59, 429, None, 0.316, 0.1357, "measured system",
              PATTERSON, "US-average datacenter (PUE 1.59) and grid (0.429); run's own 296 W/chip"),
    # Llama 2: GPU-hours only (no chip count or days published); energy scales with GPU-hours, so a nominal
    # 2,048 GPUs is used. Implied intensity 153.9/363.418 etc. = 423.4 g/kWh. MFU not published: 0.40 assumed.
    EnergyRun("llama2-7b", "A100_80GB", 2048, _hours(184320, 2048), 1.0, 423.4, 0.40, 73.728, 31.22,
              "GPU, stated W", LLAMA2, "184,320 GPU-h x 400 W; MFU 0.40 assumed (not published)", 1.09),
    EnergyRun("llama2-13b", "A100_80GB", 2048, _hours(368640, 2048), 1.0, 423.4, 0.40, 147.456, 62.44,
              "GPU, stated W", LLAMA2, "368,640 GPU-h x 400 W; MFU 0.40 assumed", 1.09),
    EnergyRun("llama2-34b", "A100_80GB_350W", 2048, _hours(1038336, 2048), 1.0, 423.4, 0.40, 363.418, 153.9,
              "GPU, stated W", LLAMA2, "1,038,336 GPU-h x 350 W (power-capped production cluster); MFU 0.40 "
              "assumed; tCO2e from paper Table 2 (= card total minus the other rows)", 1.09),
    EnergyRun("llama2-70b", "A100_80GB", 2048, _hours(1720320, 2048), 1.0, 423.4, 0.40, 688.128, 291.42,
              "GPU, stated W", LLAMA2, "1,720,320 GPU-h x 400 W; MFU 0.40 assumed", 1.09),
    # BLOOM: 384 A100-80GB for 118.24 days; 433.196 MWh = 1,082,990 GPU-h x 400 W; 24.69 t at 57 g/kWh (no PUE).
    # MFU 0.375 = 156 TFLOP/s best-config throughput incl. full recomputation x 6/8 / 312 TFLOP/s (an upper bound
    # on the run average).
    EnergyRun("bloom-176b", "A100_80GB", 384, 118.24, 1.0, 57, 0.375, 433.196, 24.69, "GPU, stated W", BLOOM,
              "Jean Zay; published hours 1,082,990 vs 384 x 118.24 d = 1,089,638 (+0.6 %)", 1.2),
    EnergyRun("olmo3-7b", "H100", 1024, _hours(234000, 1024), 1.0, 0.0, 0.327, 146, 0.0, "GPU, measured (fit)",
              OLMO3, "234k H100-h, average 621 W; MFU = 7,700 tok/s x 6 x 7e9 / 989.5 TF", 1.2),
    EnergyRun("olmo3-32b", "H100", 1024, _hours(1050000, 1024), 1.0, 0.0, 0.369, 681, 0.0, "GPU, measured (fit)",
              OLMO3, "1.05M H100-h, average 649 W; MFU = 1,900 tok/s x 6 x 32e9 / 989.5 TF", 1.2),
)


def _solve(run: EnergyRun, *, full: bool = False):
    from ..hardware.accelerator import Accelerator
    from ..infrastructure.site import Datacenter, Grid
    from ..solvers.sustainability import SustainabilityModel
    from ..systems.system import Fabric, Fleet, Node

    name, tdp, idle, measured, tflops, mem_gb, bw_tbps = _CHIPS[run.chip]
    acc = Accelerator(name=name, peak_flops={"bf16": tflops * 1e12}, memory_bytes=mem_gb * 1e9,
                      memory_bw=bw_tbps * 1e12, tdp_w=tdp, idle_w=idle, measured_system_w=measured,
                      key=run.chip)
    per_node = 4 if run.chip.startswith("TPU") else 8
    # GPU-only basis: no host power, unless `full` (host from the DGX max power rule, the operator's PUE).
    host = None if full else 0.0
    node = Node(name=f"{per_node}x {name}", accelerator=acc, accelerators_per_node=per_node, scaleup_bw=1e11,
                nic_bw=1e11, host_power_w=host, max_power_w=_NODE_MAX_KW.get(run.chip, 0) * 1e3 or None)
    fabric = Fabric(name="(switch power not in the published figure)", port_bw=1e11, latency_s=5e-6)
    fleet = Fleet(node=node, count=run.chips // per_node, fabric=fabric, name=f"{run.chips}x {name}")
    pue = run.operator_pue if full else run.pue
    dc = Datacenter(name=run.run_id, grid=Grid(name=run.run_id, gco2_per_kwh=run.gco2_per_kwh), pue=pue,
                    electricity_usd_per_kwh=0.0)
    return SustainabilityModel().solve(fleet=fleet, duration_days=run.days, mfu=run.mfu, datacenter=dc)


def _err(pred: float, pub: float):
    return 100.0 * (pred - pub) / pub if pub else None


def energy_table() -> list[dict]:
    """One dict per run: published vs predicted MWh and tCO2e with % errors (see the module docstring)."""
    rows = []
    for r in RUNS:
        s = _solve(r)
        mwh = s.facility_energy.to("MWh").magnitude
        t = s.carbon_footprint
        full = _solve(r, full=True).facility_energy.to("MWh").magnitude if r.basis.startswith("GPU") else None
        rows.append(dict(run_id=r.run_id, basis=r.basis, chip=r.chip, chips=r.chips, days=r.days, pue=r.pue,
                         gco2_per_kwh=r.gco2_per_kwh, mfu=r.mfu, power_per_chip_w=s.accelerator_w,
                         published_mwh=r.published_mwh, predicted_mwh=mwh,
                         energy_error_pct=_err(mwh, r.published_mwh),
                         published_tco2e=r.published_tco2e or None, predicted_tco2e=t if r.published_tco2e else None,
                         carbon_error_pct=_err(t, r.published_tco2e), full_mwh=full,
                         source=r.source, notes=r.notes))
    return rows


def format_energy_table(rows=None, wide: bool = False) -> str:
    """The table, 80 columns wide (rows grouped under their basis) or `wide` (a basis column)."""
    from ._text import cell, note
    rows = rows if rows is not None else energy_table()
    if wide:
        lines = [f"{'run':34} {'basis':20} {'W/chip':>6} {'pub MWh':>9} {'pred MWh':>9} {'err':>7} "
                 f"{'pub t':>8} {'pred t':>8} {'err':>7} {'full MWh':>9}"]
    else:
        lines = [f"{'':30} {' MWh ':-^20} {' t CO2e ':-^20} {'full':>6}",
                 f"{'run':23} {'W/chip':>6} {'pub':>6} {'pred':>6} {'err':>6} {'pub':>6} {'pred':>6} {'err':>6} "
                 f"{'MWh':>6}"]
    basis = None
    for r in rows:
        ce = f"{r['carbon_error_pct']:+.1f}%" if r["carbon_error_pct"] is not None else "-"
        pt = f"{r['published_tco2e']:.4g}" if r["published_tco2e"] else "-"
        qt = f"{r['predicted_tco2e']:.4g}" if r["predicted_tco2e"] is not None else "-"
        fm = f"{r['full_mwh']:.4g}" if r["full_mwh"] is not None else "-"
        if wide:
            lines.append(f"{r['run_id']:34} {r['basis']:20} {r['power_per_chip_w']:6.0f} {r['published_mwh']:9.4g} "
                         f"{r['predicted_mwh']:9.4g} {r['energy_error_pct']:+6.1f}% {pt:>8} {qt:>8} {ce:>7} {fm:>9}")
            continue
        if r["basis"] != basis:
            basis = r["basis"]
            lines.append(f"[{basis}]")
        before, name = cell(r["run_id"], 23)
        lines += before + [f"{name} {r['power_per_chip_w']:6.0f} {r['published_mwh']:6.4g} {r['predicted_mwh']:6.4g} "
                           f"{r['energy_error_pct']:+5.1f}% {pt:>6} {qt:>6} {ce:>6} {fm:>6}"]
    meas = [r for r in rows if r["basis"] == "measured system"]
    if meas:
        worst = max(abs(r["energy_error_pct"]) for r in meas)
        lines += note(f"energy: {len(meas)} measured-system-power runs (Patterson et al. 2021), max |error| "
                      f"{worst:.1f}% (target <= 10%)", wide)
    lines += note("'GPU, stated W' rows: published = GPU-hours x stated W (not measured); error = our utilisation-"
                  "based draw vs that W. full MWh = with host power and the operator's PUE (what the cards omit).",
                  wide)
    lines += note("'GPU, measured (fit)' rows were used to fit the power curve (not independent).", wide)
    return "\n".join(lines)
