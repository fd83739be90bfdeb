"""`mlsysim eval --model ResNet50 --hardware nRF52840 --precision int8`: one inference of a small network
(SmallModels: DS-CNN, MobileNetV2, ResNet-50) through Engine.solve's roofline, as the README's TinyML example runs
it; the transformer path (a scenario's workload.model) did not know these names."""
from __future__ import annotations

from ._common import STATUS_CODE, Failure, emit_json, err, gb


def small_model(name):
    """The SmallModels entry called `name`, or None."""
    if not name:
        return None
    from ..models.small import SmallModels
    return SmallModels.get(name) if name in SmallModels.all_names() else None


def eval_small(w, opts, batch_size, json_out) -> int:
    """Evaluate and print one small network's inference; the exit code."""
    if not opts["hardware"]:
        raise Failure("eval needs an accelerator: --hardware nRF52840 (or any Hardware name)")
    from ..engine.engine import _small_network, check_small_options
    check_small_options(w, **{"--seq-len": opts.get("seq_len"), "--recompute": opts.get("recompute"),
                              "--mode": opts.get("mode")})
    from ..hardware.registry import Hardware
    acc = Hardware.get(opts["hardware"])
    if opts["precision"] is None and not {"fp16", "bf16"} & set(acc.peak_flops):
        raise Failure(f"{acc.name} has no fp16 compute (the default): give --precision "
                      f"{' or '.join(acc.peak_flops)}")
    r = _small_network(w, acc, batch_size or 1, opts["precision"] or "fp16")
    status = "ok" if r.feasible else "infeasible"
    code = STATUS_CODE[status]
    if json_out:
        from ..views import summary
        from . import _json as J
        d = J.single(r, code, status, (), workload={"key": w.key, **summary(w)})
        emit_json(d)
    else:
        from ._render import render_single
        render_single(r)
    if status != "ok":
        err(f"needs {sum(r.memory_bytes.values()) / 1e9:.3g} GB but {r.accelerator.name} has "
            f"{gb(r.accelerator.memory_bytes)} GB", "infeasible")
    return code
