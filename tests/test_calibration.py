"""Calibration: recover a known efficiency from a synthetic measurement, carry it to other layouts and fleets,
and refuse measurements no plausible efficiency explains."""
import pytest

from mlsysim import ConfigError, DistributedModel, Fleet, Models, Q, Systems
from mlsysim.calibration import CalibrationModel, calibrate
from mlsysim.uncertainty import evaluate_performance


@pytest.fixture(scope="module")
def perf():
    return DistributedModel().solve(model=Models.Language.Llama3_70B, fleet=Systems.Clusters.Research_256,
                                    tp_size=8, pp_size=1, zero_stage=2)


@pytest.mark.parametrize("true_scale", [0.62, 0.85, 1.1])
def test_recovers_a_known_scale(perf, true_scale):
    # the "measurement": the same configuration with the matmul ceiling at true_scale x the model's
    measured = float(evaluate_performance(perf, ceiling_scale=true_scale)["step"])
    cal = CalibrationModel().solve(performance=perf, measured_step_time=measured)
    assert cal.scale == pytest.approx(true_scale, rel=1e-6)
    assert cal.fitted == {"matmul_efficiency_scale": cal.scale}
    assert cal.fitted_step_s == pytest.approx(measured, rel=1e-9)
    assert cal.ceiling_after == pytest.approx(cal.ceiling_before * true_scale, rel=1e-6)
    assert cal.predict().step_s == pytest.approx(measured, rel=1e-9)


def test_mfu_measurement_and_repredict(perf):
    cal = calibrate(perf, measured_mfu=0.45)
    assert cal.predict().mfu == pytest.approx(0.45, rel=1e-9)
    by_step = calibrate(perf, measured_step_time=Q(cal.measured_step_s, "s"))
    assert by_step.scale == pytest.approx(cal.scale, rel=1e-9)
    # another layout: same as solving on a hand-scaled accelerator
    other = cal.predict(tp_size=8, pp_size=2, zero_stage=1)
    truth = DistributedModel().solve(model=perf.model, fleet=cal.calibrated_fleet(), tp_size=8, pp_size=2,
                                     zero_stage=1, tokens=perf.tokens)
    assert other.step_s == pytest.approx(truth.step_s, rel=1e-12)
    assert other.layout["pp_size"] == 2 and "calibrated" in other.fleet.node.accelerator.name
    # another fleet size: the fitted efficiency travels; a calibrated-down prediction is slower than uncalibrated
    fleet = Fleet(node=Systems.Nodes.DGX_H100, count=64, fabric=Systems.Fabrics.InfiniBand_NDR)
    big = cal.predict(fleet=fleet, tp_size=8, pp_size=1)
    raw = DistributedModel().solve(model=perf.model, fleet=fleet, tp_size=8, pp_size=1, zero_stage=2)
    assert big.fleet.total_accelerators == 512 and big.mfu < raw.mfu
    assert "matmul_efficiency_scale" in str(cal) and "<table>" in cal._repr_html_()


def test_unexplainable_measurement(perf):
    with pytest.raises(ConfigError, match=r"outside what a matmul efficiency scale .* can explain: .* s \(MFU"):
        calibrate(perf, measured_mfu=0.9)       # faster than GEMMs at full MAMF allow
    with pytest.raises(ConfigError, match="can explain"):
        calibrate(perf, measured_step_time=perf.step_s * 20)  # far slower than any plausible GEMM efficiency


@pytest.mark.parametrize("kw, match", [
    (dict(), "exactly one"),
    (dict(measured_mfu=0.4, measured_step_time=60), "exactly one"),
    (dict(measured_mfu=45), "percentage"),
    (dict(measured_step_time=-3), "measured_step_time"),
    (dict(measured_step_time=Q(3, "GB")), "measured_step_time"),
    (dict(measured_mfu=0.4, scale_range=(1.0, 0.5)), "exceeds"),
    (dict(measured_mfu=0.4, scale_range=(0.5, 2.0)), "peak"),
])
def test_bad_input(perf, kw, match):
    with pytest.raises(ConfigError, match=match):
        CalibrationModel().solve(performance=perf, **kw)
    with pytest.raises(ConfigError, match="DistributedModel result"):
        CalibrationModel().solve(performance="perf", measured_mfu=0.4)


def test_a_run_the_model_says_does_not_fit_carries_the_mark():
    # Llama 3 70B with TP1 on 8 H100s: ~70.6B x 2 B of bf16 weights alone = 141 GB > 85.9 GB per GPU
    fleet = Fleet(node=Systems.Nodes.DGX_H100, count=1, fabric=Systems.Fabrics.InfiniBand_NDR)
    big = DistributedModel().solve(Models.Language.Llama3_70B, fleet, tp_size=1, pp_size=1, tokens=1e9)
    assert not big.feasible and big.memory_bytes["weights"] >= 141e9
    cal = calibrate(big, measured_step_time=big.step_s * 1.1)
    assert cal.feasible is False
    assert "NO: the model puts this layout at" in str(cal)
    ok = calibrate(DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8),
                   measured_step_time=1.0 * 60)
    assert ok.feasible is True and "NO:" not in str(ok)
