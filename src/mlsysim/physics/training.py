"""Step time and memory of one training step under TP/PP/DP/CP/EP, on floats or numpy arrays alike.

`dims` (from `model_dims(workload)`) are scalars of one model; every layout and hardware argument may be a
float or a numpy array (the explorer broadcasts millions of configurations through the same lines).
Times in s, sizes in bytes, rates in FLOP/s or bytes/s. References: Narayanan et al. 2021 (SC21; 1F1B and
interleaved schedules, Eq. 3), Korthikanti et al. 2022 (activation memory, sequence parallelism, selective
recompute), Rajbhandari et al. 2020 (ZeRO), Dao 2023 (FlashAttention-2).
"""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from . import collectives as col
from . import constants as C
from ._np import vceil, vlog, vmax, vmin, vsqrt, vwhere
from .transformer import attention_params, matmul_params_per_token, param_counts

RECOMPUTE = {"none": 0, "selective": 1, "full": 2}


def default_global_batch(target_tokens, seq, dp, mb):
    """Sequences per step when none is given: the target batch in tokens over seq_len, rounded (half to even) to a
    multiple of dp x microbatch, at least one sequence per data-parallel micro-batch."""
    q = target_tokens / seq / (dp * mb)
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


def model_dims(m) -> SimpleNamespace:
    """Scalars the step model needs, derived once from a workload record."""
    pc = param_counts(m)
    h = float(m.hidden)
    attn_w = attention_params(m)
    out_k = float(m.n_heads * m.v_head_dim)
    mats = 3.0 if m.gated_mlp else 2.0
    n_moe = float(m.n_layers - m.n_dense_layers) if m.n_experts > 1 else 0.0
    return SimpleNamespace(
        L=float(m.n_layers), h=h, a=float(m.n_heads), kv=float(m.n_kv_heads), hd=float(m.head_dim),
        vhd=float(m.v_head_dim), V=float(m.vocab), mats=mats, ffn=float(m.ffn_hidden),
        effn=float(m.expert_ffn_hidden), E=float(m.n_experts), topk=float(m.experts_per_token),
        shared=float(m.n_shared_experts), n_moe=n_moe, n_dense=float(m.n_layers) - n_moe,
        attn_in_n=(attn_w - out_k * h) / h, attn_out_k=out_k, qkv_act=float(m.n_heads * m.head_dim
                                                                         + 2 * m.n_kv_heads * m.head_dim),
        attn_w=float(attn_w), norm_w=float(2 * h if m.linear_bias else h),
        dense_mlp_w=float(pc["per_layer_mlp_dense"]), expert_w=float(pc["per_expert"]),
        router_w=h * m.n_experts if m.n_experts > 1 else 0.0,
        embed_w=float(pc["embedding"]), head_w=float(pc["lm_head"]), tied=bool(m.tied_embeddings),
        total_params=float(pc["total"]), active_params=float(pc["active"]), dropout=bool(m.dropout),
        mm_params=float(matmul_params_per_token(m)),
        attn_coef=2.0 * m.n_layers * m.n_heads * (m.head_dim + m.v_head_dim),
        # KV-cache elements per token per layer: K and V per KV head, or MLA's compressed latent + rope key.
        kv_elems=float(m.kv_lora_rank + m.qk_rope_head_dim if m.kv_lora_rank else 2 * m.n_kv_heads * m.head_dim),
        mla=bool(m.kv_lora_rank),
    )


# ----------------------------------------------------------------------------------------------- kernels
def gemm_time(m, k, n, peak, ceiling, mem_bw, bytes_el=2.0):
    """One GEMM (m x k) @ (k x n): the slower of compute at a shape-dependent efficiency and memory traffic."""
    x0 = C.GEMM_HALF_DIM
    eff = ceiling * (m / (m + x0)) * (k / (k + x0)) * (n / (n + x0))
    t_c = 2.0 * m * k * n / (peak * eff)
    t_m = bytes_el * (m * k + k * n + m * n) / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    return vmax(t_c, t_m)


def layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, moe, bytes_el=2.0, attn_eff=None,
                decode=False):
    """Forward, backward and recompute-able parts of one layer for T local tokens (after CP split), on one device.

    Returns (fwd_s, bwd_s, attn_core_fwd_s): the attention core is what selective recompute replays.
    attn_eff: fused-attention throughput as a fraction of peak (None: a fixed share of the GEMM ceiling).
    `moe` (a Python bool/float, not an array) selects an MoE FFN or the dense FFN. `decode`: T new tokens each
    attend to a cached context of `seq` tokens whose K/V stream from HBM (inference decode).
    """
    ff = lambda k, n: gemm_time(T, k, n, peak, ceiling, mem_bw, bytes_el)
    proj = ff(d.h, d.attn_in_n / tp) + ff(d.attn_out_k / tp, d.h)
    heads = d.a / tp
    # Attention core: causal context seq/2 per query on average.
    attn_eff = ceiling * C.FLASH_ATTENTION_RELATIVE if attn_eff is None else attn_eff
    if not decode:  # shorter query chunks (context parallelism splits the sequence) run less efficiently
        q = seq / cp
        attn_eff = attn_eff * (q / (q + C.FLASH_HALF_SEQ)) \
            * ((C.FLASH_REFERENCE_SEQ + C.FLASH_HALF_SEQ) / C.FLASH_REFERENCE_SEQ)
    if_flash_f = 2.0 * T * (seq * (1.0 if decode else 0.5)) * heads * (d.hd + d.vhd) / (peak * attn_eff)
    if decode:  # reading the KV cache bounds decode attention
        kv_read = T * seq * d.kv_elems * bytes_el / (1.0 if d.mla else vmin(tp, d.kv))
        if_flash_f = vmax(if_flash_f, kv_read / (mem_bw * C.MEMORY_BW_EFFICIENCY))
    # Without FlashAttention the full s x s scores are computed (mask applied after) as batched GEMMs per head,
    # and the softmax/dropout stream the score matrix through HBM.
    naive_gemm = heads * (gemm_time(T, d.hd, seq, peak, ceiling, mem_bw, bytes_el)
                          + gemm_time(T, seq, d.vhd, peak, ceiling, mem_bw, bytes_el))
    softmax = C.SOFTMAX_PASSES * heads * T * seq * bytes_el / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    core_f = vwhere(flash, if_flash_f, naive_gemm + softmax)
    core_b = vwhere(flash, C.FLASH_BWD_FACTOR * if_flash_f, 2.0 * naive_gemm + 2.0 * softmax)
    # FFN: dense, or routed experts (tokens gathered over the EP group: T*topk per rank) + shared experts.
    up_n = (d.mats - 1.0)
    dense_ffn = ff(d.h, up_n * d.ffn / tp) + ff(d.ffn / tp, d.h)
    if moe:  # routed experts: tokens gathered over the EP group (T*topk per rank), plus shared experts
        # Experts this rank's tokens touch: all of them in training; few in small-batch decode.
        touched = (d.E / ep) * (1.0 - (1.0 - d.topk / d.E) ** (T * ep))
        m_e = T * d.topk / touched  # tokens per touched local expert
        ffn_t = touched * (gemm_time(m_e, d.h, up_n * d.effn / tp, peak, ceiling, mem_bw, bytes_el)
                              + gemm_time(m_e, d.effn / tp, d.h, peak, ceiling, mem_bw, bytes_el)) + ff(d.h, d.E)
        if d.shared > 0:
            ffn_t = ffn_t + ff(d.h, up_n * d.shared * d.effn / tp) + ff(d.shared * d.effn / tp, d.h)
        ffn_width = (d.topk + d.shared) * d.effn
    else:
        ffn_t = dense_ffn
        ffn_width = d.ffn
    # Streaming elementwise ops: replicated on every TP rank unless sequence parallelism shards them.
    ew_bytes = bytes_el * T * (C.ELEMENTWISE_PASSES * d.h / vwhere(sp, tp, 1.0)
                               + C.ELEMENTWISE_FFN_PASSES * ffn_width * (d.mats - 1.0) / tp)
    ew = ew_bytes / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    gemms = proj + ffn_t
    fwd = gemms + core_f + ew
    bwd = 2.0 * gemms + core_b + 2.0 * ew
    return fwd, bwd, core_f


# ----------------------------------------------------------------------------------------------- memory
def params_per_device(d, tp, pp, ep, layers_per_stage):
    """(dense-replicated params, expert params) held by the most loaded device (first/last pipeline stage)."""
    moe_frac = d.n_moe / d.L
    per_layer_dense = d.attn_w + 2.0 * d.norm_w + (1.0 - moe_frac) * d.dense_mlp_w \
        + moe_frac * (d.shared * d.expert_w + d.router_w)
    embed = vwhere(pp > 1, vmax(d.embed_w, d.head_w), d.embed_w + d.head_w)
    dense = (layers_per_stage * per_layer_dense + embed) / tp
    expert = layers_per_stage * moe_frac * d.E * d.expert_w / (ep * tp)
    return dense, expert


def activation_bytes_per_layer(d, T, seq, tp, recompute, flash, sp, moe, bytes_el=2.0):
    """Activations one layer keeps for backward, per microbatch of T tokens (Korthikanti et al. 2022 Sec 4,
    generalised to GQA and gated/MoE FFNs). The 10h term (LayerNorm inputs, dropout masks, QKV and FFN inputs)
    is sharded only with sequence parallelism; full recompute keeps the layer input alone."""
    ffn_width = (d.topk + d.shared) * d.effn if moe else d.ffn
    # Sharded (24h for GPT): Q, K, V, projection input; FFN tensors: up output + activation output (GELU), or
    # gate, up and product (SwiGLU).
    sharded = T * bytes_el * (d.qkv_act + d.attn_out_k + ffn_width * d.mats)
    # Replicated (10h for GPT): two LayerNorm inputs, QKV and FFN inputs (bytes_el each), two 1-byte dropout
    # masks when the model trains with dropout.
    replicated = T * d.h * (4.0 * bytes_el + (2.0 if d.dropout else 0.0))
    # softmax output (+ dropout output and mask), per head
    scores = T * seq * d.a * (bytes_el * 2.0 + 1.0 if d.dropout else bytes_el)
    base = replicated / vwhere(sp, tp, 1.0) + sharded / tp
    keep_scores = vwhere(flash, 0.0, vwhere(recompute >= 1, 0.0, scores / tp))
    full = bytes_el * T * d.h / vwhere(sp, tp, 1.0)
    return vwhere(recompute >= 2, full, base + keep_scores)


def memory_per_device(d, *, tp, pp, dp, cp, ep, mb, seq, v, recompute, zero, flash, sp, microbatches,
                      bytes_w=2.0, bytes_grad=2.0, bytes_opt=12.0):
    """Bytes per device by category on the most loaded (first) pipeline stage. ZeRO-1 shards optimizer state,
    -2 also gradients, -3 also weights, over the data-parallel group (Rajbhandari et al. 2020)."""
    # Uneven splits put the spare layers away from the first stage, which holds the most activations in flight
    # (as Meta did for Llama 3 405B: 126 layers on 16 stages, Sec 3.3.2), so it carries floor(L/pp) layers.
    lps = vceil(d.L / pp)
    first = vmax(vceil(d.L / pp - 0.999999), 1.0)
    dense_p, expert_p = params_per_device(d, tp, pp, ep, lps)
    edp = vmax(dp / ep, 1.0)  # experts are data-parallel over dp/ep replicas
    w = bytes_w * (dense_p / vwhere(zero >= 3, dp, 1.0) + expert_p / vwhere(zero >= 3, edp, 1.0))
    g = bytes_grad * (dense_p / vwhere(zero >= 2, dp, 1.0) + expert_p / vwhere(zero >= 2, edp, 1.0))
    o = bytes_opt * (dense_p / vwhere(zero >= 1, dp, 1.0) + expert_p / vwhere(zero >= 1, edp, 1.0))
    T = mb * seq / cp
    moe_frac = d.n_moe / d.L
    act_layer = (1.0 - moe_frac) * activation_bytes_per_layer(d, T, seq / cp, tp, recompute, flash, sp, 0.0) \
        + moe_frac * activation_bytes_per_layer(d, T, seq / cp, tp, recompute, flash, sp, 1.0)
    # 1F1B: the first stage holds pp microbatches in flight (fewer if there are fewer); interleaving adds
    # (p-1)/(p v) (Korthikanti Sec 4.2.3 / Narayanan 2021 Sec 2.2.2).
    in_flight = vmin(pp, microbatches) * vwhere(v > 1, 1.0 + (pp - 1.0) / (pp * v), 1.0)
    act = act_layer * first * in_flight
    logits = vwhere(pp > 1, 0.0, 1.0) * 2.0 * 4.0 * T * d.V / tp  # fp32 logits + grads (PP: on the last stage)
    act = act + logits
    return {"weights": w, "gradients": g, "optimizer": o, "activations": act,
            "reserved": C.RESERVED_MEMORY_BYTES + 0.0 * act}


# ----------------------------------------------------------------------------------------------- the step
def expected_max_normal(n):
    """E[max of n standard normals] (Gumbel asymptotic; 0 for n = 1): the straggler multiplier."""
    n = vmax(n, 1.0)
    ln = vlog(vmax(n, 2.0))
    s = vsqrt(2.0 * ln)
    val = s - (vlog(vmax(ln, 1e-9)) + math.log(4.0 * math.pi)) / (2.0 * s)
    return vwhere(n >= 2.0, vmax(val, 0.0), 0.0)


def training_step(d, *, tp, pp, dp, cp, ep, mb, gbs, seq, v, recompute, zero, flash, sp,
                  peak, ceiling, mem_bw, node_size, su_bw, su_lat, ib_bw, ib_lat, attn_eff=None,
                  dp_overlap=1.0, tp_overlap=0.0, ep_overlap=0.0, straggler_cv=C.STRAGGLER_CV, bytes_el=2.0,
                  bytes_grad=2.0):
    """Time of one optimizer step and its breakdown (seconds).

    peak: dense FLOP/s at the training precision; ceiling: achievable matmul fraction of peak;
    su_bw/ib_bw: achieved scale-up / scale-out bandwidth per device per direction; su_lat/ib_lat: latencies.
    dp_overlap: fraction of the last microbatch's backward that DP gradient traffic can hide behind.
    tp_overlap: share of TP collectives overlapped with GEMMs (0: exposed, as in Megatron without comm overlap);
    ep_overlap: share of the expert layers' compute that hides expert all-to-all traffic.
    """
    n_ranks = tp * pp * dp * cp
    m = gbs / (dp * mb)  # microbatches per pipeline per step
    T = mb * seq / cp
    lps = vceil(d.L / pp)
    moe_frac = d.n_moe / d.L
    f0, b0, c0 = layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, False, bytes_el, attn_eff)
    if d.n_moe > 0:
        f1, b1, c1 = layer_times(d, T, seq, tp, cp, ep, peak, ceiling, mem_bw, flash, sp, True, bytes_el, attn_eff)
    else:
        f1, b1, c1 = f0, b0, c0
    fwd = (1.0 - moe_frac) * f0 + moe_frac * f1
    bwd = (1.0 - moe_frac) * b0 + moe_frac * b1
    core = (1.0 - moe_frac) * c0 + moe_frac * c1
    recomp = vwhere(recompute >= 2, fwd, vwhere(flash, 0.0, vwhere(recompute >= 1, core, 0.0)))

    # Which link each group uses: Megatron order tp (innermost), cp, ep/dp, pp (outermost).
    tp_bw = vwhere(tp <= node_size, su_bw, ib_bw)
    tp_lat = vwhere(tp <= node_size, su_lat, ib_lat)
    act_msg = bytes_el * T * d.h
    n_tp_coll = 4.0 + vwhere(recompute >= 2, 2.0, 0.0)  # fwd 2, bwd 2, full-recompute fwd 2 (AR or AG+RS)
    tp_comm = (1.0 - tp_overlap) * n_tp_coll * col.allreduce(act_msg, tp, tp_bw, tp_lat)
    cp_in = tp * cp <= node_size
    kv_bytes = bytes_el * T * 2.0 * d.kv * d.hd / tp
    cp_bw = vwhere(cp_in, su_bw, ib_bw)
    cp_raw = col.allgather(kv_bytes * cp, cp, cp_bw, vwhere(cp_in, su_lat, ib_lat))
    cp_comm = vmax(cp_raw - c0, 0.0) + vmax(2.0 * cp_raw - C.FLASH_BWD_FACTOR * c0, 0.0)  # ring overlaps core
    ep_in = tp * ep <= node_size
    a2a = col.alltoall(bytes_el * T * d.topk * d.h, ep, vwhere(ep_in, su_bw, ib_bw), vwhere(ep_in, su_lat, ib_lat))
    # dispatch + combine, forward and backward; ep_overlap hides a share behind the expert layers' compute
    # (DualPipe-style scheduling, DeepSeek-V3 report Sec 3.2.1)
    ep_comm = moe_frac * vmax(4.0 * a2a - ep_overlap * (f1 + b1), 0.0)
    layer = fwd + bwd + recomp + tp_comm + cp_comm + ep_comm
    head_fwd = gemm_time(T, d.h, d.V / tp, peak, ceiling, mem_bw, bytes_el)
    head = 3.0 * head_fwd + 2.0 * tp_comm / n_tp_coll
    stage = lps * layer + head  # the last stage carries the LM head; it sets the pace
    compute_stage = lps * (fwd + bwd + recomp) + 3.0 * head_fwd

    # Pipeline: 1F1B fill/drain bubble (p-1)/v stage-times; p2p activations (scatter-gather over TP).
    bubble = (pp - 1.0) / v * stage
    p2p_one = col.p2p(act_msg / vwhere(sp, tp, 1.0), ib_bw, ib_lat)
    pp_comm = vwhere(pp > 1, 2.0 * (pp - 1.0) * v * p2p_one, 0.0)
    pipeline = m * stage + bubble + pp_comm

    # Data parallel: gradient all-reduce (or reduce-scatter + all-gather with ZeRO: same volume), hierarchical
    # when several DP ranks share a node; hides behind the last microbatch's backward when overlapped.
    dense_p, expert_p = params_per_device(d, tp, pp, ep, lps)
    dp_per_node = vmax(vmin(node_size / (tp * cp), dp), 1.0)
    grads = bytes_grad * dense_p
    dp_raw = col.hierarchical_allreduce(grads, dp, dp_per_node, su_bw, su_lat, ib_bw, ib_lat)
    edp = vmax(dp / ep, 1.0)
    dp_raw = dp_raw + col.allreduce(bytes_grad * expert_p, edp, ib_bw, ib_lat)
    # ZeRO-3 gathers the weights before each micro-batch's forward and backward
    z3 = vwhere(zero >= 3, m * 2.0 * col.hierarchical_allgather(bytes_el * (dense_p + expert_p), dp, dp_per_node,
                                                                su_bw, su_lat, ib_bw, ib_lat), 0.0)
    hide = dp_overlap * lps * bwd
    dp_comm = vmax(dp_raw - hide, 0.0) + vmax(z3 - dp_overlap * m * lps * (fwd + bwd), 0.0)

    local_params = (dense_p + expert_p) / vwhere(zero >= 1, dp, 1.0)
    optimizer = C.OPTIMIZER_BYTES_PER_PARAM * local_params / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    straggler = straggler_cv * expected_max_normal(n_ranks) * m * compute_stage
    step = pipeline + dp_comm + optimizer + straggler
    return {
        "step": step, "compute": m * (compute_stage - lps * recomp), "recompute": m * lps * recomp,
        "tp_comm": m * (lps * tp_comm + 2.0 * tp_comm / n_tp_coll), "cp_comm": m * lps * cp_comm,
        "ep_comm": m * lps * ep_comm, "pp_comm": pp_comm, "bubble": bubble, "dp_comm": dp_comm,
        "optimizer": optimizer, "straggler": straggler, "microbatches": m,
    }


def evaluate(d, *, tp, pp, dp, cp, ep, mb, gbs, seq, v, recompute, zero, flash, sp, tokens, capacity,
             bytes_el=2.0, bytes_grad=2.0, dp_overlap=1.0, tp_overlap=0.0, ep_overlap=0.0,
             straggler_cv=C.STRAGGLER_CV, **hw):
    """Everything a training run's result reports, from one set of (scalar or array) inputs: step time and its
    breakdown, memory by category, feasibility, time to train `tokens`, MFU (PaLM convention: non-causal
    attention, no recomputation) and HFU (with the recomputation the layout performs)."""
    out = training_step(d, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, gbs=gbs, seq=seq, v=v, recompute=recompute,
                        zero=zero, flash=flash, sp=sp, dp_overlap=dp_overlap, tp_overlap=tp_overlap,
                        ep_overlap=ep_overlap, straggler_cv=straggler_cv,
                        bytes_el=bytes_el, bytes_grad=bytes_grad, **hw)
    mem = memory_per_device(d, tp=tp, pp=pp, dp=dp, cp=cp, ep=ep, mb=mb, seq=seq, v=v, recompute=recompute,
                            zero=zero, flash=flash, sp=sp, microbatches=out["microbatches"], bytes_w=bytes_el,
                            bytes_grad=bytes_grad)
    n = tp * pp * dp * cp
    step = out["step"]
    tokens_per_step = gbs * seq
    head = 2.0 * d.h * d.V
    fwd_tok = 2.0 * d.mm_params + d.attn_coef * seq + head  # non-causal attention (PaLM App. B)
    extra = vwhere(recompute >= 2, fwd_tok - head, vwhere(flash, 0.0, vwhere(recompute >= 1, d.attn_coef * seq, 0.0)))
    peak_total = n * hw["peak"]
    mem_total = mem["weights"] + mem["gradients"] + mem["optimizer"] + mem["activations"] + mem["reserved"]
    out.update(
        memory=mem, memory_total=mem_total, feasible=mem_total <= capacity,
        steps=tokens / tokens_per_step, time_to_train=step * tokens / tokens_per_step,
        tokens_per_s=tokens_per_step / step,
        mfu=3.0 * fwd_tok * tokens_per_step / step / peak_total,
        hfu=(3.0 * fwd_tok + extra) * tokens_per_step / step / peak_total,
        flops_per_device=3.0 * fwd_tok * tokens_per_step / step / n,
        scaling_efficiency=(out["compute"] + out["recompute"]) / step,
    )
    return out
