"""The busiest expert rank under uniform top-k routing (physics.training.busiest_rank_load), which training and
serving alike wait for at each MoE layer, against exact sums, a simulation and hand-built GEMM times."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

from mlsysim import Hardware, Models
from mlsysim.physics.training import busiest_rank_load, gemm_time, layer_times
from mlsysim.solvers.distributed import _dims


def test_two_experts_top1_matches_the_exact_binomial_maximum():
    # E = 2 experts on ep = 2 ranks, top-1, T = 64 tokens per rank: N = 128 tokens pick a rank with p = 1/2, so
    # the busiest rank carries max(X, N - X) = N/2 + |X - N/2|, X ~ Binomial(128, 1/2), whose mean absolute
    # deviation is (N/2) C(N, N/2) / 2^N = 64 x 0.07027 = 4.497 tokens (de Moivre): 1 + 4.497/64 = 1.0704.
    # Ignoring that the two loads sum to N (each an independent normal of sd sqrt(N/4) = 5.657, the larger
    # 0.564 sd above the mean) would give 1 + 3.19/64 = 1.050, which the tolerance below rejects.
    d = SimpleNamespace(topk=1.0, E=2.0)
    n = 128
    excess = sum(math.comb(n, x) * abs(x - n / 2) for x in range(n + 1)) / 2.0 ** n
    assert excess == pytest.approx(64 * math.comb(128, 64) / 2.0 ** 128, rel=1e-12)
    exact = 1.0 + excess / 64.0
    assert exact == pytest.approx(1.0704, abs=1e-4)
    assert busiest_rank_load(d, 64.0, 2.0) == pytest.approx(exact, rel=5e-3)


def test_mixtral_top2_of_8_matches_a_simulation():
    # Mixtral's router (top-2 of 8 distinct experts), 8 ranks of one expert, 64 tokens per rank: 1,000 simulated
    # steps of 512 tokens (uniform routing), the busiest rank's mean load over the mean load 128
    rng = np.random.default_rng(7)
    picks = np.argsort(rng.random((1000, 512, 8)), axis=-1)[..., :2]
    loads = np.stack([(picks == e).sum(axis=(1, 2)) for e in range(8)], axis=1)
    simulated = loads.max(axis=1).mean() / 128.0
    assert simulated == pytest.approx(1.117, abs=4e-3)
    assert busiest_rank_load(_dims(Models.Language.Mixtral_8x7B), 64.0, 8.0) == pytest.approx(simulated, rel=3e-3)


def test_no_imbalance_on_one_rank_and_no_more_than_a_rank_can_take():
    mix = _dims(Models.Language.Mixtral_8x7B)
    assert busiest_rank_load(mix, 64.0, 1.0) == 1.0  # one rank holds every expert
    # a token puts at most one copy on a rank of one expert (8 ranks): the busiest rank takes at most all T x 8
    # tokens against a mean of T x 2 copies, a factor 4, however few the tokens
    assert busiest_rank_load(mix, 0.01, 8.0) == 4.0
    assert busiest_rank_load(mix, np.array([64.0, 4096.0]), 8.0)[1] < busiest_rank_load(mix, 64.0, 8.0)


def test_layer_times_runs_the_routed_experts_at_the_busiest_ranks_load():
    # Mixtral, 4096 tokens per rank, EP8 (one expert per rank, reached by all 32,768 tokens of the group): the
    # expert's rows on the busiest rank are 2 x 4096 x f, f = 1 + 1.4236 sqrt(8/7) sd / mean with
    # sd = sqrt(32768 x 1/4 x 3/4) = 78.38 and mean 8192: f = 1.01456 (E[max of 8 normals] = 1.4236, Harter 1961).
    # Its two GEMMs (h = 4096 -> 2 x 14336 gate+up, 14336 -> 4096 down) at that M, plus the attention
    # projections (q, k, v: 4096 -> 6144; out: 4096 -> 4096) and the router (4096 -> 8) at M = 4096, are the
    # layer's forward GEMM time; at EP1 the 8 experts each take 1024 rows and f = 1.
    d = _dims(Models.Language.Mixtral_8x7B)
    h100 = Hardware.Cloud.H100
    peak, ceil, bw = h100.peak_flops["bf16"], 0.8, h100.memory_bw
    T = 4096.0
    f = 1.0 + 1.4236 * math.sqrt(8 / 7) * math.sqrt(32768 * 0.25 * 0.75) / 8192
    assert f == pytest.approx(1.01456, abs=1e-5)

    def hand(rows, experts):
        return experts * (gemm_time(rows, 4096, 2 * 14336, peak, ceil, bw) + gemm_time(rows, 14336, 4096, peak, ceil, bw)) \
            + gemm_time(T, 4096, 6144, peak, ceil, bw) + gemm_time(T, 4096, 4096, peak, ceil, bw) \
            + gemm_time(T, 4096, 8, peak, ceil, bw)

    def model(ep):
        return layer_times(d, T, 4096.0, 1.0, 1.0, ep, peak, ceil, bw, True, False, True, detail=True)[3]
    assert model(8.0) == pytest.approx(hand(2 * T * f, 1.0), rel=2e-4)
    assert model(1.0) == pytest.approx(hand(2 * T / 8, 8.0), rel=1e-9)
