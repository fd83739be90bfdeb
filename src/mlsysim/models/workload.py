"""The TransformerWorkload record: every architecture field needed to count parameters and FLOPs exactly."""
from __future__ import annotations

from dataclasses import field, replace

from .._codecache import dataclass  # dataclasses.dataclass, its code compiled once
from .._record import check_counts, check_text, refuse
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
    # Multi-token-prediction modules the model ships (DeepSeek-V3: 1), usable as speculative drafters (mtp_depth=
    # in serving; a deeper or absent stack is served as a what-if). Not part of the parameter count.
    mtp_modules: int = 0
    # Training recipe.
    seq_len: int = 2048
    tokens: float = 0.0  # training token budget
    global_batch_tokens: float = 0.0  # tokens per optimizer step (0: choose ~4M tokens)
    published_params: float | None = None
    published_active_params: float | None = None
    year: int | None = None
    source: str = ""
    notes: str = ""
    # Serving: the longest sequence (prompt + output tokens) the model is published to take (model card / paper);
    # a request beyond it is refused (as vLLM refuses one past max_model_len). None = no published value,
    # unchecked. Training sequences are not limited by it (a run can extend the context).
    max_context: int | None = None
    max_context_source: str = ""
    key: str = field(default="", compare=False)

    def __post_init__(self):
        if self.n_kv_heads is None:
            object.__setattr__(self, "n_kv_heads", self.n_heads)
        check_counts(self, {"n_layers": 1, "hidden": 1, "n_heads": 1, "n_kv_heads": 1, "ffn_hidden": 1,
                            "vocab": 1, "head_dim": 1, "n_experts": 1, "experts_per_token": 1,
                            "n_shared_experts": 0, "expert_ffn_hidden": 1, "n_dense_layers": 0,
                            "q_lora_rank": 0, "kv_lora_rank": 0, "qk_rope_head_dim": 0, "v_head_dim": 1,
                            "seq_len": 1, "learned_pos_emb": 0, "mtp_modules": 0, "max_context": 1})
        check_text(self, ("name", "max_context_source"))
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
        elif self.n_experts == 1 and self.expert_ffn_hidden != self.ffn_hidden:  # was silently ignored
            refuse(self, f"expert_ffn_hidden={self.expert_ffn_hidden} but n_experts=1 (a dense model has no experts; "
                         f"its FFN is ffn_hidden={self.ffn_hidden})",
                   "set n_experts > 1 for a mixture of experts, or drop expert_ffn_hidden")
        if self.experts_per_token > self.n_experts:
            raise ConfigError(f"{n}: experts_per_token={self.experts_per_token} exceeds n_experts={self.n_experts}")
        if self.n_dense_layers > self.n_layers:
            raise ConfigError(f"{n}: n_dense_layers={self.n_dense_layers} exceeds n_layers={self.n_layers}")
        if self.n_dense_layers and self.n_experts == 1:
            refuse(self, f"n_dense_layers={self.n_dense_layers} but n_experts=1 (every layer of a dense model is "
                         f"dense)", "set n_experts > 1 for a mixture of experts, or n_dense_layers=0")
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
        if 0 < self.tokens < self.global_batch_tokens:
            refuse(self, f"the token budget tokens={self.tokens:.4g} is below one global batch of "
                         f"global_batch_tokens={self.global_batch_tokens:.4g}",
                   "a run takes at least one optimizer step: raise tokens or lower global_batch_tokens")

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
        """A copy with some fields changed (e.g. `m.with_(seq_len=8192)`), validated again. A new `max_context`
        (a context-extended variant, or None: unchecked) without its own source is marked a what-if, and the
        serving results built on it say so."""
        if "max_context" in changes and "max_context_source" not in changes \
                and changes["max_context"] != self.max_context:
            from .context import what_if_source
            changes["max_context_source"] = what_if_source(self, changes["max_context"])
        return replace(self, **changes)

    @classmethod
    def from_hf_config(cls, config: dict, name: str | None = None, **overrides) -> "TransformerWorkload":
        """Build from a Hugging Face `config.json` dict (Llama, Mistral/Mixtral, Qwen2/Qwen-MoE, Gemma, Phi-3,
        Falcon, GPT-2/NeoX, OPT, BLOOM, DeepSeek-V2/V3 families; models.hf). No network: pass the parsed dict.
        The training length is rope_scaling's original_max_position_embeddings where a context extension is
        declared; `overrides` (e.g. tokens=2e12, seq_len=8192) replace what the config gives."""
        from .hf import read
        kw = read(config, name)
        kw.update(overrides)
        return cls(**kw)
