"""TransformerWorkload.from_hf_config on the config.json of real models across families (dense, GQA, MQA, MoE with
and without shared experts, MLA), against the parameter counts their authors publish.

The config dicts are written out by hand from each model's published config.json on the Hugging Face Hub (only
the keys the families use for shape); the expected counts are the published figures, cited per row, never the
code's output. Total counts: tolerances follow the precision of the published figure (a figure given as "7B" is
+-0.5B); active counts: within 2.5 % for every model (publishers round them and differ in what they count).
"""
import pytest

from mlsysim import TransformerWorkload
from mlsysim.errors import ConfigError

CFGS = {
 "llama3_8b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
   "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256, "hidden_act": "silu",
   "max_position_embeddings": 8192, "tie_word_embeddings": False},
 "llama3_70b": {"model_type": "llama", "hidden_size": 8192, "intermediate_size": 28672, "num_attention_heads": 64,
   "num_hidden_layers": 80, "num_key_value_heads": 8, "vocab_size": 128256, "hidden_act": "silu",
   "max_position_embeddings": 8192, "tie_word_embeddings": False},
 "mistral_7b": {"model_type": "mistral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
   "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 32000, "hidden_act": "silu",
   "max_position_embeddings": 32768, "tie_word_embeddings": False},
 "mixtral": {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
   "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
   "num_experts_per_tok": 2, "max_position_embeddings": 32768, "tie_word_embeddings": False},
 "qwen15moe": {"model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632, "moe_intermediate_size": 1408,
   "shared_expert_intermediate_size": 5632, "num_experts": 60, "num_experts_per_tok": 4, "num_attention_heads": 16,
   "num_key_value_heads": 16, "num_hidden_layers": 24, "vocab_size": 151936, "decoder_sparse_step": 1,
   "mlp_only_layers": [], "max_position_embeddings": 8192, "tie_word_embeddings": False},
 "dsv2lite": {"model_type": "deepseek_v2", "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408,
   "num_hidden_layers": 27, "num_attention_heads": 16, "num_key_value_heads": 16, "n_shared_experts": 2,
   "n_routed_experts": 64, "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1,
   "kv_lora_rank": 512, "q_lora_rank": None, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
   "vocab_size": 102400, "max_position_embeddings": 163840, "tie_word_embeddings": False,
   "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096}},
 "dsv3": {"model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048,
   "num_hidden_layers": 61, "num_attention_heads": 128, "num_key_value_heads": 128, "n_shared_experts": 1,
   "n_routed_experts": 256, "num_experts_per_tok": 8, "first_k_dense_replace": 3, "moe_layer_freq": 1,
   "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64, "v_head_dim": 128,
   "vocab_size": 129280, "max_position_embeddings": 163840, "tie_word_embeddings": False,
   "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096}},
 "gemma7b": {"model_type": "gemma", "hidden_size": 3072, "intermediate_size": 24576, "num_attention_heads": 16,
   "num_key_value_heads": 16, "head_dim": 256, "num_hidden_layers": 28, "vocab_size": 256000,
   "hidden_act": "gelu", "max_position_embeddings": 8192},
 "falcon7b": {"model_type": "falcon", "hidden_size": 4544, "num_attention_heads": 71, "num_hidden_layers": 32,
   "multi_query": True, "new_decoder_architecture": False, "parallel_attn": True, "bias": False, "alibi": False,
   "vocab_size": 65024},
 "phi3mini": {"model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192, "num_attention_heads": 32,
   "num_key_value_heads": 32, "num_hidden_layers": 32, "vocab_size": 32064, "hidden_act": "silu",
   "max_position_embeddings": 4096, "tie_word_embeddings": False},
 "qwen2_7b": {"model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_attention_heads": 28,
   "num_key_value_heads": 4, "num_hidden_layers": 28, "vocab_size": 152064, "hidden_act": "silu",
   "max_position_embeddings": 131072, "tie_word_embeddings": False},
 "llama31_8b": {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
   "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256, "hidden_act": "silu",
   "max_position_embeddings": 131072, "tie_word_embeddings": False,
   "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 8192, "rope_type": "llama3"}},
}

# name -> (published total, its tolerance, published active or None, source)
PUBLISHED = {
    "llama3_8b": (8.03e9, 0.005e9, None, "HF meta-llama/Meta-Llama-3-8B model card: 8.03B"),
    "llama3_70b": (70.6e9, 0.05e9, None, "HF meta-llama/Meta-Llama-3-70B model card: 70.6B"),
    "mistral_7b": (7.24e9, 0.005e9, None, "HF mistralai/Mistral-7B-v0.1 safetensors: 7.24B"),
    "mixtral": (46.7e9, 0.05e9, 12.9e9, "Mistral AI, 'Mixtral of experts' (Dec 2023): 46.7B total, 12.9B per token"),
    "qwen15moe": (14.3e9, 0.05e9, 2.7e9, "Qwen team, 'Qwen1.5-MoE: Matching 7B Model Performance with 1/3 "
                  "Activated Parameters' (Mar 2024): 14.3B total, 2.7B activated"),
    "dsv2lite": (15.7e9, 0.05e9, 2.4e9, "DeepSeek-AI 2024, DeepSeek-V2 arXiv:2405.04434 App. B: 15.7B total, 2.4B "
                 "activated"),
    "dsv3": (671e9, 0.5e9, 37e9, "DeepSeek-AI 2024, DeepSeek-V3 arXiv:2412.19437: 671B total (excl. the 14B MTP "
             "module), 37B activated"),
    "gemma7b": (786_825_216 + 7_751_248_896, 1e6, None, "Gemma Team 2024, arXiv:2403.08295 Table 2: 786,825,216 "
                "embedding + 7,751,248,896 non-embedding"),
    "falcon7b": (7e9, 0.5e9, None, "TII, tiiuae/falcon-7b model card: 'a 7B parameters causal decoder-only model'"),
    "phi3mini": (3.8e9, 0.05e9, None, "Abdin et al. 2024, Phi-3 arXiv:2404.14219: 'phi-3-mini, a 3.8 billion "
                 "parameter language model'"),
    "qwen2_7b": (7.6e9, 0.05e9, None, "Qwen team 2024, Qwen2 arXiv:2407.10671 / HF Qwen/Qwen2-7B: 7.6B"),
    "llama31_8b": (8.03e9, 0.005e9, None, "HF meta-llama/Llama-3.1-8B model card: 8.03B"),
}
# DeepSeek counts activated parameters without the input-embedding lookup (a gather, not a matmul): DeepSeek-V2
# (236B / 21B) and V3 (671B / 37B) agree with that convention as well; Mistral and Qwen count it.
ACTIVE_WITHOUT_INPUT_EMBEDDING = {"dsv2lite", "dsv3"}


def test_at_least_ten_real_configs_across_families():
    assert len(PUBLISHED) >= 10 and set(PUBLISHED) == set(CFGS)
    kinds = {k: TransformerWorkload.from_hf_config(c) for k, c in CFGS.items()}
    assert any(m.n_kv_heads < m.n_heads and not m.is_moe for m in kinds.values())  # GQA
    assert any(m.n_kv_heads == 1 for m in kinds.values())  # MQA (Falcon)
    assert any(m.is_moe and not m.n_shared_experts for m in kinds.values())  # MoE without shared experts
    assert any(m.is_moe and m.n_shared_experts for m in kinds.values())  # with shared experts
    assert any(m.kv_lora_rank for m in kinds.values())  # MLA


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_parameter_count_matches_the_published_figure(key):
    total, tol, active, _source = PUBLISHED[key]
    m = TransformerWorkload.from_hf_config(CFGS[key])
    assert m.params == pytest.approx(total, abs=tol)
    if active is not None:
        got = m.active_params
        if key in ACTIVE_WITHOUT_INPUT_EMBEDDING:
            got -= m.vocab * m.hidden
        assert got == pytest.approx(active, rel=0.025)  # one rule for every active figure (V2-Lite: 2.45B, +2 %)


def test_falcon_7b_multi_query_by_hand():
    # Falcon-7B: multi_query -> 1 KV head of 64; FFN 4h, GELU, no biases, tied embeddings (FalconConfig default).
    # Per layer: QKV 4544 x (4544 + 2 x 64) + dense 4544^2 + MLP 2 x 4544 x 18176 = 207,060,992;
    # x 32 layers + embedding 65,024 x 4,544 = 6,921,420,800 (+ norms, ~0.3M)
    per_layer = 4544 * (4544 + 2 * 64) + 4544 ** 2 + 2 * 4544 * 18176
    body = 32 * per_layer + 65024 * 4544  # + norms (a few hundred thousand)
    m = TransformerWorkload.from_hf_config(CFGS["falcon7b"])
    assert (m.n_kv_heads, m.tied_embeddings, m.gated_mlp, m.linear_bias) == (1, True, False, False)
    assert m.params == pytest.approx(body, rel=1e-4)


def test_falcon_new_architecture_reads_num_kv_heads():
    # Falcon-40B config.json: new_decoder_architecture true, num_kv_heads 8 (grouped-query attention).
    c = {"model_type": "falcon", "hidden_size": 8192, "num_attention_heads": 128, "num_hidden_layers": 60,
         "new_decoder_architecture": True, "num_kv_heads": 8, "vocab_size": 65024}
    assert TransformerWorkload.from_hf_config(c).n_kv_heads == 8


def test_qwen_moe_shared_expert_is_four_expert_widths():
    # shared_expert_intermediate_size 5632 = 4 x moe_intermediate_size 1408: one wide shared expert = 4 experts.
    m = TransformerWorkload.from_hf_config(CFGS["qwen15moe"])
    assert (m.n_experts, m.experts_per_token, m.n_shared_experts, m.expert_ffn_hidden) == (60, 4, 4, 1408)


def test_family_tie_defaults_and_string_booleans():
    g = dict(CFGS["gemma7b"])
    assert "tie_word_embeddings" not in g and TransformerWorkload.from_hf_config(g).tied_embeddings  # GemmaConfig
    m = TransformerWorkload.from_hf_config({**CFGS["llama3_8b"], "tie_word_embeddings": "true"})
    assert m.tied_embeddings is True
    m = TransformerWorkload.from_hf_config({**CFGS["gemma7b"], "tie_word_embeddings": "False"})
    assert m.tied_embeddings is False


def test_trained_length_is_rope_scalings_original_length():
    # Llama 3.1 declares 131072 positions through RoPE scaling from an original 8192 (its pre-training length).
    assert TransformerWorkload.from_hf_config(CFGS["llama31_8b"]).seq_len == 8192
    assert TransformerWorkload.from_hf_config(CFGS["dsv3"]).seq_len == 4096
    assert TransformerWorkload.from_hf_config(CFGS["llama31_8b"], seq_len=4096).seq_len == 4096  # override wins


@pytest.mark.parametrize("bad, words", [
    ("config.json", ["parsed config.json as a dict", "json.load"]),
    ('{"hidden_size": 4096}', ["parsed config.json as a dict", "json.load"]),
    (None, ["parsed config.json as a dict"]),
    ([("hidden_size", 64)], ["parsed config.json as a dict"]),
    ({"model_type": "mystery", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
      "vocab_size": 100}, ["intermediate_size", "mystery"]),
    ({**CFGS["llama3_8b"], "tie_word_embeddings": "maybe"}, ["tie_word_embeddings", "true or false"]),
    ({**CFGS["llama3_8b"], "hidden_size": "4096"}, ["hidden_size must be an integer"]),
    ({**CFGS["llama3_8b"], "rope_scaling": "yes"}, ["rope_scaling must be a mapping"]),
    ({**CFGS["qwen15moe"], "shared_expert_intermediate_size": 5000}, ["not a multiple", "n_shared_experts"]),
    ({**CFGS["qwen15moe"], "mlp_only_layers": [3, 7]}, ["mlp_only_layers", "leading"]),
    ({"model_type": "mystery", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
      "vocab_size": 100, "intermediate_size": 256}, ["tie_word_embeddings", "add it to the dict"]),
])
def test_unreadable_configs_are_config_errors_with_the_fix(bad, words):
    with pytest.raises(ConfigError) as ei:
        TransformerWorkload.from_hf_config(bad)
    for w in words:
        assert w in str(ei.value)
