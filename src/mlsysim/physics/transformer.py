"""Exact parameter and FLOP counts of a decoder-only transformer (dense, GQA, SwiGLU, MoE, MLA).

`m` is any object with TransformerWorkload's architecture attributes. FLOPs count a multiply-add as 2.
References: Narayanan et al. 2021 (SC21) Eq. 3; Korthikanti et al. 2022 Sec. 6; PaLM (Chowdhery et al. 2022)
Appendix B for the MFU convention (6N per token + attention).
"""
from __future__ import annotations


def attention_params(m) -> float:
    """Weights of one attention block (projections; biases where the model has them)."""
    h, a, kv, hd, vhd = m.hidden, m.n_heads, m.n_kv_heads, m.head_dim, m.v_head_dim
    if m.kv_lora_rank:  # multi-head latent attention (DeepSeek-V2/V3)
        q = (h * m.q_lora_rank + m.q_lora_rank + m.q_lora_rank * a * hd) if m.q_lora_rank else h * a * hd
        kv_a = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        kv_b = m.kv_lora_rank * a * ((hd - m.qk_rope_head_dim) + vhd)
        return q + kv_a + kv_b + a * vhd * h
    w = h * a * hd + 2 * h * kv * hd + a * vhd * h
    b = (a * hd + 2 * kv * hd + h) if m.linear_bias else 0
    return w + b


def mlp_params(m, ffn: int) -> float:
    """Weights of one feed-forward block of inner size `ffn` (gated: 3 matrices; else 2, plus biases)."""
    mats = 3 if m.gated_mlp else 2
    return mats * m.hidden * ffn + ((ffn + m.hidden) if m.linear_bias else 0)


def norm_params(m) -> float:
    """One normalisation layer: LayerNorm (weight + bias) for biased models, RMSNorm (weight) otherwise."""
    return 2 * m.hidden if m.linear_bias else m.hidden


def param_counts(m) -> dict:
    """Total and per-token-active parameters, with the embedding share (for 6N-style FLOP counts)."""
    h, L = m.hidden, m.n_layers
    attn = attention_params(m)
    dense_mlp = mlp_params(m, m.ffn_hidden)
    n_moe = L - m.n_dense_layers if m.n_experts > 1 else 0
    n_dense = L - n_moe
    expert = mlp_params(m, m.expert_ffn_hidden)
    router = h * m.n_experts if n_moe else 0
    moe_total = m.n_experts * expert + m.n_shared_experts * expert + router
    moe_active = m.experts_per_token * expert + m.n_shared_experts * expert + router
    per_layer_fixed = attn + 2 * norm_params(m)
    embed = m.vocab * h + m.learned_pos_emb * h + (2 * h if m.embedding_norm else 0)
    head = 0 if m.tied_embeddings else m.vocab * h
    final_norm = norm_params(m)
    body_total = L * per_layer_fixed + n_dense * dense_mlp + n_moe * moe_total
    body_active = L * per_layer_fixed + n_dense * dense_mlp + n_moe * moe_active
    rest = embed + head + final_norm
    return {"total": body_total + rest, "active": body_active + rest, "embedding": embed,
            "lm_head": head, "body_total": body_total, "body_active": body_active,
            "per_layer_attention": attn, "per_layer_mlp_dense": dense_mlp, "per_expert": expert}


def matmul_params_per_token(m) -> float:
    """Weights each token multiplies through in the layers (attention + active FFN, no norms/biases/router)."""
    h, a, kv, hd, vhd = m.hidden, m.n_heads, m.n_kv_heads, m.head_dim, m.v_head_dim
    if m.kv_lora_rank:
        attn = (h * m.q_lora_rank + m.q_lora_rank * a * hd if m.q_lora_rank else h * a * hd) \
            + h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank * a * ((hd - m.qk_rope_head_dim) + vhd) \
            + a * vhd * h
    else:
        attn = h * a * hd + 2 * h * kv * hd + a * vhd * h
    mats = 3 if m.gated_mlp else 2
    n_moe = m.n_layers - m.n_dense_layers if m.n_experts > 1 else 0
    ffn = (m.n_layers - n_moe) * mats * h * m.ffn_hidden \
        + n_moe * (m.experts_per_token + m.n_shared_experts) * mats * h * m.expert_ffn_hidden \
        + n_moe * h * m.n_experts
    return m.n_layers * attn + ffn


def attention_flops_per_token(m, seq_len, causal=True):
    """Forward FLOPs of the attention core (QK^T and AV) per token, all layers; causal halves the context."""
    ctx = seq_len * (0.5 if causal else 1.0)
    return 2.0 * m.n_layers * m.n_heads * (m.head_dim + m.v_head_dim) * ctx


def forward_flops_per_token(m, seq_len, causal=True):
    """Model forward FLOPs per token: 2 x matmul weights + attention core + LM head (embedding lookup is free)."""
    return 2.0 * matmul_params_per_token(m) + attention_flops_per_token(m, seq_len, causal) \
        + 2.0 * m.hidden * m.vocab


def model_flops_per_token(m, seq_len, causal=True):
    """Training model FLOPs per token (forward + backward = 3 x forward), the MFU numerator (no recompute)."""
    return 3.0 * forward_flops_per_token(m, seq_len, causal)
