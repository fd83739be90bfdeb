"""Failure rates pooled from independent clusters, their spread carried into the interval, Llama 3 as the check."""
from __future__ import annotations

import math

import numpy as np
import pytest

from mlsysim.physics import reliability as R


def test_sources_and_pooled_rate_hand_derived():
    """Node failures per 1,000 node-days:
    Kokolis 2024 RSC-1 6.50; RSC-2 2.34; OPT-175B 100 hosts / (124 nodes x 60 d) = 13.441;
    BLOOM 1.5 GPU failures / week on 48 nodes = 1.5 / 336 = 4.464.
    logs: 1.87180, 0.85015, 2.59832, 1.49614 -> mean 1.70410 -> geometric mean e^1.70410 = 5.4964
    deviations 0.16770, -0.85395, 0.89422, -0.20796 -> squares sum 1.60023 / 3 = 0.53341 -> log sd 0.73035
    a new cluster: sd x sqrt(1 + 1/4) = 0.81656; 5-95 % = exp(-+1.64485 x 0.81656) = x0.2610 - x3.8310
    """
    src = R.NODE_FAILURE_SOURCES
    assert src["Zhang 2022 OPT-175B (992 A100)"] == pytest.approx(13.441, abs=1e-3)
    assert src["BigScience 2022 BLOOM (384 A100)"] == pytest.approx(4.464, abs=1e-3)
    assert R.POOLED_NODE_FAILURES_PER_1000_NODE_DAYS == pytest.approx(5.4964, abs=1e-3)
    assert R.POOLED_LOG_SD == pytest.approx(0.73035, abs=1e-4)
    assert R.RATE_SCALE_90[0] == pytest.approx(0.2610, abs=1e-3)
    assert R.RATE_SCALE_90[1] == pytest.approx(3.8310, abs=2e-3)
    # Llama 3's own rate (419 / (2,048 nodes x 54 d) = 3.789 per 1,000 node-days) is the check, not a source
    llama3 = 419 / (2048 * 54) * 1000
    assert all(abs(v - llama3) > 0.1 for v in src.values())


def test_default_rates_are_the_pooled_node_rate():
    """Component rates sum back to the node rate: per-accelerator parts x 8 + per-node parts = pooled rate."""
    per_node_day = sum(r * (8 if R.PER[c] == "accelerator" else 1) for c, r in R.DEFAULT_FAILURE_RATES.items())
    assert per_node_day * R.SECONDS_PER_DAY * 1000 == pytest.approx(5.4964, abs=1e-3)
    kok = sum(r * (8 if R.PER[c] == "accelerator" else 1) for c, r in R.KOKOLIS_FAILURE_RATES.items())
    assert kok * R.SECONDS_PER_DAY * 1000 == pytest.approx(6.5)


def test_llama3_prediction_and_interval():
    """Llama 3 405B, 2,048 nodes x 54 days: pooled 2,048 x 54 x 5.4964e-3 = 607.8 interruptions (RSC-1 alone
    2,048 x 54 x 6.5e-3 = 718.8); 90 % interval 607.8 x 0.2610 - 607.8 x 3.831 = 159 - 2,329; published 419."""
    from mlsysim.validation.reliability import reliability_rows
    rows = {r["quantity"]: r for r in reliability_rows()}
    assert rows["interruptions in 54 days"]["predicted"] == pytest.approx(2048 * 54 * 5.4964e-3, rel=1e-3)
    assert rows["interruptions in 54 days (RSC-1 rate alone)"]["predicted"] == pytest.approx(718.8, rel=1e-3)
    iv = rows["  90 % interval (spread of the pooled clusters)"]
    lo, hi = (float(x) for x in iv["predicted"].split("-"))
    assert lo == pytest.approx(159, abs=1) and hi == pytest.approx(2329, abs=2) and iv["meets"]


def test_lognormal_range_draws_its_percentiles():
    from mlsysim.uncertainty import DEFAULT_RANGES, draw, parse_range
    kind, vals = parse_range("failure_rate_scale", DEFAULT_RANGES["failure_rate_scale"])
    assert kind == "lognormal" and vals == pytest.approx(R.RATE_SCALE_90)
    x = draw(kind, (0.5, 2.0), 200_000, np.random.default_rng(0))
    p5, p50, p95 = np.percentile(x, [5, 50, 95])
    assert p5 == pytest.approx(0.5, rel=0.02) and p95 == pytest.approx(2.0, rel=0.02)
    assert p50 == pytest.approx(math.sqrt(0.5 * 2.0), rel=0.01)  # median = geometric midpoint
