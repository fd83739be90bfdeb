"""The scalars the step and serving physics read from a workload record (`model_dims`), derived once per model."""
from __future__ import annotations

from .transformer import attention_params, matmul_params_per_token, param_counts


class Dims:
    """A namespace of a model's scalars, as types.SimpleNamespace, but a plain class: the interpreter reads its
    attributes through a cached slot (~2x faster than SimpleNamespace's; a solve reads ~170 of them)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def __repr__(self):
        return f"Dims({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"

    def __eq__(self, other):
        return isinstance(other, Dims) and self.__dict__ == other.__dict__


def model_dims(m) -> Dims:
    """Scalars the step model needs, derived once from a workload record."""
    pc = param_counts(m)
    h = float(m.hidden)
    attn_w = attention_params(m)
    out_k = float(m.n_heads * m.v_head_dim)
    mats = 3.0 if m.gated_mlp else 2.0
    n_moe = float(m.n_layers - m.n_dense_layers) if m.n_experts > 1 else 0.0
    d = Dims(
        L=float(m.n_layers), h=h, a=float(m.n_heads), kv=float(m.n_kv_heads), hd=float(m.head_dim),
        vhd=float(m.v_head_dim), V=float(m.vocab), mats=mats, ffn=float(m.ffn_hidden),
        effn=float(m.expert_ffn_hidden), E=float(m.n_experts), topk=float(m.experts_per_token),
        shared=float(m.n_shared_experts), n_moe=n_moe, n_dense=float(m.n_layers) - n_moe,
        attn_in_n=(attn_w - out_k * h) / h, attn_out_k=out_k, qkv_act=float(m.n_heads * m.head_dim
                                                                         + 2 * m.n_kv_heads * m.head_dim),
        attn_w=float(attn_w), norm_w=float(2 * h if m.linear_bias else h),
        dense_mlp_w=float(pc["per_layer_mlp_dense"]), expert_w=float(pc["per_expert"]),
        router_w=h * m.n_experts if m.n_experts > 1 else 0.0,
        embed_w=float(pc["embedding"]), head_w=float(pc["lm_head"]), tied=bool(m.tied_embeddings),
        pos_rows=float(m.learned_pos_emb),
        total_params=float(pc["total"]), active_params=float(pc["active"]), dropout=bool(m.dropout),
        mm_params=float(matmul_params_per_token(m)),
        attn_coef=2.0 * m.n_layers * m.n_heads * (m.head_dim + m.v_head_dim),
        # KV-cache elements per token per layer: K and V per KV head, or MLA's compressed latent + rope key.
        kv_elems=float(m.kv_lora_rank + m.qk_rope_head_dim if m.kv_lora_rank else 2 * m.n_kv_heads * m.head_dim),
        mla=bool(m.kv_lora_rank),
        # MLA's cached latents (q, kv and the rotary key) and its up-projections' output widths (0 without MLA)
        latent=float(m.q_lora_rank + m.kv_lora_rank + m.qk_rope_head_dim if m.kv_lora_rank else 0),
        q_up=(float(m.q_lora_rank), float(m.n_heads * m.head_dim)),
        kv_up=(float(m.kv_lora_rank), float(m.n_heads * (m.head_dim - m.qk_rope_head_dim + m.v_head_dim))),
    )
    # Per-model constants of params_per_device: the parameters per layer every device of the layer's stage
    # replicates (attention, norms, the dense FFN or an MoE layer's shared experts and router, averaged over the
    # layers), and the embedding ends a stage holds (pp > 1: the larger; pp = 1: both).
    d.moe_frac = d.n_moe / d.L
    d.layer_dense_w = d.attn_w + 2.0 * d.norm_w + (1.0 - d.moe_frac) * d.dense_mlp_w \
        + d.moe_frac * (d.shared * d.expert_w + d.router_w)
    d.embed_max = d.embed_w if d.embed_w > d.head_w else d.head_w
    d.embed_sum = d.embed_w + d.head_w
    return d
