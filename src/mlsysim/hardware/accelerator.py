"""The Accelerator record: one chip's datasheet numbers in SI units, plus its measured matmul ceiling."""
from __future__ import annotations

from dataclasses import dataclass, field

from .._record import check_si, check_text, refuse
from ..errors import ConfigError, unknown
from ..views import RecordView
from ..units import quantity

PRECISIONS = ("fp32", "tf32", "bf16", "fp16", "fp8", "int8")
# Peaks a chip may list: the training precisions plus fp4 (Blackwell NVFP4 tensor cores; serving only).
PEAK_PRECISIONS = PRECISIONS + ("fp4",)


@dataclass(frozen=True, repr=False)
class Accelerator(RecordView):
    """One accelerator. Floats are SI: FLOP/s, bytes, bytes/s, watts, USD, kgCO2e.

    `peak_flops` maps a precision ("bf16", "fp8", ...) to dense peak FLOP/s. `matmul_efficiency` is the
    measured max achievable matmul throughput (MAMF) over peak, the ceiling of every GEMM in the model;
    `fp8_matmul_efficiency` the same for fp8 GEMMs (fp8 MAMF over the fp8 peak).
    """

    name: str
    peak_flops: dict
    memory_bytes: float
    memory_bw: float
    tdp_w: float
    scaleup_bw: float | None = None  # per GPU, per direction (NVLink / xGMI / ICI)
    matmul_efficiency: float | None = None
    matmul_efficiency_source: str = ""
    fp8_matmul_efficiency: float | None = None  # measured fp8 MAMF over the fp8 dense peak, if published
    attention_efficiency: float | None = None  # fused (Flash) attention fwd+bwd throughput / peak, if measured
    attention_efficiency_source: str = ""
    idle_w: float | None = None
    # power at which the matmul/attention efficiencies hold, when the part runs capped below it (tdp_w)
    full_power_w: float | None = None
    measured_system_w: float | None = None  # measured average system power per chip in training, if published
    price_usd: float | None = None
    price_source: str = ""
    embodied_kgco2e: float | None = None
    embodied_source: str = ""
    vendor: str = ""
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        check_text(self)
        if not isinstance(self.peak_flops, dict) or not self.peak_flops:
            raise ConfigError(f"Accelerator {self.name}: peak_flops must map precision -> FLOP/s")
        pf = {}
        for p, v in self.peak_flops.items():
            if p not in PEAK_PRECISIONS:
                raise unknown("precision", p, PEAK_PRECISIONS)
            pf[p] = _pos(v, f"{self.name} peak {p} FLOP/s", "FLOP/s")
        object.__setattr__(self, "peak_flops", pf)
        check_si(self, {"memory_bytes": ("byte", False), "memory_bw": ("byte/s", False), "tdp_w": ("W", False),
                        "scaleup_bw": ("byte/s", False), "idle_w": ("W", True), "measured_system_w": ("W", False),
                        "full_power_w": ("W", False),
                        "price_usd": ("USD", True), "embodied_kgco2e": ("kg", True),
                        "matmul_efficiency": ("", False), "fp8_matmul_efficiency": ("", False),
                        "attention_efficiency": ("", False)})
        for what in ("matmul_efficiency", "fp8_matmul_efficiency", "attention_efficiency"):
            eff = getattr(self, what)
            if eff is not None and not (0 < eff <= 1):
                raise ConfigError(f"Accelerator {self.name}: {what} must be in (0, 1], got {eff}")
        if self.idle_w is not None and self.idle_w > self.tdp_w:
            refuse(self, f"idle_w={self.idle_w:g} W is above tdp_w={self.tdp_w:g} W",
                   "idle power is at most the thermal design power: check both figures (watts, per chip)")

    def peak(self, precision: str) -> float:
        """Dense peak FLOP/s at `precision`; a precision the chip lacks is an error naming those it has."""
        if not isinstance(precision, str):  # unhashable or not a name: the same message as a misspelt one
            raise unknown("precision", precision, PRECISIONS)
        try:
            return self.peak_flops[precision]
        except KeyError:
            if precision == "int4":  # a weight format with no int4 tensor-core peak: "did you mean int8?" misled
                raise ConfigError("int4 is a weight-only format (4-bit weights, 16-bit compute: AWQ/GPTQ), not a "
                                  "compute precision: this solver takes the compute dtype (e.g. 'bf16'); for 4-bit "
                                  "weights use ServingModel / ServingLoadModel with precision='int4'") from None
            if precision not in PRECISIONS:
                raise unknown("precision", precision, PRECISIONS) from None
            raise ConfigError(f"{self.name} has no {precision} support; choose a precision it has: "
                              f"{', '.join(self.peak_flops)}") from None

    memory = quantity("memory_bytes", "byte", to="GB")
    bandwidth = quantity("memory_bw", "byte/s", to="TB/s")


def _pos(v, what, unit):
    from ..units import si
    return si(v, unit, what)


def power_limit_clock(acc) -> float:
    """Sustained-clock ratio of a part run below the power its efficiencies were measured at (1 if not):
    dynamic power ~ f^k (k = DVFS_POWER_EXPONENT), ((tdp - idle) / (full - idle))^(1/k)."""
    full = acc.full_power_w
    if not full or full <= acc.tdp_w:
        return 1.0
    from ..physics import constants as C
    idle = acc.idle_w or 0.0
    return ((acc.tdp_w - idle) / (full - idle)) ** (1.0 / C.DVFS_POWER_EXPONENT)
