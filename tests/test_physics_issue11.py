"""Issue 11: ZeRO/DP accounting, bounded overlap, fp8 rates, one FLOP convention, MoE memory, non-GEMM costs,
E[max], and consumers reusing the solver's arguments. Every expected figure is worked by hand in the test."""
import math

import pytest

from mlsysim import ConfigError, DistributedModel, Models, Systems, TransformerWorkload
from mlsysim.physics import collectives as col
from mlsysim.physics import constants as C
from mlsysim.physics.training import (activation_bytes_per_layer, expected_max_normal, layer_times,
                                      memory_per_device, model_dims, training_step)


def tiny(gated=False, **kw):
    # 2 layers, h=256, 4 heads, FFN 1024, vocab 1000, untied: per layer attention 4*256^2 = 262,144, MLP
    # 2*256*1024 = 524,288 (GELU), norms 2*256 = 512 -> 786,944; embeddings 256,000 + LM head 256,000
    return TransformerWorkload("tiny", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000,
                               gated_mlp=gated, seq_len=1024, **kw)


DEVICE_PARAMS = 2 * 786_944 + 2 * 256_000  # what one device holds at tp = pp = 1: 2,085,888


def _hw(**over):
    # 4 data-parallel ranks, one per "node", 1 GB/s links, no latency, no stragglers: only the DP traffic counts
    hw = dict(peak=1e15, ceiling=0.8, mem_bw=3e12, node_size=1.0, su_bw=1e9, su_lat=0.0, ib_bw=1e9, ib_lat=0.0,
              straggler_cv=0.0)
    hw.update(over)
    return hw


def _step(zero, grad_each_mb, dp_overlap=0.0, **over):
    d = model_dims(tiny())
    return training_step(d, tp=1.0, pp=1.0, dp=4.0, cp=1.0, ep=1.0, mb=1.0, gbs=32.0, seq=1024.0, v=1.0,
                         recompute=0, zero=zero, flash=True, sp=False, dp_overlap=dp_overlap, bytes_el=2.0,
                         bytes_grad=2.0, grad_each_mb=grad_each_mb, **_hw(**over))


def test_zero2_reduce_scatters_gradients_every_microbatch():
    # m = 32 / (4 x 1) = 8 micro-batches. A ring reduce-scatter / all-gather over 4 ranks moves 3/4 of the
    # buffer: 0.75 x 2 B x 2,085,888 / 1e9 B/s = 3.128832 ms each (bf16 gradients and weights).
    one = 0.75 * 2 * DEVICE_PARAMS / 1e9
    # ZeRO-2, sharded accumulation (DeepSpeed): 8 gradient reduce-scatters + 1 parameter all-gather per step
    assert _step(2, 1.0)["dp_comm"] == pytest.approx(9 * one, rel=1e-12)
    # unsharded accumulation (FSDP no_sync): one reduce-scatter + one all-gather
    assert _step(2, 0.0)["dp_comm"] == pytest.approx(2 * one, rel=1e-12)
    # ZeRO-1: reduce-scatter + all-gather once; ZeRO-0: one all-reduce = 2 x 3/4 of the buffer: the same bytes
    assert _step(1, 1.0)["dp_comm"] == pytest.approx(2 * one, rel=1e-12)
    assert _step(0, 1.0)["dp_comm"] == pytest.approx(2 * one, rel=1e-12)
    # ZeRO-3: per micro-batch one gradient reduce-scatter and two parameter all-gathers (forward, backward)
    assert _step(3, 1.0)["dp_comm"] == pytest.approx(8 * 3 * one, rel=1e-12)


def test_zero2_gradient_memory_by_hand():
    d = model_dims(tiny())
    kw = dict(tp=1.0, pp=1.0, dp=4.0, cp=1.0, ep=1.0, mb=1.0, seq=1024.0, v=1.0, recompute=0, zero=2,
              flash=True, sp=False, microbatches=8.0, bytes_w=2.0, bytes_grad=2.0)
    # sharded: 2 B x 2,085,888 / 4 = 1,042,944 B, plus the unsharded bucket of the largest unit reduced at once
    # (one layer: 786,944 params x 2 B = 1,573,888 B)
    assert memory_per_device(d, grad_each_mb=1.0, **kw)["gradients"] == pytest.approx(1_042_944 + 1_573_888)
    # unsharded accumulation keeps every gradient, in the parameter dtype: 2 B x 2,085,888
    assert memory_per_device(d, grad_each_mb=0.0, **kw)["gradients"] == pytest.approx(2 * DEVICE_PARAMS)


def test_zero3_step_never_slower_on_a_faster_accelerator():
    # the parameter gathers hide behind compute; a 2x faster chip has less to hide behind but must not be slower
    for overlap in (0.0, 1.0):
        slow = _step(3, 1.0, dp_overlap=overlap, peak=1e14)["step"]
        fast = _step(3, 1.0, dp_overlap=overlap, peak=2e14)["step"]
        assert fast < slow


def test_overlap_is_bounded_by_the_compute_it_hides_behind():
    # 19 s of traffic beside 8 s of compute: 11 s exposed, and the 8 s of hidden traffic take 12 % of the SMs
    assert col.overlapped(19.0, 8.0, 0.12) == pytest.approx(11.0 + 0.12 * 8.0)
    assert col.overlapped(5.0, 8.0, 0.12) == pytest.approx(0.6)
    # solver: TP over a slow (8 GB/s) scale-up link, where a layer's TP traffic exceeds its GEMM time
    from dataclasses import replace
    fleet = Systems.Clusters.Small_64
    pcie = replace(fleet, node=replace(fleet.node, scaleup_bw=8e9))
    m = Models.Language.Llama3_8B
    raw = DistributedModel().solve(m, pcie, tp_size=8, tp_overlap=0.0)
    hid = DistributedModel().solve(m, pcie, tp_size=8, tp_overlap=1.0)
    # the overlapped run still pays at least the traffic minus the GEMM time of the layers (no free lunch)
    assert hid.breakdown_s["tp_comm"] > 0.5 * raw.breakdown_s["tp_comm"]
    assert hid.step_s < raw.step_s


def test_fp8_gemms_run_at_the_measured_fp8_matmul_ceiling():
    from mlsysim.solvers.distributed import hardware_args
    f = Systems.Clusters.Research_256
    hw8, hw16 = hardware_args(f, "fp8"), hardware_args(f, "bf16")
    # H100 SXM: fp8 MAMF 1402.6 TFLOP/s (stas00 MAMF table) x the framework share of it
    assert hw8["lin_peak"] * hw8["lin_ceiling"] == pytest.approx(1402.6e12 * C.FRAMEWORK_GEMM_FRACTION)
    # attention and the LM head stay at the bf16 rate: 794.5 TFLOP/s MAMF (Transformer Engine default recipe)
    assert hw8["peak"] * hw8["ceiling"] == pytest.approx(794.5e12 * C.FRAMEWORK_GEMM_FRACTION)
    assert hw8["peak"] == hw16["peak"] == 989.5e12
    d = model_dims(Models.Language.Llama3_70B)
    args = (d, 8192.0, 8192.0, 8.0, 1.0, 1.0)
    f8 = layer_times(*args, hw8["peak"], hw8["ceiling"], hw8["mem_bw"], True, True, False, 2.0, hw8["attn_eff"],
                     lin_peak=hw8["lin_peak"], lin_ceiling=hw8["lin_ceiling"], detail=True)
    b16 = layer_times(*args, hw16["peak"], hw16["ceiling"], hw16["mem_bw"], True, True, False, 2.0,
                      hw16["attn_eff"], detail=True)
    assert f8[2] == b16[2]  # the attention core is the same bf16 kernel
    # large GEMMs: the fp8/bf16 time ratio is the MAMF ratio 794.5 / 1402.6 (shape factors cancel)
    assert f8[3] / b16[3] == pytest.approx(794.5 / 1402.6, rel=0.02)


def test_mfu_le_hfu_le_1_long_context_small_model():
    # the case: a small model at long context, where PaLM's non-causal count exceeds the FLOPs run
    m = Models.Language.Llama3_8B
    r = DistributedModel().solve(m, Systems.Clusters.Research_256, tp_size=1, cp_size=8, seq_len=131072,
                                 global_batch_size=32, recompute="full")
    assert 0 < r.mfu <= r.hfu <= 1
    # hand: executed FLOPs per token = 6 x (6,979,321,856 layer weights + 525,336,576 LM head)
    # + 6 x L x h x s (causal attention) over 256 x 989.5 TFLOP/s
    per_token = 6 * (6_979_321_856 + 4096 * 128256) + 6 * 32 * 4096 * 131072
    hand = per_token * 32 * 131072 / r.step_s / (256 * 989.5e12)
    assert r.mfu == pytest.approx(hand, rel=1e-9)
    # full recompute replays the layers' forward (not the LM head): forward per token = 2 x 6,979,321,856
    # + 2 x L x h x s (causal attention) + 2 x 4096 x 128256 (head); HFU / MFU = 1 + (fwd - head) / (3 fwd)
    head = 2 * 4096 * 128256
    fwd = 2 * 6_979_321_856 + 2 * 32 * 4096 * 131072 + head
    assert r.hfu / r.mfu == pytest.approx(1 + (fwd - head) / (3 * fwd), rel=1e-9)


def test_mfu_le_hfu_le_1_across_a_sweep():
    from mlsysim.explore import sweep
    res = sweep(Models.Language.Llama3_8B, Systems.Clusters.Research_256, tp=[1, 2, 8], pp=[1, 4], cp=[1, 4, 16],
                seq_len=[8192, 65536], recompute=["none", "selective", "full"], precision=["bf16", "fp8"],
                keep="valid", stack="pytorch_fsdp2_eager")
    assert len(res) > 100
    assert (res["mfu"] <= res["hfu"] + 1e-12).all() and (res["hfu"] <= 1.0).all()


def test_expected_max_of_normals_small_n_against_tables():
    # E[max of n standard normals], Harter (1961) tables: n=2 1/sqrt(pi) = 0.5642, 3: 0.8463, 5: 1.1630,
    # 10: 1.5388, 100: 2.5076. Blom's approximation is within 5 % at n = 2 and tightens as n grows.
    for n, exact, tol in ((2, 1 / math.sqrt(math.pi), 0.05), (3, 0.8463, 0.03), (5, 1.1630, 0.02),
                          (10, 1.5388, 0.01), (100, 2.5076, 0.01)):
        assert expected_max_normal(float(n)) == pytest.approx(exact, rel=tol)


def test_swiglu_elementwise_traffic_counted_once():
    # fused SwiGLU reads gate and up and writes the product: 3 passes over the FFN width (not 3 x 2), plus
    # ELEMENTWISE_PASSES over h. T=1000 tokens, h=256, ffn=1024, 2 B: 2 x 1000 x (16 x 256 + 3 x 1024) B
    d = model_dims(tiny(gated=True))
    base = (d, 1000.0, 1000.0, 1.0, 1.0, 1.0, 1e15, 0.8, 1e12, True, False, False, 2.0)
    f1 = layer_times(*base, ew_factor=1.0)[0]
    f2 = layer_times(*base, ew_factor=2.0)[0]
    assert f2 - f1 == pytest.approx(2 * 1000 * (C.ELEMENTWISE_PASSES * 256 + 3 * 1024) / (1e12 * C.MEMORY_BW_EFFICIENCY))


def test_moe_activation_memory_keeps_dispatched_token_copies():
    # same FFN width routed (top-2 of 8 experts of 512) or dense (1024): the MoE layer additionally keeps the 2
    # dispatched copies of each token's input and the 2 expert outputs for the combine: 2 x T x 2 x h x 2 B
    moe = TransformerWorkload("moe", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000,
                              n_experts=8, experts_per_token=2, expert_ffn_hidden=512, seq_len=1024)
    d = model_dims(moe)
    T = 1000.0
    dense = activation_bytes_per_layer(d, T, 1000.0, 1.0, 0, True, False, False)
    routed = activation_bytes_per_layer(d, T, 1000.0, 1.0, 0, True, False, True)
    assert routed - dense == pytest.approx(2 * 1000 * 2 * 256 * 2)


def test_loss_and_kernel_costs_outside_the_gemms():
    d = model_dims(tiny())
    kw = dict(tp=1.0, pp=1.0, dp=1.0, cp=1.0, ep=1.0, mb=1.0, gbs=4.0, seq=1024.0, v=1.0, recompute=0, zero=0,
              flash=True, sp=False, **_hw())
    base = training_step(d, **kw)["step"]
    # fp32 cross-entropy: 44 B per logit x 1024 tokens x 1000 vocab / (3e12 x 0.85) per micro-batch, 4 of them
    ce = training_step(d, ce_bytes=44.0, **kw)["step"]
    assert ce - base == pytest.approx(4 * 44 * 1024 * 1000 / (3e12 * C.MEMORY_BW_EFFICIENCY), rel=1e-9)
    # kernel launches: 100 kernels per layer x KERNEL_GAP_S, 2 layers, 4 micro-batches
    k = training_step(d, kernels=100.0, **kw)["step"]
    assert k - base == pytest.approx(4 * 2 * 100 * C.KERNEL_GAP_S, rel=1e-9)
    # a host that needs 1 ms per kernel makes each layer take 100 ms (CPU-bound)
    cpu = training_step(d, kernels=100.0, cpu_kernel_s=1e-3, **kw)
    assert cpu["step"] > 4 * 2 * 0.1


def test_stack_is_echoed_and_changes_the_physics():
    m, f = Models.Language.Llama3_8B, Systems.Clusters.Small_64
    r = DistributedModel().solve(m, f, tp_size=1, zero_stage=3)
    assert r.layout["stack"] == "megatron_core_2024" and "(default)" in r.assumptions["software stack"]
    eager = DistributedModel().solve(m, f, tp_size=1, zero_stage=3, stack="pytorch_fsdp2_eager")
    compiled = DistributedModel().solve(m, f, tp_size=1, zero_stage=3, stack="pytorch_fsdp2_compiled")
    assert compiled.step_s < eager.step_s and eager.layout["stack"] == "pytorch_fsdp2_eager"
    with pytest.raises(ConfigError, match="pytorch_fsdp2_eager"):
        DistributedModel().solve(m, f, tp_size=1, stack="pytorch_fsdp_eager")
    from mlsysim.stacks import Stacks
    for s in Stacks.Training:
        assert s.source and s.year >= 2021


def test_uncertainty_and_calibration_reuse_every_solver_argument():
    from mlsysim.calibration import calibrate
    from mlsysim.uncertainty import evaluate_performance, monte_carlo
    perf = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8,
                                    tp_overlap=0.5, stack="pytorch_fsdp2_compiled", precision="fp8")
    assert float(evaluate_performance(perf)["mfu"]) == pytest.approx(perf.mfu, rel=1e-12)
    mc = monte_carlo(perf, {"matmul_efficiency_scale": (0.95, 1.0)}, samples=20, seed=0)
    assert mc.point["mfu"] == pytest.approx(perf.mfu, rel=1e-12)
    # calibrating a run to its own MFU is the identity
    cal = calibrate(perf, measured_mfu=perf.mfu)
    assert cal.scale == pytest.approx(1.0, rel=1e-6)
    assert cal.predict().layout["stack"] == "pytorch_fsdp2_compiled"


def test_grand_teton_h100_record():
    from mlsysim import Hardware
    from mlsysim.hardware.accelerator import power_limit_clock
    a = Hardware.Cloud.H100_GrandTeton
    assert a.memory_bytes == 96 * 2**30 and a.memory_bw == 2.4e12 and a.tdp_w == 500
    # sustained clock at the 500 W limit: ((500 - 90) / (700 - 90))^(1/k)
    assert power_limit_clock(a) == pytest.approx((410 / 610) ** (1 / C.DVFS_POWER_EXPONENT))
    assert power_limit_clock(Hardware.Cloud.H100) == 1.0


def test_moe_fp8_dispatch_and_node_limited_routing():
    moe = TransformerWorkload("moe", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000,
                              n_experts=64, experts_per_token=8, expert_ffn_hidden=256, seq_len=1024)
    d = model_dims(moe)

    def ep_comm(ep, node_size, **kw):
        hw = _hw(node_size=node_size, su_bw=1e30, ib_bw=1e9)
        return training_step(d, tp=1.0, pp=1.0, dp=ep, cp=1.0, ep=ep, mb=1.0, gbs=ep, seq=1024.0, v=1.0,
                             recompute=0, zero=1, flash=True, sp=False, **hw, **kw)["ep_comm"]
    # across nodes (8 ranks, one per node), 2 MoE layers: dispatch + combine, forward + backward, each moving
    # 7/8 of T x top-k x h elements: bf16 4 x 2 B; fp8 dispatch (1 B) + bf16 combine: 2 x 1 + 2 x 2 = 6 B -> 3/4
    base = ep_comm(8.0, 1.0)
    assert base == pytest.approx(2 * 4 * 7 / 8 * 2 * 1024 * 8 * 256 / 1e9, rel=1e-12)
    assert ep_comm(8.0, 1.0, dispatch_bytes=1.0) == pytest.approx(0.75 * base, rel=1e-12)
    # node-limited routing to M = 4 nodes sends 4 of the 8 copies over the network (NVLink fan-out is free here)
    assert ep_comm(8.0, 1.0, node_limit=4.0) == pytest.approx(0.5 * base, rel=1e-12)


def test_fp8_memory_as_stored():
    # Korthikanti's GPT layer without recompute, t = 1, no SP: 34 s h + 5 a s^2 bytes in bf16. fp8 (Transformer
    # Engine) saves the four linear inputs in 1 B: QKV input h, FFN input h, projection input h, down-projection
    # input 4h -> 7 s h bytes fewer. T = s = 1000, h = 256, a = 4.
    m = TransformerWorkload("gpt", n_layers=2, hidden=256, n_heads=4, ffn_hidden=1024, vocab=1000, seq_len=1000,
                            linear_bias=True, dropout=True)
    d = model_dims(m)
    bf16 = activation_bytes_per_layer(d, 1000.0, 1000.0, 1.0, 0, False, False, False)
    fp8 = activation_bytes_per_layer(d, 1000.0, 1000.0, 1.0, 0, False, False, False, lin_bytes=1.0)
    assert bf16 == pytest.approx(1000 * 256 * 34 + 5 * 4 * 1000 * 1000)
    assert bf16 - fp8 == pytest.approx(7 * 1000 * 256)
    # weights: the fp8 copy of every parameter adds 1 B each (ZeRO-1, tp = pp = 1). Per layer: attention
    # 4 x 256^2 + 4 x 256 biases = 263,168; MLP 2 x 256 x 1024 + 1024 + 256 = 525,568; two LayerNorms 1,024
    # -> 789,760; x 2 layers + embeddings and untied head 2 x 256,000 = 2,091,520
    kw = dict(tp=1.0, pp=1.0, dp=1.0, cp=1.0, ep=1.0, mb=1.0, seq=1000.0, v=1.0, recompute=0, zero=1, flash=True,
              sp=False, microbatches=1.0)
    extra = memory_per_device(d, fp8=1.0, **kw)["weights"] - memory_per_device(d, **kw)["weights"]
    assert extra == pytest.approx(2 * 789_760 + 2 * 256_000, rel=1e-12)


def test_explorer_rows_equal_the_solver_with_a_stack():
    from mlsysim.explore import sweep
    res = sweep(Models.Language.Llama3_8B, Systems.Clusters.Small_64, tp=[1, 2], pp=[1, 2], zero=[1, 3],
                precision=["bf16", "fp8"], recompute=["selective", "full"], stack="pytorch_fsdp2_eager", keep="valid")
    assert len(res) == 64  # 2 tp x 2 pp x 2 zero x 2 precisions x 2 recompute x 2 micro-batch sizes
    for i in range(len(res)):
        r = res.solve(i)
        assert r.layout["stack"] == "pytorch_fsdp2_eager"
        assert res["step_s"][i] == pytest.approx(r.step_s, rel=1e-12)
        assert res["mfu"][i] == pytest.approx(r.mfu, rel=1e-12)


def test_pipeline_sends_scatter_gather_and_blocking():
    # pp = 2, tp = 2, m = 8 micro-batches of 1024 tokens, h = 256, 2 B: each send carries the activation split
    # over the 2 TP ranks (scatter/gather, Narayanan 2021 Sec 4.1): 1024 x 256 x 2 / 2 B = 262,144 B at 1 GB/s.
    # Fill and drain: 2 (p - 1) sends; a blocking steady state adds 2 per micro-batch: 2 x (1 + 8) sends.
    d = model_dims(tiny())
    kw = dict(tp=2.0, pp=2.0, dp=1.0, cp=1.0, ep=1.0, mb=1.0, gbs=8.0, seq=1024.0, v=1.0, recompute=0, zero=0,
              flash=True, sp=False, **_hw(node_size=8.0, su_bw=1e12))
    one = 1024 * 256 * 2 / 2 / 1e9
    assert training_step(d, **kw)["pp_comm"] == pytest.approx(2 * 1 * one, rel=1e-12)
    assert training_step(d, pp_blocking=1.0, **kw)["pp_comm"] == pytest.approx(2 * (1 + 8) * one, rel=1e-12)


def test_tied_embedding_gradient_all_reduce_after_the_flush():
    # tied embeddings, tp = 2, pp = 2: the first and last stage all-reduce the embedding gradient after the
    # flush: 1000 x 256 / 2 elements x 2 B = 256,000 B over 2 ranks: 2 x 1/2 x 256,000 B / 1 GB/s = 0.256 ms.
    # The optimizer step on the first stage: (one layer 786,944 + the embedding 256,000) / tp 2 = 521,472
    # parameters x OPTIMIZER_BYTES_PER_PARAM at 3e12 x MEMORY_BW_EFFICIENCY B/s.
    kw = dict(tp=2.0, pp=2.0, dp=1.0, cp=1.0, ep=1.0, mb=1.0, gbs=8.0, seq=1024.0, v=1.0, recompute=0, zero=0,
              flash=True, sp=False, **_hw(node_size=8.0, su_bw=1e12))
    got = training_step(model_dims(tiny(tied_embeddings=True)), **kw)["optimizer"]
    hand = 521_472 * C.OPTIMIZER_BYTES_PER_PARAM / (3e12 * C.MEMORY_BW_EFFICIENCY) + 2 * 0.5 * 256_000 / 1e9
    assert got == pytest.approx(hand, rel=1e-12)
