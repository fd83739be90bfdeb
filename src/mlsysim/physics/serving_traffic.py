"""Traffic beyond a Poisson mean: a trace of arrival times replayed through a queue, the concurrency each request
lives through, and the replicas a daily load profile keeps busy. Pure numpy (times in s, rates in 1/s).

The prompt queue of one replica is a single FCFS server whose service time is a prompt's share of the prefill
budget; replaying a trace through it is the Lindley recursion W[k+1] = max(0, W[k] + S[k] - (a[k+1] - a[k]))
(Lindley 1952), solved in closed form W[k] = U[k] - min(U[0..k]) with U the running sum of S - gap (U[0] = 0),
so a million requests replay in one vectorised pass. Several replicas replay at once: each replica's requests
are shifted by a gap longer than any wait, so the recursion restarts at zero between replicas.
"""
from __future__ import annotations

import numpy as np


def trace_rate(arrivals):
    """Mean arrival rate of a trace: (N - 1) requests over the span from the first to the last arrival."""
    a = np.asarray(arrivals, dtype=float)
    return (a.size - 1) / (a[-1] - a[0])


def interarrival_cv(arrivals):
    """Coefficient of variation of the gaps between arrivals (1 for Poisson, 0 for a metronome, > 1 bursty)."""
    g = np.diff(np.asarray(arrivals, dtype=float))
    m = g.mean()
    return float(g.std() / m) if m > 0 else 0.0


def lindley_waits(arrivals, service):
    """Waiting time of every request in a FCFS single-server queue, from sorted arrival times and service times
    (closed form of Lindley's recursion, see the module docstring)."""
    a = np.asarray(arrivals, dtype=float)
    s = np.broadcast_to(np.asarray(service, dtype=float), a.shape)
    u = np.concatenate(([0.0], np.cumsum(s[:-1] - np.diff(a))))
    return u - np.minimum.accumulate(u)


def lifetime_concurrency(arrivals, duration_s):
    """Mean number of requests in flight over each request's lifetime [a_i, a_i + D] (itself included) when
    every request lives D seconds: sum_j max(0, 1 - |a_j - a_i| / D), the overlap of the two lifetimes over D
    (sorted arrivals; prefix sums, no loop). For Poisson arrivals at rate lambda its mean is 1 + lambda D."""
    a = np.asarray(arrivals, dtype=float)
    a = a - a[0]
    pre = np.concatenate(([0.0], np.cumsum(a)))
    i = np.arange(a.size)
    lo = np.searchsorted(a, a - duration_s, side="right")
    hi = np.searchsorted(a, a + duration_s, side="left")
    left = (i - lo) * a - (pre[i] - pre[lo])            # sum of a_i - a_j over the earlier neighbours
    right = (pre[hi] - pre[i + 1]) - (hi - i - 1) * a   # sum of a_j - a_i over the later ones
    return (hi - lo) - (left + right) / duration_s


def round_robin(n_requests, replicas):
    """Request indices grouped by replica when request k goes to replica k mod n (round-robin dispatch), and
    each request's replica: (order, replica of order[j])."""
    rep = np.arange(n_requests) % replicas
    order = np.argsort(rep, kind="stable")
    return order, rep[order]


def separate(arrivals_by_replica, replica, gap_s):
    """Arrival times of several replicas laid end to end (replica r shifted by r x (span + gap_s)), so one
    sorted array carries them all and no wait or lifetime crosses from one replica to the next."""
    a = np.asarray(arrivals_by_replica, dtype=float)
    return a + replica * (a.max() - a.min() + gap_s)


def active_replicas(multipliers, replicas):
    """Replicas kept busy at each load multiplier of the peak when load is packed onto as few replicas as keep
    the peak's per-replica load (the rest idle): ceil(m x n), 0 at zero load."""
    m = np.asarray(multipliers, dtype=float)
    return np.ceil(m * replicas - 1e-9).clip(0, replicas)


__all__ = ["trace_rate", "interarrival_cv", "lindley_waits", "lifetime_concurrency", "round_robin", "separate",
           "active_replicas"]
