"""Inference on one device: prefill and decode time, FLOPs and bytes, through the same kernel model as training."""
from __future__ import annotations

from . import constants as C
from ._np import vmax, vmin
from .training import experts_touched, gemm_time, layer_times


def forward_pass(d, *, batch, new_tokens, context, peak, ceiling, mem_bw, attn_eff=None, bytes_el=2.0,
                 decode=False):
    """Time (s) of one forward pass producing `new_tokens` per sequence for `batch` sequences whose attention
    spans `context` tokens (prefill: new_tokens = context; decode: new_tokens = 1 over a cached context)."""
    T = batch * new_tokens
    moe_frac = d.n_moe / d.L
    args = (d, T, context, 1.0, 1.0, 1.0, peak, ceiling, mem_bw, True, False)
    f0 = layer_times(*args, False, bytes_el, attn_eff, decode)[0]
    f1 = layer_times(*args, True, bytes_el, attn_eff, decode)[0] if d.n_moe > 0 else f0
    layers = d.L * ((1.0 - moe_frac) * f0 + moe_frac * f1)
    head = gemm_time(batch, d.h, d.V, peak, ceiling, mem_bw, bytes_el)  # logits for the last position only
    return layers + head


def forward_flops(d, *, batch, new_tokens, context, decode=False):
    """Model FLOPs of that pass: 2 x active weights per token + attention core + LM head at the last position."""
    ctx = context if decode else context * 0.5
    return batch * new_tokens * (2.0 * d.mm_params + d.attn_coef * ctx) + batch * 2.0 * d.h * d.V


def forward_bytes(d, *, batch, new_tokens, context, bytes_el=2.0, decode=False):
    """Minimum HBM traffic: weights read once, KV cache read (decode) or written (prefill), activations in and out
    of each layer. Only the routed experts the batch's tokens reach are read (as `forward_pass` runs them), and the
    input embedding tables are gathered, not streamed: the rows of the pass's tokens (and their positions), unless
    the table is tied to the LM head, which reads it whole."""
    T = batch * new_tokens
    tok_rows = d.V if d.tied else vmin(T, d.V)
    tables = (d.V + d.pos_rows) * d.h  # the token and learned-position tables inside d.total_params
    idle_experts = d.n_moe * (d.E - experts_touched(d, T, 1.0)) * d.expert_w
    weights = bytes_el * (d.total_params - idle_experts - tables + (tok_rows + vmin(T, d.pos_rows)) * d.h)
    kv = bytes_el * d.L * d.kv_elems * batch * context
    acts = bytes_el * T * d.h * d.L * 4.0
    return weights + kv + acts


def kv_cache_bytes(d, *, batch, context, bytes_el=2.0):
    return bytes_el * d.L * d.kv_elems * batch * context


def ridge_point(peak, mem_bw):
    """Arithmetic intensity (FLOP/byte) where a kernel turns from memory- to compute-bound (Williams 2009)."""
    return peak / (mem_bw * C.MEMORY_BW_EFFICIENCY)


def roofline_time(flops, bytes_moved, peak, mem_bw, compute_eff=1.0, mem_eff=1.0):
    """Roofline time (s): the slower of compute (FLOPs / achieved FLOP/s) and memory (bytes / achieved bytes/s)
    (Williams et al. 2009). Efficiencies 1.0 give the ideal datasheet bound."""
    return vmax(flops / (peak * compute_eff), bytes_moved / (mem_bw * mem_eff))


def roofline_requirements(flops, bytes_moved, time_s, compute_eff=1.0, mem_eff=1.0):
    """The inverse of `roofline_time`: the (peak FLOP/s, memory bytes/s) a chip needs to finish in `time_s`."""
    return flops / (time_s * compute_eff), bytes_moved / (time_s * mem_eff)
