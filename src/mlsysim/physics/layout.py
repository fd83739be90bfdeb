"""Which parallel layouts are valid for a model and fleet: boolean masks by reason (floats or arrays).

The scalar solver turns the first violated rule into an error message; the explorer keeps the reason per row.
"""
from __future__ import annotations

from ._np import inline_helpers, vceil


def layout_problems(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens=float("inf")) -> dict:
    """Map reason -> True where the layout breaks that rule (n = accelerators in the fleet, tokens = budget)."""
    lps = vceil(d.L / pp)
    return {
        "tp*pp*cp*dp != accelerators": tp * pp * cp * dp != n,
        "tp does not divide attention heads": d.a % tp != 0,
        "tp incompatible with KV heads": (d.kv % tp != 0) & (tp % d.kv != 0),
        "pp exceeds layers": pp > d.L,
        "interleave exceeds layers per stage": (v > lps) | ((v > 1) & (pp == 1)),
        "ep on a dense model": (ep > 1) & (d.E == 1),
        "ep does not divide experts": d.E % ep != 0,
        "ep does not divide dp": dp % ep != 0,
        "cp does not divide seq_len/2": (cp > 1) & (seq % (2 * cp) != 0),
        "batch not divisible by dp*microbatch": gbs % (dp * mb) != 0,
        # Megatron's interleaved 1F1B runs micro-batches in groups of pp
        "interleaving needs microbatches divisible by pp": (v > 1) & ((gbs / (dp * mb)) % pp != 0),
        "token budget below one global batch": gbs * seq > tokens,
    }


inline_helpers(globals())
