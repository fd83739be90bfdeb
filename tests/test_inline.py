"""The helpers inlined into the physics (physics/_inline.py) give exactly what the code as written gives: on the
rewriting's own cases (hand-checked values, types, evaluation order), on scalar solves of varied layouts and on
array sweeps through the same functions."""
from __future__ import annotations

import contextlib
import importlib
import sys
import textwrap

import numpy as np
import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.physics import _inline, collectives, layout, training, training_comm, training_memory
from mlsysim.solvers.distributed import BREAKDOWN_KEYS
from mlsysim.systems.system import Fleet

REWRITTEN = (training.layer_times, training.training_step, training.evaluate, training_memory.memory_per_device,
             training_memory.activation_bytes_per_layer, training_memory.params_per_device, collectives.overlapped,
             layout.layout_rules, training_comm.async_tp_pass, training_comm.expert_alltoall)


@contextlib.contextmanager
def as_written():
    """Every rewritten function runs its code as written, inside the block."""
    swapped = {f: f.__code__ for f in _inline.ORIGINAL}
    try:
        for f, code in _inline.ORIGINAL.items():
            f.__code__ = code
        yield
    finally:
        for f, code in swapped.items():
            f.__code__ = code


def test_the_step_and_memory_physics_are_rewritten():
    for f in REWRITTEN:
        assert f in _inline.ORIGINAL and f.__code__ is not _inline.ORIGINAL[f], f.__name__


@pytest.fixture()
def helpers_module(tmp_path, monkeypatch):
    """A module calling each helper, rewritten as the physics modules are (cache off: generated here)."""
    src = textwrap.dedent('''
        from mlsysim.physics._np import inline_helpers, vceil, vmax, vmin, vwhere

        CALLS = []

        def seen(x):
            CALLS.append(x)
            return x

        def where(c, a, b):
            return vwhere(c, a, b)

        def where_once(c, a, b):
            return vwhere(seen(c), seen(a), seen(b))

        def biggest(a, b):
            return vmax(seen(a), seen(b))

        def smallest(a, b):
            return vmin(a, b)

        def ceil(x):
            return vceil(x / 1.0)

        def nested(a, b, c):
            return vmax(vmin(a, b), vwhere(c > 0.0, c, 0.0))

        def shadowed(vmax, a, b):  # a local of a helper's name is not the helper: left as written
            return vmax(a, b)

        def scaled(x, k=2.0):  # straight-line: inlined into its callers' scalar variants
            y = x * k
            if y > 10.0:
                return 10.0
            return vmax(y, seen(1.0))

        def uses_scaled(a, b):
            z = scaled(a + b) + scaled(seen(b), 3.0)
            return z if a > 0.0 else scaled(a)  # a branch: stays a call

        inline_helpers(globals())
    ''')
    (tmp_path / "inl_case.py").write_text(src)
    monkeypatch.setenv("MLSYSIM_CACHE", "0")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("inl_case", None)
    mod = importlib.import_module("inl_case")
    yield mod
    sys.modules.pop("inl_case", None)


def test_rewritten_helpers_give_the_helpers_values(helpers_module):
    m = helpers_module
    assert all(f in _inline.ORIGINAL for f in (m.where, m.biggest, m.smallest, m.ceil, m.nested))
    # hand-checked values on floats, ints and bools
    assert m.where(True, 1.5, 2.5) == 1.5 and m.where(False, 1.5, 2.5) == 2.5
    assert m.biggest(2.0, 3.0) == 3.0 and m.biggest(3, 2) == 3 and m.smallest(2.0, -1.0) == -1.0
    assert m.ceil(2.1) == 3.0 and type(m.ceil(2.1)) is float and m.ceil(-0.5) == 0.0
    assert m.nested(4.0, 2.0, 5.0) == 5.0 and m.nested(4.0, 2.0, -5.0) == 2.0
    assert m.shadowed(min, 4.0, 2.0) == 2.0 and m.shadowed not in _inline.ORIGINAL
    # ties and signed zeros: vmax(a, b) is `a if a > b else b`, so a tie returns b
    assert str(m.biggest(0.0, -0.0)) == "-0.0" and str(m.smallest(-0.0, 0.0)) == "0.0"
    # arrays and numpy scalars take the helper itself
    a, b = np.array([1.0, 5.0]), np.array([4.0, 2.0])
    assert m.biggest(a, b).tolist() == [4.0, 5.0] and m.smallest(a, 3.0).tolist() == [1.0, 3.0]
    assert m.where(a > 2.0, a, b).tolist() == [4.0, 5.0] and m.ceil(np.array([0.2, 1.0])).tolist() == [1.0, 1.0]
    assert m.where(np.bool_(True), 1.0, 2.0) == 1.0


def test_each_argument_is_evaluated_once_in_order(helpers_module):
    m = helpers_module
    m.CALLS.clear()
    assert m.biggest(1.0, 7.0) == 7.0 and m.CALLS == [1.0, 7.0]
    m.CALLS.clear()
    assert m.biggest(np.float64(1.0), 7.0) == 7.0 and m.CALLS == [1.0, 7.0]  # the fallback reuses the values
    m.CALLS.clear()
    assert m.where_once(True, 1.0, 2.0) == 1.0 and m.CALLS == [True, 1.0]  # a scalar condition: one branch
    m.CALLS.clear()
    c = np.array([True, False])
    assert m.where_once(c, 1.0, 2.0).tolist() == [1.0, 2.0] and len(m.CALLS) == 3


def test_scalar_variants_drop_the_type_tests_and_call_each_other():
    for f in REWRITTEN:  # each has its own variant, which as_written() also runs as written
        v = _inline.scalar(f)
        assert v is not f and _inline.ORIGINAL[v] is _inline.ORIGINAL[f], f.__name__
    names = _inline.scalar(training.evaluate).__code__.co_names
    assert {"_scalar_training_step", "_scalar_memory_per_device"} <= set(names)
    assert "training_step" not in names and "memory_per_device" not in names
    assert "__class__" not in _inline.scalar(collectives.overlapped).__code__.co_names  # vmin's test is gone
    # the small straight-line functions are inlined where evaluated for sure (physics/_inline_calls.py) ...
    assert "_scalar_params_per_device" not in names and "params_per_device" not in names
    assert not {"_scalar_gemm_time", "gemm_time"} & set(_inline.scalar(training.layer_times).__code__.co_names)
    step = set(_inline.scalar(training.training_step).__code__.co_names)
    assert not {"_scalar_allreduce", "_scalar_hierarchical_allgather", "_scalar_overlapped", "allreduce"} & step
    # ... and stay calls in a branch that may not run (pp_comm's p2p sits in `0.0 if staged is False else ...`)
    assert "_scalar_p2p" in step


def test_scalar_variants_of_the_helpers_give_the_helpers_values(helpers_module):
    m, s = helpers_module, _inline.scalar
    assert s(m.where)(True, 1.5, 2.5) == 1.5 and s(m.where)(False, 1.5, 2.5) == 2.5 and s(m.where)(0, 1, 2) == 2
    assert s(m.biggest)(2.0, 3.0) == 3.0 and s(m.biggest)(3, 2) == 3 and s(m.smallest)(2.0, -1.0) == -1.0
    assert s(m.ceil)(2.1) == 3.0 and type(s(m.ceil)(2.1)) is float and s(m.ceil)(-0.5) == 0.0
    assert s(m.nested)(4.0, 2.0, 5.0) == 5.0 and s(m.nested)(4.0, 2.0, -5.0) == 2.0
    assert str(s(m.biggest)(0.0, -0.0)) == "-0.0" and str(s(m.smallest)(-0.0, 0.0)) == "0.0"  # ties: b, as vmax
    assert s(m.shadowed) is m.shadowed  # nothing to rewrite: the function itself
    m.CALLS.clear()
    assert s(m.biggest)(1.0, 7.0) == 7.0 and m.CALLS == [1.0, 7.0]
    m.CALLS.clear()
    assert s(m.where_once)(False, 1.0, 2.0) == 2.0 and m.CALLS == [False, 2.0]


def test_small_functions_are_inlined_into_the_scalar_variants(helpers_module):
    m, s = helpers_module, _inline.scalar
    names = s(m.uses_scaled).__code__.co_names
    assert names.count("_scalar_scaled") == 1 and "scaled" not in names  # the call in the branch is left
    # by hand: scaled(1 + 2) = max(6, 1) = 6; scaled(2, 3) = max(6, 1) = 6; a > 0: z = 12
    assert s(m.uses_scaled)(1.0, 2.0) == 12.0 == m.uses_scaled(1.0, 2.0)
    # scaled(4 + 2) = 10 (capped); scaled(2, 3) = 6; a < 0: scaled(-4) = max(-8, 1) = 1
    assert s(m.uses_scaled)(-4.0, 2.0) == 1.0 == m.uses_scaled(-4.0, 2.0)
    assert s(m.uses_scaled)(4.0, 2.0) == 16.0 == m.uses_scaled(4.0, 2.0)


LAYOUTS = [
    dict(model="Llama3_70B", tp_size=8, pp_size=1, dp_size=32),
    dict(model="Llama3_70B", tp_size=4, pp_size=4, interleave=2, zero_stage=3, recompute="full", cp_size=2),
    dict(model="Llama3_70B", tp_size=8, pp_size=2, flash_attention=False, recompute="none", zero_stage=0,
         sequence_parallel=False, precision="fp8", tp_overlap=0.5),
    dict(model="Llama3_70B", tp_size=2, pp_size=8, zero_stage=2, microbatch_size=2, stack="pytorch_fsdp2_compiled"),
    dict(model="Mixtral_8x7B", tp_size=2, pp_size=2, ep_size=8, zero_stage=1, ep_overlap=0.5, tokens=1e12),
    dict(model="DeepSeek_V3", tp_size=1, pp_size=8, ep_size=32, precision="fp8", recompute="full", stack="deepseek_v3_2024"),
]


def _solve(kw):
    from mlsysim.models.registry import Models as Reg
    kw = dict(kw)
    model = getattr(Reg.Language, kw.pop("model"))
    fleet = Systems.Clusters.Research_256
    try:
        r = DistributedModel().solve(model, fleet, **kw)
    except Exception as exc:  # the same error either way
        return repr(exc)
    return (r.step_s, r.mfu, r.hfu, r.time_to_train_s, r.tokens_per_s, r.feasible, r.scaling_efficiency,
            r.flops_per_device, dict(r.breakdown_s), dict(r.memory_bytes), dict(r.layout))


@pytest.mark.parametrize("kw", LAYOUTS, ids=lambda kw: f"{kw['model']}-tp{kw['tp_size']}-pp{kw['pp_size']}")
def test_scalar_solves_equal_the_code_as_written(kw):
    got = _solve(kw)
    with as_written():
        want = _solve(kw)
    assert got == want  # exact: same floats to the last bit


def test_array_sweeps_equal_the_code_as_written():
    """The explorer's path: layouts as arrays through evaluate and layout_problems."""
    from mlsysim.solvers.distributed import _dims, _hardware_args
    fleet: Fleet = Systems.Clusters.Research_256
    for model, ep in ((Models.Language.Llama3_70B, 1.0), (Models.Language.Mixtral_8x7B, 2.0)):
        d = _dims(model)
        hw, _, bytes_el, bytes_grad = _hardware_args(fleet, "bf16", None)
        tp = np.array([1.0, 2.0, 4.0, 8.0, 8.0, 16.0])
        pp = np.array([1.0, 2.0, 4.0, 1.0, 8.0, 2.0])
        cp = np.array([1.0, 1.0, 2.0, 1.0, 1.0, 2.0])
        dp = 256.0 / (tp * pp * cp)
        v = np.array([1.0, 2.0, 1.0, 1.0, 2.0, 1.0])
        rc, zero = np.array([0, 1, 2, 1, 2, 0]), np.array([0, 1, 2, 3, 1, 3])
        flash, sp = np.array([True, False, True, True, False, True]), tp > 1
        args = (d, tp, pp, dp, cp, ep, 1.0, dp * 4.0, 4096.0, v, rc, zero, flash, sp, 1e12, 80e9, hw)
        kw = dict(bytes_el=bytes_el, bytes_grad=bytes_grad, dp_overlap=1.0, tp_overlap=0.0, ep_overlap=0.0)
        got = training.evaluate(*args, **kw)
        bad = layout.layout_problems(d, 256, tp, pp, dp, cp, ep, 1.0, dp * 4.0, v, 4096.0, 1e12)
        with as_written():
            want = training.evaluate(*args, **kw)
            bad_want = layout.layout_problems(d, 256, tp, pp, dp, cp, ep, 1.0, dp * 4.0, v, 4096.0, 1e12)
        assert set(got) == set(want) and set(BREAKDOWN_KEYS) <= set(got)
        for k in want:
            if k == "memory":
                for c in want[k]:
                    assert np.array_equal(got[k][c], want[k][c]), (k, c)
            else:
                assert np.array_equal(got[k], want[k]), k
        assert all(np.array_equal(bad[k], bad_want[k]) for k in bad_want)


def test_a_cached_variant_follows_a_change_in_the_module_it_inlines(tmp_path, monkeypatch):
    """a_mod's scalar variant inlines b_mod.f: when b_mod's source changes, a_mod's cache entry is regenerated."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    head = "from mlsysim.physics._np import inline_helpers, vmax\n"
    (tmp_path / "inl_b.py").write_text(head + "def f(x):\n    return vmax(x, 1.0)\ninline_helpers(globals())\n")
    (tmp_path / "inl_a.py").write_text(head + "import inl_b as b\ndef g(x):\n    y = b.f(x) * 2.0\n    return y\n"
                                       "inline_helpers(globals())\n")

    def fresh():
        for name in ("inl_a", "inl_b"):
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        return importlib.import_module("inl_a")

    try:
        a = fresh()
        assert _inline.scalar(a.g)(0.5) == 2.0 and "_scalar_f" not in _inline.scalar(a.g).__code__.co_names
        a = fresh()  # from the cache now
        assert _inline.scalar(a.g)(0.5) == 2.0
        (tmp_path / "inl_b.py").write_text(head + "def f(x):\n    return vmax(x, 10.0)\ninline_helpers(globals())\n")
        a = fresh()
        assert _inline.scalar(a.g)(0.5) == 20.0 == a.g(0.5)  # max(0.5, 10) x 2, not the stale 2.0
    finally:
        for name in ("inl_a", "inl_b"):
            sys.modules.pop(name, None)
