"""Alpha-beta cost of collectives (seconds) for `n` ranks moving `nbytes` over links of `bw` bytes/s per
direction with per-hop latency `lat` s. Ring bandwidth terms (Patarasuk & Yuan 2009; NCCL's bus-bandwidth
convention: all-reduce moves 2(n-1)/n of the buffer, all-gather / reduce-scatter (n-1)/n). Latency: all-reduce
at tree depth 2*ceil(log2 n)*lat (NCCL switches to trees at scale); all-gather and reduce-scatter pay (n-1)*lat
(NCCL runs them as rings only: NCCL_ALGO documentation, 2.18-2.22; its PAT algorithm of 2.23 serves one GPU per
node only). Hierarchical variants for multi-node groups.
"""
from __future__ import annotations

import math

from ._np import inline_helpers, vlog2ceil, vmin, vwhere

_SCALAR = (float, int)  # a plain-number group size: pick the branch (as vwhere does for a bool) and skip the other


def allreduce(nbytes, n, bw, lat):
    """Ring all-reduce of an `nbytes` buffer over n ranks (0 for n == 1)."""
    if n.__class__ in _SCALAR:
        return 2.0 * (n - 1) / n * nbytes / bw + 2.0 * float(math.ceil(math.log2(n))) * lat if n > 1 else 0.0
    return vwhere(n > 1, 2.0 * (n - 1) / n * nbytes / bw + 2.0 * vlog2ceil(n) * lat, 0.0)


def allgather(nbytes, n, bw, lat):
    """All-gather (or reduce-scatter) whose full, gathered buffer is `nbytes`: a ring, n - 1 steps of one hop each
    (NCCL runs these collectives as rings only; its trees serve all-reduce)."""
    return vwhere(n > 1, (n - 1) / n * nbytes / bw + (n - 1) * lat, 0.0)


reduce_scatter = allgather


def alltoall(nbytes, n, bw, lat):
    """All-to-all where each rank holds `nbytes` and keeps 1/n of it. Its n - 1 sends are issued together (one
    NCCL group of send/recv), so their latencies overlap: charged at tree depth, ceil(log2 n) hops (assumption)."""
    if n.__class__ in _SCALAR:
        return (n - 1) / n * nbytes / bw + float(math.ceil(math.log2(n))) * lat if n > 1 else 0.0
    return vwhere(n > 1, (n - 1) / n * nbytes / bw + vlog2ceil(n) * lat, 0.0)


def p2p(nbytes, bw, lat):
    """One point-to-point send."""
    return nbytes / bw + lat


def hierarchical_allreduce(nbytes, n, per_node, bw_intra, lat_intra, bw_inter, lat_inter):
    """All-reduce over n ranks, `per_node` of them sharing a node: reduce-scatter inside the node, all-reduce the
    1/per_node shard across nodes (each rank on its own NIC), all-gather inside the node."""
    nodes = n / per_node
    return reduce_scatter(nbytes, per_node, bw_intra, lat_intra) \
        + allreduce(nbytes / per_node, nodes, bw_inter, lat_inter) \
        + allgather(nbytes, per_node, bw_intra, lat_intra)


def hierarchical_allgather(nbytes, n, per_node, bw_intra, lat_intra, bw_inter, lat_inter):
    """All-gather of an `nbytes` result over n ranks, `per_node` per node: each rank gathers its node's share
    across nodes on its own NIC (all NICs work in parallel, as NCCL's per-rail rings do), then the node
    all-gathers over the scale-up fabric."""
    nodes = n / per_node
    return allgather(nbytes / per_node, nodes, bw_inter, lat_inter) + allgather(nbytes, per_node, bw_intra, lat_intra)


def overlapped(comm, window, sm_share):
    """Time a collective of `comm` seconds adds when it runs beside `window` seconds of compute: what does not
    fit in the window is exposed, and what hides slows that compute by the share of SMs its kernels take."""
    hidden = vmin(comm, window)
    return comm - hidden + sm_share * hidden


inline_helpers(globals())
