"""Read a Hugging Face `config.json` (the parsed dict) into TransformerWorkload fields, family by family.

Every spelling a common family uses is read (GPT-2 `n_embd`, Falcon `num_kv_heads` / `multi_query`, Qwen-MoE
`shared_expert_intermediate_size`, DeepSeek `n_shared_experts`, the trained length in
`rope_scaling.original_max_position_embeddings`); what cannot be read is a ConfigError naming the key, never a
silent default. Defaults per family are those of the family's `transformers` config class.
"""
from __future__ import annotations

from collections.abc import Mapping

from ..errors import ConfigError

#: SwiGLU/GeGLU families (three FFN matrices).
GATED = {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma", "gemma2", "gemma3_text",
         "deepseek_v2", "deepseek_v3", "olmo", "olmo2", "phi3"}
#: Families with a bias in every linear layer.
BIASED = {"gpt2", "opt", "bloom", "gpt_neox"}
#: tie_word_embeddings when config.json leaves it out (the default of each family's transformers config class).
TIED_DEFAULT = {"llama": False, "mistral": False, "mixtral": False, "qwen2": False, "qwen2_moe": False,
                "qwen3": False, "qwen3_moe": False, "gemma": True, "gemma2": True, "gemma3_text": True,
                "deepseek_v2": False, "deepseek_v3": False, "olmo": False, "olmo2": False, "phi3": False,
                "falcon": True, "gpt2": True, "opt": True, "bloom": True, "gpt_neox": False}
KNOWN = set(TIED_DEFAULT)


def read(config, name=None) -> dict:
    """TransformerWorkload keyword arguments from a parsed config.json dict."""
    if not isinstance(config, Mapping):
        hint = (" (it looks like a path or JSON text: pass the parsed dict, e.g. "
                "from_hf_config(json.load(open('config.json'))))" if isinstance(config, (str, bytes)) else "")
        raise ConfigError(f"from_hf_config needs the parsed config.json as a dict, got {type(config).__name__}"
                          f"{hint}")
    c = {k: v for k, v in config.items() if v is not None}
    mtype = str(c.get("model_type", "")).lower()
    if mtype == "refinedwebmodel" or mtype == "refinedweb":  # Falcon's first configs
        mtype = "falcon"
    g = _Getter(c, mtype)

    hidden = g.int("hidden_size", "n_embd", "d_model")
    heads = g.int("num_attention_heads", "n_head", "num_heads")
    layers = g.int("num_hidden_layers", "n_layer", "num_layers")
    vocab = g.int("vocab_size")
    if mtype in BIASED or mtype == "falcon":
        ffn = g.int("intermediate_size", "ffn_dim", "n_inner", "ffn_hidden_size", default=4 * hidden)
    else:
        ffn = g.int("intermediate_size", "ffn_dim", "n_inner", "ffn_hidden_size")
    act = str(c.get("hidden_act", c.get("activation_function", ""))).lower()
    gated = mtype in GATED or "silu" in act or "swiglu" in act or "geglu" in act

    if mtype == "falcon":
        new_arch = g.bool("new_decoder_architecture", default=False)
        kv = g.int("num_kv_heads", "n_head_kv", default=heads) if new_arch else (
            1 if g.bool("multi_query", default=True) else heads)
    else:
        kv = g.int("num_key_value_heads", "num_kv_heads", "n_head_kv", default=heads)
        if "multi_query" in c and g.bool("multi_query") and "num_key_value_heads" not in c:
            kv = 1
    tied = g.bool("tie_word_embeddings", default=TIED_DEFAULT.get(mtype))
    bias = g.bool("bias", default=False) if mtype == "falcon" else mtype in BIASED

    kw = dict(name=name or str(c.get("_name_or_path") or mtype or "custom"), n_layers=layers, hidden=hidden,
              n_heads=heads, n_kv_heads=kv, head_dim=g.int("head_dim", default=None), ffn_hidden=ffn, vocab=vocab,
              gated_mlp=gated, tied_embeddings=tied, linear_bias=bias, embedding_norm=mtype == "bloom",
              learned_pos_emb=g.int("max_position_embeddings", "n_positions", default=0) if mtype in ("gpt2", "opt")
              else 0, seq_len=_trained_length(g))
    kw.update(_experts(g, mtype))
    ctx = g.int("max_position_embeddings", "n_positions", "max_seq_len", default=None)
    if ctx:  # the context the checkpoint declares (vLLM's max_model_len); serving refuses longer requests
        kw.update(max_context=ctx, max_context_source="config.json: max_position_embeddings (or n_positions / "
                                                      "max_seq_len), the context the checkpoint declares")
    if g.int("num_nextn_predict_layers", default=0):  # DeepSeek-V3's multi-token-prediction modules
        kw["mtp_modules"] = g.int("num_nextn_predict_layers")
    if g.int("kv_lora_rank", default=0):  # multi-head latent attention (DeepSeek-V2/V3)
        rope = g.int("qk_rope_head_dim", default=64)
        kw.update(q_lora_rank=g.int("q_lora_rank", default=0), kv_lora_rank=g.int("kv_lora_rank"),
                  qk_rope_head_dim=rope, head_dim=g.int("qk_nope_head_dim", default=128) + rope,
                  v_head_dim=g.int("v_head_dim", default=None))
    return kw


def _trained_length(g) -> int:
    """The sequence length trained at: rope_scaling's original length where a context extension is declared."""
    rs = g.c.get("rope_scaling")
    if rs is not None and not isinstance(rs, Mapping):
        raise ConfigError(f"config.json: rope_scaling must be a mapping or null, got {rs!r}")
    if rs and rs.get("original_max_position_embeddings") is not None:
        return _Getter(dict(rs), g.mtype).int("original_max_position_embeddings")
    return g.int("original_max_position_embeddings", "max_position_embeddings", "n_positions", "seq_length",
                 default=2048)


def _experts(g, mtype) -> dict:
    """Routed experts, experts per token, shared experts and leading dense layers, in every family's spelling."""
    n = g.int("num_local_experts", "n_routed_experts", "num_experts", default=1)
    if n <= 1:
        return {}
    out = dict(n_experts=n, experts_per_token=g.int("num_experts_per_tok", "num_experts_per_token", default=1),
               expert_ffn_hidden=g.int("moe_intermediate_size", default=None))
    shared_size = g.int("shared_expert_intermediate_size", default=0)  # Qwen-MoE: one wide shared expert
    if shared_size:
        unit = out["expert_ffn_hidden"] or g.int("intermediate_size")
        if shared_size % unit:
            raise ConfigError(f"config.json: shared_expert_intermediate_size={shared_size} is not a multiple of the "
                              f"expert size {unit}; give n_shared_experts and expert_ffn_hidden as overrides")
        out["n_shared_experts"] = shared_size // unit
    else:
        out["n_shared_experts"] = g.int("n_shared_experts", default=0)
    out["n_dense_layers"] = g.int("first_k_dense_replace", default=0)
    if g.int("decoder_sparse_step", "moe_layer_freq", default=1) != 1:
        raise ConfigError("config.json: MoE layers only every few layers (decoder_sparse_step / moe_layer_freq != 1) "
                          "cannot be described; pass n_dense_layers= and the expert fields as overrides")
    dense = g.c.get("mlp_only_layers") or []
    if dense:
        if list(dense) != list(range(len(dense))):
            raise ConfigError(f"config.json: mlp_only_layers={list(dense)} are not the leading layers; only leading "
                              f"dense layers (n_dense_layers) can be described")
        out["n_dense_layers"] = len(dense)
    return out


_MISSING = object()


class _Getter:
    """Typed access to config.json keys: the first spelling present wins; a missing key without a default is a
    ConfigError that names every spelling looked for."""

    def __init__(self, c: dict, mtype: str):
        self.c, self.mtype = c, mtype

    def _raw(self, keys, default, kind):
        for k in keys:
            if k in self.c:
                return k, self.c[k]
        if default is _MISSING:
            fam = f"model_type {self.mtype!r}" if self.mtype else "no model_type"
            known = "" if self.mtype in KNOWN else f" (families read without it: {', '.join(sorted(KNOWN))})"
            raise ConfigError(f"config.json lacks {' / '.join(keys)} ({kind}; {fam}); add it to the dict{known}")
        return None, default

    def int(self, *keys, default=_MISSING):
        key, v = self._raw(keys, default, "an integer")
        if key is None:
            return v
        if isinstance(v, bool) or not (isinstance(v, int) or (isinstance(v, float) and v.is_integer())):
            raise ConfigError(f"config.json: {key} must be an integer, got {type(v).__name__} {v!r}")
        return int(v)

    def bool(self, *keys, default=_MISSING):
        key, v = self._raw(keys, _MISSING if default is None else default, "true or false")
        if key is None:
            return v
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise ConfigError(f"config.json: {key} must be true or false, got {type(v).__name__} {v!r}")
