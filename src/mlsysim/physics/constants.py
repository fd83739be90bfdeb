"""Global efficiency constants of the performance model, each with its provenance.

These are physical properties of kernels and links, set once for all runs (never per validation row). Those
marked "calibrated" were fitted once, jointly, against the published runs in mlsysim/validation/runs.py
(Megatron SC21 Table 1, Korthikanti et al. 2022, Llama 3 Table 4, PaLM, BLOOM, torchtitan) by the coordinate
search of validation/crossval.py (tools/calibrate.py); `python -m mlsysim validate` prints the resulting errors
in sample and leaving each source family out of the fit.
"""

# GEMM shape saturation: achieved/ceiling = prod over (m, k, n) of d / (d + GEMM_HALF_DIM). A dimension equal to
# GEMM_HALF_DIM halves throughput (tile under-fill, too few waves). Calibrated (grid 32-128; 32, a quarter to half
# of a tensor-core tile edge of 64-128), cf. NVIDIA "Matrix Multiplication Background User's Guide" (2023),
# tile/wave quantisation.
GEMM_HALF_DIM = 32.0

# Matmul ceiling for accelerators with no measured MAMF: fraction of dense peak. Assumption: the median of the
# MAMF/peak ratios in shared/validation/hardware.csv (A100 0.87, H100 0.80, B200 0.78, MI300X 0.51, Gaudi 0.74-0.97).
DEFAULT_MATMUL_EFFICIENCY = 0.78
# The same for fp8 GEMMs (fp8 MAMF / fp8 peak) where none is measured. Assumption: the two published values in
# shared/validation/hardware.csv, H100 SXM 0.709 and H200 0.734 (stas00/ml-engineering MAMF table), rounded.
DEFAULT_FP8_MATMUL_EFFICIENCY = 0.72

# Share of the MAMF ceiling that GEMMs reach inside a training framework (fused epilogues, smaller tiles after
# sharding). Calibrated (grid 0.80-0.94). Concurrent communication kernels are charged separately
# (COMM_SM_SHARE).
FRAMEWORK_GEMM_FRACTION = 0.88

# FlashAttention throughput relative to a dense GEMM of the same FLOPs. FA2 (Dao 2023, arXiv:2307.08691): fwd+bwd
# 50-73% of A100 peak vs cuBLAS ~80-87%; FA3 (Shah et al. 2024): ~75% of H100 peak fwd, less bwd.
FLASH_ATTENTION_RELATIVE = 0.75
# FlashAttention's efficiency falls for short query chunks (fewer tiles per head to fill the SMs): throughput
# scales as q / (q + FLASH_HALF_SEQ) relative to its value at 8K, where the per-chip figures are quoted. FA2
# (Dao 2023, Fig. 4) fwd+bwd at seq 512 runs at ~60% of its 8K throughput: q/(q+384) gives 0.60.
FLASH_HALF_SEQ = 384.0
FLASH_REFERENCE_SEQ = 8192.0
# FlashAttention's backward pass costs 2.5x its forward (5 matmuls vs 2, recomputing the scores): Dao 2023 Sec 3.
FLASH_BWD_FACTOR = 2.5

# Achievable fraction of HBM bandwidth for streaming elementwise kernels (STREAM-like copy on A100/H100 reaches
# ~80-90% of datasheet bandwidth; e.g. NVIDIA "CUDA C++ Best Practices" bandwidth tests). Assumption.
MEMORY_BW_EFFICIENCY = 0.85

# Elementwise memory traffic per transformer layer, forward pass, in passes over a (tokens x hidden) activation:
# LayerNorm x2 (read+write: 4), bias-dropout-add x2 (read 2, write 1, mask: 4 each: 8), QKV/attention-out
# bias/rotary (~4). The FFN's activation reads its inputs and writes its output (physics.training.layer_times).
# Counted from Megatron-LM's fused kernels (Narayanan et al. 2021 Sec 4.2); backward moves ~2x. A stack's
# elementwise_factor (data/stacks.toml) scales this for unfused frameworks.
ELEMENTWISE_PASSES = 16.0
# Without FlashAttention: fused scale-mask-softmax + dropout on the (heads x s x s) score matrix, forward passes
# (read scores, write probs, dropout read/write/mask). Korthikanti et al. 2022 Sec 4.1 lists these tensors; a
# model trained without dropout runs the softmax alone (read scores, write probs).
SOFTMAX_PASSES = 5.0
SOFTMAX_PASSES_NO_DROPOUT = 2.0

# Adam optimizer step: bytes touched per local parameter (fp32 master, m, v read+write = 24, fp32 grad read 4,
# bf16 weight write 2, + grad zeroing 4). Mixed-precision Adam layout of Rajbhandari et al. 2020 (ZeRO) Sec 3.1.
OPTIMIZER_BYTES_PER_PARAM = 34.0

# Per-rank step-time jitter (coefficient of variation). The step waits for the slowest of N ranks: the expected
# maximum of N normals adds CV * E[max] of the compute time. Calibrated (0.8%), within the 1-2% diurnal/DVFS
# throughput swings Meta reports across a whole 16K-GPU job (Llama 3 paper Sec 3.3.4), which bound the
# per-rank independent part from above.
STRAGGLER_CV = 0.008

# Memory the framework holds beyond model state and activations (CUDA context, NCCL buffers, allocator
# fragmentation). Assumption: ~2-3 GB observed on A100/H100 with PyTorch + NCCL.
RESERVED_MEMORY_BYTES = 2.5e9

# Share of the SMs a collective's kernels take while it overlaps compute (the compute it hides behind slows by
# this share): NCCL runs one CTA per channel, 16-32 channels on H100 NVLink/IB rings (NCCL_MIN/MAX_NCHANNELS
# docs), and Transformer Engine's comm-GEMM overlap configs reserve 16-24 of the 132 SMs. 16/132 = 0.12.
# Assumption within those ranges.
COMM_SM_SHARE = 0.12

# GPU idle time between two dependent kernels on one stream when the host has queued them ahead (launch
# latency): ~2 us on A100/H100 (NVIDIA Developer Blog, "Getting Started with CUDA Graphs", 2019: ~2-3 us per
# kernel launch, about half removed by graphs). Assumption (not measured here). Multiplied by a stack's
# kernels_per_layer.
KERNEL_GAP_S = 2e-6

# Dynamic power of a GPU under DVFS grows as f^k: k = 3 when voltage scales with frequency (P ~ f V^2), k = 1 at
# the voltage floor. A part capped below the power its matmul rate was measured at (Meta's 500 W H100s) runs
# its tensor cores at ((cap - idle) / (full - idle))^(1/k) of that rate (hardware.accelerator.power_limit_clock).
# Calibrated within [1, 3] by validation/crossval.py: 1.25, near the voltage floor. Only the torchtitan rows
# inform it; left out, they are
# scored on the prior k = 1.0 that Llama 2 34B's 350 W A100 GPU-hours support (tools/dvfs_prior.py). The
# shortfall k = 3 leaves is a uniform ~15 % in the compute-bound time of every torchtitan row (8B eager,
# compiled and fp8, 70B TP, 405B PP alike), not in FSDP gathers or HBM-bound work: a clock effect.
DVFS_POWER_EXPONENT = 1.25
