"""Messages a user reads on bad input: a cut list of valid names says it is cut; an integer key written 1e4 in
YAML (read as text by YAML 1.1) is told what to write; the serving report's assumptions read as the CLI's
(fp8/fp8/fp8, not a Python tuple)."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlsysim.errors import ConfigError, unknown

EX = Path(__file__).resolve().parents[1] / "examples"


def test_a_cut_list_of_valid_names_says_how_many_are_left_out():
    # 25 names, no close match: the first 20 (sorted) are shown and 25 - 20 = 5 are left out
    msg = str(unknown("thing", "zzz", [f"n{i:02d}" for i in range(25)]))
    assert "n19" in msg and "n20" not in msg and msg.endswith("(and 5 more)")
    assert "more" not in str(unknown("thing", "zzz", ["a", "b"]))  # a whole list is not marked


def test_an_integer_written_with_an_exponent_is_told_what_to_write(tmp_path):
    from mlsysim.scenario import load_scenario
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nworkload: {model: Llama3_8B, seq_len: 1e4}\nsystem: {cluster: Research_256}\n")
    with pytest.raises(ConfigError) as e:
        load_scenario(str(f))
    assert "seq_len" in str(e.value) and str(e.value).endswith("write 10000")  # 1e4 = 10,000
    f.write_text("name: x\nworkload: {model: Llama3_8B, seq_len: 10000}\nsystem: {cluster: Research_256}\n")
    assert load_scenario(str(f)).model.seq_len == 10000


def test_serving_report_assumptions_show_the_precision_triple_as_the_page_does(tmp_path):
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", str(EX / "llama3_70b_serving.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    # the example serves at precision fp8: weights, KV and compute all fp8
    assert "<td>fp8/fp8/fp8</td>" in page and "(&#x27;fp8&#x27;" not in page and "('fp8'" not in page


def test_a_serving_percentile_outside_the_tabulated_ones_names_them_with_its_line(tmp_path):
    from mlsysim.scenario import json_schema, load_scenario
    f = tmp_path / "s.yaml"
    body = "name: x\nworkload: {model: Llama3_70B}\nsystem: {node: DGX_H100}\nserving:\n  qps: 10\n  percentile: %s\n"
    # 0.6 passed the old bounds [0.5, 0.999] and failed later in the solver, without the file and line
    f.write_text(body % "0.6")
    with pytest.raises(ConfigError) as e:
        load_scenario(str(f))
    assert str(e.value).startswith(f"{f}:6: serving.percentile must be one of 0.5, 0.9, 0.95, 0.99, 0.999")
    f.write_text(body % "0.95")
    assert load_scenario(str(f)).raw["serving"]["percentile"] == 0.95
    p = json_schema()["properties"]["serving"]["properties"]["percentile"]
    assert p["enum"] == [0.5, 0.9, 0.95, 0.99, 0.999]


def test_bad_serving_input_is_a_located_error_in_serve_and_report(tmp_path):
    # tp_size=3 does not divide Llama 3 70B's 64 heads (64 = 2**6): bad input, exit 2, at the key's line (7);
    # `mlsysim report` wrote a 'no answer' page and exited 4, "the serving fleet misses its target"
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nworkload: {model: Llama3_70B}\nsystem: {node: DGX_H100}\ndatacenter: GCP_Iowa\n"
                 "serving:\n  qps: 10\n  tp_size: 3\n")
    out = tmp_path / "r.html"
    for args in (["serve", str(f)], ["report", str(f), "-o", str(out)]):
        r = CliRunner().invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert f"{f}:7: tp_size=3 does not divide" in r.output
    assert not out.exists()


def test_optimize_by_time_on_an_unpriced_fleet_gives_a_time_carbon_front(tmp_path):
    # TPU v2 has no list price: `optimize` by time (the default) refused the whole search with "cost needs an
    # accelerator price" because its Pareto front was time against cost; carbon needs no price
    pytest.importorskip("typer")
    import json

    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    from mlsysim.hardware.registry import Hardware
    assert not Hardware.Cloud.TPUv2.price_usd
    f = tmp_path / "tpu.yaml"
    f.write_text("name: tpu\nworkload: {model: Llama3_8B}\nsystem: {cluster: TPUv2_200}\nlayout: {tp_size: 8}\n"
                 "datacenter: GCP_Iowa\n")
    r = CliRunner().invoke(app, ["optimize", str(f), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["pareto"]["y"] == "carbon_t" and d["pareto"]["front"]
    # a front: no plan on it is both slower and dirtier than another
    pts = [(p["time_to_train_days"], p["carbon_t"]) for p in d["pareto"]["front"]]
    assert not any(a[0] >= b[0] and a[1] >= b[1] and a != b for a in pts for b in pts)
    text = CliRunner().invoke(app, ["optimize", str(f)]).output
    assert "$nan" not in text and "cost n/a (no accelerator price)" in text
    # a priced fleet keeps its time-cost front
    f.write_text("name: h\nworkload: {model: Llama3_8B}\nsystem: {cluster: Research_256}\nlayout: {tp_size: 8}\n"
                 "datacenter: GCP_Iowa\n")
    d = json.loads(CliRunner().invoke(app, ["optimize", str(f), "--json"]).stdout)
    assert d["pareto"]["y"] == "cost_usd"


def test_an_unknown_grid_says_codes_resolve_too(tmp_path):
    from mlsysim import Infrastructure
    from mlsysim.scenario import load_scenario
    # the message listed only curated entries (Australia ... Poland_EM2024), though 'PL', 'US-MIDA-PJM' and
    # 'gcp:us-central1' all resolve from data/grids.csv
    with pytest.raises(ConfigError) as e:
        Infrastructure.Grids["US-MIDA-PJN"]  # one letter off PJM's zone code
    assert "gcp:us-central1" in str(e.value) and "did you mean US-MIDA-PJM" in str(e.value)
    assert Infrastructure.Grids["US-MIDA-PJM"].gco2_per_kwh > 0  # the hint's examples resolve
    assert Infrastructure.Grids["gcp:us-central1"].gco2_per_kwh > 0
    f = tmp_path / "s.yaml"
    f.write_text("name: x\nworkload: {model: Llama3_8B}\nsystem: {cluster: Research_256}\n"
                 "datacenter: {name: GCP_Iowa, grid: Nope}\n")
    with pytest.raises(ConfigError) as e:
        load_scenario(str(f))
    assert str(e.value).startswith(f"{f}:4: unknown Infrastructure.Grids entry") and "PL@2022" in str(e.value)


def test_absurd_token_budget_is_refused_with_the_bound():
    # 1e308 tokens x a step time of seconds overflows a float: a clear ConfigError, not "internal value ... not
    # finite; please report"; 1e18 (the bound, ~64,000 x Llama 3's 15.6T tokens) still solves
    import pytest as _pytest
    from mlsysim import ConfigError, DistributedModel, Models, Systems
    args = (Models.Language.Llama3_70B, Systems.Clusters.Research_256)
    with _pytest.raises(ConfigError, match="beyond any training budget"):
        DistributedModel().solve(*args, tp_size=8, tokens=1e308)
    r = DistributedModel().solve(*args, tp_size=8, tokens=1e18)
    assert r.time_to_train_s == _pytest.approx(r.step_s * 1e18 / (r.layout["global_batch_size"] * 8192))


def test_missing_compute_dtype_suggests_one_the_chip_has():
    # Jetson AGX Orin's registry entry lists fp32 and int8 only: the example must not suggest bf16, which it lacks
    import pytest as _pytest
    from mlsysim import ConfigError, Hardware, Models
    from mlsysim.solvers.serving import ServingModel
    orin = Hardware.get("Jetson_AGX_Orin_64GB")
    with _pytest.raises(ConfigError, match="compute_precision='fp32'"):
        ServingModel().solve(Models.Language.Llama3_8B, orin, precision="fp16")
    # ... and the suggestion works: fp16 weights streamed at 2 B each, fp32 compute
    r = ServingModel().solve(Models.Language.Llama3_8B, orin, weight_precision="fp16", compute_precision="fp32",
                             batch_size=1)
    assert r.feasible and r.memory_bytes["weights"] == _pytest.approx(2 * 8.03e9, rel=0.01)
