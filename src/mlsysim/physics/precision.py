"""Serving precision as three numbers: bytes per weight, bytes per KV-cache element, and the compute dtype.

Sub-byte formats carry their scales: int4 = 0.5 B + one fp16 scale per group of 128 weights (the AWQ/GPTQ default
group size, Lin et al. 2023 arXiv:2306.00978; Frantar et al. 2022 arXiv:2210.17323) = 0.5156 B; fp4 = NVFP4,
0.5 B + one fp8 (E4M3) scale per 16-element block (NVIDIA Blackwell NVFP4 format, 2025) = 0.5625 B.
int8/fp8 per-channel or per-tensor scales are negligible (one per row of thousands of weights).
"""
from __future__ import annotations

INT4_GROUP = 128
FP4_BLOCK = 16
BYTES = {
    "fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
    "int4": 0.5 + 2.0 / INT4_GROUP,
    "fp4": 0.5 + 1.0 / FP4_BLOCK,
}
# `precision="X"` shorthand: (weights, kv, compute). 4-bit weights keep a wider KV cache and compute:
# int4 is weight-only (W4A16, AWQ/GPTQ kernels), fp4 computes in fp4 (Blackwell NVFP4 tensor cores).
SHORTHAND = {p: (p, p, p) for p in ("fp32", "bf16", "fp16", "fp8", "int8")}
SHORTHAND["int4"] = ("int4", "bf16", "bf16")
SHORTHAND["fp4"] = ("fp4", "fp8", "fp4")


def serving_precision(precision=None, weights=None, kv=None, compute=None):
    """(weight bytes, kv bytes, compute dtype name) from the shorthand and/or the three explicit names."""
    base = ("bf16", "bf16", "bf16")
    if precision is not None:
        if not isinstance(precision, str) or precision not in SHORTHAND:
            from ..errors import unknown
            raise unknown("serving precision", precision, SHORTHAND)
        base = SHORTHAND[precision]
    w, k, c = (weights or base[0]), (kv or base[1]), (compute or base[2])
    for name, what in ((w, "weight_precision"), (k, "kv_precision")):
        if not isinstance(name, str) or name not in BYTES:
            from ..errors import unknown
            raise unknown(what, name, BYTES)
    return BYTES[w], BYTES[k], c, (w, k, c)


def matmul_ceiling(acc, compute: str, default_bf16: float, default_fp8: float) -> float:
    """Measured share of the dense peak that a large GEMM reaches at the compute dtype (MAMF / peak): the bf16
    MAMF for 16-bit compute, the fp8 MAMF for fp8 and narrower (fp4/int8/int4 tensor cores: no MAMF is
    published, so they take the fp8 share, an assumption), the defaults where the chip has no measurement. The
    fp8 default is H100/H200's share of a doubled peak, capped at the chip's own measured bf16 share: every chip
    with both measured has the narrower share below the wider (H100 0.709 < 0.803, Gaudi 2 0.955 < 0.969,
    shared/validation/hardware.csv), and a chip held below its bf16 peak by its power limit (MI300X: 0.514) does
    not clock higher doing twice the math per cycle. A chip whose narrow peak is no higher than its bf16 one
    (TPU v5p's listed fp8, Gaudi 3) runs those GEMMs at the 16-bit rate, so it keeps the 16-bit ceiling."""
    wide = acc.matmul_efficiency or default_bf16
    if compute in ("bf16", "fp16", "fp32", "tf32"):
        return wide
    measured = getattr(acc, "fp8_matmul_efficiency", None)
    if measured:
        return measured
    p = acc.peak_flops
    return wide if p.get(compute, 0.0) <= (p.get("bf16") or p.get("fp16") or 0.0) else min(default_fp8, wide)


def compute_peak(acc, compute: str, weights: str | None = None) -> float:
    """Dense peak FLOP/s of `acc` at the compute dtype; a dtype the chip lacks is a ConfigError with the fix (its
    example keeps the `weights` format asked for: int4 weights on an int8-only NPU were told weight_precision='bf16')."""
    pf = acc.peak_flops
    if compute in pf:
        return pf[compute]
    from ..errors import ConfigError
    have = ", ".join(pf)
    # the example names a compute dtype the chip has: bf16 or fp16, else fp32 or tf32, else the first listed
    alt = next((p for p in ("bf16", "fp16", "fp32", "tf32") if p in pf), next(iter(pf), "bf16"))
    raise ConfigError(f"{acc.name} has no {compute} compute (it has {have}); pass compute_precision= one of "
                      f"those (e.g. weight_precision='{weights or compute}', compute_precision='{alt}' for weight-only "
                      f"quantisation; on the web page and the command line, a precision the chip has) or pick an "
                      f"accelerator with {compute} tensor cores")
