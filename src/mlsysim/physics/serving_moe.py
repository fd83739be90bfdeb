"""MoE serving with attention data parallelism + expert parallelism: a replica of tp x ep devices runs attention
data-parallel over ep ranks (each rank its own sequences and KV cache, tp-sliced), and the routed experts are
spread over the ep ranks. Each MoE layer adds a dispatch + combine all-to-all (the training physics'
expert_alltoall, forward only) over the scale-up fabric (one NVLink-class domain: a replica wider than it is not
modelled) and waits for the rank whose experts received the most tokens: layer_times runs the routed experts at
that rank's load (training.busiest_rank_load, uniform routing: no measured skew is applied), as training does.
"""
from __future__ import annotations

from .training_comm import expert_alltoall

ACT_BYTES = 2.0  # bf16 tokens in the dispatch and the combine


def ep_active(d, ep):
    """True where the EP terms apply (an MoE model with ep > 1, or an array of ep values)."""
    return d.n_moe > 0 and not (ep.__class__ in (float, int) and ep == 1)


def dispatch_combine_s(d, T, tp, ep, su_bw, su_lat):
    """One MoE layer's forward all-to-all pair (dispatch T x top-k token copies of h bf16 values, combine them
    back) among ep ranks over the scale-up fabric: half of training's forward + backward expert_alltoall."""
    return 0.5 * expert_alltoall(d, T, tp, ep, ACT_BYTES, tp * ep, su_bw, su_lat, su_bw, su_lat, 0.0, 0.0)
