"""Step time and memory of one training step under TP/PP/DP/CP/EP, on floats or numpy arrays alike.

`dims` (from `model_dims(workload)`) are scalars of one model; every layout and hardware argument may be a
float or a numpy array (the explorer broadcasts millions of configurations through the same lines).
Times in s, sizes in bytes, rates in FLOP/s or bytes/s. References: Narayanan et al. 2021 (SC21; 1F1B and
interleaved schedules, Eq. 3), Korthikanti et al. 2022 (activation memory, sequence parallelism, selective
recompute), Rajbhandari et al. 2020 (ZeRO), Dao 2023 (FlashAttention-2). What a framework does (kernel
fusion, launch overheads, recompute policy, reduction precision, fp8 recipe) arrives as plain numbers from a
software-stack profile (mlsysim.stacks, data/stacks.toml); memory is in training_memory.py.
"""
from __future__ import annotations

import operator

from . import collectives as col
from . import constants as C
from ._np import inline_helpers, np, vceil, vmax, vmin, vsqrt, vwhere
from .order_stats import expected_max_normal
from .training_comm import async_tp_pass, expert_alltoall
from .training_memory import activation_bytes_per_layer, memory_per_device, params_per_device  # noqa: F401
from .workload_dims import model_dims  # noqa: F401  (re-exported: the step model's view of a workload)

RECOMPUTE = {"none": 0, "selective": 1, "full": 2}


def default_global_batch(target_tokens, seq, dp, mb):
    """Sequences per step when none is given: the target batch in tokens over seq_len, rounded (half to even) to a
    multiple of dp x microbatch, at least one sequence per data-parallel micro-batch."""
    q = target_tokens / seq / (dp * mb)
    if q.__class__ is float:  # solve()'s scalar path, without the array checks
        r = float(round(q))
        return (r if r > 1.0 else 1.0) * dp * mb
    r = np.round(q) if isinstance(q, np.ndarray) else float(round(q))
    return vmax(1.0, r) * dp * mb


def precision_bytes(precision: str) -> tuple[float, float]:
    """(activation/weight bytes, gradient-reduction bytes) for a training precision. fp8 training keeps bf16
    activations and communication (Transformer Engine); bf16/fp8 keep fp32 main gradients and reduce them in
    fp32 (Megatron-LM default for bf16; Llama 3 paper Sec 3.3.4); fp16 (2021-era Megatron) reduces fp16."""
    if precision in ("fp32", "tf32"):
        return 4.0, 4.0
    if precision == "fp16":
        return 2.0, 2.0
    return 2.0, 4.0


# ----------------------------------------------------------------------------------------------- kernels
def gemm_time(m, k, n, peak, ceiling, mem_bw, bytes_el=2.0):
    """One GEMM (m x k) @ (k x n): the slower of compute at a shape-dependent efficiency and memory traffic."""
    x0 = C.GEMM_HALF_DIM
    eff = ceiling * (m / (m + x0)) * (k / (k + x0)) * (n / (n + x0))
    t_c = 2.0 * m * k * n / (peak * eff)
    return vmax(t_c, bytes_el * (m * k + k * n + m * n) / (mem_bw * C.MEMORY_BW_EFFICIENCY))


def experts_touched(d, T, ep):
    """Expected routed experts of one rank that the EP group's T x ep tokens reach (each token picks top-k of E,
    taken as uniform): all of them in training, few in small-batch decode."""
    return (d.E / ep) * (1.0 - (1.0 - d.topk / d.E) ** (T * ep))


def busiest_rank_load(d, T, ep):
    """Token copies on the busiest of ep expert ranks over the mean (T tokens per rank, top-k of E, uniform). A
    rank's copies per token are hypergeometric, variance k (1/ep)(1 - 1/ep)(E - k)/(E - 1); the ranks' loads sum
    to T ep k exactly (correlation -1/(ep - 1)), so E[max] = mean + sd sqrt(ep/(ep - 1)) E[max of ep normals]:
    1 + E[max] sqrt((E - k) / ((E - 1) T k)), at most all of a token's copies that fit on one rank."""
    k, E = d.topk, d.E
    f = 1.0 + expected_max_normal(ep) * vsqrt((E - k) / (max(E - 1.0, 1.0) * T * k))
    return vmin(f, ep * vmin(k, E / ep) / k)


def layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, moe, bytes_el=2.0, attn_eff=None,
                decode=False, lin_peak=None, lin_ceiling=None, ew_factor=1.0, cast_passes=0.0, detail=False,
                kv_seqs=None):
    """Forward, backward and recompute-able parts of one layer for T local tokens (after CP split), on one device.

    Returns (fwd_s, bwd_s, attn_core_fwd_s): the attention core is what selective recompute replays.
    attn_eff: fused-attention throughput as a fraction of peak (None: a fixed share of the GEMM ceiling).
    `moe` (a Python bool/float, not an array) selects an MoE FFN or the dense FFN; with ep > 1 its routed experts
    run at the busiest rank's load (busiest_rank_load: the combine waits for it). `decode`: T new tokens each
    attend to a cached context of `seq` tokens whose K/V stream from HBM (inference decode); `kv_seqs`: the
    sequences whose cache is read, once each (default T; fewer when each verifies several drafted tokens).
    lin_peak / lin_ceiling: the rate of the layer's linear GEMMs where it differs from the attention's (fp8
    GEMMs at the measured fp8 matmul ceiling; attention stays bf16: Transformer Engine's default).
    ew_factor: elementwise HBM traffic relative to fused kernels; cast_passes: fp8 amax + cast passes per GEMM
    operand (both from the software stack). detail: also return the forward linear-GEMM time."""
    lp = peak if lin_peak is None else lin_peak
    lc = ceiling if lin_ceiling is None else lin_ceiling
    bw = mem_bw * C.MEMORY_BW_EFFICIENCY
    proj = gemm_time(T, d.h, d.attn_in_n / tp, lp, lc, mem_bw, bytes_el) \
        + gemm_time(T, d.attn_out_k / tp, d.h, lp, lc, mem_bw, bytes_el)
    heads = d.a / tp
    # Attention core: causal context seq/2 per query on average.
    attn_eff = ceiling * C.FLASH_ATTENTION_RELATIVE if attn_eff is None else attn_eff
    if not decode:  # shorter query chunks (context parallelism splits the sequence) run less efficiently
        q = seq / cp
        attn_eff = attn_eff * (q / (q + C.FLASH_HALF_SEQ)) \
            * ((C.FLASH_REFERENCE_SEQ + C.FLASH_HALF_SEQ) / C.FLASH_REFERENCE_SEQ)
    if_flash_f = 2.0 * T * (seq * (1.0 if decode else 0.5)) * heads * (d.hd + d.vhd) / (peak * attn_eff)
    if decode:  # reading the KV cache bounds decode attention
        kv_read = (T if kv_seqs is None else kv_seqs) * seq * d.kv_elems * bytes_el / (1.0 if d.mla else vmin(tp, d.kv))
        if_flash_f = vmax(if_flash_f, kv_read / bw)
    # Without FlashAttention the full s x s scores are computed (mask applied after) as batched GEMMs per head,
    # and the softmax/dropout stream the score matrix through HBM.
    if flash is True:  # scalar fast path (serving, solve()): the naive branch is not evaluated
        core_f, core_b = if_flash_f, C.FLASH_BWD_FACTOR * if_flash_f
    else:
        naive_gemm = heads * (gemm_time(T, d.hd, seq, peak, ceiling, mem_bw, bytes_el)
                              + gemm_time(T, seq, d.vhd, peak, ceiling, mem_bw, bytes_el))
        softmax = (C.SOFTMAX_PASSES if d.dropout else C.SOFTMAX_PASSES_NO_DROPOUT) * heads * T * seq * bytes_el / bw
        core_f = vwhere(flash, if_flash_f, naive_gemm + softmax)
        core_b = vwhere(flash, C.FLASH_BWD_FACTOR * if_flash_f, 2.0 * naive_gemm + 2.0 * softmax)
    up_n = (d.mats - 1.0)
    permute = 0.0
    if moe:  # routed experts: tokens gathered over the EP group (T*topk per rank), plus shared experts
        touched = experts_touched(d, T, ep)
        routed = d.topk * busiest_rank_load(d, T, ep)  # copies per local token on the rank all ranks wait for
        m_e = T * routed / touched  # tokens per touched local expert
        ffn_t = touched * (gemm_time(m_e, d.h, up_n * d.effn / tp, lp, lc, mem_bw, bytes_el)
                           + gemm_time(m_e, d.effn / tp, d.h, lp, lc, mem_bw, bytes_el)) \
            + gemm_time(T, d.h, d.E, lp, lc, mem_bw, bytes_el)
        if d.shared > 0:
            ffn_t = ffn_t + gemm_time(T, d.h, up_n * d.shared * d.effn / tp, lp, lc, mem_bw, bytes_el) \
                + gemm_time(T, d.shared * d.effn / tp, d.h, lp, lc, mem_bw, bytes_el)
        ffn_width = (routed + d.shared) * d.effn
        mlp_w = (d.E / ep + d.shared) * d.expert_w
        # token permute / unpermute: read the tokens, write top-k copies; read them back, write the combine
        permute = bytes_el * T * d.h * (2.0 * routed + 2.0) / bw
    else:
        ffn_t = gemm_time(T, d.h, up_n * d.ffn / tp, lp, lc, mem_bw, bytes_el) \
            + gemm_time(T, d.ffn / tp, d.h, lp, lc, mem_bw, bytes_el)
        ffn_width = d.ffn
        mlp_w = d.dense_mlp_w
    # Streaming elementwise ops (fused): norms, residual adds, rotary, dropout over h, replicated on every TP
    # rank unless sequence parallelism shards them; the FFN activation reads its (mats - 1) inputs and writes one
    # output (SwiGLU: gate and up in, product out = 3 passes of the FFN width; GeLU: 2).
    ew_bytes = bytes_el * T * (C.ELEMENTWISE_PASSES * d.h / vwhere(sp, tp, 1.0) + d.mats * ffn_width / tp)
    ew = ew_factor * ew_bytes / bw
    # fp8: amax + cast of every GEMM operand (inputs and weights forward, output gradients backward)
    cast_f = cast_b = 0.0  # none without fp8 (a plain 0.0: the terms are not evaluated)
    if cast_passes.__class__ is not float or cast_passes != 0.0:
        cast_f = cast_passes * 2.0 * (T * (2.0 * d.h + (d.attn_out_k + ffn_width) / tp) + (d.attn_w + mlp_w) / tp) / bw
        cast_b = cast_passes * 2.0 * T * (2.0 * d.h + (d.attn_in_n + up_n * ffn_width) / tp) / bw
    gemms = proj + ffn_t
    fwd = gemms + core_f + ew + cast_f + permute
    bwd = 2.0 * gemms + core_b + 2.0 * ew + cast_b + permute
    if detail:
        return fwd, bwd, core_f, gemms
    return fwd, bwd, core_f


# ----------------------------------------------------------------------------------------------- the step
def training_step(d, tp, pp, dp, cp, ep, mb, gbs, seq, v, recompute, zero, flash, sp,
                  peak, ceiling, mem_bw, node_size, su_bw, su_lat, ib_bw, ib_lat, attn_eff=None,
                  lin_peak=None, lin_ceiling=None, ew_factor=1.0, kernels=0.0, cpu_kernel_s=0.0, sel_gemm=0.0,
                  op_sac=0.0, cast_passes=0.0, ce_bytes=0.0, opt_bytes=C.OPTIMIZER_BYTES_PER_PARAM,
                  grad_each_mb=1.0, dispatch_bytes=0.0, node_limit=0.0, pp_blocking=0.0, grad_reduce_bytes=0.0,
                  fp8_tp_gather=0.0, replay=0.0,
                  dp_overlap=1.0, tp_overlap=0.0, ep_overlap=0.0, straggler_cv=C.STRAGGLER_CV, bytes_el=2.0,
                  bytes_grad=2.0, params=None):
    """Time of one optimizer step and its breakdown (seconds).

    peak: dense FLOP/s of the attention and LM head (bf16 for fp8 runs); lin_peak/lin_ceiling: the layer GEMMs'
    (fp8 peak and measured fp8 MAMF fraction for fp8); ceiling: achievable matmul fraction of peak;
    su_bw/ib_bw: achieved scale-up / scale-out bandwidth per device per direction; su_lat/ib_lat: latencies.
    dp_overlap: 1 = data-parallel traffic overlaps the backward (forward, for parameter gathers) bucket by
    bucket. tp_overlap / ep_overlap: share of TP collectives / expert all-to-all issued to overlap with
    compute. Every overlap hides at most the compute it runs beside and slows that compute by the SMs its
    kernels take (collectives.overlapped). The software stack's numbers: ew_factor, kernels and cpu_kernel_s
    (kernels per layer, host time per kernel), op_sac (1: selective recompute is an op-level policy replaying
    every non-GEMM op but attention) and sel_gemm (share of forward GEMMs it also replays),
    cast_passes (fp8), ce_bytes (loss bytes per logit), opt_bytes (optimizer bytes per parameter),
    grad_each_mb (ZeRO-2/3 reduce-scatter after every micro-batch, else once from an unsharded buffer),
    dispatch_bytes / node_limit (MoE fp8 dispatch and node-limited routing; 0 = off), pp_blocking (1: every
    micro-batch's pipeline sends are exposed), grad_reduce_bytes (the stack's gradient-reduction bytes per
    element; 0: bytes_grad), fp8_tp_gather (1: forward sequence-parallel all-gathers move 1 B fp8), replay (1:
    selective recompute replays the norms, the gated activation and MLA's up-projections). params: params_per_device's (dense, expert) when the caller has them (evaluate shares
    one count with the memory)."""
    if grad_reduce_bytes:
        bytes_grad = grad_reduce_bytes
    n_ranks = tp * pp * dp * cp
    m = gbs / (dp * mb)  # microbatches per pipeline per step
    T = mb * seq / cp
    lps = vceil(d.L / pp)
    moe_frac = d.moe_frac
    sm = C.COMM_SM_SHARE
    bw = mem_bw * C.MEMORY_BW_EFFICIENCY
    # by position (binding keywords costs more than the rest of the call): decode=False, lin_peak .. detail=True
    f0, b0, c0, g0 = layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, False, bytes_el,
                                 attn_eff, False, lin_peak, lin_ceiling, ew_factor, cast_passes, True)
    if d.n_moe > 0:
        f1, b1, c1, g1 = layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, True, bytes_el,
                                     attn_eff, False, lin_peak, lin_ceiling, ew_factor, cast_passes, True)
        fwd = (1.0 - moe_frac) * f0 + moe_frac * f1
        bwd = (1.0 - moe_frac) * b0 + moe_frac * b1
        core = (1.0 - moe_frac) * c0 + moe_frac * c1
        gemm_f = (1.0 - moe_frac) * g0 + moe_frac * g1
    else:  # dense: 1.0 * x + 0.0 * x == x
        fwd, bwd, core, gemm_f = f0, b0, c0, g0
    # selective: the attention core without FlashAttention (Korthikanti); an op-level policy (op_sac) replays
    # a sel_gemm share of the GEMMs and every non-GEMM op except attention (torchtitan's op SAC, LLaMA's)
    sac_rest = (fwd - gemm_f - core) if op_sac > 0.0 else 0.0
    if replay:  # the norms (read h, write h, twice) and the gated activation (read 2, write 1) from cached inputs,
        # and MLA's q and kv up-projections (DeepSeek-V3 Sec 3.2.3)
        lp_, lc_ = (peak, ceiling) if lin_peak is None else (lin_peak, lin_ceiling)
        ffn_w = (1.0 - moe_frac) * d.ffn + moe_frac * (d.topk + d.shared) * d.effn
        sac_rest = sac_rest + replay * (T * (4.0 * d.h + 3.0 * ffn_w / tp) * bytes_el / bw + (0.0 if not d.mla else (
            gemm_time(T, d.q_up[0], d.q_up[1] / tp, lp_, lc_, mem_bw, bytes_el)
            + gemm_time(T, d.kv_up[0], d.kv_up[1] / tp, lp_, lc_, mem_bw, bytes_el))))
    recomp = vwhere(recompute >= 2, fwd,
                    vwhere(recompute >= 1, sel_gemm * gemm_f + sac_rest + vwhere(flash, 0.0, core), 0.0))

    # Which link each group uses: Megatron order tp (innermost), cp, ep/dp, pp (outermost).
    tp_bw = vwhere(tp <= node_size, su_bw, ib_bw)
    tp_lat = vwhere(tp <= node_size, su_lat, ib_lat)
    act_msg = bytes_el * T * d.h
    n_tp_coll = 4.0 + vwhere(recompute >= 2, 2.0, 0.0)  # fwd 2, bwd 2, full-recompute fwd 2 (AR or AG+RS)
    ag_cut = 0.0  # fp8 linears: each forward sequence-parallel all-gather moves 1 B per element, not bytes_el
    if fp8_tp_gather.__class__ is not float or fp8_tp_gather != 0.0:
        ag_cut = fp8_tp_gather * vwhere(sp, 1.0, 0.0) * col.allgather((bytes_el - 1.0) * T * d.h, tp, tp_bw, 0.0)
    tp_raw = n_tp_coll * col.allreduce(act_msg, tp, tp_bw, tp_lat) - (n_tp_coll - 2.0) * ag_cut
    tp_comm = tp_raw
    if tp_overlap:
        lp_ = peak if lin_peak is None else lin_peak
        lc_ = ceiling if lin_ceiling is None else lin_ceiling
        proj_qkv = gemm_time(T, d.h, d.attn_in_n / tp, lp_, lc_, mem_bw, bytes_el)
        proj_out = gemm_time(T, d.attn_out_k / tp, d.h, lp_, lc_, mem_bw, bytes_el)
        half = col.allreduce(act_msg, tp, tp_bw, tp_lat) / 2.0  # one AG or RS; forward passes, then backward
        async_tp = (n_tp_coll / 2.0 - 1.0) * async_tp_pass(d, T, tp, proj_qkv, proj_out, gemm_f, half, sm, ag_cut) \
            + async_tp_pass(d, T, tp, proj_qkv, proj_out, gemm_f, half, sm)
        tp_comm = (1.0 - tp_overlap) * tp_raw + tp_overlap * async_tp
    cp_comm = 0.0  # a plain cp of 1 exchanges nothing
    if cp.__class__ is not float or cp != 1.0:
        cp_in = tp * cp <= node_size
        kv_bytes = bytes_el * T * 2.0 * d.kv * d.hd / tp
        cp_bw = vwhere(cp_in, su_bw, ib_bw)
        cp_raw = col.allgather(kv_bytes * cp, cp, cp_bw, vwhere(cp_in, su_lat, ib_lat))
        # ring attention overlaps the K/V exchange with the attention core, forward and backward
        cp_comm = col.overlapped(cp_raw, c0, sm) + col.overlapped(2.0 * cp_raw, C.FLASH_BWD_FACTOR * c0, sm)
    ep_comm = 0.0
    if d.n_moe > 0:  # dispatch + combine, forward and backward; ep_overlap hides a share behind the expert
        # layers' compute (DualPipe-style scheduling, DeepSeek-V3 report Sec 3.2.1)
        a2a = expert_alltoall(d, T, tp, ep, bytes_el, node_size, su_bw, su_lat, ib_bw, ib_lat, dispatch_bytes,
                               node_limit)
        ep_comm = moe_frac * ((1.0 - ep_overlap) * a2a + col.overlapped(ep_overlap * a2a, f1 + b1, sm))
    layer_gpu = fwd + bwd + recomp + tp_comm + cp_comm + ep_comm + kernels * C.KERNEL_GAP_S
    layer = vmax(layer_gpu, kernels * cpu_kernel_s)  # the host must issue every kernel
    head_fwd = gemm_time(T, d.h, d.V / tp, peak, ceiling, mem_bw, bytes_el)
    loss = ce_bytes * T * d.V / tp / bw  # cross-entropy over the (vocab-parallel) logits, fwd + bwd
    head = 3.0 * head_fwd + loss + 2.0 * tp_comm / n_tp_coll
    stage = lps * layer + head  # the last stage carries the LM head; it sets the pace
    compute_stage = lps * (layer - tp_comm - cp_comm - ep_comm) + 3.0 * head_fwd + loss

    # Pipeline: 1F1B fill/drain bubble (p-1)/v stage-times; p2p activations split over the TP ranks and
    # all-gathered over the scale-up fabric (Narayanan et al. 2021 Sec 4.1, scatter/gather). The fill and drain
    # sends are exposed; the steady-state sends too when the stack's schedule waits on them (pp_blocking).
    bubble = (pp - 1.0) / v * stage
    staged = pp > 1
    pp_comm = 0.0 if staged is False else \
        vwhere(staged, 2.0 * (pp - 1.0 + pp_blocking * m) * v * col.p2p(act_msg / tp, ib_bw, ib_lat), 0.0)
    pipeline = m * stage + bubble + pp_comm

    # Data parallel (hierarchical when several DP ranks share a node; experts over their dp/ep replicas).
    # ZeRO-0: all-reduce the gradients once per step; ZeRO >= 1: reduce-scatter them in the reduction precision
    # and all-gather the updated parameters in the weight precision; ZeRO-2/3 reduce-scatter after every
    # micro-batch unless the stack accumulates unsharded; ZeRO-3 gathers the parameters again for every
    # micro-batch's forward and backward (Rajbhandari et al. 2020; PyTorch FSDP, Zhao et al. 2023).
    dense_p, expert_p = params_per_device(d, tp, pp, ep, lps) if params is None else params
    dp_per_node = vmax(vmin(node_size / (tp * cp), dp), 1.0)
    edp = vmax(dp / ep, 1.0)
    g_dense, g_exp = bytes_grad * dense_p, bytes_grad * expert_p
    # expert weights are data-parallel over dp/ep replicas, across nodes. A plain ZeRO stage skips the
    # collectives it does not run (ZeRO-0 only all-reduces; >= 1 only reduce-scatters and gathers).
    z1 = zero >= 1
    ar = rs = ag = 0.0
    if z1 is not True:
        ar = col.hierarchical_allreduce(g_dense, dp, dp_per_node, su_bw, su_lat, ib_bw, ib_lat)
        if d.n_moe > 0:
            ar = ar + col.allreduce(g_exp, edp, ib_bw, ib_lat)
    if z1 is not False:
        rs = col.hierarchical_allgather(g_dense, dp, dp_per_node, su_bw, su_lat, ib_bw, ib_lat)
        ag = col.hierarchical_allgather(bytes_el * dense_p, dp, dp_per_node, su_bw, su_lat, ib_bw, ib_lat)
        if d.n_moe > 0:
            rs = rs + col.allgather(g_exp, edp, ib_bw, ib_lat)
            ag = ag + col.allgather(bytes_el * expert_p, edp, ib_bw, ib_lat)
    n_rs = vwhere(zero >= 2, vwhere(grad_each_mb > 0.5, m, 1.0), 1.0)
    z3 = zero >= 3
    bwd_comm = vwhere(z1, n_rs * rs, ar) + vwhere(z3, m * ag, 0.0)
    fwd_comm = vwhere(z3, m * ag, vwhere(z1, ag, 0.0))
    # per-bucket overlap (one bucket per layer chunk): the reduction of the last chunk's gradients, and the
    # gather of the first chunk's parameters, cannot hide
    chunk = 1.0 - 1.0 / (lps * v)
    # the windows are the layers' wall time (their exposed TP/CP/EP waits included: the data-parallel traffic
    # flows meanwhile; a host-bound layer counts its host time), two thirds of it backward (2 of a layer's 3
    # GEMM passes): fixed shares, so a faster chip shrinks the windows no faster than the step
    wall = lps * layer
    bwd_win = dp_overlap * wall * (2.0 / 3.0) * vwhere(z3, m, n_rs)
    fwd_win = dp_overlap * wall * (1.0 / 3.0) * vwhere(z3, m, 1.0)
    dp_comm = col.overlapped(bwd_comm, vmin(bwd_win, chunk * bwd_comm), sm) \
        + col.overlapped(fwd_comm, vmin(fwd_win, chunk * fwd_comm), sm)

    local_params = (dense_p + expert_p) / vwhere(zero >= 1, dp, 1.0)
    optimizer = opt_bytes * local_params / bw
    if d.tied:  # serial after the flush: the first and last stages all-reduce the shared embedding's gradient
        optimizer = optimizer + vwhere(pp > 1, col.allreduce(bytes_grad * d.embed_w / tp, 2.0, ib_bw, ib_lat), 0.0)
    # the jitter scales the GPU work (a host-bound layer's idle wait is not GPU time that can straggle, and
    # counting it would let faster links, which move time from communication into that wait, add jitter)
    gpu_stage = lps * (layer_gpu - tp_comm - cp_comm - ep_comm) + 3.0 * head_fwd + loss
    straggler = straggler_cv * expected_max_normal(n_ranks) * m * gpu_stage
    step = pipeline + dp_comm + optimizer + straggler
    return {
        "step": step, "compute": m * (compute_stage - lps * recomp), "recompute": m * lps * recomp,
        "tp_comm": m * (lps * tp_comm + 2.0 * tp_comm / n_tp_coll), "cp_comm": m * lps * cp_comm,
        "ep_comm": m * lps * ep_comm, "pp_comm": pp_comm, "bubble": bubble, "dp_comm": dp_comm,
        "optimizer": optimizer, "straggler": straggler, "microbatches": m,
    }


# training_step's hardware and software-stack parameters in order (peak .. grad_reduce_bytes: hardware_args' keys),
# which evaluate passes by position, as the rest (binding keywords costs more than the rest of the call)
STEP_HW = training_step.__code__.co_varnames[14:training_step.__code__.co_varnames.index("dp_overlap")]
_step_hw = operator.itemgetter(*STEP_HW)
# the stack's numbers only the memory reads (stacks._PHYSICS): optimizer state and fp8 weight copies per parameter
MEMORY_HW = ("opt_state", "fp8_weights")


def evaluate(d, tp, pp, dp, cp, ep, mb, gbs, seq, v, recompute, zero, flash, sp, tokens, capacity, hw,
             bytes_el=2.0, bytes_grad=2.0, dp_overlap=1.0, tp_overlap=0.0, ep_overlap=0.0,
             straggler_cv=C.STRAGGLER_CV):
    """Everything a training run's result reports, from one set of (scalar or array) inputs: step time and its
    breakdown, memory by category, feasibility, time to train `tokens`, MFU and HFU.

    One FLOP convention: the FLOPs the step executes, causal attention counted as half the s^2 term (MFU: the
    model's forward + backward; HFU: plus the recomputation the layout performs), over the dense peak of the
    precision (fp8: the fp8 peak). So MFU <= HFU <= 1. hw: hardware_args' dict, exactly training_step's hardware
    and stack parameters (STEP_HW) and the memory's (MEMORY_HW). The memory reads the stack's grad_reduce_bytes,
    grad_each_mb, opt_state and fp8_weights from it, and keeps fp8 weight copies when the linear GEMMs run at an
    fp8 rate (lin_peak set)."""
    if len(hw) != len(STEP_HW) + len(MEMORY_HW):  # a key nothing takes (or a lacking one) would go unnoticed
        raise TypeError(f"hw must hold training_step's hardware and stack parameters {STEP_HW} and the memory's "
                        f"{MEMORY_HW}, got {sorted(hw)}")
    params = params_per_device(d, tp, pp, ep, vceil(d.L / pp))  # the step's traffic and the memory share one count
    # the layout, hardware and options go by position (in the signature's order)
    out = training_step(d, tp, pp, dp, cp, ep, mb, gbs, seq, v, recompute, zero, flash, sp, *_step_hw(hw), dp_overlap,
                        tp_overlap, ep_overlap, straggler_cv, bytes_el, bytes_grad, params)
    lin_peak, sel_gemm = hw["lin_peak"], hw["sel_gemm"]
    # by position: bytes_w .. fp8_weight_bytes
    mem = memory_per_device(d, tp, pp, dp, cp, ep, mb, seq, v, recompute, zero, flash, sp, out["microbatches"],
                            bytes_el, hw["grad_reduce_bytes"] or bytes_grad, hw["opt_state"], hw["grad_each_mb"],
                            0.0 if lin_peak is None else 1.0, sel_gemm if hw["op_sac"] > 0.0 else None, params,
                            hw["replay"], hw["dispatch_bytes"] or None, hw["fp8_weights"])
    n = tp * pp * dp * cp
    step = out["step"]
    tokens_per_step = gbs * seq
    head = 2.0 * d.h * d.V
    mm = 2.0 * d.mm_params  # the layers' linear GEMMs
    attn = 0.5 * d.attn_coef * seq  # causal: half the s^2 term
    fwd_tok = mm + attn + head
    sel = sel_gemm * mm + vwhere(flash, 0.0, attn)
    if hw["replay"] and d.mla:  # the replayed MLA up-projections (training_step's replay)
        sel = sel + hw["replay"] * 2.0 * d.L * (d.q_up[0] * d.q_up[1] + d.kv_up[0] * d.kv_up[1])
    extra = vwhere(recompute >= 2, mm + attn, vwhere(recompute >= 1, sel, 0.0))
    peak_total = n * (hw["peak"] if lin_peak is None else lin_peak)
    mem_total = mem["weights"] + mem["gradients"] + mem["optimizer"] + mem["activations"] + mem["reserved"]
    out["memory"], out["memory_total"], out["feasible"] = mem, mem_total, mem_total <= capacity
    out["steps"], out["time_to_train"] = tokens / tokens_per_step, step * tokens / tokens_per_step
    out["tokens_per_s"], out["mfu"] = tokens_per_step / step, 3.0 * fwd_tok * tokens_per_step / step / peak_total
    out["hfu"] = (3.0 * fwd_tok + extra) * tokens_per_step / step / peak_total
    out["flops_per_device"] = 3.0 * fwd_tok * tokens_per_step / step / n
    out["scaling_efficiency"] = (out["compute"] + out["recompute"]) / step
    return out


inline_helpers(globals())
