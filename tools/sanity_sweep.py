"""Physics sanity sweep: evaluate every language model x training cluster x precision x explorer layout, and every
model x accelerator x precision x TP for serving, and check invariants and plausibility bounds the validation
tables cannot see (0 < MFU <= HFU <= 1, non-negative breakdowns, memory by hand formula, monotonicity, decode
and prefill floors, explorer rows equal to the scalar solver). Prints every violation with a reproducer.

    PYTHONPATH=src python tools/sanity_sweep.py [--quick] [--part training|serving|monotone|all]

Bounds: MFU above ~0.62 on A100 or ~0.65 on H100 bf16 is beyond every published record (Korthikanti et al. 2022:
56 % on A100 for a 1T model; Llama 3 405B: 38-43 % on H100; MLPerf H100 GPT-3 runs ~ 50 %). They flag, they do not
prove a bug: FlashAttention-2 (Dao 2023, Sec 4.2) reports 225 TFLOP/s = 72 % on 8 A100s for GPT-3 2.7B at tp = 1."""
from __future__ import annotations

import argparse
import math
import sys
from collections import defaultdict

import numpy as np

from mlsysim import DistributedModel, Hardware, Models, Systems, explore
from mlsysim.errors import ConfigError

TERMS = ("compute", "recompute", "tp_comm", "cp_comm", "ep_comm", "pp_comm", "bubble", "dp_comm", "optimizer",
         "straggler")
MFU_BOUND = {"A100": 0.62, "H100": 0.65, "H800": 0.65, "H200": 0.67}  # bf16; see the module docstring
# fp8 (the default stack, Megatron-Core): bf16 weights + Transformer Engine's fp8 cast and its transpose (stacks.toml)
BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 4.0}


def names(ns):
    return [n for n in dir(ns) if not n.startswith("_")]


class Report:
    """Violations grouped by check name, each with a one-line reproducer."""

    def __init__(self):
        self.v = defaultdict(list)
        self.n_checked = defaultdict(int)

    def check(self, name, ok, msg):
        self.n_checked[name] += 1
        if not ok:
            self.v[name].append(msg)

    def dump(self, path):
        with open(path, "w") as f:
            for k, msgs in sorted(self.v.items()):
                f.writelines(f"{k}\t{m}\n" for m in msgs)

    def print(self, limit=12):
        print("\n== checks ==")
        for k in sorted(self.n_checked):
            print(f"  {k:40s} checked {self.n_checked[k]:7d}  violations {len(self.v.get(k, [])):5d}")
        for k, msgs in sorted(self.v.items()):
            print(f"\n-- {k}: {len(msgs)} violation(s); first {min(limit, len(msgs))}:")
            for m in msgs[:limit]:
                print("   ", m)


def chip_family(fleet):
    name = fleet.node.accelerator.name
    for fam in MFU_BOUND:
        if fam in name:
            return fam
    return None


def repro(model, fleet, row):
    return (f"DistributedModel().solve(Models.Language.{model}, Systems.Clusters.{fleet}, tp_size={row['tp']}, "
            f"pp_size={row['pp']}, microbatch_size={row['microbatch']}, precision='{row['precision']}', "
            f"zero_stage={row['zero']}, recompute='{row['recompute']}', interleave={row['interleave']})")


def training(rep, models, clusters, quick=False, scalar_every=97):
    """Explorer rows over model x cluster x precision: invariants, plausibility, memory formula, scalar parity."""
    dm = DistributedModel()
    high, top, skipped = [], {}, []
    k = 0
    for mname in models:
        model = getattr(Models.Language, mname)
        for cname in clusters:
            fleet = getattr(Systems.Clusters, cname)
            acc = fleet.node.accelerator
            precs = [p for p in ("bf16", "fp8") if p in acc.peak_flops]
            for prec in precs:
                kw = dict(precision=prec, keep="valid", microbatch=(1, 2) if quick else (1, 2, 4),
                          zero=(1,) if quick else (1, 3), recompute=("selective",) if quick else ("selective", "full"),
                          progress=False)
                if model.is_moe:
                    kw["ep"] = (1, 8)
                if not model.tokens:  # no published budget (Mixtral): any budget; the step does not depend on it
                    kw["tokens"] = 1e12
                try:
                    r = explore.sweep(model, fleet, **kw)
                except ConfigError as e:
                    rep.check("training: sweep raises ConfigError", True, f"{mname} {cname} {prec}: {e}")
                    skipped.append(f"{mname} on {cname} ({prec}): {e}")
                    continue
                except Exception as e:  # noqa: BLE001 - a crash is a finding
                    rep.check("training: sweep crashes", False, f"{mname} {cname} {prec}: {type(e).__name__}: {e}")
                    continue
                if len(r) == 0:
                    continue
                c = {n: r.column(n) for n in r.columns if n not in ("fleet", "reason")}
                num = [n for n, a in c.items() if a.dtype.kind == "f"]
                for n in num:
                    bad = ~np.isfinite(c[n])
                    rep.check("training: finite columns", not bad.any(),
                              f"{mname} {cname} {prec}: {n} not finite in {int(bad.sum())} rows")
                mfu, hfu = c["mfu"], c["hfu"]
                for i in range(len(r)):
                    row = {n: c[n][i] for n in ("tp", "pp", "dp", "ep", "microbatch", "zero", "recompute",
                                                 "interleave", "precision", "global_batch_size")}
                    where = f"{mname} {cname} {prec} tp={row['tp']} pp={row['pp']} dp={row['dp']} ep={row['ep']} " \
                            f"mb={row['microbatch']} zero={row['zero']} rc={row['recompute']}"
                    rep.check("training: 0 < MFU <= HFU <= 1", 0 < mfu[i] <= hfu[i] + 1e-12 and hfu[i] <= 1,
                              f"{where}: mfu={mfu[i]:.4f} hfu={hfu[i]:.4f}")
                    terms = {t: c[t + "_s"][i] for t in TERMS}
                    rep.check("training: breakdown terms >= 0", min(terms.values()) >= 0,
                              f"{where}: {terms}")
                    tot = sum(terms.values())
                    rep.check("training: step = sum of breakdown", abs(tot - c["step_s"][i]) <= 1e-6 * c["step_s"][i],
                              f"{where}: step {c['step_s'][i]:.6g} vs sum {tot:.6g}")
                    mem = sum(c[t][i] for t in ("weights_gb", "gradients_gb", "optimizer_gb", "activations_gb",
                                                "reserved_gb"))
                    rep.check("training: memory = sum of categories", abs(mem - c["memory_gb"][i]) <= 1e-6 * mem,
                              f"{where}: {c['memory_gb'][i]} vs {mem}")
                    # weights per device, dense models with pp=1: all params / tp (ZeRO-3: / (tp*dp))
                    if not model.is_moe and row["pp"] == 1:
                        shard = row["tp"] * (row["dp"] if row["zero"] == 3 else 1)
                        want = model.params * BYTES.get(prec, 2.0) / shard / 1e9
                        if row["zero"] == 3:  # + the gathered unit and the prefetched one: a layer or the embedding
                            emb = model.vocab * model.hidden
                            unit = max((model.params - emb * (1 if model.tied_embeddings else 2)) / model.n_layers,
                                       emb)
                            want += 2 * 2.0 * unit / row["tp"] / 1e9
                        rep.check("training: weights_gb ~ params*bytes/shard", abs(c["weights_gb"][i] / want - 1)
                                  < 0.15, f"{where}: weights {c['weights_gb'][i]:.3f} GB vs hand {want:.3f} GB")
                    rep.check("training: tokens/s = batch tokens / step", math.isclose(
                        c["tokens_per_s"][i] * c["step_s"][i], c["batch_tokens"][i], rel_tol=1e-9),
                        f"{where}: {c['tokens_per_s'][i]} x {c['step_s'][i]} vs {c['batch_tokens'][i]}")
                    if row["recompute"] == "full":
                        rep.check("training: full recompute => HFU > MFU, recompute_s > 0",
                                  hfu[i] > mfu[i] and terms["recompute"] > 0, f"{where}: mfu {mfu[i]} hfu {hfu[i]}")
                    if not model.is_moe and not model.kv_lora_rank:  # MFU by hand (PaLM App. B, causal attention)
                        n_mm = model.params - (0 if model.tied_embeddings else model.vocab * model.hidden)
                        s_len = float(c["seq_len"][i])
                        fpt = 6 * n_mm + 6 * model.n_layers * s_len * model.n_heads * model.head_dim
                        want = c["tokens_per_s"][i] * fpt / (fleet.total_accelerators * acc.peak_flops[prec])
                        rep.check("training: MFU = 6N'+6Lsh per token x tokens/s / peak (3 %)",
                                  abs(mfu[i] / want - 1) < 0.03, f"{where}: mfu {mfu[i]:.4f} vs hand {want:.4f}")
                    fam = chip_family(fleet)
                    if c["feasible"][i]:
                        key = (acc.name, prec)
                        if mfu[i] > top.get(key, (0,))[0]:
                            top[key] = (mfu[i], mname, cname, row)
                    if c["feasible"][i] and fam and prec == "bf16":
                        rep.check("training: MFU plausible (bf16, published records)", mfu[i] <= MFU_BOUND[fam],
                                  f"{where}: MFU {mfu[i]:.3f} > {MFU_BOUND[fam]} ({fam})")
                        if mfu[i] > MFU_BOUND[fam]:
                            high.append((mfu[i], mname, cname, row, terms, c["step_s"][i]))
                    k += 1
                    if k % scalar_every == 0:
                        scalar_parity(rep, dm, mname, model, cname, fleet, row, c, i)
    print(f"\n== {len(skipped)} sweeps refused (ConfigError) ==", *skipped[:8], sep="\n  ")
    print("\n== highest feasible MFU per accelerator and precision ==")
    for (a, p), (m_, mname, cname, row) in sorted(top.items()):
        print(f"  {a:28s} {p:5s} {m_:.3f}  {repro(mname, cname, row)}")
    return high


def scalar_parity(rep, dm, mname, model, cname, fleet, row, c, i):
    """The explorer's row must equal DistributedModel.solve on the same layout."""
    try:
        s = dm.solve(model, fleet, tp_size=int(row["tp"]), pp_size=int(row["pp"]), ep_size=int(row["ep"]),
                     microbatch_size=int(row["microbatch"]), precision=str(row["precision"]),
                     zero_stage=int(row["zero"]), recompute=str(row["recompute"]), interleave=int(row["interleave"]),
                     global_batch_size=int(c["global_batch_size"][i]), tokens=None if model.tokens else 1e12)
    except Exception as e:  # noqa: BLE001
        rep.check("training: explorer row == scalar solver", False, f"{repro(mname, cname, row)}: raises {e}")
        return
    ok = math.isclose(s.step_s, c["step_s"][i], rel_tol=1e-9) and math.isclose(s.mfu, c["mfu"][i], rel_tol=1e-9) \
        and math.isclose(s.memory_total.to("GB").magnitude, c["memory_gb"][i], rel_tol=1e-9) \
        and bool(s.feasible) == bool(c["feasible"][i])
    rep.check("training: explorer row == scalar solver", ok,
              f"{repro(mname, cname, row)}: scalar step {s.step_s:.6g} mfu {s.mfu:.4f} mem "
              f"{s.memory_total.to('GB').magnitude:.4g} vs row {c['step_s'][i]:.6g} {c['mfu'][i]:.4f} "
              f"{c['memory_gb'][i]:.4g}")


def print_high(high, limit=15):
    if not high:
        return
    print(f"\n== implausibly high MFU: {len(high)} feasible bf16 rows; highest {limit} ==")
    for mfu, m, cl, row, terms, step in sorted(high, key=lambda x: -x[0])[:limit]:
        share = ", ".join(f"{t} {v / step:.1%}" for t, v in terms.items() if v > 0)
        print(f"  MFU {mfu:.3f}  {repro(m, cl, row)}\n      step {step:.4g} s = {share}")
    by = defaultdict(int)
    for _, m, cl, *_ in high:
        by[(m, cl)] += 1
    print("  by (model, cluster):", dict(sorted(by.items(), key=lambda x: -x[1])[:20]))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer layout axes")
    ap.add_argument("--part", default="all", choices=["training", "serving", "monotone", "all"])
    ap.add_argument("--models", default=None, help="comma-separated Models.Language names (default: all)")
    ap.add_argument("--out", default=None, help="write every violation (check<TAB>message) to this file")
    args = ap.parse_args()
    rep = Report()
    models = args.models.split(",") if args.models else names(Models.Language)
    if args.part in ("training", "all"):
        high = training(rep, models, names(Systems.Clusters), quick=args.quick)
        print_high(high)
    if args.part in ("serving", "all"):
        from sanity_serving import serving  # noqa: E402 - sibling module, loaded when asked
        serving(rep, models)
        from sanity_serving import replicas_monotone  # noqa: E402
        replicas_monotone(rep, models)
    if args.part in ("monotone", "all"):
        from sanity_monotone import monotone  # noqa: E402
        monotone(rep, models)
    rep.print()
    if args.out:
        rep.dump(args.out)
    sys.exit(1 if rep.v else 0)
