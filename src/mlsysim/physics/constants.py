"""Global efficiency constants of the performance model, each with its provenance.

These are physical properties of kernels and links, set once for all runs (never per validation row). Those
marked "calibrated" were fitted once, jointly, against the published runs in mlsysim/validation/runs.py
(Megatron SC21 Table 1, Korthikanti et al. 2022, Llama 3 Table 4, BLOOM) by the grid search in
tools/calibrate.py; `python -m mlsysim validate` prints the resulting errors.
"""

# GEMM shape saturation: achieved/ceiling = prod over (m, k, n) of d / (d + GEMM_HALF_DIM). A dimension equal to
# GEMM_HALF_DIM halves throughput (tile under-fill, too few waves). Calibrated; of the order of one tensor-core
# tile edge (64-128), cf. NVIDIA "Matrix Multiplication Background User's Guide" (2023), tile/wave quantisation.
GEMM_HALF_DIM = 64.0

# Matmul ceiling for accelerators with no measured MAMF: fraction of dense peak. Assumption: the median of the
# MAMF/peak ratios in shared/validation/hardware.csv (A100 0.87, H100 0.80, B200 0.78, MI300X 0.51, Gaudi 0.74-0.97).
DEFAULT_MATMUL_EFFICIENCY = 0.78

# Share of the MAMF ceiling that GEMMs reach inside a training framework (fused epilogues, smaller tiles after
# sharding, concurrent NCCL kernels stealing SMs). Calibrated.
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
# bias/rotary (~4). The FFN's activation function adds ELEMENTWISE_FFN_PASSES passes over (tokens x ffn).
# Counted from Megatron-LM's fused kernels (Narayanan et al. 2021 Sec 4.2); backward moves ~2x.
ELEMENTWISE_PASSES = 16.0
ELEMENTWISE_FFN_PASSES = 3.0
# Without FlashAttention: fused scale-mask-softmax + dropout on the (heads x s x s) score matrix, forward passes
# (read scores, write probs, dropout read/write/mask). Korthikanti et al. 2022 Sec 4.1 lists these tensors.
SOFTMAX_PASSES = 5.0

# Adam optimizer step: bytes touched per local parameter (fp32 master, m, v read+write = 24, fp32 grad read 4,
# bf16 weight write 2, + grad zeroing 4). Mixed-precision Adam layout of Rajbhandari et al. 2020 (ZeRO) Sec 3.1.
OPTIMIZER_BYTES_PER_PARAM = 34.0

# Per-rank step-time jitter (coefficient of variation). The step waits for the slowest of N ranks: the expected
# maximum of N normals adds CV * E[max] of the compute time. 0.4% is an assumption in the range of the
# 1-2% diurnal/DVFS throughput swings Meta reports across a whole 16K-GPU job (Llama 3 paper Sec 3.3.4), which
# bound the per-rank independent part from above.
STRAGGLER_CV = 0.004

# Memory the framework holds beyond model state and activations (CUDA context, NCCL buffers, allocator
# fragmentation). Assumption: ~2-3 GB observed on A100/H100 with PyTorch + NCCL.
RESERVED_MEMORY_BYTES = 2.5e9
