"""DistributedModel().solve builds result.layout, breakdown_s and memory_bytes on first access (issue 17): they
must read as before, survive copies, and the no-NaN/inf guard must still run on every solve."""
import copy
import dataclasses
import math
import pickle

import numpy as np
import pytest

from mlsysim import DistributedModel, Models, Systems
from mlsysim.errors import ConfigError
from mlsysim.solvers import distributed as D
from mlsysim.solvers.distributed_result import BREAKDOWN_KEYS, LAYOUT_KEYS


def _solve(**kw):
    return DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=1,
                                    dp_size=32, **kw)


def test_layout_echoes_the_inputs():
    r = _solve(global_batch_size=1024, zero_stage=2, tp_overlap=0.5)
    assert tuple(r.layout) == LAYOUT_KEYS
    assert (r.layout["tp_size"], r.layout["pp_size"], r.layout["dp_size"]) == (8, 1, 32)
    assert (r.layout["global_batch_size"], r.layout["zero_stage"], r.layout["tp_overlap"]) == (1024, 2, 0.5)
    assert r.layout["microbatches"] == 1024 / 32  # gbs / (dp x microbatch 1)
    assert r.layout["stack"] == "megatron_core_2024"


def test_breakdown_and_memory_are_plain_floats_and_add_up():
    r = _solve()
    assert tuple(r.breakdown_s) == BREAKDOWN_KEYS
    assert all(type(v) is float for v in (*r.breakdown_s.values(), *r.memory_bytes.values()))
    # pp = 1, one stage: nothing in the bubble or the pipeline sends
    assert r.breakdown_s["bubble"] == 0.0 and r.breakdown_s["pp_comm"] == 0.0
    assert r.memory_bytes["reserved"] == 2.5e9  # constants.RESERVED_MEMORY_BYTES
    assert r.memory_total.magnitude == pytest.approx(sum(r.memory_bytes.values()) / 1e9)
    assert r.breakdown_s is r.breakdown_s  # built once, then kept


def test_copies_compare_equal_and_unknown_attributes_raise():
    r = _solve()
    assert pickle.loads(pickle.dumps(r)) == r
    assert copy.deepcopy(r) == r
    assert dataclasses.replace(r, mfu=0.5).layout == r.layout
    assert not hasattr(r, "no_such_field")
    with pytest.raises(AttributeError):
        r.no_such_field  # noqa: B018


def test_a_non_finite_output_is_still_refused(monkeypatch):
    real = D._evaluate

    def poisoned(*a, **k):  # one breakdown entry turned to NaN: the solver must not hand it out
        out = real(*a, **k)
        out["bubble"] = math.nan
        return out

    monkeypatch.setattr(D, "_evaluate", poisoned)
    with pytest.raises(ConfigError, match="internal value bubble is not finite"):
        _solve()


def test_numpy_scalars_come_out_as_plain_floats(monkeypatch):
    real = D._evaluate

    def numpy_out(*a, **k):  # as if a record held numpy numbers: the result still holds Python floats
        out = real(*a, **k)
        out["step"], out["bubble"] = np.float64(out["step"]), np.float64(out["bubble"])
        return out

    monkeypatch.setattr(D, "_evaluate", numpy_out)
    r = _solve()
    assert type(r.step_s) is float and type(r.breakdown_s["bubble"]) is float
