"""Scenario files: safe YAML with file:line errors, unknown keys with close names, registry names checked, the
JSON Schema, and every field used (changing it moves the output)."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

pytest.importorskip("yaml")

from mlsysim import ConfigError  # noqa: E402
from mlsysim.cli import _json as J  # noqa: E402
from mlsysim.scenario import (SECTIONS, TOP, ScenarioError, from_dict, json_schema, load_scenario,  # noqa: E402
                              parse_yaml)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
GOLDEN = EXAMPLES / "llama3_70b_research256.yaml"

BASE = {
    "name": "base", "description": "d",
    "workload": {"model": "Llama3_70B"},
    "system": {"cluster": "Research_256"},
    "layout": {"tp_size": 8, "pp_size": 1, "zero_stage": 2},
    "datacenter": {"name": "GCP_Iowa"},
    "tokens": 1.0e12,
    "constraints": {"deadline_days": 1000.0},
}


def out_of(raw):
    """The train JSON of a scenario (or the error message): what 'the output' means for the moves test."""
    try:
        o = from_dict(raw).evaluate()
        return J.dumps(J.outcome(o, 0))
    except ConfigError as exc:
        return f"error: {exc}"


def with_(base, path, value):
    raw = copy.deepcopy(base)
    sec, _, key = path.partition(".")
    if key:
        raw.setdefault(sec, {})
        raw[sec][key] = value
    else:
        raw[sec] = value
    return raw


# One variation per field: (field, alternative value[, base]); the output must move.
MLA = with_(with_(BASE, "workload.kv_lora_rank", 512), "workload.qk_rope_head_dim", 64)
MOE = {**BASE, "workload": {"model": "Mixtral_8x7B"}, "layout": {"tp_size": 2, "pp_size": 1, "ep_size": 4,
                                                                 "zero_stage": 1}}
VARIATIONS = [
    ("name", "other"), ("description", "other"), ("tokens", 2.0e12),
    ("workload.model", "Llama3_8B"), ("workload.name", "renamed"), ("workload.n_layers", 40),
    ("workload.hidden", 9216), ("workload.n_heads", 32), ("workload.n_kv_heads", 16), ("workload.head_dim", 96),
    ("workload.ffn_hidden", 20480), ("workload.vocab", 32000), ("workload.gated_mlp", False),
    ("workload.tied_embeddings", True), ("workload.linear_bias", True), ("workload.learned_pos_emb", 8192),
    ("workload.embedding_norm", True), ("workload.dropout", True), ("workload.seq_len", 4096),
    ("workload.global_batch_tokens", 4.0e6),
    ("workload.n_experts", 16, MOE), ("workload.experts_per_token", 1, MOE),
    ("workload.n_shared_experts", 1, MOE), ("workload.expert_ffn_hidden", 7168, MOE),
    ("workload.n_dense_layers", 2, MOE),
    ("workload.kv_lora_rank", 256, MLA), ("workload.q_lora_rank", 1536, MLA),
    ("workload.qk_rope_head_dim", 32, MLA), ("workload.v_head_dim", 64, MLA),
    ("system.cluster", "Small_64"), ("system.node", "DGX_A100"), ("system.nodes", 16),
    ("system.fabric", "InfiniBand_HDR"), ("system.accelerator", "H200"), ("system.oversubscription", 2.0),
    ("layout.tp_size", 4), ("layout.pp_size", 2), ("layout.dp_size", 16), ("layout.cp_size", 2),
    ("layout.ep_size", 2), ("layout.ep_size", 8, MOE), ("layout.microbatch_size", 2),
    ("layout.global_batch_size", 512), ("layout.interleave", 2), ("layout.zero_stage", 3),
    ("layout.precision", "fp8"), ("layout.recompute", "full"), ("layout.flash_attention", False),
    ("layout.sequence_parallel", False), ("layout.dp_overlap", False), ("layout.straggler_cv", 0.0),
    ("layout.tp_overlap", 0.5), ("layout.ep_overlap", 1.0, MOE),
    ("layout.stack", "pytorch_fsdp2_eager"),
    ("datacenter.name", "Quebec_Hydro"), ("datacenter.grid", "Poland"), ("datacenter.pue", 1.5),
    ("datacenter.wue_l_per_kwh", 3.0), ("datacenter.electricity_usd_per_kwh", 0.2),
    ("datacenter.cfe_fraction", 0.5), ("datacenter.contractual_fraction", 0.5),
    ("economics.accelerator_price_usd", 40000.0), ("economics.infrastructure_multiplier", 2.0),
    ("economics.depreciation_years", 3.0), ("economics.facility_life_years", 30.0), ("economics.maintenance_fraction_per_year", 0.2),
    ("economics.cloud_usd_per_gpu_hour", 2.0),
    ("constraints.deadline_days", 10.0), ("constraints.budget_usd", 1e6), ("constraints.max_carbon_t", 100.0),
    ("constraints.max_memory_gb", 40.0), ("constraints.max_gpus", 128),
]


@pytest.mark.parametrize("var", VARIATIONS, ids=[v[0] + ("" if len(v) == 2 else "@alt") for v in VARIATIONS])
def test_every_field_moves_the_output(var):
    path, value = var[0], var[1]
    base = var[2] if len(var) > 2 else BASE
    before = out_of(base)
    assert not before.startswith("error"), before
    after = out_of(with_(base, path, value))
    assert after != before, f"changing {path} to {value!r} did not change the output"


def test_variations_cover_every_train_field():
    covered = {v[0] for v in VARIATIONS}
    fields = set(TOP) | {f"{s}.{k}" for s, spec in SECTIONS.items() if s not in ("search", "serving") for k in spec}
    # (search: test_search_fields_move_optimize; serving: tests/test_serving_load.py; workload.max_context limits
    # serving only, by design: tests/test_user_bugbash6.py::test_scenario_max_context_is_a_what_if)
    fields.discard("workload.max_context")
    assert fields - covered == set(), f"fields without a moves-the-output test: {sorted(fields - covered)}"


def test_search_fields_move_optimize():
    pytest.importorskip("mlsysim.explore")
    from mlsysim import explore
    raw = {"workload": {"model": "Llama3_8B"}, "system": {"node": "DGX_H100", "nodes": 4,
                                                           "fabric": "InfiniBand_NDR"},
           "datacenter": "GCP_Iowa", "tokens": 1e11,
           "search": {"nodes": [1, 2, 4], "tp_sizes": [1, 2], "pp_sizes": [1], "microbatch_sizes": [1],
                      "zero_stages": [1], "recompute": ["selective"]}}

    def run(r):
        sc = from_dict(r)
        res = explore.sweep(sc.model, **sc.sweep_kwargs(), progress=False)
        return res.evaluated, sorted(res["time_to_train_days"].tolist())

    base = run(raw)
    for key, val in [("nodes", [2, 4]), ("tp_sizes", [2, 4]), ("pp_sizes", [1, 2]),
                     ("microbatch_sizes", [1, 2]), ("zero_stages", [1, 3]), ("recompute", ["full"]),
                     ("datacenters", ["GCP_Iowa", "Quebec_Hydro"])]:
        r = copy.deepcopy(raw)
        r["search"][key] = val
        assert run(r) != base, key
    # objective and top: consumed by `optimize` (tests/test_cli.py checks them through the command)
    assert set(SECTIONS["search"]) == {"objective", "nodes", "tp_sizes", "pp_sizes", "microbatch_sizes",
                                       "zero_stages", "recompute", "datacenters", "top",
                                       "ep_sizes"}  # ep_sizes moves it: tests/test_user_bugbash7.py (an MoE)


# ------------------------------------------------------------------------------------------------ errors
def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = GOLDEN.read_text()


@pytest.mark.parametrize("edit, expect", [
    (("tp_size: 8", "tp_size: eight"), r"s\.yaml:\d+: layout\.tp_size must be an integer, got str 'eight'"),
    (("tp_size: 8", "tp_size: -8"), r"s\.yaml:\d+: layout\.tp_size must be >= 1, got -8"),
    (("tp_size: 8", "tp_size: 8.0"), r"layout\.tp_size must be an integer, got float 8\.0; write 8"),
    (("tp_size: 8", "tp_sise: 8"), r"s\.yaml:\d+: unknown key in layout 'tp_sise'; did you mean tp_size"),
    (("cluster: Research_256", "cluster: Reserch_256"), r"s\.yaml:\d+: unknown .*'Reserch_256'; did you mean "
                                                       r"Research_256"),
    (("model: Llama3_70B", "model: Llama3_71B"), r"unknown .*'Llama3_71B'; did you mean"),
    (("datacenter: GCP_Iowa", "datacenter: GCP_Iowaa"), r"did you mean GCP_Iowa"),
    (("precision: bf16", "precision: bf17"), r"unknown layout\.precision 'bf17'; did you mean bf16"),
    (("tokens: 15.0e12", "tokens: lots"), r"tokens must be a number, got str 'lots'"),
    (("tokens: 15.0e12", "tokens: 0"), r"tokens must be > 0, got 0"),
    (("tokens: 15.0e12", "tokenz: 15.0e12"), r"unknown top-level key 'tokenz'; did you mean tokens"),
    (("  zero_stage: 2", "  zero_stage: 7"), r"layout\.zero_stage must be <= 3, got 7"),
    (("  pp_size: 1\n", "  pp_size: 1\n  pp_size: 2\n"), r"s\.yaml:\d+: duplicate key 'layout\.pp_size' \(first "
                                                         r"on line \d+\)"),
    (("system:\n  cluster: Research_256", "system: Research_256"), r"s\.yaml:\d+: system must be a mapping"),
    (("datacenter: GCP_Iowa", "datacenter: 5"), r"datacenter must be a name or a mapping"),
    (("  tp_size: 8\n", "  tp_size: [8\n"), r"s\.yaml:\d+: malformed YAML"),
])
def test_bad_input_one_line_with_file_and_line(tmp_path, edit, expect):
    import re
    old, new = edit
    assert old in GOOD
    p = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(p).evaluate()
    msg = str(info.value)
    assert "\n" not in msg
    assert re.search(expect, msg), msg


def test_line_numbers_point_at_the_key(tmp_path):
    p = write(tmp_path, GOOD.replace("tp_size: 8", "tp_size: -8"))
    line = next(i for i, l in enumerate(p.read_text().splitlines(), 1) if "tp_size" in l)
    with pytest.raises(ScenarioError, match=rf"s\.yaml:{line}: "):
        load_scenario(p)


def test_layout_error_from_the_solver_is_located(tmp_path):
    p = write(tmp_path, GOOD.replace("tp_size: 8", "tp_size: 16"))
    with pytest.raises(ScenarioError, match=r"s\.yaml:\d+: .*16"):
        load_scenario(p).evaluate()


def test_empty_and_non_mapping_files(tmp_path):
    with pytest.raises(ScenarioError, match="empty"):
        load_scenario(write(tmp_path, "# nothing\n"))
    with pytest.raises(ScenarioError, match="must be a mapping"):
        load_scenario(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.yaml")
    with pytest.raises(ScenarioError, match="missing `system:`"):
        load_scenario(write(tmp_path, "workload: {model: Llama3_8B}\n"))


def test_safe_loading_refuses_python_tags(tmp_path):
    p = write(tmp_path, "workload: !!python/object/apply:os.system ['echo hacked']\nsystem: {cluster: Small_64}\n")
    with pytest.raises(ScenarioError, match="malformed YAML"):
        load_scenario(p)


def test_yaml_quirks_numbers_without_dot_and_underscores():
    raw, _ = parse_yaml("tokens: 15e12\n")
    assert raw["tokens"] == "15e12"  # YAML 1.1 reads it as a string ...
    sc = from_dict({**BASE, "tokens": "15e12"})
    assert sc.tokens == 15e12  # ... the scenario accepts it as the number it is
    assert from_dict({**BASE, "tokens": 15_000_000_000_000}).tokens == 15e12


def test_inline_workload_and_custom_datacenter():
    raw = {"workload": {"n_layers": 2, "hidden": 256, "n_heads": 4, "ffn_hidden": 1024, "vocab": 1000,
                        "seq_len": 512},
           "system": {"node": "DGX_H100", "nodes": 1},
           "datacenter": {"grid": "Quebec", "pue": 1.2, "electricity_usd_per_kwh": 0.05}, "tokens": 1e9}
    o = from_dict(raw).evaluate()
    assert o.performance.feasible and o.sustainability is not None
    with pytest.raises(ScenarioError, match="missing ffn_hidden, vocab"):
        from_dict({"workload": {"n_layers": 2, "hidden": 256, "n_heads": 4}, "system": {"cluster": "Small_64"}})
    with pytest.raises(ScenarioError, match="needs system.fabric"):
        from_dict({"workload": {"model": "Llama3_8B"}, "system": {"node": "DGX_H100", "nodes": 4}})
    with pytest.raises(ScenarioError, match="missing pue, electricity_usd_per_kwh"):
        from_dict({**BASE, "datacenter": {"grid": "Quebec"}})


def test_constraints_need_a_datacenter():
    raw = {k: v for k, v in BASE.items() if k != "datacenter"}
    assert from_dict(raw).evaluate().sustainability is None
    with pytest.raises(ScenarioError, match="budget_usd needs a `datacenter:`"):
        from_dict({**raw, "constraints": {"budget_usd": 1e6}}).evaluate()


def test_overrides_are_checked_like_the_file():
    sc = load_scenario(GOLDEN, [("layout.tp_size", 4), ("datacenter.grid", "Quebec")])
    assert sc.layout["tp_size"] == 4 and sc.datacenter.grid.key == "Quebec"
    with pytest.raises(ScenarioError, match=r"command line \(layout\.tp_size\): layout\.tp_size must be >= 1"):
        load_scenario(GOLDEN, [("layout.tp_size", 0)])


def test_json_schema_matches_the_loader():
    s = json_schema()
    json.dumps(s)
    assert s["additionalProperties"] is False and set(s["required"]) == {"workload", "system"}
    assert set(s["properties"]) == set(TOP) | set(SECTIONS)
    lay = s["properties"]["layout"]["properties"]
    assert lay["tp_size"]["type"] == "integer" and lay["tp_size"]["minimum"] == 1
    assert "bf16" in lay["precision"]["enum"]
    assert "Research_256" in s["properties"]["system"]["properties"]["cluster"]["enum"]
    assert s["properties"]["tokens"]["exclusiveMinimum"] == 0
    # the examples, as the loader reads them, validate against it where a validator is installed (PyYAML
    # reads 2.0e12 as a string under YAML 1.1; the loader turns it into the number, as YAML 1.2 editors do)
    jsonschema = pytest.importorskip("jsonschema")
    for f in EXAMPLES.glob("*.yaml"):
        jsonschema.validate(load_scenario(f).raw, s)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**BASE, "layout": {"tp_sise": 8}}, s)
