"""MoE serving with attention data parallelism + expert parallelism: a replica of tp x ep devices runs attention
data-parallel over ep ranks (each rank its own sequences and KV cache, tp-sliced), and the routed experts are
spread over the ep ranks. Each MoE layer adds a dispatch + combine all-to-all (the training physics'
expert_alltoall, forward only) over the scale-up fabric (one NVLink-class domain: a replica wider than it is not
modelled) and waits for the rank whose experts received the most tokens.

Routing is taken as uniform (a trained router with a balance loss; no measured skew is applied): a token's top-k
distinct experts land on a given rank's E/ep experts as a hypergeometric draw, so the busiest rank's load is the
mean + sigma x E[max of ep normals] (expected_max_normal, Blom's approximation, as for training stragglers).
"""
from __future__ import annotations

from ._np import vsqrt
from .training import expected_max_normal, gemm_time, layer_times
from .training_comm import expert_alltoall

ACT_BYTES = 2.0  # bf16 tokens in the dispatch and the combine


def ep_active(d, ep):
    """True where the EP terms apply (an MoE model with ep > 1, or an array of ep values)."""
    return d.n_moe > 0 and not (ep.__class__ in (float, int) and ep == 1)


def dispatch_combine_s(d, T, tp, ep, su_bw, su_lat):
    """One MoE layer's forward all-to-all pair (dispatch T x top-k token copies of h bf16 values, combine them
    back) among ep ranks over the scale-up fabric: half of training's forward + backward expert_alltoall."""
    return 0.5 * expert_alltoall(d, T, tp, ep, ACT_BYTES, tp * ep, su_bw, su_lat, su_bw, su_lat, 0.0, 0.0)


def busiest_rank_factor(d, T, ep):
    """Expected load of the busiest of ep ranks relative to the mean, T tokens per rank, uniform top-k routing:
    per token the copies on one rank are hypergeometric (E experts, E/ep on the rank, top-k drawn), variance
    k (1/ep)(1 - 1/ep)(E - k)/(E - 1); over T x ep tokens, mean T k; max = mean + sigma E[max of ep normals]."""
    k, E = d.topk, d.E
    var = T * ep * k * (1.0 / ep) * (1.0 - 1.0 / ep) * (E - k) / max(E - 1.0, 1.0)
    return 1.0 + expected_max_normal(ep) * vsqrt(var) / (T * k)


def moe_layer_extra_s(d, T, context, tp, ep, peak, ceiling, mem_bw, wbytes, attn_eff, decode, su_bw, su_lat):
    """(extra s per MoE layer, of which communication s) under attention DP + EP: the busiest rank's extra expert
    GEMM time (layer_times' expert GEMMs at its load, f x T tokens, minus at T) and the dispatch/combine."""
    args = (tp, 1.0, ep, peak, ceiling, mem_bw, True, False, True, wbytes, attn_eff, decode)
    f = busiest_rank_factor(d, T, ep)

    def experts(t):  # the MoE layer's linear GEMMs less the attention projections
        proj = gemm_time(t, d.h, d.attn_in_n / tp, peak, ceiling, mem_bw, wbytes) \
            + gemm_time(t, d.attn_out_k / tp, d.h, peak, ceiling, mem_bw, wbytes)
        return layer_times(d, t, context, *args, detail=True)[3] - proj
    a2a = dispatch_combine_s(d, T, tp, ep, su_bw, su_lat)
    return experts(f * T) - experts(T) + a2a, a2a


def weights_read(d, tokens):
    """Weights one pass over `tokens` tokens streams: every dense weight, and in each MoE layer the routed experts
    its tokens touch, E (1 - (1 - k/E)^T) of E in expectation (uniform routing, as layer_times takes it); at one
    token that is the active parameter count (DeepSeek-V3: 37.6B of 671B)."""
    if d.n_moe <= 0:
        return d.total_params
    touched = d.E * (1.0 - (1.0 - d.topk / d.E) ** tokens)
    return d.total_params - d.n_moe * (d.E - touched) * d.expert_w
