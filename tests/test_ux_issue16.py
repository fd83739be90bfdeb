"""Issue 16, what a user sees: infeasible results say so wherever shown, one meaning of scaling efficiency, numbers
and units as people read them, registry entries in full and in short, plans compared and emitted, CLI habits."""
from __future__ import annotations

import json
import re
import runpy
import shlex
import warnings
from pathlib import Path

import pytest

from mlsysim import (DistributedModel, EconomicsModel, GoodputModel, Hardware, Infrastructure, Models,
                     SustainabilityModel, Systems)
from mlsysim.errors import InfeasibleResultWarning

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"
PLAN = ROOT / "examples" / "llama3_70b_plan.yaml"
DC = Infrastructure.Datacenters.GCP_Iowa
R256 = Systems.Clusters.Research_256


def run_at(width, *args):
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from mlsysim.cli.main import app
    r = CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": str(width)})
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r


# ------------------------------------------------------------------------------------------- infeasibility
def test_composed_results_carry_the_infeasible_mark_and_warn():
    # Hand: TP1 PP1 ZeRO-0 keeps all 70.6e9 bf16 weights on each GPU: 141 GB > an H100's 80 GiB = 85.9 GB.
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=1, pp_size=1, zero_stage=0)
    assert not perf.feasible
    with pytest.warns(InfeasibleResultWarning, match="feasible=False"):
        sust = SustainabilityModel().solve(performance=perf, datacenter=DC)
    with pytest.warns(InfeasibleResultWarning):
        econ = EconomicsModel().solve(performance=perf, datacenter=DC)
    with pytest.warns(InfeasibleResultWarning):
        econ2 = EconomicsModel().solve(sustainability=sust)
    with pytest.warns(InfeasibleResultWarning):
        good = GoodputModel().solve(performance=perf)
    with pytest.warns(InfeasibleResultWarning):
        sust2 = SustainabilityModel().solve(performance=good, datacenter=DC)
    from mlsysim import UncertaintyModel
    with pytest.warns(InfeasibleResultWarning):
        mc = UncertaintyModel().solve(performance=perf, ranges={"pue": (1.08, 1.2)}, datacenter=DC, samples=50)
    for r in (sust, econ, econ2, good, sust2, mc):
        assert r.feasible is False
        assert "does not fit" in " ".join(str(r).split()) and "does not fit" in r._repr_html_()  # text wraps at 80


def test_feasible_results_stay_quiet():
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=8, pp_size=1, dp_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for r in (SustainabilityModel().solve(performance=perf, datacenter=DC),
                  EconomicsModel().solve(performance=perf, datacenter=DC), GoodputModel().solve(performance=perf)):
            assert r.feasible is True and "feasible" not in str(r).splitlines()[1]


def test_the_tutorial_example_says_whether_its_layout_fits(capsys):
    runpy.run_path(str(ROOT / "examples" / "tutorial.py"), run_name="__main__")
    out = capsys.readouterr().out
    # README: the TP8 x DP32 ZeRO-1 layout needs ~82.3 GB of the H100's 80 GiB = 85.9 GB: it fits
    assert "Total Carbon:" in out and "82.3 GB per GPU of 85.9 GB, fits" in out


def test_readme_decode_example_fits_and_h100_is_refused():
    # Hand: Llama 3 70B decode at batch 1 x 8192: 70.6e9 x 2 B = 141.1 GB weights + KV 80 layers x 2 x 8 heads x
    # 128 x 2 B x 8192 = 2.68 GB + 2.5 GB reserved = 146.3 GB: under an H200's 141 GiB = 151.4 GB, over 85.9 GB.
    r = run_at(80, "eval", "--model", "Llama3_70B", "--hardware", "H200", "--mode", "decode")
    assert r.exit_code == 0, r.output
    assert "146.29" in r.stdout
    r = run_at(80, "eval", "--model", "Llama3_70B", "--hardware", "H100", "--mode", "decode")
    assert r.exit_code == 4 and "infeasible" in r.stderr


# --------------------------------------------------------------------------------- one meaning, number style
def test_scaling_efficiency_has_one_meaning():
    from mlsysim.solvers.distributed import SCALING_EFFICIENCY
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=8, pp_size=1, dp_size=32)
    b = perf.breakdown_s
    # definition: (compute + recompute) / step time
    assert perf.scaling_efficiency == pytest.approx((b["compute"] + b["recompute"]) / perf.step_s)
    assert SCALING_EFFICIENCY in str(perf)
    assert f"{perf.scaling_efficiency:.1%}" in str(perf)
    r = run_at(100, "train", GOLDEN)
    assert SCALING_EFFICIENCY in r.stdout


def test_throughput_in_tokens_per_second_and_numbers_like_the_cli():
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=8, pp_size=1, dp_size=32)
    q = perf.throughput
    assert f"{q.units:~P}" == "tok/s"
    # tokens per step / step time: global batch x 8,192 tokens per sequence
    assert q.to("token/s").magnitude == pytest.approx(perf.layout["global_batch_size"] * 8192 / perf.step_s)
    text = str(perf)
    hours = perf.time_to_train_s / 3600 * 256
    assert f"{hours:,.0f}" in text and "e+0" not in text


# ------------------------------------------------------------------------------------------- registry views
def test_registry_entries_have_a_short_repr_and_an_html_card():
    import mlsysim
    for reg in (mlsysim.Models, mlsysim.Hardware, mlsysim.Systems, mlsysim.Infrastructure):
        for cat in reg.categories():
            for k in getattr(reg, cat).names():
                e = getattr(reg, cat)[k]
                assert len(repr(e)) < 250, repr(e)
                assert repr(e).startswith("<") and "\n" not in repr(e)
    h = Hardware.Cloud.H100
    assert "989.5 bf16 TFLOP/s" in repr(h) and "3.35 TB/s" in repr(h)
    card = h._repr_html_()
    assert "<details>" in card and "attention efficiency" in card and "Morrison" in card


def test_zoo_key_shows_every_field_with_its_source_at_80_columns():
    r = run_at(80, "zoo", "H100")
    assert r.exit_code == 0
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    for field in ("matmul ceiling (MAMF)", "attention efficiency", "idle power", "embodied carbon", "memory "):
        assert field in r.stdout
    assert "stas00/ml-engineering" in r.stdout and "FlashAttention-2" in r.stdout and "Morrison" in r.stdout
    d = json.loads(run_at(160, "zoo", "H100", "--json").stdout)
    fields = {f["key"]: f for f in d["entries"][0]["fields"]}
    # hardware.toml / datasheet values: MAMF 794.5 TFLOP/s (stas00 table), FA2 0.40, idle 90 W, embodied 463 kg
    assert fields["mamf_bf16_tflops"]["value"] == pytest.approx(794.5)
    assert fields["attention_efficiency"]["value"] == pytest.approx(0.40)
    assert fields["idle_w"]["value"] == 90 and "assumption" in fields["idle_w"]["source"]
    assert fields["embodied_kgco2e"]["value"] == 463
    assert all(fields[k]["source"] for k in ("mamf_bf16_tflops", "attention_efficiency", "idle_w",
                                             "embodied_kgco2e", "memory_gb"))


def test_bandwidth_keys_spell_their_unit_one_way():
    d = json.loads(run_at(160, "zoo", "--json").stdout)
    keys = {k for e in d["entries"] for k in e}
    assert {"memory_bw_tb_per_s", "scaleup_gb_per_s", "nic_gbit_per_s", "port_gbit_per_s"} <= keys
    assert not [k for k in keys if re.search(r"_(t|g)bps$|_gbs$", k)]


# ----------------------------------------------------------------------------------------------- CLI habits
def test_completion_is_offered():
    r = run_at(80, "--help")
    assert "--install-completion" in r.stdout


def test_plots_creates_its_folder(tmp_path):
    d = tmp_path / "new" / "plots"
    r = run_at(80, "train", GOLDEN, "--plots", d)
    assert r.exit_code == 0, r.output
    assert (d / "breakdown.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -------------------------------------------------------------------------------------------- comparing plans
def test_scenario_to_yaml_reloads_the_same_scenario(tmp_path):
    from mlsysim.scenario import load_scenario
    sc = load_scenario(PLAN)
    p = tmp_path / "again.yaml"
    p.write_text(sc.to_yaml(header="round trip"))
    again = load_scenario(p)
    assert again.raw == sc.raw
    a, b = sc.evaluate(), again.evaluate()
    assert a.performance.time_to_train_s == b.performance.time_to_train_s
    assert a.economics.total_usd == b.economics.total_usd


def test_optimize_emit_writes_the_best_plan_that_train_reloads(tmp_path):
    best = tmp_path / "best.yaml"
    r = run_at(120, "optimize", PLAN, "--emit", best, "--json")
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout)["best"]
    assert best.read_text().startswith("# best cost plan")
    t = json.loads(run_at(160, "train", best, "--json").stdout)
    L = t["layout"]
    assert (L["tp_size"], L["pp_size"], L["dp_size"], L["zero_stage"]) == (row["tp"], row["pp"], row["dp"],
                                                                           row["zero"])
    assert t["performance"]["time_to_train_days"] == pytest.approx(row["time_to_train_days"], rel=1e-9)
    assert t["economics"]["total_usd"] == pytest.approx(row["cost_usd"], rel=1e-6)


def test_compare_shows_plans_side_by_side(tmp_path):
    out = tmp_path / "cmp.html"
    r = run_at(80, "compare", GOLDEN, PLAN, "-o", out)
    assert r.exit_code == 0, r.output
    assert all(len(line) <= 80 for line in r.stdout.splitlines())
    lines = r.stdout.splitlines()
    assert any(line.lstrip().startswith("▶ time to train") for line in lines)
    assert any(line.lstrip().startswith("model") for line in lines)  # same model: not marked
    d = json.loads(run_at(160, "compare", GOLDEN, PLAN, "--json").stdout)
    rows = {x["metric"]: x for x in d["rows"]}
    days = rows["time to train"]["values"]
    assert rows["time to train"]["best"] == days.index(min(days)) and rows["time to train"]["differs"]
    assert not rows["model"]["differs"]
    html = out.read_text()
    assert html.count("class='diff'") >= 5 and "class='n best'" in html


def test_readme_command_line_block_runs(tmp_path, monkeypatch):
    """Every command of the README's `## Command line` block exits as documented (0, or 4 where it says so)."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Command line\n\n```bash\n(.*?)```", text, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for line in block.splitlines():
        cmd = line.split("#")[0].strip()
        if not cmd.startswith("mlsysim ") or " > " in cmd or cmd.split()[1] in ("validate", "app"):
            continue
        r = run_at(120, *shlex.split(cmd)[1:])
        assert r.exit_code == 0, (cmd, r.output)


# ------------------------------------------------------------------------------------------------- the report
@pytest.fixture(scope="module")
def golden_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("rep") / "r.html"
    r = run_at(120, "report", GOLDEN, "-o", out)
    assert r.exit_code == 0, r.output
    return out.read_text()


def test_report_verdict_names_a_better_plan_that_really_is_better(golden_report):
    m = re.search(r"<p class='verdict'>A better plan exists: ([\d,.]+) days and \$([\d.]+)M instead of "
                  r"([\d,.]+) days and \$([\d.]+)M: TP(\d+) PP(\d+) DP(\d+) mb(\d+) ZeRO-(\d) (\w+) recompute on "
                  r"(\d+) nodes", golden_report)
    assert m, "no verdict line"
    days, cost, cur_days, cur_cost = (float(m.group(i).replace(",", "")) for i in range(1, 5))
    tp, pp, dp, mb, zero, nodes = (int(m.group(i)) for i in (5, 6, 7, 8, 9, 11))
    assert days < cur_days and cost < cur_cost
    # the named plan, solved again with the scalar solvers (not the explorer that found it)
    from mlsysim.scenario import load_scenario
    from mlsysim.systems.system import Fleet
    sc = load_scenario(GOLDEN)
    fl = Fleet(node=sc.fleet.node, count=nodes, fabric=sc.fleet.fabric)
    kw = {k: v for k, v in sc.layout.items() if k not in ("tp_size", "pp_size", "dp_size", "zero_stage",
                                                           "microbatch_size", "recompute")}
    perf = DistributedModel().solve(sc.model, fl, tp_size=tp, pp_size=pp, dp_size=dp, microbatch_size=mb,
                                    zero_stage=zero, recompute=m.group(10), tokens=sc.tokens, **kw)
    assert perf.feasible and perf.time_to_train_s / 86400 == pytest.approx(days, abs=0.05)
    econ = EconomicsModel().solve(performance=perf, datacenter=sc.datacenter)
    assert econ.total_usd / 1e6 == pytest.approx(cost, abs=0.005)
    assert cur_days == pytest.approx(sc.evaluate().performance.time_to_train_s / 86400, abs=0.05)


def test_report_reads_right(golden_report):
    html = golden_report
    assert "@media print" in html and "break-inside:avoid" in html and "@page" in html
    assert not re.search(r">2,0[12]\d<", html)  # years (2010-2029) are not numbers with separators
    assert "<td>2025</td>" in html  # the Iowa grid's year (infrastructure.toml)
    assert "In everyday terms" in html and "EPA Greenhouse Gas Equivalencies" in html
    assert "Cite this estimate" in html and "CO$_2$e" in html
    assert "scaling efficiency (compute / step time)" in html


def test_region_chart_uses_human_names_and_labels_each_basis():
    from mlsysim.report import plots as P
    from mlsysim.report import series as S
    from mlsysim.scenario import load_scenario
    o = load_scenario(GOLDEN).evaluate()
    rows = S.regions(o.performance, o.scenario.datacenter)
    fig = P.carbon_by_region(rows, max_bars=100)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert set(labels) == {f"{r['grid']} ({r['gco2_per_kwh']:.0f} g/kWh)" for r in rows}  # names, not keys
    assert not any("_" in lbl for lbl in labels)  # e.g. no US_Average_LLaMA, Taiwan_Patterson2019
    assert any(lbl.startswith("Poland (coal)") for lbl in labels)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == len({r["basis_class"] for r in rows})  # one label per basis family shown
    colors = {P.BASIS_COLORS[r["basis_class"]] for r in rows}
    import matplotlib.colors as mc
    assert {mc.to_hex(b.get_facecolor()) for b in ax.patches} == {mc.to_hex(c) for c in colors}
    assert S.basis_class("lifecycle, consumption-based") == "lifecycle"
    assert S.basis_class("direct (combustion) emissions") == "direct"
    assert S.basis_class("tutorial constant") == "as published"


def test_tonnes_and_unknown_embodied_carbon(tmp_path):
    from mlsysim.report.summary import tonnes
    assert (tonnes(0.82), tonnes(11.37), tonnes(1899.5)) == ("0.82", "11.4", "1,900")
    # MI300X has no embodied figure in hardware.toml: shown as unknown, not as 0.0 t, and left out of the total
    r = run_at(160, "train", GOLDEN, "--set", "system.node=MI300X_8", "--set", "system.nodes=32")
    assert "unknown (not in totals)" in r.stdout and "0.0 t" not in r.stdout
    from mlsysim.scenario import load_scenario
    o = load_scenario(GOLDEN, [("system.node", "MI300X_8"), ("system.nodes", 32)]).evaluate()
    s = o.sustainability
    assert s.total_carbon.magnitude == pytest.approx(s.location_kg / 1e3)
    assert "embodied unknown" in str(s)
    j = json.loads(run_at(160, "train", GOLDEN, "--set", "system.node=MI300X_8", "--set", "system.nodes=32",
                          "--json").stdout)["sustainability"]
    assert j["carbon_embodied_t"] is None and j["carbon_total_t"] == pytest.approx(j["carbon_location_t"])
    out = tmp_path / "r.html"
    run_at(160, "report", GOLDEN, "--set", "system.node=MI300X_8", "--set", "system.nodes=32", "--no-pareto",
           "-o", out)
    assert "left out of every total" in out.read_text()


def test_everyday_equivalents_by_hand():
    from mlsysim import equivalents as EQ
    # 1 t CO2e: 1 / (3.93e-4 t/mile / 1.609344 km/mile) = 4,095 km; 1 / (1,984 lb x 0.45359237 kg/lb) = 1.111
    # round trips; 10.791 MWh = one US home's 10,791 kWh year
    assert EQ.car_km(1.0) == pytest.approx(4095.0, abs=1)
    assert EQ.flights(1.0) == pytest.approx(1.111, abs=0.001)
    assert EQ.household_years(10.791) == pytest.approx(1.0)
    assert all(e["source"] for e in EQ.equivalents(1.0, 1.0))


def test_report_markdown_and_latex_paragraphs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_at(120, "report", GOLDEN, "--markdown")
    assert r.exit_code == 0 and not (tmp_path / "report.html").exists()
    from mlsysim.scenario import load_scenario
    o = load_scenario(GOLDEN).evaluate()
    text = r.stdout
    assert f"{o.performance.time_to_train_s / 86400:,.1f} days" in text and "t CO2e" in text
    assert "EPA 2023" in text and "mlsysim" in text
    tex = run_at(120, "report", GOLDEN, "--latex").stdout
    mfu = f"{o.performance.mfu * 100:.1f}\\%"            # percent signs escaped for LaTeX
    cost = f"\\${o.economics.total_usd / 1e6:.2f}M"       # dollar signs escaped too
    assert "CO$_2$e" in tex and mfu in tex and not re.search(r"[^\\]%", tex) and cost in tex


# ------------------------------------------------------------------------------------------------- notebooks
def test_figures_show_inline_without_the_matplotlib_magic():
    from mlsysim.report import plots as P
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=8, pp_size=1, dp_size=32)
    fig = P.breakdown(perf)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_ipython_displays_a_figure_as_png():
    pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter

    from mlsysim.report import plots as P
    perf = DistributedModel().solve(Models.Language.Llama3_70B, R256, tp_size=8, pp_size=1, dp_size=32)
    data, _ = DisplayFormatter().format(P.breakdown(perf))  # what a notebook does with a cell's value
    assert "image/png" in data


def test_sweep_html_table_shows_the_datacenter_when_swept():
    from mlsysim import explore
    two = explore.sweep(Models.Language.Llama3_70B, R256, tp=[4, 8], pp=[1, 2],
                        datacenters=[DC, Infrastructure.Datacenters.Quebec_Hydro])
    html = two._repr_html_()
    assert "<th>datacenter</th>" in html and "Hydro-Quebec" in html and "datacenter" in repr(two)
    one = explore.sweep(Models.Language.Llama3_70B, R256, tp=[4, 8], pp=[1, 2], datacenters=[DC])
    assert "<th>datacenter</th>" not in one._repr_html_()
    # numbers as the CLI prints them: cost with thousands separators, not 7.345e+06
    assert "e+0" not in html and re.search(r">\d{1,3},\d{3},\d{3}<", html)


def test_long_work_shows_a_notebook_progress_bar(monkeypatch, capsys):
    import sys
    import types

    from mlsysim.explore import progress as X
    seen = []

    class FakeTqdm:
        def __init__(self, total, **kw):
            seen.append(("total", total))

        def update(self, n):
            seen.append(("update", n))

        def close(self):
            seen.append(("close", None))
    mod = types.ModuleType("tqdm.auto")
    mod.tqdm = FakeTqdm
    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", mod)
    monkeypatch.setattr(X, "in_notebook", lambda: True)
    assert X.progress_enabled(None, 20_000_000)  # long work in a notebook: on (stderr is no terminal there)
    bar = X.Progress(1000, True)
    bar.update(400)
    bar.update(600)
    bar.close()
    assert seen == [("total", 1000), ("update", 400), ("update", 600), ("close", None)]
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # tqdm not installed: no bar at all
    quiet = X.Progress(1000, True)
    quiet.update(1000)
    quiet.close()
    assert capsys.readouterr().err == ""


def test_readme_one_gpu_decode_example_is_feasible():
    """The README's one-accelerator decode example shows a plan that fits (issue 16: it used to print a latency
    for 141 GB of weights on an 80 GB device)."""
    text = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "SingleNodeModel().solve" in b)
    ns: dict = {}
    exec(compile(block, "README.md", "exec"), ns)
    assert ns["r"].feasible and ns["perf"].feasible
