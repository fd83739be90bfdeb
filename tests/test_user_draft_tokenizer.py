"""A draft model must speak the target's tokenizer: Llama 2 7B (vocabulary 32,000, Touvron et al. 2023) cannot
draft for Llama 3 70B (128,256, Llama 3 report Table 3); it was accepted and priced. Padded vocabularies of one
tokenizer (Pythia 160M's 50,304 against Pythia 12B's 50,688: 384 / 50,688 = 0.8 % apart) still pair."""
from __future__ import annotations

import pytest

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers import ServingModel
from mlsysim.solvers.serving_load import ServingLoadModel
from mlsysim.solvers.serving_plan import plan_serving

L70, H100 = Models.Language.Llama3_70B, Hardware.Cloud.H100


def test_another_tokenizer_is_refused_everywhere():
    kw = dict(draft_model=Models.Language.Llama2_7B, draft_acceptance_rate=0.7)
    for call in (lambda: ServingModel().solve(L70, H100, tp_size=4, **kw),
                 lambda: ServingLoadModel().solve(L70, H100, qps=10, tp_size=4, **kw),
                 lambda: plan_serving(L70, qps=10, ttft_slo=0.5, hardware=["H100"], precisions=["fp8"],
                                      datacenters=["GCP_Iowa"], **kw)):
        with pytest.raises(ConfigError, match=r"32,000.*128,256.*tokenizer"):
            call()


def test_one_family_still_drafts():
    r = ServingModel().solve(L70, H100, tp_size=4, draft_model=Models.Language.Llama3_8B, draft_acceptance_rate=0.7)
    assert r.speculative_speedup > 1.0
    p = ServingModel().solve(Models.Language.Pythia_12B, H100, draft_model=Models.Language.Pythia_160M, seq_len=1024,
                             draft_acceptance_rate=0.7)
    assert p.feasible
