"""Serving half of tools/sanity_sweep.py: every model x cloud accelerator x precision x TP x batch through
ServingModel, checked against hand floors (decode weight read, prefill FLOPs, roofline throughput), the KV
capacity by hand, monotonicity in batch and fp8 >= bf16 speed."""
from __future__ import annotations

import math

from mlsysim import Hardware, Models
from mlsysim.errors import ConfigError
from mlsysim.solvers import ServingModel

WB = {"bf16": 2.0, "fp8": 1.0}
ISL, OSL = 2048, 256


def names(ns):
    return [n for n in dir(ns) if not n.startswith("_")]


def kv_per_seq_hand(m, tp, pp, kb, ctx):
    """KV bytes per sequence per device: MLA caches the latent + rope key (DeepSeek-V2 Sec 2.1), GQA 2 x KV heads
    x head_dim per layer, heads replicated when TP exceeds the KV heads; the first stage holds ceil(L / pp)."""
    layers = math.ceil(m.n_layers / pp)
    if m.kv_lora_rank:
        return layers * (m.kv_lora_rank + m.qk_rope_head_dim) * ctx * kb
    kvh = max(m.n_kv_heads / tp, 1.0)
    return 2.0 * layers * kvh * m.head_dim * ctx * kb


def layouts(m, tps):
    """(tp, pp, ep): every TP alone, pipelines of 2 and 4, expert parallelism of 8 for MoE models."""
    out = [(tp, 1, 1) for tp in tps] + [(1, 2, 1), (4, 2, 1), (2, 4, 1)]
    return out + ([(1, 1, 8), (2, 1, 8)] if m.is_moe else [])


def serving(rep, models, tps=(1, 2, 4, 8), batches=(1, 8, 64)):
    sm = ServingModel()
    for mname in models:
        m = getattr(Models.Language, mname)
        for hname in names(Hardware.Cloud):
            acc = getattr(Hardware.Cloud, hname)
            precs = [p for p in ("bf16", "fp8") if p in acc.peak_flops]
            res = {}
            for prec in precs:
                for tp, pp, ep in layouts(m, tps):
                    for b in batches:
                        call = (f"ServingModel().solve(Models.Language.{mname}, Hardware.Cloud.{hname}, seq_len={ISL}, "
                                f"output_len={OSL}, batch_size={b}, tp_size={tp}, pp_size={pp}, ep_size={ep}, "
                                f"precision='{prec}')")
                        try:
                            r = sm.solve(m, acc, seq_len=ISL, output_len=OSL, batch_size=b, tp_size=tp, pp_size=pp,
                                         ep_size=ep, precision=prec)
                        except ConfigError:
                            continue
                        except Exception as e:  # noqa: BLE001 - a crash is a finding
                            rep.check("serving: solve crashes", False, f"{call}: {type(e).__name__}: {e}")
                            continue
                        res[(prec, (tp, pp, ep), b)] = r
                        check_one(rep, m, acc, prec, (tp, pp, ep), b, r, call)
            for (prec, tp, b), r in res.items():
                bigger = [bb for bb in batches if bb > b and (prec, tp, bb) in res]
                if bigger:
                    r2 = res[(prec, tp, bigger[0])]
                    rep.check("serving: ITL non-decreasing in batch", r2.itl_s >= r.itl_s * (1 - 1e-9),
                              f"{mname} {hname} {prec} (tp, pp, ep)={tp}: ITL b={b} {r.itl_s * 1e3:.4g} ms > b={bigger[0]} "
                              f"{r2.itl_s * 1e3:.4g} ms")
                    rep.check("serving: tokens/s non-decreasing in batch", r2.tokens_per_s >= r.tokens_per_s
                              * (1 - 1e-9), f"{mname} {hname} {prec} (tp, pp, ep)={tp}: {r.tokens_per_s:.4g} tok/s at b={b} > "
                              f"{r2.tokens_per_s:.4g} at b={bigger[0]}")
                if prec == "fp8" and ("bf16", tp, b) in res:
                    r16 = res[("bf16", tp, b)]
                    rep.check("serving: fp8 TTFT <= bf16 TTFT", r.ttft_s <= r16.ttft_s * (1 + 1e-9),
                              f"{mname} {hname} (tp, pp, ep)={tp} b={b}: fp8 {r.ttft_s * 1e3:.4g} ms vs bf16 "
                              f"{r16.ttft_s * 1e3:.4g} ms")
                    rep.check("serving: fp8 ITL <= bf16 ITL", r.itl_s <= r16.itl_s * (1 + 1e-9),
                              f"{mname} {hname} (tp, pp, ep)={tp} b={b}: fp8 {r.itl_s * 1e3:.4g} ms vs bf16 {r16.itl_s * 1e3:.4g}"
                              " ms")
                    rep.check("serving: fp8 KV capacity >= bf16", r.kv_capacity >= r16.kv_capacity,
                              f"{mname} {hname} (tp, pp, ep)={tp} b={b}: fp8 {r.kv_capacity} vs bf16 {r16.kv_capacity}")


def check_one(rep, m, acc, prec, lay, b, r, call):
    wb = WB[prec]
    tp, pp, ep = lay
    vals = {"ttft": r.ttft_s, "itl": r.itl_s, "tps": r.tokens_per_s}
    rep.check("serving: finite, positive", all(math.isfinite(v) and v > 0 for v in vals.values()), f"{call}: {vals}")
    # decode floor: each step streams at least the active weights once, spread over tp devices at full HBM speed
    emb = 0.0 if m.tied_embeddings else m.vocab * m.hidden  # an input-embedding lookup reads b rows, not the table
    floor = ((m.params if not m.is_moe else m.active_params) - emb) * wb / (tp * ep * acc.memory_bw)
    rep.check("serving: ITL >= weight-bytes / HBM bandwidth", r.itl_s >= floor,
              f"{call}: ITL {r.itl_s * 1e3:.4g} ms < floor {floor * 1e3:.4g} ms")
    if not m.is_moe and ep == 1:  # dense: + every sequence's KV cache at the mean decode context, stages in series
        kv = b * kv_per_seq_hand(m, tp, 1, wb, ISL + OSL / 2)
        f2 = floor + kv / acc.memory_bw  # kv_per_seq_hand is already per TP rank
        rep.check("serving: ITL >= (weights + KV cache) / HBM bandwidth", r.itl_s >= f2,
                  f"{call}: ITL {r.itl_s * 1e3:.4g} ms < floor {f2 * 1e3:.4g} ms")
    # prefill floor: 2 x active params FLOPs per prompt token at the chip's peak, tp devices
    peak = acc.peak_flops[prec]
    pf = 2.0 * (m.active_params - emb) * ISL * b / (tp * pp * ep * peak)
    rep.check("serving: TTFT >= prefill FLOPs / peak", r.ttft_s >= pf,
              f"{call}: TTFT {r.ttft_s * 1e3:.4g} ms < floor {pf * 1e3:.4g} ms")
    # roofline: output tokens/s per GPU x 2 x active params <= peak
    roof = peak / (2.0 * (m.active_params - emb))
    rep.check("serving: tokens/s per GPU <= compute roofline", r.tokens_per_s_per_gpu <= roof,
              f"{call}: {r.tokens_per_s_per_gpu:.4g} tok/s/GPU > roofline {roof:.4g}")
    mem = r.memory_bytes
    if not m.is_moe and pp == 1:
        want = m.params * wb / tp
        rep.check("serving: weights/device ~ params*bytes/tp", abs(mem["weights"] / want - 1) < 0.05,
                  f"{call}: {mem['weights'] / 1e9:.4g} GB vs hand {want / 1e9:.4g} GB")
    per = kv_per_seq_hand(m, tp, pp, wb, ISL + OSL)
    free = acc.memory_bytes - mem["weights"] - mem["activations"] - mem["workspace"]
    want_cap = max(0, int(free // per)) * ep  # attention data-parallel over the ep ranks
    rep.check("serving: KV capacity ~ free memory / hand KV per sequence", abs(r.kv_capacity - want_cap)
              <= max(1, 0.03 * want_cap), f"{call}: kv_capacity {r.kv_capacity} vs hand {want_cap} "
              f"(free {free / 1e9:.4g} GB, {per / 1e6:.4g} MB/seq)")
    kv_used = mem.get("kv_cache", 0.0)
    want_kv = b / ep * per  # each ep rank holds its share of the sequences
    rep.check("serving: kv_cache memory = batch x KV per sequence", abs(kv_used - want_kv) <= 0.03 * want_kv + 1,
              f"{call}: kv_cache {kv_used / 1e9:.4g} GB vs hand {want_kv / 1e9:.4g} GB")
    rep.check("serving: feasible <=> memory fits", bool(r.feasible) == (sum(mem.values()) <= acc.memory_bytes),
              f"{call}: feasible={r.feasible}, memory {sum(mem.values()) / 1e9:.4g} GB of {acc.memory_bytes / 1e9:.4g}")


def replicas_monotone(rep, models, hardware=("H100", "A100_80GB", "MI300X", "B200"), qps=(5.0, 40.0)):
    """At a fixed load, more replicas never give a worse p99 TTFT or TPOT (ServingLoadModel, replicas=)."""
    from mlsysim.solvers.serving_load import ServingLoadModel
    lm = ServingLoadModel()
    for mname in models:
        m = getattr(Models.Language, mname)
        for hname in hardware:
            for q in qps:
                prev = None
                for n in (1, 2, 4, 8, 16):
                    kw = dict(qps=q, input_len=1000, output_len=200, tp_size=8, precision="bf16", replicas=n)
                    try:
                        r = lm.solve(m, getattr(Hardware.Cloud, hname), **kw)
                    except ConfigError:
                        break
                    except Exception as e:  # noqa: BLE001 - a crash is a finding
                        rep.check("serving load: solve crashes", False, f"{mname} {hname} {kw}: {type(e).__name__}: {e}")
                        break
                    t = (r.ttft_p99.to("s").magnitude, r.tpot_p99.to("s").magnitude)
                    if prev is not None:
                        ok = all(b <= a * (1 + 1e-9) or not math.isfinite(a) for a, b in zip(prev[1], t))
                        rep.check("serving load: more replicas never worse p99 TTFT/TPOT", ok,
                                  f"ServingLoadModel().solve(Models.Language.{mname}, Hardware.Cloud.{hname}, "
                                  f"**{kw}): replicas {prev[0]} -> {n}: (ttft, tpot) p99 {prev[1]} -> {t}")
                    prev = (n, t)
