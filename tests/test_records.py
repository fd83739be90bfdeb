"""User-built records: validation before arithmetic, units at the API, Hugging Face configs."""
import pytest

from mlsysim import Accelerator, ConfigError, Fabric, Fleet, Node, Q, TransformerWorkload


def acc(**kw):
    args = dict(name="chip", peak_flops={"bf16": 100e12}, memory_bytes=Q(40, "GB"), memory_bw=Q(1, "TB/s"),
                tdp_w=300)
    args.update(kw)
    return Accelerator(**args)


def test_quantities_are_converted_to_si():
    a = acc()
    assert a.memory_bytes == 40e9 and a.memory_bw == 1e12
    assert a.memory.to("GiB").magnitude == pytest.approx(40e9 / 2**30)


@pytest.mark.parametrize("kw, words", [
    (dict(memory_bw=Q(3, "s")), "byte / second|byte/s"),
    (dict(memory_bytes=-1), "> 0"),
    (dict(tdp_w=float("nan")), "finite"),
    (dict(peak_flops={"bf17": 1e12}), "precision"),
    (dict(tdp_w="700"), "number"),
])
def test_accelerator_bad_input(kw, words):
    with pytest.raises(ConfigError, match=words):
        acc(**kw)


@pytest.mark.parametrize("kw, words", [
    (dict(n_heads=7), "does not divide hidden"),
    (dict(n_kv_heads=3), "must divide n_heads"),
    (dict(n_layers=0), ">= 1"),
    (dict(hidden=-8), ">= 1"),
    (dict(n_layers=2.5), "integer"),
    (dict(n_experts=2, experts_per_token=4), "exceeds"),
    (dict(tokens=-5), "tokens"),
])
def test_workload_bad_input(kw, words):
    args = dict(name="m", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
    args.update(kw)
    with pytest.raises(ConfigError, match=words):
        TransformerWorkload(**args)


def test_fleet_needs_nodes_and_checks_types():
    node = Node(name="n", accelerator=acc(), accelerators_per_node=8, scaleup_bw=300e9, nic_bw=200e9)
    fab = Fabric(name="ib", port_bw=25e9, latency_s=5e-6)
    assert Fleet(node=node, count=4, fabric=fab).total_accelerators == 32
    with pytest.raises(ConfigError, match=">= 1"):
        Fleet(node=node, count=0, fabric=fab)
    with pytest.raises(ConfigError, match="Node"):
        Fleet(node="DGX", count=1, fabric=fab)
    with pytest.raises(ConfigError, match="oversubscription"):
        Fabric(name="x", port_bw=1e9, latency_s=0, oversubscription=0.5)


def test_from_hf_config_llama3_8b_and_mixtral():
    # Llama-3-8B config.json (meta-llama/Meta-Llama-3-8B); published size 8.03B
    llama = {"model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
             "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 128256, "hidden_act": "silu",
             "max_position_embeddings": 8192, "tie_word_embeddings": False}
    m = TransformerWorkload.from_hf_config(llama, name="Llama-3-8B")
    assert m.gated_mlp and not m.tied_embeddings
    assert m.params == pytest.approx(8.03e9, rel=0.005)
    # Mixtral-8x7B config.json (mistralai/Mixtral-8x7B-v0.1); Mistral AI: 46.7B total, 12.9B active
    mix = {"model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
           "num_hidden_layers": 32, "num_key_value_heads": 8, "vocab_size": 32000, "num_local_experts": 8,
           "num_experts_per_tok": 2, "max_position_embeddings": 32768, "tie_word_embeddings": False}
    m = TransformerWorkload.from_hf_config(mix)
    assert m.params == pytest.approx(46.7e9, rel=0.01)
    assert m.active_params == pytest.approx(12.9e9, rel=0.01)
    with pytest.raises(ConfigError, match="vocab"):
        TransformerWorkload.from_hf_config({k: v for k, v in llama.items() if k != "vocab_size"})


def test_import_is_light():
    import subprocess
    import sys
    code = "import sys, mlsysim; print(any(m in sys.modules for m in ('numpy', 'pint', 'pandas', 'matplotlib')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
