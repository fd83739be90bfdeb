"""Monotonicity half of tools/sanity_sweep.py: a faster resource never makes a training step slower, doubling DP
at a fixed per-GPU batch costs at most a little, a larger micro-batch (pp = 1) never lowers per-GPU throughput,
fp8 is never slower than bf16 on a chip whose fp8 peak is higher, a higher ZeRO stage or more recompute never
holds more of what it shards or drops, and registry names equal records."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from mlsysim import DistributedModel, Hardware, Models, Systems, explore
from mlsysim.errors import ConfigError
from mlsysim.solvers import ServingModel

CLUSTERS = ("Research_256", "Selene_A100", "H100_1K", "MI300X_1K", "B200_1K", "TPUv5p_Pod", "Small_64")
AXES = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4, 8], microbatch=[1, 2, 4], keep="all", progress=False)
DP_SLOWDOWN = 1.10  # doubling DP at a fixed per-GPU batch: at most 10 % slower per step (stragglers, all-reduce)


def _scale_acc(fleet, **f):
    acc = fleet.node.accelerator
    kw = {k: (getattr(acc, k) * v if k != "peak_flops" else {p: x * v for p, x in acc.peak_flops.items()})
          for k, v in f.items()}
    return replace(fleet, node=replace(fleet.node, accelerator=replace(acc, **kw)))


PERTURB = {
    "peak FLOP/s x1.5": lambda fl: _scale_acc(fl, peak_flops=1.5),
    "HBM bandwidth x1.5": lambda fl: _scale_acc(fl, memory_bw=1.5),
    "node scale-up bandwidth x1.5": lambda fl: replace(fl, node=replace(fl.node, scaleup_bw=fl.node.scaleup_bw * 1.5)),
    "NIC bandwidth x1.5": lambda fl: replace(fl, node=replace(fl.node, nic_bw=fl.node.nic_bw * 1.5)),
    "fabric port bandwidth x1.5": lambda fl: replace(fl, fabric=replace(fl.fabric, port_bw=fl.fabric.port_bw * 1.5)),
    "fabric latency x0.5": lambda fl: replace(fl, fabric=replace(fl.fabric, latency_s=fl.fabric.latency_s * 0.5)),
}


def _sweep(model, fleet, **kw):
    r = explore.sweep(model, fleet, **AXES, **kw)
    return {n: r.column(n) for n in ("tp", "pp", "microbatch", "dp", "step_s", "tokens_per_s", "feasible",
                                     "global_batch_size")}, np.array([x == "" for x in r.reasons()])


def monotone(rep, models):
    for mname in models:
        model = getattr(Models.Language, mname)
        kw = {"ep": [1, 8]} if model.is_moe else {}
        if not model.tokens:  # no published budget (Mixtral): any budget; the step does not depend on it
            kw["tokens"] = 1e12
        for cname in CLUSTERS:
            fleet = getattr(Systems.Clusters, cname)
            try:
                base, ok = _sweep(model, fleet, **kw)
            except ConfigError:
                continue
            lay = lambda i: (f"{mname} {cname} tp={base['tp'][i]} pp={base['pp'][i]} "  # noqa: E731
                             f"mb={base['microbatch'][i]}")
            for what, f in PERTURB.items():
                new, ok2 = _sweep(model, f(fleet), **kw)
                both = ok & ok2
                worse = both & (new["step_s"] > base["step_s"] * (1 + 1e-9))
                rep.check(f"monotone: {what} never slower", not worse.any(),
                          f"{lay(np.argmax(worse))}: step {base['step_s'][worse][:1]} -> {new['step_s'][worse][:1]} "
                          f"({int(worse.sum())} of {int(both.sum())} layouts)" if worse.any() else "")
            # micro-batch, pp = 1, the same global batch (rounding to dp x mb may change it): throughput never lower
            for i in np.flatnonzero(ok & base["feasible"] & (base["pp"] == 1)):
                j = np.flatnonzero(ok & base["feasible"] & (base["tp"] == base["tp"][i]) & (base["pp"] == 1)
                                   & (base["microbatch"] == 2 * base["microbatch"][i])
                                   & (base["global_batch_size"] == base["global_batch_size"][i]))  # same batch
                for jj in j:
                    rep.check("monotone: larger micro-batch (pp=1) never lower tokens/s",
                              base["tokens_per_s"][jj] >= base["tokens_per_s"][i] * (1 - 1e-9),
                              f"{lay(i)}: {base['tokens_per_s'][i]:.6g} tok/s -> mb={base['microbatch'][jj]} "
                              f"{base['tokens_per_s'][jj]:.6g}")
            dp_doubling(rep, mname, model, cname, fleet, kw)
            fp8_vs_bf16(rep, mname, model, cname, fleet, kw)
    memory_orders(rep, models)
    argument_form(rep)


def dp_doubling(rep, mname, model, cname, fleet, kw):
    """Twice the nodes and twice the global batch: the same per-GPU work, so the step at most slightly slower."""
    n = fleet.count
    if n < 2:
        return
    half = replace(fleet, count=n // 2)
    for gbs in (1024, 4096):
        try:
            a, oka = _sweep(model, half, global_batch_size=gbs, **kw)
            b, okb = _sweep(model, fleet, global_batch_size=2 * gbs, **kw)
        except ConfigError:
            continue
        both = oka & okb & (a["global_batch_size"] * 2 == b["global_batch_size"])
        ratio = np.where(both, b["step_s"] / np.where(both, a["step_s"], 1.0), 0.0)
        bad = ratio > DP_SLOWDOWN
        rep.check(f"monotone: doubling DP at fixed per-GPU batch <= {DP_SLOWDOWN}x step", not bad.any(),
                  f"{mname} {cname} {n // 2}->{n} nodes gbs {gbs}->{2 * gbs}: tp={a['tp'][np.argmax(ratio)]} "
                  f"pp={a['pp'][np.argmax(ratio)]} mb={a['microbatch'][np.argmax(ratio)]} step x{ratio.max():.3f} "
                  f"({int(bad.sum())} of {int(both.sum())} layouts)" if bad.any() else "")


def fp8_vs_bf16(rep, mname, model, cname, fleet, kw):
    peak = fleet.node.accelerator.peak_flops
    if peak.get("fp8", 0) <= peak.get("bf16", 0):
        return
    a, oka = _sweep(model, fleet, precision="bf16", **kw)
    b, okb = _sweep(model, fleet, precision="fp8", **kw)
    both = oka & okb
    bad = both & (b["step_s"] > a["step_s"] * (1 + 1e-9))
    rep.check("monotone: fp8 step <= bf16 step (fp8 peak > bf16 peak)", not bad.any(),
              f"{mname} {cname}: {int(bad.sum())} of {int(both.sum())} layouts, e.g. tp={a['tp'][np.argmax(bad)]} "
              f"pp={a['pp'][np.argmax(bad)]} mb={a['microbatch'][np.argmax(bad)]}: bf16 "
              f"{a['step_s'][np.argmax(bad)]:.4g} s, fp8 {b['step_s'][np.argmax(bad)]:.4g} s" if bad.any() else "")


def argument_form(rep):
    """Registry names, registry records and keyword forms give the same numbers."""
    s1 = DistributedModel().solve("Llama3_70B", "Research_256", tp_size=8, pp_size=2)
    s2 = DistributedModel().solve(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp_size=8, pp_size=2,
                                  dp_size=16)
    rep.check("form: names == records (training)", s1.step_s == s2.step_s and s1.mfu == s2.mfu,
              f"step {s1.step_s} vs {s2.step_s}")
    v1 = ServingModel().solve("Llama3_8B", "H100", seq_len=1024, batch_size=4)
    v2 = ServingModel().solve(Models.Language.Llama3_8B, Hardware.Cloud.H100, input_len=1024, batch_size=4)
    rep.check("form: names == records, seq_len == input_len (serving)", v1.itl_s == v2.itl_s and
              v1.ttft_s == v2.ttft_s, f"itl {v1.itl_s} vs {v2.itl_s}, ttft {v1.ttft_s} vs {v2.ttft_s}")


def memory_orders(rep, models, clusters=("Research_256", "Selene_A100", "DeepSeekV3_2048", "TPUv5p_Pod")):
    """A higher ZeRO stage never holds more gradient or optimizer bytes; more recompute never more activations."""
    order = {"none": 0, "selective": 1, "full": 2}
    for mname in models:
        m = getattr(Models.Language, mname)
        kw = dict(tp=[1, 2, 4, 8], pp=[1, 2, 4], microbatch=[1, 2], zero=[0, 1, 2, 3], keep="all", progress=False,
                  recompute=list(order), tokens=None if m.tokens else 1e12, ep=[1, 8] if m.is_moe else [1])
        for cname in clusters:
            r = explore.sweep(m, getattr(Systems.Clusters, cname), **kw)
            c = {k: r.column(k) for k in ("tp", "pp", "microbatch", "ep", "zero", "recompute", "gradients_gb",
                                          "optimizer_gb", "activations_gb")}
            ok = np.array([x == "" for x in r.reasons()])
            idx = {tuple(c[k][i] for k in ("tp", "pp", "microbatch", "ep", "zero", "recompute")): i
                   for i in np.flatnonzero(ok)}
            for (tp, pp, mb, ep, z, rc), i in idx.items():
                where = f"{mname} {cname} tp={tp} pp={pp} mb={mb} ep={ep}"
                j = idx.get((tp, pp, mb, ep, z - 1, rc))
                if j is not None:
                    for cat in ("gradients_gb", "optimizer_gb"):
                        rep.check("memory: higher ZeRO stage never more gradient/optimizer bytes",
                                  c[cat][i] <= c[cat][j] * (1 + 1e-9),
                                  f"{where} rc={rc}: {cat} zero {z - 1} {c[cat][j]:.4g} -> zero {z} {c[cat][i]:.4g}")
                for rc2 in ("selective", "full"):
                    j = idx.get((tp, pp, mb, ep, z, rc2))
                    if j is not None and order[rc2] > order[rc]:
                        rep.check("memory: more recompute never more activation bytes",
                                  c["activations_gb"][j] <= c["activations_gb"][i] * (1 + 1e-9),
                                  f"{where} zero={z}: activations {rc} {c['activations_gb'][i]:.4g} -> {rc2} "
                                  f"{c['activations_gb'][j]:.4g}")
