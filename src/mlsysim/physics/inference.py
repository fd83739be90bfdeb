"""Inference on one device: prefill and decode time, FLOPs and bytes, through the same kernel model as training."""
from __future__ import annotations

from . import constants as C
from ._np import vmax, vmin
from .training import experts_touched


def forward_flops(d, *, batch, new_tokens, context, decode=False):
    """Model FLOPs of one forward pass: 2 x active weights per token + attention core + LM head at the last position."""
    ctx = context if decode else context * 0.5
    return batch * new_tokens * (2.0 * d.mm_params + d.attn_coef * ctx) + batch * 2.0 * d.h * d.V


def weights_read(d, tokens):
    """Weights one pass over `tokens` tokens streams from HBM: every dense weight; in each MoE layer only the routed
    experts its tokens reach (as layer_times runs them; at one token DeepSeek-V3 reads ~37B of 671B); and of the
    input embedding tables only the tokens' rows (and their positions), unless the table is tied to the LM head,
    which reads it whole."""
    idle_experts = d.n_moe * (d.E - experts_touched(d, tokens, 1.0)) * d.expert_w
    tables = (d.V + d.pos_rows) * d.h  # the token and learned-position tables inside d.total_params
    rows = (d.V if d.tied else vmin(tokens, d.V)) + vmin(tokens, d.pos_rows)
    return d.total_params - idle_experts - tables + rows * d.h


def forward_bytes(d, *, batch, new_tokens, context, bytes_el=2.0, decode=False):
    """Minimum HBM traffic of a pass: the weights it streams (`weights_read`), the KV cache read (decode) or written
    (prefill), activations in and out of each layer."""
    T = batch * new_tokens
    kv = bytes_el * d.L * d.kv_elems * batch * context
    acts = bytes_el * T * d.h * d.L * 4.0
    return bytes_el * weights_read(d, T) + kv + acts


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
