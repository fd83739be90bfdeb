import os
import sys

# Property-based tests: a fast default profile for CI, an opt-in thorough one (HYPOTHESIS_PROFILE=thorough).
try:
    from hypothesis import HealthCheck, settings

    # "ci" draws the same 60 examples every run (derandomize): a red CI run is a regression, never a new random
    # draw; the random search for new counterexamples is the opt-in profiles' job
    settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("thorough", max_examples=100_000, deadline=None,
                              suppress_health_check=list(HealthCheck))
    if os.environ.get("HYPOTHESIS_EXAMPLES"):  # e.g. HYPOTHESIS_EXAMPLES=2000: any size between ci and thorough
        settings.register_profile("custom", max_examples=int(os.environ["HYPOTHESIS_EXAMPLES"]), deadline=None,
                                  suppress_health_check=list(HealthCheck))
        os.environ.setdefault("HYPOTHESIS_PROFILE", "custom")
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover
    pass


def pytest_terminal_summary(terminalreporter):
    """After a run that included the fuzz tests, say how many inputs they tried (issue 8 asks for the count)."""
    mod = sys.modules.get("test_fuzz") or sys.modules.get("tests.test_fuzz")
    seen = getattr(mod, "SEEN", None)
    if seen:
        terminalreporter.write_line(f"fuzz inputs tried: {dict(seen)} (total {sum(seen.values())})")
    inv = sys.modules.get("test_invariants") or sys.modules.get("tests.test_invariants")
    counts = getattr(inv, "COUNTS", None)
    if counts:  # issue 14: every invariant with the number of random valid configurations it was checked on
        terminalreporter.write_line(f"invariants checked: {len(counts)} x examples {dict(counts)} "
                                    f"(total {sum(counts.values())})")
