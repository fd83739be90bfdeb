"""Which parallel layouts are valid for a model and fleet: boolean masks by reason (floats or arrays).

The scalar solver turns the first violated rule into an error message; the explorer keeps the reason per row.
"""
from __future__ import annotations

from ._np import vceil


def _not_div(a, b):
    return (a % b) != 0


def layout_problems(d, *, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens=float("inf")) -> dict:
    """Map reason -> True where the layout breaks that rule (n = accelerators in the fleet, tokens = budget)."""
    lps = vceil(d.L / pp)
    return {
        "tp*pp*cp*dp != accelerators": tp * pp * cp * dp != n,
        "tp does not divide attention heads": _not_div(d.a, tp),
        "tp incompatible with KV heads": _not_div(d.kv, tp) & _not_div(tp, d.kv),
        "pp exceeds layers": pp > d.L,
        "interleave exceeds layers per stage": (v > lps) | ((v > 1) & (pp == 1)),
        "ep on a dense model": (ep > 1) & (d.E == 1),
        "ep does not divide experts": _not_div(d.E, ep),
        "ep does not divide dp": _not_div(dp, ep),
        "cp does not divide seq_len/2": (cp > 1) & _not_div(seq, 2 * cp),
        "batch not divisible by dp*microbatch": _not_div(gbs, dp * mb),
        # Megatron's interleaved 1F1B runs micro-batches in groups of pp
        "interleaving needs microbatches divisible by pp": (v > 1) & _not_div(gbs / (dp * mb), pp),
        "token budget below one global batch": gbs * seq > tokens,
    }
