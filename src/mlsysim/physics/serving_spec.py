"""Speculative decoding under continuous batching: the same physics as one replica (physics/serving.py pass_time,
mtp_draft_s, accepted_per_step), at the fleet's iteration level. Pure functions of floats or numpy arrays.

Each iteration, k draft passes propose k tokens for every decoding sequence (a draft model at the replica's own
layout, or k multi-token-prediction modules), then one target pass verifies k + 1 tokens per sequence: its GEMMs
run over B (k + 1) rows plus the prefill chunk (one weight read), its attention reads each sequence's KV cache
once. A sequence emits E = accepted_per_step(a, k) tokens per iteration on average (Leviathan et al. 2023), so
TPOT = t_iter / E, a request spends O / E iterations in the batch (Little: B = QPS x (O / E) x t_iter) and the
engine's token budget left for prompts is the chunk minus the B (k + 1) verification rows.
The TPOT tail adds, in quadrature to the concurrency's, the spread of a request's own mean TPOT from the accepted
tokens: O tokens take N iterations with Var N = O Var X / E^3 (renewal central limit), X the tokens of one iteration.
Simplifications (stated): the acceptance a is per token, i.i.d. and independent of the batch; the mean output
length O sets that spread (the trace replay leaves it out); one host overhead per iteration (draft and verification launched as CUDA graphs); the draft model prefills the
chunk in its first pass; MTP modules' prompt pass (one layer each) is left out.
"""
from __future__ import annotations

from ._np import vceil
from .serving import accepted_per_step, kv_bytes_per_seq, mixed_pass_time, mtp_dims, mtp_draft_s, pass_time
from .training_memory import params_per_device


def spec_factors(spec_k=0.0, spec_accept=0.0):
    """(E tokens emitted per sequence per iteration, rows verified per sequence k + 1); (1, 1) without drafts."""
    return accepted_per_step(spec_accept, spec_k), 1.0 + spec_k


def tpot_spread(spec_k, spec_accept, osl):
    """Relative standard deviation of a request's mean TPOT from the accepted tokens: sqrt(Var X / (O E)), with
    P(X >= j) = a^(j-1) for j = 1 .. k + 1, so E[X^2] = sum (2j - 1) a^(j-1)."""
    e = accepted_per_step(spec_accept, spec_k)
    ex2 = sum((2.0 * j - 1.0) * spec_accept ** (j - 1) for j in range(1, int(spec_k) + 2))
    return ((ex2 - e * e) / (osl * e)) ** 0.5


def mtp_stack(d, depth):
    """`depth` multi-token-prediction modules as one model of `depth` layers (each one mtp_dims block, head and
    embedding shared with the model): their weights and KV cache."""
    m = mtp_dims(d)
    m.L, m.n_moe, m.n_dense = float(depth), depth * m.n_moe, depth * m.n_dense
    return m


def drafter_memory(dd, *, mtp, context, tp, pp, ep, wbytes, kvbytes):
    """(weight bytes per device, KV bytes per sequence per device at `context`) of the drafter `dd`: a draft model
    split over the replica's pipeline stages, or an mtp_stack on the last stage (beside the head)."""
    stages = 1.0 if mtp else pp
    lps = vceil(dd.L / stages)
    dense, expert = params_per_device(dd, tp, stages, ep, lps)
    return wbytes * (dense + expert), kv_bytes_per_seq(dd, context=context, tp=tp, pp=stages, kvbytes=kvbytes)


def draft_s(d, dd, *, mtp, k, batch, context, chunk=None, prompt_context=None, **hw):
    """k drafted tokens for `batch` sequences: k MTP module passes (mtp_draft_s of the model `d`), or k decode
    passes of the draft model `dd`, the first also prefilling the `chunk` prompt tokens (mixed_pass_time)."""
    if mtp:
        return k * mtp_draft_s(d, batch=batch, context=context, **hw)
    one = pass_time(dd, batch=batch, new_tokens=1.0, context=context, decode=True, **hw)[0]
    if chunk is None:
        return k * one
    first = mixed_pass_time(dd, batch=batch, chunk=chunk, context=context, prompt_context=prompt_context, **hw)[0]
    return first + (k - 1.0) * one


def flops_factor(d, *, isl, osl, spec_k=0.0, spec_accept=0.0, draft=None, mtp=False):
    """Matmul FLOPs of one request over the 2 N (I + O) of plain decoding (exactly 1 without speculation): the
    target prefills I tokens and, over O / E iterations, verifies k + 1 rows each; a draft model prefills I and
    drafts k rows per iteration (MTP modules, one block each, are left out: about k / L of the target's)."""
    e, rows = spec_factors(spec_k, spec_accept)
    f = d.mm_params * (isl + osl * rows / e)
    if draft is not None and not mtp:
        f = f + draft.mm_params * (isl + osl * spec_k / e)
    return f / (d.mm_params * (isl + osl))


__all__ = ["spec_factors", "tpot_spread", "mtp_stack", "drafter_memory", "draft_s", "flops_factor"]
