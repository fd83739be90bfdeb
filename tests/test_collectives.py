"""Collective costs by hand (physics/collectives.py)."""
import pytest



def test_allgather_and_reduce_scatter_pay_one_latency_per_ring_step():
    # NCCL runs all-gather / reduce-scatter as rings: n - 1 dependent steps. ZeRO-3 over 2,000 nodes at 5 us per
    # hop: 1,999 x 5 us = 9.995 ms of latency alone (a log2 tree would say 11 x 5 = 55 us); plus the bandwidth term
    # 1999/2000 x 1 GB / 50 GB/s = 19.99 ms
    from mlsysim.physics.collectives import allgather, reduce_scatter
    assert allgather(0.0, 2000.0, 50e9, 5e-6) == pytest.approx(9.995e-3, rel=1e-12)
    assert reduce_scatter(1e9, 2000.0, 50e9, 5e-6) == pytest.approx(9.995e-3 + 19.99e-3, rel=1e-12)
    assert allgather(1e9, 1.0, 50e9, 5e-6) == 0.0
