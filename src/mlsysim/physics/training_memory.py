"""Memory of one training step per device by category (floats or numpy arrays, as physics.training)."""
from __future__ import annotations

from . import constants as C
from ._np import inline_helpers, vceil, vmax, vmin, vwhere


def params_per_device(d, tp, pp, ep, layers_per_stage):
    """(dense-replicated params, expert params) held by the most loaded device (first/last pipeline stage)."""
    embed = vwhere(pp > 1, d.embed_max, d.embed_sum)
    dense = (layers_per_stage * d.layer_dense_w + embed) / tp
    expert = layers_per_stage * d.moe_frac * d.E * d.expert_w / (ep * tp)
    return dense, expert


def activation_bytes_per_layer(d, T, seq, tp, recompute, flash, sp, moe, bytes_el=2.0, sac=None,
                               lin_bytes=None, replay=0.0, disp_bytes=None):
    """Activations one layer keeps for backward, per microbatch of T tokens (Korthikanti et al. 2022 Sec 4,
    generalised to GQA and gated/MoE FFNs). The 10h term (LayerNorm inputs, dropout masks, QKV and FFN inputs)
    is sharded only with sequence parallelism; full recompute keeps the layer input alone. sac (not None): selective
    recompute is an op-level policy (torchtitan's, LLaMA's) that keeps the layer input, the attention output
    and a (1 - sac) share of the GEMM outputs, and recomputes every other tensor. lin_bytes: bytes per element
    of the saved linear-layer inputs (fp8 training keeps them in fp8, 1 B: Transformer Engine; default bytes_el).
    replay (1, selective recompute only): the norms' outputs, the gated activation's output and MLA's
    up-projections are replayed from cached inputs in lb bytes (DeepSeek-V3 Sec 3.2.3, 3.3.2); disp_bytes: bytes
    of the cached dispatched expert inputs (default bytes_el)."""
    lb = bytes_el if lin_bytes is None else lin_bytes
    ffn_width = (d.topk + d.shared) * d.effn if moe else d.ffn
    # MoE: the top-k dispatched copies of each token (expert inputs) and the expert outputs kept for the
    # combine's backward, full width (Megatron-Core token dispatcher; DeepSeek-V3 report Sec 3.2.3)
    dispatched = T * d.topk * d.h * ((bytes_el if disp_bytes is None else disp_bytes) + bytes_el) if moe else 0.0
    # Sharded (24h for GPT): Q, K, V, projection input; FFN tensors: up output + activation output (GELU), or
    # gate, up and product (SwiGLU).
    # The projection input and the down-projection input (last FFN tensor) are linear inputs (lb bytes).
    sharded = T * (bytes_el * (d.qkv_act + ffn_width * (d.mats - 1.0)) + lb * (d.attn_out_k + ffn_width))
    # Replicated (10h for GPT): two LayerNorm inputs, QKV and FFN inputs (bytes_el each), two 1-byte dropout
    # masks when the model trains with dropout.
    replicated = T * d.h * (2.0 * bytes_el + 2.0 * lb + (2.0 if d.dropout else 0.0))
    if replay:  # keep the latents (MLA) or Q/K/V, the activation's inputs in lb; the norm outputs and the
        # activation's output are replayed
        qkv = lb * d.latent * tp if d.mla else bytes_el * d.qkv_act
        sharded = vwhere(recompute >= 1, T * (qkv + lb * (d.attn_out_k + ffn_width * (d.mats - 1.0))), sharded)
        replicated = vwhere(recompute >= 1, T * d.h * (2.0 * bytes_el + (2.0 if d.dropout else 0.0)), replicated)
    # softmax output (+ dropout output and mask), per head
    scores = T * seq * d.a * (bytes_el * 2.0 + 1.0 if d.dropout else bytes_el)
    sp_div = vwhere(sp, tp, 1.0)
    base = replicated / sp_div + sharded / tp + dispatched
    keep_scores = vwhere(flash, 0.0, vwhere(recompute >= 1, 0.0, scores / tp))
    full = bytes_el * T * d.h / sp_div
    if sac is not None:
        mm_out = (d.qkv_act + (d.mats - 1.0) * ffn_width) / tp + 2.0 * d.h / sp_div
        op_sac = full + T * bytes_el * (d.attn_out_k / tp + (1.0 - sac) * mm_out) + dispatched
        base = vwhere(recompute >= 1, op_sac, base)
    return vwhere(recompute >= 2, full, base + keep_scores)


def memory_per_device(d, tp, pp, dp, cp, ep, mb, seq, v, recompute, zero, flash, sp, microbatches,
                      bytes_w=2.0, bytes_grad=2.0, bytes_opt=12.0, grad_each_mb=1.0, fp8=0.0, sac=None,
                      params=None, replay=0.0, disp_bytes=None, fp8_weight_bytes=1.0):
    """Bytes per device by category on the most loaded (first) pipeline stage. ZeRO-1 shards optimizer state,
    -2 also gradients, -3 also weights, over the data-parallel group (Rajbhandari et al. 2020). With several
    micro-batches a sharded gradient needs either a reduce-scatter per micro-batch (grad_each_mb = 1: DeepSpeed)
    or an unsharded accumulation buffer (0: FSDP no_sync, which accumulates in the parameter dtype; PyTorch
    FSDP docs), charged here in full. sac: the stack's op-level selective recompute (activation_bytes_per_layer).
    fp8 (1/0): fp8 training keeps fp8 copies of the weights, fp8_weight_bytes per parameter (Transformer Engine:
    the cast and its transpose, 2), and saves the linear layers' inputs in fp8. bytes_opt: optimizer state per
    parameter. params: params_per_device's (dense, expert), when the caller has them.
    replay, disp_bytes: the stack's activation recipe (activation_bytes_per_layer)."""
    # Uneven splits put the spare layers away from the first stage, which holds the most activations in flight
    # (as Meta did for Llama 3 405B: 126 layers on 16 stages, Sec 3.3.2), so it carries floor(L/pp) layers.
    lps = vceil(d.L / pp)
    first = vmax(vceil(d.L / pp - 0.999999), 1.0)
    dense_p, expert_p = params_per_device(d, tp, pp, ep, lps) if params is None else params
    edp = vmax(dp / ep, 1.0)  # experts are data-parallel over dp/ep replicas
    # a single data-parallel rank has nothing to shard: no ZeRO-2/3 buffers (as ZeRO-0)
    z3, z2 = (zero >= 3) & (dp > 1), (zero >= 2) & (dp > 1)
    # the largest unit ZeRO-2/3 gather or reduce at once: one layer, or the embedding table / LM head (a plain
    # stage below 2 has none)
    layer_p = 0.0
    if z2 is not False:
        embed = vwhere(pp > 1, d.embed_max, d.embed_sum) / tp
        layer_p = vmax((dense_p - embed + expert_p) / lps, d.embed_max / tp)
    dp3 = vwhere(z3, dp, 1.0)
    w = bytes_w * (dense_p / dp3 + expert_p / vwhere(z3, edp, 1.0)) \
        + fp8 * fp8_weight_bytes * (dense_p + expert_p) / dp3 \
        + vwhere(z3, 2.0 * bytes_w * layer_p, 0.0)  # ZeRO-3: the gathered layer and the prefetched one
    accumulate_full = z2 & (grad_each_mb < 0.5) & (microbatches > 1.0)
    g_sharded = bytes_grad * (dense_p / vwhere(z2, dp, 1.0) + expert_p / vwhere(z2, edp, 1.0)) \
        + vwhere(z2, bytes_grad * layer_p, 0.0)  # the reduce-scatter's unsharded input bucket
    g = vwhere(accumulate_full, bytes_w * (dense_p + expert_p), g_sharded)
    o = bytes_opt * (dense_p / vwhere(zero >= 1, dp, 1.0) + expert_p / vwhere(zero >= 1, edp, 1.0))
    T = mb * seq / cp
    lb = vwhere(fp8 > 0.0, 1.0, bytes_w)
    moe_frac = d.moe_frac
    args = (d, T, seq / cp, tp, recompute, flash, sp)
    act_layer = activation_bytes_per_layer(*args, 0.0, bytes_w, sac, lb, replay)
    if moe_frac:  # a dense model keeps the dense layer's bytes (1.0 * x + 0.0 * y == x: no MoE term to evaluate)
        act_layer = (1.0 - moe_frac) * act_layer \
            + moe_frac * activation_bytes_per_layer(*args, 1.0, bytes_w, sac, lb, replay, disp_bytes)
    # 1F1B: the first stage holds pp microbatches in flight (fewer if there are fewer); interleaving adds
    # (p-1)/(p v) (Korthikanti Sec 4.2.3 / Narayanan 2021 Sec 2.2.2).
    in_flight = vmin(pp, microbatches) * vwhere(v > 1, 1.0 + (pp - 1.0) / (pp * v), 1.0)
    act = act_layer * first * in_flight
    logits = vwhere(pp > 1, 0.0, 1.0) * 2.0 * 4.0 * T * d.V / tp  # fp32 logits + grads (PP: on the last stage)
    act = act + logits
    return {"weights": w, "gradients": g, "optimizer": o, "activations": act,
            "reserved": C.RESERVED_MEMORY_BYTES + 0.0 * act}




inline_helpers(globals())
