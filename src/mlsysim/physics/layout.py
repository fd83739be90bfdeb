"""Which parallel layouts are valid for a model and fleet: boolean masks by reason (floats or arrays).

The scalar solver turns the first violated rule into an error message; the explorer keeps the reason per row.
"""
from __future__ import annotations

from ._np import inline_helpers, vceil

#: The rules layout_rules checks, in its order (layout_problems' keys).
REASONS = ("tp*pp*cp*dp != accelerators", "tp does not divide attention heads", "tp incompatible with KV heads",
           "pp exceeds layers", "interleave exceeds layers per stage", "ep on a dense model",
           "ep does not divide experts", "ep does not divide dp", "cp does not divide seq_len/2",
           "batch not divisible by dp*microbatch", "interleaving needs microbatches divisible by pp",
           "token budget below one global batch")


def layout_rules(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens=float("inf")) -> tuple:
    """True where the layout breaks each rule of REASONS, in order (n = accelerators in the fleet, tokens =
    budget); a tuple, which the scalar solver asks `any` of without building layout_problems' dict."""
    lps = vceil(d.L / pp)
    return (
        tp * pp * cp * dp != n,
        d.a % tp != 0,
        (d.kv % tp != 0) & (tp % d.kv != 0),
        pp > d.L,
        (v > lps) | ((v > 1) & (pp == 1)),
        (ep > 1) & (d.E == 1),
        d.E % ep != 0,
        dp % ep != 0,
        (cp > 1) & (seq % (2 * cp) != 0),
        gbs % (dp * mb) != 0,
        (v > 1) & ((gbs / (dp * mb)) % pp != 0),  # Megatron's interleaved 1F1B runs micro-batches in groups of pp
        gbs * seq > tokens,
    )


def layout_problems(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens=float("inf")) -> dict:
    """Map reason -> True where the layout breaks that rule (n = accelerators in the fleet, tokens = budget)."""
    return dict(zip(REASONS, layout_rules(d, n, tp, pp, dp, cp, ep, mb, gbs, v, seq, tokens)))


inline_helpers(globals())
