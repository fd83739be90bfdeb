"""Communication of one training step that is more than a single collective: async ("micro-pipelined") tensor
parallelism, which hides each TP collective behind the GEMM it is decomposed with, and the MoE expert all-to-all
(dispatch and combine). Floats or numpy arrays alike, as physics.training, which calls them."""
from __future__ import annotations

from . import collectives as col
from . import constants as C
from ._np import inline_helpers, vmax, vmin, vwhere


def async_tp_pass(d, T, tp, qkv, out, gemm_f, half, sm, ag_cut=0.0):
    """What one pass (forward, backward or recomputed forward) of a layer's four sequence-parallel TP collectives
    costs under async ("micro-pipelined") TP: each all-gather / reduce-scatter of `half` seconds is decomposed
    with the GEMM it feeds or follows into tp chunks of T/tp tokens, and hides only behind that GEMM's other
    tp - 1 chunks (one chunk of traffic has no GEMM beside it). The chunks run at the GEMM shape efficiency of
    m = T/tp (gemm_time's shape term) and cost a launch each; hidden traffic takes its SMs (collectives.overlapped).
    Wang et al. 2022 (ASPLOS'23, "Overlap communication with dependent computation via decomposition");
    PyTorch "Introducing Async Tensor Parallelism in PyTorch" (2024, torch.compile micro-pipeline TP).
    The backward pass pairs each collective with its dgrad GEMM, the same FLOPs as the forward one. ag_cut: what
    the fp8 cast saves on the all-gathers feeding the QKV and up projections (forward only)."""
    x0 = C.GEMM_HALF_DIM
    slow = (T / (T + x0)) / ((T / tp) / (T / tp + x0))  # chunked GEMM time / whole GEMM time
    ffn = vmax(gemm_f - qkv - out, 0.0)
    up, down = ffn * (d.mats - 1.0) / d.mats, ffn / d.mats  # by FLOPs: (mats - 1) up projections, one down
    share = (tp - 1.0) / tp
    exposed = 0.0
    for g, c in ((qkv, half - ag_cut), (out, half), (up, half - ag_cut), (down, half)):
        exposed = exposed + col.overlapped(c, share * slow * g, sm)
    return exposed + (slow - 1.0) * gemm_f + 4.0 * (tp - 1.0) * C.KERNEL_GAP_S


def expert_alltoall(d, T, tp, ep, bytes_el, node_size, su_bw, su_lat, ib_bw, ib_lat, dispatch_bytes, node_limit):
    """Expert all-to-all time of one MoE layer, forward and backward. Dispatch and its backward carry
    dispatch_bytes per element (fp8 dispatch: 1 B), combine and its backward the activation bytes (DeepSeek-V3
    report, arXiv:2412.19437 Sec 3.3.2). Node-limited routing (node_limit > 0) sends each token to at most
    node_limit nodes over the scale-out fabric and fans the copies out over the scale-up fabric (Sec 3.2.2: M = 4)."""
    disp_b = dispatch_bytes if dispatch_bytes > 0.0 else bytes_el
    copies = T * d.topk * d.h
    out_copies = T * min(d.topk, node_limit) * d.h if node_limit > 0.0 else copies
    a2a_in = 2.0 * (col.alltoall(disp_b * copies, ep, su_bw, su_lat)
                    + col.alltoall(bytes_el * copies, ep, su_bw, su_lat))
    a2a_out = 2.0 * (col.alltoall(disp_b * out_copies, ep, ib_bw, ib_lat)
                     + col.alltoall(bytes_el * out_copies, ep, ib_bw, ib_lat))
    if node_limit > 0.0:  # the NVLink fan-out inside the destination nodes
        a2a_out = a2a_out + a2a_in * vmin(node_size / tp, ep) / vmax(ep, 1.0)
    return vwhere(tp * ep <= node_size, a2a_in, a2a_out)


inline_helpers(globals())
