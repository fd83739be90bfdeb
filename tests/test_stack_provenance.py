"""Every number of a software-stack profile (data/stacks.toml) that moves a prediction has its source or an
"assumption" with the reason, named by field in the entry's source or notes (house rule: every constant has
provenance). Neutral values need none: fused elementwise and FlashAttention-2 attention (factor 1, the
reference), and 0 = off for the optional recipes."""
from mlsysim.stacks import Stacks

ALWAYS = ("kernels_per_layer", "cpu_us_per_kernel", "ce_bytes_per_logit", "optimizer_bytes_per_param",
          "grad_reduce_each_microbatch", "pp_blocking_sends", "optimizer_state_bytes")
UNLESS_ONE = ("elementwise_factor", "attention_factor")
UNLESS_ZERO = ("selective_gemm_recompute", "grad_reduce_bytes", "fp8_cast_passes", "moe_dispatch_bytes",
               "moe_node_limit", "fp8_tp_gather", "replay_cheap_ops", "fp8_weight_copy_bytes")


def missing_provenance(rec) -> list[str]:
    text = f"{rec.source} {rec.notes}"
    need = list(ALWAYS) + [f for f in UNLESS_ONE if float(getattr(rec, f)) != 1.0] \
        + [f for f in UNLESS_ZERO if float(getattr(rec, f)) != 0.0]
    return [f for f in need if f not in text]


def test_every_stack_number_is_sourced_or_an_assumption():
    gaps = {k: missing_provenance(Stacks.Training[k]) for k in Stacks.Training.names()}
    assert {k: v for k, v in gaps.items() if v} == {}


def test_the_check_catches_an_undocumented_number():
    import dataclasses
    rec = dataclasses.replace(Stacks.Training["jax_gspmd_2022"], notes="", source="a paper")
    assert "cpu_us_per_kernel" in missing_provenance(rec) and "grad_reduce_bytes" in missing_provenance(rec)
    assert "elementwise_factor" not in missing_provenance(rec)  # 1.0: the fused reference
