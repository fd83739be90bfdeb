"""mtp_depth on a model that ships fewer multi-token-prediction modules (Llama 3: none; DeepSeek-V3: one) stays
accepted as a what-if (test_serving_mtp.py serves Llama 3 70B with one), and every face's assumptions say so;
the model's own module is named as such. The record's count comes from the paper or from config.json."""
import pytest

from mlsysim import Hardware, Models, TransformerWorkload
from mlsysim.solvers.serving import ServingModel
from mlsysim.solvers.serving_load import ServingLoadModel

DSV3, L70 = Models.Language.DeepSeek_V3, Models.Language.Llama3_70B


def test_published_module_counts():
    # DeepSeek-V3 report (arXiv:2412.19437) Sec 2.2 / 4.2: "we set the MTP depth D to 1"; Llama 3 has none
    assert DSV3.mtp_modules == 1
    assert L70.mtp_modules == 0
    # the module is excluded from the 671B (its 14B are in HF's 685B): the count stays within 0.1 % of 671e9
    assert DSV3.params == pytest.approx(671e9, rel=1e-3)


def test_hf_config_num_nextn_predict_layers():
    # deepseek-ai/DeepSeek-V3 config.json: "num_nextn_predict_layers": 1 (a Llama config has no such key)
    cfg = {"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
           "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
           "num_key_value_heads": 128, "n_shared_experts": 1, "n_routed_experts": 256, "num_experts_per_tok": 8,
           "first_k_dense_replace": 3, "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128,
           "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 129280, "num_nextn_predict_layers": 1}
    assert TransformerWorkload.from_hf_config(cfg).mtp_modules == 1
    cfg.pop("num_nextn_predict_layers")
    assert TransformerWorkload.from_hf_config(cfg).mtp_modules == 0


def _note(model, depth, **kw):
    r = ServingModel().solve(model, Hardware.Cloud.H200, tp_size=8, precision="fp8", batch_size=16,
                             mtp_depth=depth, draft_acceptance_rate=0.8, **kw)
    return r, r.assumptions["speculative decoding"]


def test_assumptions_name_a_what_if():
    _, own = _note(DSV3, 1)
    assert "DeepSeek-V3's own multi-token-prediction module" in own and "what-if" not in own
    _, deeper = _note(DSV3, 2)
    assert "a what-if: DeepSeek-V3 ships 1 MTP module, 2 are assumed" in deeper
    r, none = _note(L70, 1)
    assert "a what-if: Llama 3 70B ships no MTP modules, 1 is assumed" in none
    # the note changes no number: 1 drafted token at acceptance 0.8 yields 1 + 0.8 = 1.8 tokens per step
    # (Leviathan et al. 2023, Eq. 1 with k = 1), and the speed-up is below that (drafting is not free)
    assert "1.8 tokens per target step" in none and 1.0 < r.speculative_speedup < 1.8


def test_fleet_under_load_says_it_too():
    r = ServingLoadModel().solve(L70, Hardware.Cloud.H100, qps=3, input_len=1000, output_len=200, tp_size=4,
                                 precision="fp8", ttft_slo=1.0, tpot_slo=0.05, mtp_depth=2, draft_acceptance_rate=0.8)
    note = r.assumptions["speculative decoding"]
    # k = 2 at a = 0.8: (1 - 0.8^3) / (1 - 0.8) = 2.44 tokens per iteration
    assert "2.44 tokens per sequence" in note and "a what-if: Llama 3 70B ships no MTP modules, 2 are assumed" in note
