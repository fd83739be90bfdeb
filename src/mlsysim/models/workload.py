"""The TransformerWorkload record: every architecture field needed to count parameters and FLOPs exactly."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from .._record import check_counts
from ..errors import ConfigError
from ..views import RecordView


@dataclass(frozen=True, repr=False)
class TransformerWorkload(RecordView):
    """A decoder-only transformer (dense or MoE) and its training budget.

    Example:
        >>> from mlsysim import TransformerWorkload
        >>> m = TransformerWorkload("tiny", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000)
        >>> round(m.params / 1e6, 2)
        2.09
    """

    name: str
    n_layers: int
    hidden: int
    n_heads: int
    ffn_hidden: int
    vocab: int
    n_kv_heads: int | None = None  # GQA/MQA; defaults to n_heads (multi-head attention)
    head_dim: int | None = None  # defaults to hidden / n_heads
    gated_mlp: bool = False  # SwiGLU/GeGLU: three FFN matrices instead of two
    tied_embeddings: bool = False
    linear_bias: bool = False  # GPT-2/3, OPT, BLOOM use biases in every linear layer
    learned_pos_emb: int = 0  # rows of a learned position-embedding table (GPT-3, OPT); 0 for RoPE/ALiBi
    embedding_norm: bool = False  # BLOOM: a LayerNorm right after the word embedding
    dropout: bool = False  # trained with dropout (GPT-2/3-era); Llama-era models train without
    # Mixture of experts: routed experts per MoE layer, how many each token uses, always-on shared experts.
    n_experts: int = 1
    experts_per_token: int = 1
    n_shared_experts: int = 0
    expert_ffn_hidden: int | None = None  # defaults to ffn_hidden
    n_dense_layers: int = 0  # leading layers with a dense FFN (DeepSeek-V3: 3) in an MoE model
    # Multi-head latent attention (DeepSeek-V2/V3); zeros mean ordinary attention.
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int | None = None
    # Training recipe.
    seq_len: int = 2048
    tokens: float = 0.0  # training token budget
    global_batch_tokens: float = 0.0  # tokens per optimizer step (0: choose ~4M tokens)
    published_params: float | None = None
    published_active_params: float | None = None
    year: int | None = None
    source: str = ""
    notes: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        check_counts(self, {"n_layers": 1, "hidden": 1, "n_heads": 1, "n_kv_heads": 1, "ffn_hidden": 1,
                            "vocab": 1, "head_dim": 1, "n_experts": 1, "experts_per_token": 1,
                            "n_shared_experts": 0, "expert_ffn_hidden": 1, "n_dense_layers": 0,
                            "q_lora_rank": 0, "kv_lora_rank": 0, "qk_rope_head_dim": 0, "v_head_dim": 1,
                            "seq_len": 1, "learned_pos_emb": 0})
        n = self.name
        from ..units import flag, si
        for f in ("gated_mlp", "tied_embeddings", "linear_bias", "embedding_norm", "dropout"):
            object.__setattr__(self, f, flag(getattr(self, f), f"{n}: {f}"))
        if self.head_dim is None:
            if self.hidden % self.n_heads:
                raise ConfigError(f"{n}: n_heads={self.n_heads} does not divide hidden={self.hidden}; "
                                  f"give head_dim explicitly or use a divisor of {self.hidden}")
            object.__setattr__(self, "head_dim", self.hidden // self.n_heads)
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(f"{n}: n_kv_heads={self.n_kv_heads} must divide n_heads={self.n_heads} "
                              f"(grouped-query attention shares each KV head among a whole group of heads)")
        if self.expert_ffn_hidden is None:
            object.__setattr__(self, "expert_ffn_hidden", self.ffn_hidden)
        if self.experts_per_token > self.n_experts:
            raise ConfigError(f"{n}: experts_per_token={self.experts_per_token} exceeds n_experts={self.n_experts}")
        if self.n_dense_layers > self.n_layers:
            raise ConfigError(f"{n}: n_dense_layers={self.n_dense_layers} exceeds n_layers={self.n_layers}")
        if self.n_shared_experts and self.n_experts == 1:
            raise ConfigError(f"{n}: n_shared_experts={self.n_shared_experts} but n_experts=1 (a dense model); "
                              f"set n_experts > 1 for a mixture of experts, or n_shared_experts=0")
        if not self.kv_lora_rank and (self.q_lora_rank or self.qk_rope_head_dim):
            raise ConfigError(f"{n}: q_lora_rank / qk_rope_head_dim describe multi-head latent attention and need "
                              f"kv_lora_rank > 0; set kv_lora_rank, or leave them at 0 for ordinary attention")
        if self.v_head_dim is None:
            object.__setattr__(self, "v_head_dim", self.head_dim)
        if self.kv_lora_rank and self.qk_rope_head_dim > self.head_dim:
            raise ConfigError(f"{n}: qk_rope_head_dim={self.qk_rope_head_dim} exceeds head_dim={self.head_dim} "
                              f"(head_dim = the no-rope part + the rotary part); give head_dim >= qk_rope_head_dim")
        for f in ("tokens", "global_batch_tokens"):  # counts: a plain number (a quantity in bytes is refused)
            object.__setattr__(self, f, si(getattr(self, f), "", f"{n}: {f}", allow_zero=True))

    # --- derived sizes (exact counts live in physics.transformer; these are thin views) ---
    @property
    def is_moe(self) -> bool:
        return self.n_experts > 1

    @property
    def params(self) -> float:
        """Total parameter count (all experts), from the architecture."""
        from ..physics.transformer import param_counts
        return param_counts(self)["total"]

    @property
    def active_params(self) -> float:
        """Parameters used per token (MoE: shared + the experts a token is routed to)."""
        from ..physics.transformer import param_counts
        return param_counts(self)["active"]

    @property
    def moe_layers(self) -> int:
        return self.n_layers - self.n_dense_layers if self.is_moe else 0

    def with_(self, **changes) -> "TransformerWorkload":
        """A copy with some fields changed (e.g. `m.with_(seq_len=8192)`), validated again."""
        return replace(self, **changes)

    @classmethod
    def from_hf_config(cls, config: dict, name: str | None = None, **overrides) -> "TransformerWorkload":
        """Build from a Hugging Face `config.json` dict (Llama, Mistral/Mixtral, Qwen2, GPT-2/NeoX, OPT, BLOOM,
        DeepSeek-V3 families). No network: pass the parsed dict."""
        c = dict(config)
        get = lambda *ks, default=None: next((c[k] for k in ks if k in c and c[k] is not None), default)
        hidden = get("hidden_size", "n_embd", "d_model")
        heads = get("num_attention_heads", "n_head", "num_heads")
        layers = get("num_hidden_layers", "n_layer", "num_layers")
        if hidden is None or heads is None or layers is None:
            raise ConfigError("config.json lacks hidden_size / num_attention_heads / num_hidden_layers")
        mtype = str(get("model_type", default="")).lower()
        act = str(get("hidden_act", "activation_function", default="gelu")).lower()
        gated = mtype in {"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe", "gemma",
                          "gemma2", "deepseek_v2", "deepseek_v3", "olmo", "olmo2", "phi3"} or "silu" in act \
            or "swiglu" in act
        ffn = get("intermediate_size", "ffn_dim", "n_inner", default=4 * hidden)
        n_experts = get("num_local_experts", "n_routed_experts", "num_experts", default=1)
        kw = dict(
            name=name or get("_name_or_path", default=mtype or "custom"),
            n_layers=layers, hidden=hidden, n_heads=heads,
            n_kv_heads=get("num_key_value_heads", default=heads), head_dim=get("head_dim"),
            ffn_hidden=ffn, vocab=get("vocab_size"), gated_mlp=gated,
            tied_embeddings=bool(get("tie_word_embeddings", default=mtype in {"gpt2", "opt", "bloom", "gpt_neox"} and mtype != "gpt_neox")),
            linear_bias=mtype in {"gpt2", "opt", "bloom", "gpt_neox"},
            learned_pos_emb=(get("max_position_embeddings", "n_positions", default=0) if mtype in {"gpt2", "opt"} else 0),
            embedding_norm=mtype == "bloom",
            n_experts=n_experts, experts_per_token=get("num_experts_per_tok", default=1),
            n_shared_experts=get("n_shared_experts", default=0),
            expert_ffn_hidden=get("moe_intermediate_size", default=None),
            n_dense_layers=get("first_k_dense_replace", default=0),
            q_lora_rank=get("q_lora_rank", default=0) or 0, kv_lora_rank=get("kv_lora_rank", default=0) or 0,
            qk_rope_head_dim=get("qk_rope_head_dim", default=0) if get("kv_lora_rank") else 0,
            v_head_dim=get("v_head_dim") if get("kv_lora_rank") else None,
            seq_len=get("max_position_embeddings", "n_positions", "seq_length", default=2048),
        )
        if kw["vocab"] is None:
            raise ConfigError("config.json lacks vocab_size")
        if get("kv_lora_rank"):
            kw["head_dim"] = get("qk_nope_head_dim", default=128) + get("qk_rope_head_dim", default=64)
        if mtype == "gpt_neox":
            kw["tied_embeddings"] = bool(get("tie_word_embeddings", default=False))
        kw.update(overrides)
        return cls(**kw)
