"""Software-stack profiles (data/stacks.toml): what a training framework does, as the plain numbers the step
model reads. `Stacks.Training.pytorch_fsdp2_compiled`; `stack_args(name)` is the physics' view of one."""
from __future__ import annotations

from dataclasses import dataclass

from .registry import Registry

# The stack DistributedModel assumes when none is named: Megatron-Core (2024), the reference implementation of
# TP/PP/CP/EP with fused kernels, distributed optimizer and overlapped gradient reduction.
DEFAULT_STACK = "megatron_core_2024"

# field in stacks.toml -> keyword of physics.training.evaluate
_PHYSICS = {"elementwise_factor": "ew_factor", "kernels_per_layer": "kernels", "cpu_us_per_kernel": "cpu_kernel_s",
            "selective_op_level": "op_sac", "selective_gemm_recompute": "sel_gemm",
            "grad_reduce_bytes": "grad_reduce_bytes",
            "fp8_cast_passes": "cast_passes", "ce_bytes_per_logit": "ce_bytes",
            "optimizer_bytes_per_param": "opt_bytes", "grad_reduce_each_microbatch": "grad_each_mb",
            "moe_dispatch_bytes": "dispatch_bytes", "moe_node_limit": "node_limit",
            "attention_factor": "attention_factor", "pp_blocking_sends": "pp_blocking",
            "fp8_tp_gather": "fp8_tp_gather", "replay_cheap_ops": "replay",
            "optimizer_state_bytes": "opt_state", "fp8_weight_copy_bytes": "fp8_weights"}


@dataclass(frozen=True)
class Stack:
    """One framework's behaviour (see data/stacks.toml for the meaning and source of each number)."""

    key: str
    name: str
    year: int
    elementwise_factor: float
    attention_factor: float
    kernels_per_layer: float
    cpu_us_per_kernel: float
    selective_op_level: float
    selective_gemm_recompute: float
    grad_reduce_bytes: float
    fp8_cast_passes: float
    ce_bytes_per_logit: float
    optimizer_bytes_per_param: float
    grad_reduce_each_microbatch: float
    moe_dispatch_bytes: float
    moe_node_limit: float
    pp_blocking_sends: float
    fp8_tp_gather: float
    replay_cheap_ops: float
    optimizer_state_bytes: float
    fp8_weight_copy_bytes: float
    source: str
    notes: str = ""


def _build(category: str, key: str, raw: dict) -> Stack:
    from .errors import ConfigError

    fields = set(Stack.__dataclass_fields__) - {"key"}
    missing, extra = fields - set(raw) - {"notes"}, set(raw) - fields
    if missing or extra:
        raise ConfigError(f"stacks.toml [{category}.{key}]: missing {sorted(missing)}, unknown {sorted(extra)}")
    for f in _PHYSICS:
        if float(raw[f]) < 0:
            raise ConfigError(f"stacks.toml [{category}.{key}]: {f} must be >= 0, got {raw[f]}")
    return Stack(key=key, **raw)


Stacks = Registry("Stacks", "stacks.toml", _build)


_RESOLVED: dict = {}  # key -> Stack (registry entries never change once built)
_ARGS: dict = {}  # key -> physics keyword arguments


def resolve_stack(stack) -> Stack:
    """A Stack record from a record or a key of Stacks.Training (None: the default)."""
    if stack.__class__ is Stack:
        return stack
    if stack is None:
        stack = DEFAULT_STACK
    hit = _RESOLVED.get(stack) if stack.__class__ is str else None
    if hit is not None:
        return hit
    if not isinstance(stack, str):
        from .errors import ConfigError
        raise ConfigError(f"stack must be a name from Stacks.Training ({', '.join(Stacks.Training.names())}), "
                          f"got {stack!r}")
    rec = _RESOLVED[stack] = Stacks.Training[stack]
    return rec


def fp8_stacks() -> list[str]:
    """The stacks with an fp8 recipe (fp8_cast_passes > 0 in data/stacks.toml)."""
    return [k for k in Stacks.Training.names() if Stacks.Training[k].fp8_cast_passes > 0]


def check_precision(stack, precision) -> None:
    """ConfigError if `precision` is fp8 and the stack has no fp8 recipe (fp8_cast_passes = 0): its fp8 GEMMs
    would run with no cast cost and no fp8 weight copy, a run its framework cannot do."""
    if precision != "fp8":
        return
    rec = resolve_stack(stack)
    if rec.fp8_cast_passes <= 0:
        from .errors import ConfigError
        raise ConfigError(f"stack {rec.key!r} ({rec.name}) has no fp8 recipe (fp8_cast_passes = 0 in "
                          f"data/stacks.toml): train it in 'bf16', or pick a stack that trains in fp8: "
                          f"{', '.join(fp8_stacks())}")


def _physics(rec: Stack) -> dict:
    vals = {kw: float(getattr(rec, f)) for f, kw in _PHYSICS.items()}
    vals["cpu_kernel_s"] *= 1e-6
    return vals


def stack_args(stack) -> dict:
    """The stack's numbers as keyword arguments of physics.training.evaluate (plain floats)."""
    rec = resolve_stack(stack)
    if _RESOLVED.get(rec.key) is not rec:  # a record built by hand: not cached
        return _physics(rec)
    vals = _ARGS.get(rec.key)
    if vals is None:
        vals = _ARGS[rec.key] = _physics(rec)
    return dict(vals)
