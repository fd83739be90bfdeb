"""A continuously batched replica under Poisson arrivals: the concurrency's spread when the iteration grows with
the batch, the wait for KV room at the KV capacity, and what they do to the MLPerf Server search (against birth-death
chains and Erlang C computed here by hand, independently of the code's closed forms)."""
import math

import pytest

from mlsysim.physics import serving_load as SL
from mlsysim.physics.order_stats import normal_cdf
from mlsysim.solvers.serving_setup import replica_setup


def _birth_death(lam, service_rate, n_max):
    """Stationary distribution of a birth-death chain, up-rate lam, down-rate service_rate(n) in state n."""
    p = [1.0]
    for n in range(1, n_max + 1):
        p.append(p[-1] * lam / service_rate(n))
    z = sum(p)
    return [x / z for x in p]


def _mean_var(p):
    m = sum(n * x for n, x in enumerate(p))
    return m, sum((n - m) ** 2 * x for n, x in enumerate(p))


def test_concurrency_is_negative_binomial_for_an_affine_step():
    # t(n) = t0 + t1 n, t0 = 9 ms, t1 = 1 ms, O = 100 tokens: each of n sequences finishes at 1 / (O t(n)), so the
    # chain's down-rate is n / (O t(n)). rho = lam O t1 = 0.5 (lam = 5 /s): negative binomial with r = t0/t1 + 1
    # = 10, mean r rho / (1 - rho) = 10 and variance mean / (1 - rho) = 20 (by hand)
    t0, t1, osl, lam = 9e-3, 1e-3, 100.0, 5.0
    m, v = _mean_var(_birth_death(lam, lambda n: n / (osl * (t0 + t1 * n)), 400))
    assert (m, v) == pytest.approx((10.0, 20.0), rel=1e-9)
    # concurrency_var at the mean, from the step's elasticity there: t1 m / t(m) = 10 / 19
    assert SL.concurrency_var(10.0, 10.0 / 19.0) == pytest.approx(20.0, rel=1e-12)
    # step_elasticity from two iteration times of the same affine step: d ln t / d ln B at B = 10 is 10/19; a
    # finite step of 0.1 % in B reads it to ~1e-4
    assert SL.step_elasticity(19e-3, (t0 + t1 * 10.01), 1.001) == pytest.approx(10.0 / 19.0, rel=1e-3)


def test_concurrency_limits_poisson_and_processor_sharing():
    # weight-bound (the step does not grow with the batch): M/G/inf, Poisson, variance = mean
    assert SL.concurrency_var(50.0, 0.0) == pytest.approx(50.0)
    # fully compute-bound (t = t1 n): M/M/1-PS, geometric, variance B (1 + B) = 50 x 51
    assert SL.concurrency_var(50.0, 1.0) == pytest.approx(2550.0)
    # a geometric chain (down-rate constant 1/(O t1)) at rho = 50/51 has that mean and variance
    m, v = _mean_var(_birth_death(50.0 / 51.0, lambda n: 1.0, 6000))
    assert (m, v) == pytest.approx((50.0, 2550.0), rel=1e-6)


def test_tail_concurrency_by_hand_and_capped_at_the_kv_capacity():
    # Poisson (elasticity 0): 100 + 2.3263 sqrt(2/3 x 100) = 100 + 2.3263 x 8.165 = 118.99
    assert SL.tail_concurrency(100.0, 0.0, 0.99) == pytest.approx(118.994, abs=1e-3)
    assert SL.tail_concurrency(100.0, 0.0, 0.99, b_max=110.0) == 110.0  # no more than the KV cache holds decode


def _erlang_c(c, a):
    """Erlang C by the Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)); C = B / (1 - rho + rho B)."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    rho = a / c
    return b / (1.0 - rho + rho * b)


@pytest.mark.parametrize("c,a", [(100, 90), (50, 40)])
def test_kv_room_wait_is_erlang_c_where_the_step_does_not_grow(c, a):
    # elasticity 0: c = b_max KV slots, a = B sequences on average, each held O t = 10 s (qps = a / 10): M/M/c.
    # Exact: C(100, 90) = 0.2169, C(50, 40) = 0.0870; mean wait C / (c mu - lam) with mu = 0.1 /s
    exact = _erlang_c(c, a)
    p, w = SL.kv_room_wait(float(a), float(a), a / 10.0, 0.0, b_max=float(c), output_cv=1.0)
    assert p == pytest.approx(exact, rel=0.03)
    assert w == pytest.approx(exact / (0.1 * (c - a)), rel=0.03)
    # fixed output lengths (CV 0) wait half as long (Lee & Longton's (1 + cs^2) / 2)
    assert SL.kv_room_wait(float(a), float(a), a / 10.0, 0.0, b_max=float(c))[1] == pytest.approx(w / 2.0)


def test_normal_cdf_against_tabulated_values():
    # Phi(1) = 0.841345, Phi(2.3263) = 0.99, Phi(-3) = 0.0013499 (standard tables)
    assert normal_cdf(1.0) == pytest.approx(0.841345, abs=1e-6)
    assert normal_cdf(2.3263) == pytest.approx(0.99, abs=1e-5)
    assert normal_cdf(-3.0) == pytest.approx(0.0013499, abs=1e-7)


def test_server_waits_for_kv_room_where_offline_fills_it():
    # Llama-2-70B fp8 on one H100: the KV cache holds ~159 sequences. Offline keeps every slot full; under Poisson
    # arrivals a full cache makes arrivals wait (one sequence finishes every O t / b_max ~ 0.1 s), so the highest
    # load within p99 TTFT 2 s runs below the capacity, and its p99 TTFT is the 2 s limit itself
    s = replica_setup("Llama2_70B", "H100", input_len=295, output_len=290, precision="fp8")
    off = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=math.inf, slo_tpot_s=math.inf, **s.kw)
    srv = SL.max_load(s.dims, b_max=s.b_max, slo_ttft_s=2.0, slo_tpot_s=0.2, **s.kw)
    assert off["conc"] == pytest.approx(s.b_max)
    assert srv["conc"] < 0.9 * s.b_max and srv["tokens_per_s"] < off["tokens_per_s"]
    assert srv["ttft_q_s"] == pytest.approx(2.0, rel=1e-4) and srv["tpot_q_s"] < 0.2
    # the same point from at_qps (Little's law at that QPS, log-interpolated on its 40-point grid: ~1 %)
    at = SL.at_qps(s.dims, qps=srv["qps"], b_max=s.b_max, **s.kw)
    assert at["conc"] == pytest.approx(srv["conc"], rel=1e-2) and at["stable"]
    # offered exactly the offline capacity, the queue for KV room never drains
    assert not SL.at_qps(s.dims, qps=off["qps"], b_max=s.b_max, **s.kw)["stable"]
