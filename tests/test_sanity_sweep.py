"""tools/sanity_sweep.py on a slice of the registry: the physical invariants it checks hold (0 < MFU <= HFU <= 1,
non-negative breakdown summing to the step, memory by hand, MFU = (6N' + 6 L s h) x tokens/s / peak, decode and
prefill floors, roofline, KV capacity by hand, monotonicity, explorer == scalar solver), and a planted violation is
reported (the checks can fail)."""
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1] / "tools"
sys.path.insert(0, str(TOOLS))

import sanity_monotone  # noqa: E402
import sanity_serving  # noqa: E402
import sanity_sweep  # noqa: E402

PLAUSIBILITY = "training: MFU plausible (bf16, published records)"  # a bound from records, not an invariant


def test_training_invariants_hold_on_a_slice():
    rep = sanity_sweep.Report()
    sanity_sweep.training(rep, ["Llama3_8B", "Mixtral_8x7B"], ["Research_256", "TPUv5p_Pod"], quick=True,
                          scalar_every=7)
    assert rep.n_checked["training: 0 < MFU <= HFU <= 1"] > 50
    assert rep.n_checked["training: explorer row == scalar solver"] > 5
    assert {k: v[:2] for k, v in rep.v.items() if k != PLAUSIBILITY} == {}


def test_serving_and_monotonicity_hold_on_a_slice():
    rep = sanity_sweep.Report()
    sanity_serving.serving(rep, ["Llama3_8B", "Mixtral_8x7B"])
    sanity_serving.replicas_monotone(rep, ["Llama3_8B"], hardware=("H100",), qps=(20.0,))
    sanity_monotone.monotone(rep, ["Llama3_8B"])
    assert rep.n_checked["serving: ITL >= weight-bytes / HBM bandwidth"] > 100
    assert rep.v == {}


def test_a_planted_violation_is_reported():
    rep = sanity_sweep.Report()
    rep.check("x", True, "fine")
    rep.check("x", 0.7 <= sanity_sweep.MFU_BOUND["A100"], "MFU 0.7 on A100")
    assert rep.v == {"x": ["MFU 0.7 on A100"]} and rep.n_checked["x"] == 2
