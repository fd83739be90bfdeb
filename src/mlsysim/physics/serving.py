"""One serving replica: prefill (TTFT) and decode (inter-token latency) under TP/PP/EP, memory by category,
KV capacity and speculative decoding. Reuses the training kernels (layer_times, gemm_time) and collectives:
one formula, two faces. Times in s, sizes in bytes.

Simplifications (stated): GEMMs stream weights (and their activation operands) at the weight width; elementwise
passes (norms, residuals, the gated activation) and TP all-reduce messages are bf16 (layer_times' ew_factor =
2 B / weight bytes); the MoE token permute is counted at the weight width; decode KV reads are counted at the
weight width inside layer_times and corrected to the KV width here (kv_bytes sets the memory).
`batch` and `chunk` are the replica's; with ep > 1 (an MoE model) the attention is data-parallel over the ep
ranks, each taking batch/ep sequences and chunk/ep prompt tokens (physics/serving_moe.py adds the expert
all-to-all; layer_times runs the routed experts at the busiest rank's load).
"""
from __future__ import annotations

from . import collectives as col
from . import constants as C
from ._np import vceil, vmin
from .serving_moe import dispatch_combine_s, ep_active
from .training import gemm_time, layer_times, params_per_device

ACT_BYTES = 2.0  # bf16 activations between layers and in the TP all-reduce


def replica_comm_s(d, tokens, tp, pp, su_bw, su_lat):
    """The replica's TP all-reduces (two per layer: after attention and after the FFN, bf16) and pipeline sends
    of one forward pass over `tokens` tokens (Megatron-style TP, Shoeybi et al. 2019)."""
    return d.L * 2.0 * col.allreduce(ACT_BYTES * tokens * d.h, tp, su_bw, su_lat) \
        + (pp - 1.0) * col.p2p(ACT_BYTES * tokens * d.h, su_bw, su_lat)


def pass_time(d, *, batch, new_tokens, context, tp, pp, ep, peak, ceiling, mem_bw, attn_eff, wbytes, su_bw,
              su_lat, decode, kvbytes=None):
    """(total s, communication s) of one forward pass of `batch` sequences x `new_tokens` over `context`.
    `kvbytes` (if given) corrects decode's KV-cache read, which layer_times streams at the weight width, to the
    KV width (e.g. fp4 weights with an fp8 cache)."""
    par = ep_active(d, ep)  # attention data-parallel over the ep ranks
    dp = ep if par else 1.0
    batch = batch / dp
    T = batch * new_tokens
    moe_frac = d.n_moe / d.L
    ew = ACT_BYTES / wbytes  # elementwise passes move bf16 activations, not weight-width ones
    kv_seqs = batch if decode else None  # verifying drafted tokens reads each sequence's cache once
    f0 = layer_times(d, T, context, tp, 1.0, ep, peak, ceiling, mem_bw, True, False, False, wbytes, attn_eff,
                     decode, ew_factor=ew, kv_seqs=kv_seqs)[0]
    f1 = layer_times(d, T, context, tp, 1.0, ep, peak, ceiling, mem_bw, True, False, True, wbytes, attn_eff,
                     decode, ew_factor=ew, kv_seqs=kv_seqs)[0] if d.n_moe > 0 else f0
    a2a = 0.0
    if par:
        a2a = dispatch_combine_s(d, T, tp, ep, su_bw, su_lat)
        f1 = f1 + a2a
    layer = (1.0 - moe_frac) * f0 + moe_frac * f1
    rows = batch * new_tokens if decode else batch  # verification needs logits at every drafted position
    head = gemm_time(rows, d.h, d.V / tp, peak, ceiling, mem_bw, wbytes)
    comm = replica_comm_s(d, T, tp, pp, su_bw, su_lat) + d.n_moe * a2a
    if decode and kvbytes is not None:
        layer = layer + batch * context * d.kv_elems * (kvbytes - wbytes) / (1.0 if d.mla else vmin(tp, d.kv)) \
            / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    return d.L * layer + head + comm, comm


def mixed_pass_time(d, *, batch, chunk, context, prompt_context, tp, pp, ep, peak, ceiling, mem_bw, attn_eff,
                    wbytes, su_bw, su_lat, kvbytes=None, new_tokens=1.0):
    """(total s, communication s) of one continuous-batching iteration: `batch` sequences decode `new_tokens`
    each (k + 1 when verifying k drafted tokens: each sequence's KV is read once) over `context`, and a prefill
    chunk of `chunk` tokens extends prompts of `prompt_context` tokens. The linear layers run ONE set of GEMMs over
    the decode + chunk rows (one weight read, the compute of both); the attention cores, elementwise passes and KV
    reads of the two parts add (Sarathi-Serve, Agrawal et al. 2024)."""
    args = (tp, 1.0, ep, peak, ceiling, mem_bw, True, False)
    par = ep_active(d, ep)  # attention data-parallel over the ep ranks
    dp = ep if par else 1.0
    batch, chunk = batch / dp, chunk / dp
    rows = batch * new_tokens
    T = rows + chunk

    ew = ACT_BYTES / wbytes  # elementwise passes move bf16 activations, not weight-width ones

    def layer(moe):
        fd, _, _, gd = layer_times(d, rows, context, *args, moe, wbytes, attn_eff, True, detail=True, ew_factor=ew,
                                   kv_seqs=batch)
        fp, _, _, gp = layer_times(d, chunk, prompt_context, *args, moe, wbytes, attn_eff, False, detail=True,
                                   ew_factor=ew)
        g = layer_times(d, T, prompt_context, *args, moe, wbytes, attn_eff, False, detail=True)[3]
        return (fd - gd) + (fp - gp) + g
    f0 = layer(False)
    moe_frac = d.n_moe / d.L
    a2a = 0.0
    if d.n_moe > 0:
        f1 = layer(True)
        if par:
            a2a = dispatch_combine_s(d, T, tp, ep, su_bw, su_lat)
            f1 = f1 + a2a
        lay = (1.0 - moe_frac) * f0 + moe_frac * f1
    else:
        lay = f0
    if kvbytes is not None:  # decode's KV read at the KV width (layer_times streams it at the weight width)
        lay = lay + batch * context * d.kv_elems * (kvbytes - wbytes) / (1.0 if d.mla else vmin(tp, d.kv)) \
            / (mem_bw * C.MEMORY_BW_EFFICIENCY)
    comm = replica_comm_s(d, T, tp, pp, su_bw, su_lat) + d.n_moe * a2a
    head = gemm_time(rows + 1.0, d.h, d.V / tp, peak, ceiling, mem_bw, wbytes)
    return d.L * lay + head + comm, comm


def memory(d, *, batch, context, prefill_tokens, tp, pp, ep, wbytes, kvbytes):
    """Bytes per device by category (most loaded pipeline stage); with attention DP over ep ranks (an MoE
    model, ep > 1) a device holds batch/ep sequences and prefills prefill_tokens/ep."""
    dp = ep if ep_active(d, ep) else 1.0
    batch, prefill_tokens = batch / dp, prefill_tokens / dp
    lps = vceil(d.L / pp)
    dense, expert = params_per_device(d, tp, pp, ep, lps)
    kv_per_seq = kv_bytes_per_seq(d, context=context, tp=tp, pp=pp, kvbytes=kvbytes)
    ffn_w = (d.topk + d.shared) * d.effn if d.n_moe > 0 else d.ffn
    acts = ACT_BYTES * prefill_tokens * (d.qkv_act + d.attn_out_k + ffn_w * d.mats) / tp \
        + 4.0 * batch * d.V / tp  # largest layer's tensors + fp32 logits
    return {"weights": wbytes * (dense + expert), "kv_cache": batch * kv_per_seq, "activations": acts,
            "workspace": C.RESERVED_MEMORY_BYTES + 0.0 * acts}


def kv_bytes_per_seq(d, *, context, tp, pp, kvbytes):
    """KV cache of one sequence on one device: layers of this stage x KV elements (split over TP up to the
    KV-head count; MLA's latent is replicated) x context."""
    split = 1.0 if d.mla else vmin(tp, d.kv)
    return kvbytes * vceil(d.L / pp) * d.kv_elems / split * context


def mtp_dims(d):
    """One multi-token-prediction module as a one-layer model (DeepSeek-AI 2024, arXiv:2412.19437 Sec 2.2): a
    transformer block of the model's own kind (an MoE block where the model has experts), a 2h x h projection of
    [hidden; next-token embedding] and the model's output head and embedding, shared (no new head weights)."""
    from .workload_dims import Dims
    m = Dims(**vars(d))
    moe = 1.0 if d.n_moe > 0 else 0.0
    m.L, m.n_moe, m.n_dense, m.moe_frac = 1.0, moe, 1.0 - moe, moe
    m.layer_dense_w = d.attn_w + 2.0 * d.norm_w + (1.0 - moe) * d.dense_mlp_w \
        + moe * (d.shared * d.expert_w + d.router_w) + 2.0 * d.h * d.h  # + the projection
    m.embed_w = m.head_w = m.embed_max = m.embed_sum = 0.0  # shared with the model
    return m


def mtp_draft_s(d, *, batch, context, **hw):
    """One drafted token from an MTP module: its block and the shared head (pass_time of mtp_dims) plus the 2h x h
    projection GEMM."""
    m = mtp_dims(d)
    t, _ = pass_time(m, batch=batch, new_tokens=1.0, context=context, decode=True, **hw)
    return t + gemm_time(batch, 2.0 * d.h, d.h / hw["tp"], hw["peak"], hw["ceiling"], hw["mem_bw"], hw["wbytes"])


def accepted_per_step(a, k):
    """Expected tokens produced per target verification step with k drafted tokens at per-token acceptance a:
    (1 - a^(k+1)) / (1 - a) (Leviathan et al. 2023, arXiv:2211.17192, Eq. 1)."""
    return (1.0 - a ** (k + 1)) / (1.0 - a)
