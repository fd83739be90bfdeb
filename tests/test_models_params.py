"""Parameter counts from the architecture fields (physics.transformer.param_counts) against the counts the
authors publish. The published numbers are written here literally with their citation, never read back from
models.toml, so a wrong architecture field in the data file shows up as a miss."""
import pytest

from mlsysim.models.registry import Models
from mlsysim.physics.transformer import param_counts

# key -> published total parameters, with its source.
PUBLISHED_TOTAL = {
    "Language.GPT3_175B": 175.0e9,  # Brown et al. 2020 arXiv:2005.14165 Table 2.1
    "Language.OPT_175B": 175e9,  # Zhang et al. 2022 arXiv:2205.01068 Table 1
    "Language.BLOOM_176B": 176.247e9,  # BigScience 2022 arXiv:2211.05100 (176,247M)
    "Language.PaLM_540B": 540.35e9,  # Chowdhery et al. 2022 arXiv:2204.02311 Table 1
    "Language.LLaMA_7B": 6.7e9,  # Touvron et al. 2023 arXiv:2302.13971 Table 2
    "Language.LLaMA_13B": 13.0e9,  # same, Table 2
    "Language.LLaMA_33B": 32.5e9,  # same, Table 2
    "Language.LLaMA_65B": 65.2e9,  # same, Table 2
    "Language.Llama2_7B": 6_738_415_616,  # HF meta-llama/Llama-2-7b-hf safetensors index
    "Language.Llama2_13B": 13_015_864_320,  # HF meta-llama/Llama-2-13b-hf
    "Language.Llama2_70B": 68_976_648_192,  # HF meta-llama/Llama-2-70b-hf (marketed "70B")
    "Language.Llama3_8B": 8.03e9,  # Llama 3.1 model card / HF meta-llama/Meta-Llama-3-8B
    "Language.Llama3_70B": 70.55e9,  # Llama 3 paper arXiv:2407.21783 / HF model card
    "Language.Llama3_405B": 405.85e9,  # HF meta-llama/Llama-3.1-405B (405,853,388,800); issue: 405.9B
    "Language.Mixtral_8x7B": 46.7e9,  # Mistral AI 'Mixtral of experts' (Dec 2023)
    "Language.DeepSeek_V3": 671e9,  # DeepSeek-V3 Technical Report arXiv:2412.19437 (excl. 14B MTP module)
    "Language.Pythia_160M": 162_322_944,  # Biderman et al. 2023 arXiv:2304.01373 Table 1
    "Language.Pythia_1_4B": 1_414_647_808,  # same
    "Language.Pythia_6_9B": 6_857_302_016,  # same
    "Language.Pythia_12B": 11_846_072_320,  # same
    "Language.Pythia_70M": 70_426_624,  # same
    "Language.Pythia_410M": 405_334_016,  # same
    "Language.Pythia_1B": 1_011_781_632,  # same
    "Language.Pythia_2_8B": 2_775_208_960,  # same
    "Language.Falcon_7B": 7.22e9,  # HF tiiuae/falcon-7b page (approx, recalled; the card says "7B")
    "Language.Falcon_40B": 41.8e9,  # HF tiiuae/falcon-40b page (approx, recalled; the card says "40B")
    "Language.MPT_7B": 6.7e9,  # MosaicML 2023, "Introducing MPT-7B" blog
    "Language.StarCoderBase_15B": 15.5e9,  # Li et al. 2023, StarCoder arXiv:2305.06161
    "Megatron.Korthikanti_22B": 22e9,  # Korthikanti et al. 2022 arXiv:2205.05198 Table 3
    "Megatron.Korthikanti_175B": 175e9,  # same
    "Megatron.Korthikanti_530B": 530e9,  # same
    "Megatron.Korthikanti_1T": 1000e9,  # same ("1T"; the architecture is SC21's 1008B)
    "Language.MTNLG_530B": 530e9,  # Smith et al. 2022 arXiv:2201.11990 ("530B"; count here 529.6B)
    "Language.Nemotron4_340B": 341e9,  # arXiv:2406.11704 Table 1: 9.4B embedding + 331.6B non-embedding
    "Language.Nemotron4_15B": 15.7e9,  # arXiv:2402.16819 Table 1: 3.2B embedding + 12.5B non-embedding
}

# Megatron SC21 (Narayanan et al. 2021, arXiv:2104.04473) Table 1: (layers, hidden, published billions, printed
# to 0.1B). Vocab 51,200, sequence 2,048.
SC21_TABLE1 = {
    "Megatron.GPT_1_7B": (24, 2304, 1.7), "Megatron.GPT_3_6B": (30, 3072, 3.6),
    "Megatron.GPT_7_5B": (36, 4096, 7.5), "Megatron.GPT_18_4B": (40, 6144, 18.4),
    "Megatron.GPT_39_1B": (48, 8192, 39.1), "Megatron.GPT_76_1B": (60, 10240, 76.1),
    "Megatron.GPT_145_6B": (80, 12288, 145.6), "Megatron.GPT_310_1B": (96, 16384, 310.1),
    "Megatron.GPT_529_6B": (105, 20480, 529.6), "Megatron.GPT_1T": (128, 25600, 1008.0),
}


def _model(key):
    cat, name = key.split(".")
    return getattr(Models, cat)[name]


@pytest.mark.parametrize("key,published", sorted(PUBLISHED_TOTAL.items()))
def test_total_params_within_1pct_of_published(key, published):
    total = param_counts(_model(key))["total"]
    assert total == pytest.approx(published, rel=0.01), f"{key}: {total / 1e9:.3f}B vs {published / 1e9:.3f}B"


def test_mixtral_active_params():
    # Mistral AI (Dec 2023): 12.9B parameters used per token (2 of 8 experts).
    assert param_counts(Models.Language.Mixtral_8x7B)["active"] == pytest.approx(12.9e9, rel=0.01)


def test_deepseek_v3_active_params():
    # DeepSeek-V3 report arXiv:2412.19437: "37B activated". Printed to the nearest billion. Our "active" counts
    # the whole input-embedding table (129,280 x 7,168 = 0.93B), of which a token reads one row: with it the
    # count is 37.55B (+1.5 %), without it 36.63B (-1.0 %). DeepSeek's 37B matches the count without the
    # input embedding (rounds to 37); Mixtral's 12.9B above matches the count with it (conventions differ).
    p = param_counts(Models.Language.DeepSeek_V3)
    assert round((p["active"] - p["embedding"]) / 1e9) == 37
    assert p["active"] == pytest.approx(37e9, rel=0.016)
    assert 8 * p["per_expert"] == pytest.approx(8 * 3 * 7168 * 2048)  # SwiGLU expert, 3 matrices


@pytest.mark.parametrize("key", sorted(SC21_TABLE1))
def test_sc21_counts_match_the_papers_formula_and_table(key):
    # Narayanan et al. 2021 Sec 5.1: P = 12 l h^2 (1 + 13/(12 h) + (V + s)/(12 l h)); our count also has the
    # final LayerNorm (2h), which the formula omits. Table 1 prints P to 0.1B: ours must round to it.
    layers, h, published_b = SC21_TABLE1[key]
    V, s = 51200, 2048
    formula = 12 * layers * h**2 * (1 + 13 / (12 * h) + (V + s) / (12 * layers * h))
    total = param_counts(_model(key))["total"]
    assert total == pytest.approx(formula + 2 * h, rel=1e-12)
    assert round(total / 1e9, 1) == pytest.approx(published_b)


def test_llama3_70b_by_hand():
    # h = 8192, L = 80, 64 heads of 128, 8 KV heads (KV width 1024), SwiGLU FFN 28672, vocab 128256, untied.
    # attention: Wq 8192*8192 = 67,108,864; Wk + Wv 2*8192*1024 = 16,777,216; Wo 67,108,864 -> 150,994,944
    # MLP (gate, up, down): 3*8192*28672 = 704,643,072
    # two RMSNorms: 2*8192 = 16,384
    # per layer: 855,654,400; x 80 layers = 68,452,352,000
    # embedding 128256*8192 = 1,050,673,152; untied LM head the same; final RMSNorm 8,192
    # total = 68,452,352,000 + 2 * 1,050,673,152 + 8,192 = 70,553,706,496 (published 70.55B)
    per_layer = 8192 * 8192 + 2 * 8192 * 1024 + 8192 * 8192 + 3 * 8192 * 28672 + 2 * 8192
    assert per_layer == 855_654_400
    hand = 80 * per_layer + 2 * 128256 * 8192 + 8192
    assert hand == 70_553_706_496
    assert param_counts(Models.Language.Llama3_70B)["total"] == hand


def test_pythia_160m_by_hand_exact():
    # GPT-NeoX 160M: h = 768, L = 12, FFN 3072, biases and LayerNorms (weight + bias), untied, vocab 50304.
    # attention: QKV 768*2304 + 2304 bias, dense 768*768 + 768 -> 4*768^2 + 4*768 = 2,362,368
    # MLP: 768*3072 + 3072 + 3072*768 + 768 = 4,722,432
    # two LayerNorms: 2 * 2*768 = 3,072           per layer 7,087,872; x 12 = 85,054,464
    # embedding 50304*768 = 38,633,472, untied output the same; final LayerNorm 1,536
    # total = 85,054,464 + 77,266,944 + 1,536 = 162,322,944 = Pythia paper Table 1, to the parameter
    per_layer = (4 * 768**2 + 4 * 768) + (2 * 768 * 3072 + 3072 + 768) + 2 * 2 * 768
    assert per_layer == 7_087_872
    hand = 12 * per_layer + 2 * 50304 * 768 + 2 * 768
    assert hand == 162_322_944
    assert param_counts(Models.Language.Pythia_160M)["total"] == hand


# Models whose paper gives only the rounded name, checked by hand to the parameter and against the name at 1.5 %.
NOMINAL_TOTAL = {"Language.GLM_130B": 130e9}  # Zeng et al. 2022 arXiv:2210.02414 ("130B")


def test_glm_130b_by_hand():
    # h = 12288, L = 70, 96 heads, GeGLU FFN 32768, biases, two LayerNorms (weight + bias) per layer, vocab 150528,
    # output tied to the word embedding, rotary (no position table). A gated MLP's up-projection bias is counted
    # once (32768, as physics.transformer.mlp_params does; GLM's fused gate+up bias has twice that: +2.3M, 0.002 %).
    # attention: 4 * 12288^2 + 4 * 12288 = 604,028,928; MLP: 3 * 12288 * 32768 + 32768 + 12288 = 1,208,004,608
    # norms 4 * 12288 = 49,152; per layer 1,812,082,688; x 70 = 126,845,788,160
    # embedding 150528 * 12288 = 1,849,688,064; final LayerNorm 24,576; total 128,695,500,800 (the name: 130B)
    h, f = 12288, 32768
    per_layer = (4 * h * h + 4 * h) + (3 * h * f + f + h) + 4 * h
    assert per_layer == 1_812_082_688
    hand = 70 * per_layer + 150528 * h + 2 * h
    assert hand == 128_695_500_800
    assert param_counts(Models.Language.GLM_130B)["total"] == hand
    assert hand == pytest.approx(NOMINAL_TOTAL["Language.GLM_130B"], rel=0.015)
    assert Models.Language.GLM_130B.published_params == NOMINAL_TOTAL["Language.GLM_130B"]


def test_every_model_with_a_published_count_is_checked_here():
    checked = set(PUBLISHED_TOTAL) | set(SC21_TABLE1) | set(NOMINAL_TOTAL)
    for cat in Models.categories():
        for m in getattr(Models, cat):
            if m.published_params:
                assert f"{cat}.{m.key}" in checked, f"{cat}.{m.key} has a published count but no test here"


def test_registry_published_fields_agree_with_this_file():
    # The data file's published_params must be the same number this test cites (within print precision).
    for key, published in PUBLISHED_TOTAL.items():
        assert _model(key).published_params == pytest.approx(published, rel=1e-3), key
    assert Models.Language.Mixtral_8x7B.published_active_params == pytest.approx(12.9e9)
    assert Models.Language.DeepSeek_V3.published_active_params == pytest.approx(37e9)
