"""User-facing defects from bug bash 9: optimize's "no plan" names the scenario's own keys, compare of a serving
scenario says one thing, serving JSON counts whole sequences, validate --json gives numbers, train --json names
the record's token count apart from the run's."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("typer")
pytest.importorskip("yaml")

from typer.testing import CliRunner  # noqa: E402

from mlsysim.cli.main import app  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llama3_70b_plan.yaml"
SERVING = ROOT / "examples" / "llama3_70b_serving.yaml"
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"


def cli(*args):
    r = CliRunner().invoke(app, [str(a) for a in args])
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


def test_optimize_no_plan_names_the_scenario_keys():
    r = cli("optimize", PLAN, "--set", "constraints.max_gpus=64", "--set", "constraints.deadline_days=5",
            "--set", "constraints.max_carbon_t=1")
    assert r.exit_code == 3, r.stderr
    msg = r.stderr
    for key in ("constraints.max_gpus=64", "constraints.deadline_days=5", "constraints.max_carbon_t=1",
                "constraints.max_memory_gb=76"):
        assert key in msg, msg
    assert "max_accelerators" not in msg and " carbon_t=" not in msg
    # the smallest fleet searched is 16 DGX nodes x 8 GPUs = 128 accelerators, twice the cap of 64
    assert "the lowest accelerators reached is 128" in msg


def test_optimize_no_plan_explains_the_batch_window_in_scenario_terms():
    r = cli("optimize", PLAN, "--set", "search.nodes=[128]", "--set", "search.microbatch_sizes=[8]",
            "--set", "search.tp_sizes=[2]", "--set", "search.pp_sizes=[1]", "--set", "search.zero_stages=[3]",
            "--set", "search.recompute=[full]")
    assert r.exit_code == 3, r.stderr
    msg = r.stderr
    assert "batch_tolerance" not in msg  # a Python option a scenario cannot set
    assert "layout.global_batch_size" in msg
    # Llama 3's published batch is 16M tokens (Llama 3 paper, 2024); the window's top is 1.25 x 16M = 2e7.
    # 128 nodes x 8 GPUs / TP2 = DP 512; 512 x microbatch 8 x 8,192 tokens = 33.55M tokens per step.
    assert "max_batch_tokens=2e+07" in msg
    assert f"{512 * 8 * 8192:.4g}" in msg


def test_compare_of_a_serving_scenario_without_a_token_budget_says_one_thing(tmp_path):
    # Mixtral 8x7B's record has no training token budget: compare printed a note that its training column "takes
    # the defaults (the model's 0 tokens ...)" and then the solver's error that there is no token budget
    ex = tmp_path / "mix.yaml"
    ex.write_text(SERVING.read_text().replace("Llama3_70B", "Mixtral_8x7B"))
    for args in (["compare", ex, PLAN], ["train", ex], ["optimize", ex], ["regions", ex]):
        r = cli(*args)
        assert r.exit_code == 2, (args, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if ln.startswith("mlsysim:")]
        assert len(lines) == 1, lines
        assert "note:" not in r.stderr and "0 tokens" not in r.stderr
        assert "serving only" in lines[0] and f"mlsysim serve {ex}" in lines[0] and "tokens:" in lines[0]
    assert cli("serve", ex).exit_code in (0, 4)  # the command it points to answers (met or missed SLO)


def test_serving_json_counts_whole_sequences():
    # the table prints "KV capacity (sequences)  1,305"; the JSON said 1305.7...: a count of sequences is whole
    import re

    from mlsysim.scenario import load_scenario
    from mlsysim.scenario_serving import evaluate
    exact = evaluate(load_scenario(SERVING)).kv_capacity  # the solver keeps the float (ratios, tests)
    body = json.loads(cli("serve", SERVING, "--json").stdout)["result"]
    assert isinstance(body["kv_capacity"], int) and body["kv_capacity"] == int(exact)  # floor: a partial one fits not
    table = cli("serve", SERVING).stdout
    shown = re.search(r"KV capacity \(sequences\)\s+([\d,]+)", table).group(1)
    assert int(shown.replace(",", "")) == body["kv_capacity"]
    for args in (["--qps", "10"], []):  # a fleet under load, and a single replica (already whole)
        r = cli("serve", "--model", "Llama3_70B", "--hardware", "H100", "--tp", "4", *args, "--json")
        assert isinstance(json.loads(r.stdout)["result"]["kv_capacity"], int)


def test_validate_json_reliability_gives_numbers_and_the_table_is_unchanged():
    import re
    js = json.loads(cli("validate", "--json").stdout)["reliability"]["rows"]
    for r in js:  # no "90.0%" / "54%-96%" strings left
        assert not any(isinstance(v, str) and "%" in v for k, v in r.items() if k not in ("quantity", "source")), r
    eff = [r for r in js if r["quantity"].startswith("effective training time")]
    assert len(eff) == 3
    for r in eff:
        # Llama 3 paper (2024) Sec 3.3.4: "higher than 90% effective training time" -> a lower bound of 0.90
        assert r["published_fraction_min"] == 0.90 and 0 < r["predicted_fraction"] < 1
    iv = next(r for r in js if "effective time, 90 % interval" in r["quantity"])
    assert 0 < iv["predicted_fraction_low"] < iv["predicted_fraction_high"] < 1
    table = cli("validate", "--wide").stdout
    for r in eff:  # the table still prints "> 90%" and the prediction as a percentage, one decimal
        assert re.search(re.escape(r["quantity"]) + r"\s+> 90%\s+" + re.escape(f"{r['predicted_fraction']:.1%}"),
                         table), r["quantity"]
    assert f"{iv['predicted_fraction_low']:.0%}-{iv['predicted_fraction_high']:.0%}" in table


def test_train_json_names_the_record_token_budget_apart_from_the_run():
    # examples/llama3_70b_plan.yaml trains on `tokens: 2.0e12`; Llama 3 70B's record (model card, 2024) says 15T.
    # workload.tokens showed 15T beside performance.tokens 2T: one key, two meanings.
    d = json.loads(cli("train", PLAN, "--json").stdout)
    assert d["performance"]["tokens"] == 2.0e12
    assert d["workload"]["record_tokens"] == 15e12 and "tokens" not in d["workload"]
    # and a run that takes the record's budget says the same figure in both places
    d = json.loads(cli("train", PLAN, "--json", "--set", "tokens=15e12").stdout)
    assert d["performance"]["tokens"] == d["workload"]["record_tokens"] == 15e12
