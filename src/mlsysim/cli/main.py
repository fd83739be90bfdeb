"""The `mlsysim` command line. Only typer is imported here; every command imports what it needs when it runs,
so `mlsysim --help` stays fast.

    mlsysim zoo hardware                          browse the registries
    mlsysim zoo H100 [--json]                     one entry in full, every field with its source
    mlsysim eval --model Llama3_70B --hardware H200 --mode decode
    mlsysim train examples/llama3_70b_research256.yaml [--json] [--plots DIR]
    mlsysim optimize examples/llama3_70b_research256.yaml --objective cost [--emit best.yaml]
    mlsysim regions examples/llama3_70b_research256.yaml --grid Quebec,Poland,PL@2022
    mlsysim validate [--wide] [--json]
    mlsysim report examples/llama3_70b_research256.yaml -o report.html [--markdown | --latex]
    mlsysim compare a.yaml b.yaml [-o compare.html]
    mlsysim schema > scenario.schema.json
    mlsysim serve --model Llama3_70B --hardware H100 --tp 4 --precision fp8 --qps 10 --ttft-slo-ms 500
    mlsysim serve-plan --model Llama3_70B --qps 1000 --ttft-slo-ms 100
"""
from __future__ import annotations

from typing import List, Optional

import typer

from ._common import EXIT_CODES_HELP
from ._fastparams import install as _install_fast_params

_install_fast_params()

app = typer.Typer(
    name="mlsysim",
    help="First-principles simulator of ML systems: roofline, distributed training, LLM serving, energy, carbon, "
         "cost, design-space search.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JSON = typer.Option(False, "--json", help="print machine-readable JSON on stdout (numbers as numbers, units in "
                                          "key names)")
SET = typer.Option(None, "--set", metavar="SECTION.KEY=VALUE",
                   help="override a scenario field, e.g. --set layout.tp_size=4 (repeatable; VALUE is YAML)")
SCENARIO = typer.Argument(None, metavar="SCENARIO.yaml", help="scenario file (see `mlsysim schema`)",
                          show_default=False)
PLOTS = typer.Option(None, "--plots", metavar="DIR", help="also save the plots into DIR (created if missing)")
FMT = typer.Option("png", "--format", help="image format for --plots: png or svg")


def _version(value: bool):
    if value:
        from .. import __version__
        typer.echo(f"mlsysim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")):
    """First-principles simulator of ML systems: training and serving."""


@app.command(short_help="browse models, hardware, systems, grids, datacenters")
def zoo(what: Optional[str] = typer.Argument(None, help="a registry (models, smallmodels, hardware, systems, "
                                                        "infrastructure), "
                                                        "a category (Clusters, Grids, ...) or an entry (H100)"),
        search: Optional[str] = typer.Option(None, "--search", "-s", help="substring of the key or name"),
        where: Optional[List[str]] = typer.Option(None, "--where", "-w", metavar="KEY<OP>VALUE",
                                                  help="filter on a field, e.g. memory_gb>=80 or year>2021 "
                                                       "(repeatable; ops: < <= > >= = !=)"),
        sort: Optional[str] = typer.Option(None, "--sort", help="sort by a field (prefix - for descending)"),
        json_out: bool = JSON):
    """Browse the registries: models, accelerators, nodes, fabrics, clusters, grids, datacenters, with their key
    specs and sources.

    JSON: {"entries": [{"registry", "category", "key", "kind", "name", ...specs with units in the keys
    (memory_gb, bf16_tflops, gco2_per_kwh, pue, ...), "year", "source", "notes"}]}."""
    from .zoo import zoo_cmd
    zoo_cmd(what, search, where or [], sort, json_out)


@app.command("eval", short_help="one workload on one accelerator: roofline and memory", epilog=EXIT_CODES_HELP)
def eval_(scenario: Optional[str] = SCENARIO,
          model: Optional[str] = typer.Option(None, "--model", "-m", help="Models name (e.g. Llama3_70B)"),
          hardware: Optional[str] = typer.Option(None, "--hardware", "--accelerator", "-a",
                                                 help="Hardware name (e.g. H100)"),
          mode: Optional[str] = typer.Option(None, "--mode", help="training (default), prefill or decode"),
          batch_size: Optional[int] = typer.Option(None, "--batch-size", "-b",
                                                   help="sequences (default: layout.microbatch_size or 1)"),
          seq_len: Optional[int] = typer.Option(None, "--seq-len", help="sequence/context length"),
          precision: Optional[str] = typer.Option(None, "--precision"),
          recompute: Optional[str] = typer.Option(None, "--recompute", help="none, selective or full"),
          sets: Optional[List[str]] = SET, json_out: bool = JSON):
    """One workload on one accelerator: roofline (FLOPs, bytes, arithmetic intensity, bound, latency) and memory.

    JSON keys: workload, accelerator, mode, batch_size, seq_len, precision, flops, bytes_moved,
    arithmetic_intensity_flop_per_byte, ridge_point_flop_per_byte, bound, latency_s, efficiency,
    memory_gb{...}, memory_total_gb, memory_capacity_gb, feasible, constraints, assumptions."""
    from .commands import eval_cmd
    eval_cmd(scenario, dict(model=model, hardware=hardware, seq_len=seq_len, precision=precision,
                            recompute=recompute), mode, batch_size, sets or [], json_out)


@app.command(short_help="a training run: time, MFU, breakdown, memory, energy, carbon, cost", epilog=EXIT_CODES_HELP)
def train(scenario: Optional[str] = SCENARIO,
          model: Optional[str] = typer.Option(None, "--model", "-m", help="workload.model"),
          cluster: Optional[str] = typer.Option(None, "--cluster", "-c", help="system.cluster"),
          node: Optional[str] = typer.Option(None, "--node", help="system.node"),
          nodes: Optional[int] = typer.Option(None, "--nodes", help="system.nodes"),
          fabric: Optional[str] = typer.Option(None, "--fabric", help="system.fabric"),
          tp: Optional[int] = typer.Option(None, "--tp", help="layout.tp_size"),
          pp: Optional[int] = typer.Option(None, "--pp", help="layout.pp_size"),
          dp: Optional[int] = typer.Option(None, "--dp", help="layout.dp_size"),
          zero: Optional[int] = typer.Option(None, "--zero", help="layout.zero_stage"),
          precision: Optional[str] = typer.Option(None, "--precision", help="layout.precision"),
          tokens: Optional[float] = typer.Option(None, "--tokens", help="training tokens (e.g. 15e12)"),
          datacenter: Optional[str] = typer.Option(None, "--datacenter", "-d", help="datacenter name"),
          sets: Optional[List[str]] = SET,
          plots: Optional[str] = PLOTS, fmt: str = FMT,
          verbose: bool = typer.Option(False, "--verbose", "-v", help="also print every assumption"),
          json_out: bool = JSON):
    """A distributed training run: time to train, MFU, step-time breakdown, memory, energy, carbon and cost in
    one view, checked against the scenario's constraints.

    Give a scenario file, options, or both (options override the file).

    JSON keys: status, exit_code, scenario, workload {..., record_tokens: the model record's budget}, system,
    layout, datacenter, performance {time_to_train_s, time_to_train_days, step_time_s, steps, tokens, tokens_per_s, mfu, hfu, tflops_per_device,
    scaling_efficiency, gpu_hours, breakdown_s{...}, memory_gb{...}, memory_total_gb, memory_capacity_gb,
    feasible}, sustainability {it_energy_mwh, facility_energy_mwh, it_power_kw, carbon_location_t,
    carbon_market_t, carbon_embodied_t, carbon_total_t, ...} or null, economics {total_usd,
    capex_amortized_usd, energy_usd, maintenance_usd, capex_usd, cloud_cost_usd, ...} or null, constraints
    [{name, limit, value, ok}], assumptions, notes, plots."""
    from .commands import train_cmd
    over = _pairs(model=("workload.model", model), cluster=("system.cluster", cluster),
                  node=("system.node", node), nodes=("system.nodes", nodes), fabric=("system.fabric", fabric),
                  tp=("layout.tp_size", tp), pp=("layout.pp_size", pp), dp=("layout.dp_size", dp),
                  zero=("layout.zero_stage", zero), precision=("layout.precision", precision),
                  tokens=("tokens", tokens), datacenter=("datacenter.name", datacenter))
    train_cmd(scenario, over, sets or [], plots, fmt, verbose, json_out)


@app.command(short_help="best plan under constraints, and the Pareto front", epilog=EXIT_CODES_HELP)
def optimize(scenario: str = typer.Argument(..., metavar="SCENARIO.yaml", help="scenario file with a system "
                                                                               "and optional search section"),
             objective: Optional[str] = typer.Option(None, "--objective", "-o",
                                                     help="time, cost or carbon (default: search.objective "
                                                          "or time)"),
             top: Optional[int] = typer.Option(None, "--top", help="rows of the ranking (default 10)"),
             sets: Optional[List[str]] = SET, plots: Optional[str] = PLOTS, fmt: str = FMT,
             emit: Optional[str] = typer.Option(None, "--emit", metavar="FILE.yaml",
                                                help="write the best plan as a scenario file (reload it with "
                                                     "`mlsysim train FILE.yaml`)"),
             json_out: bool = JSON):
    """Search layouts and fleet sizes (the scenario's `search` section) for the best plan under its
    constraints, and the Pareto front of time against cost (or carbon, or GPU-hours without a datacenter).

    JSON keys: objective{name, column}, evaluated, feasible, satisfying, rejected{reason: count},
    best{row}, ranking[rows], pareto{x, y, front[rows]}; rows have fleet, nodes, accelerators, tp, pp, dp, cp,
    ep, microbatch, zero, recompute, precision, time_to_train_days, step_s, mfu, memory_gb, and with a
    datacenter energy_mwh, carbon_t, cost_usd, ...; emitted (the --emit file or null)."""
    from .commands import optimize_cmd
    optimize_cmd(scenario, objective, top, sets or [], plots, fmt, json_out, emit)


@app.command("regions", short_help="the same run on several grids: the tutorial's geography table",
             epilog=EXIT_CODES_HELP)
def regions_(scenario: str = typer.Argument(..., metavar="SCENARIO.yaml"),
             grids: Optional[List[str]] = typer.Option(None, "--grid", "-g", metavar="NAME",
                                                       help="grid, datacenter, country or cloud region (repeatable "
                                                            "or comma-separated; e.g. PL, PL@2022, "
                                                            "gcp:us-central1); default: the tutorial's four"),
             sets: Optional[List[str]] = SET, plots: Optional[str] = PLOTS, fmt: str = FMT,
             json_out: bool = JSON):
    """The scenario's run at its datacenter on each grid: carbon when only the grid changes (Quebec vs Poland:
    41x), and each region's own site (PUE, water, electricity cost) beside it. Exit 3 when the scenario's own
    constraints (at its datacenter) are violated, 4 when the layout does not fit.

    JSON keys: status, exit_code, facility, facility_pue, energy_mwh, ratio_dirtiest_to_cleanest, feasible,
    constraints[{name, limit, value, ok, message}], regions[{region, grid, gco2_per_kwh, basis, year, carbon_t, x_cleanest, site, site_pue, site_carbon_t, facility_effect,
    site_water_m3, site_energy_usd}], plots."""
    from .regions import regions_cmd
    regions_cmd(scenario, grids, sets or [], plots, fmt, json_out)


@app.command(short_help="prediction error against published runs")
def validate(json_out: bool = JSON,
             wide: bool = typer.Option(False, "--wide", help="one line per run with every column (layouts, "
                                                               "stacks), notes unwrapped: ~160 columns; "
                                                               "the default fits 80")):
    """Predicted vs published: training throughput (Megatron SC21, Korthikanti, Llama 3, PaLM, BLOOM, torchtitan),
    in sample and leave-one-family-out, GPU-hours of runs without a published layout (LLaMA, Llama 2, Pythia),
    GPU-hours of held-out runs no constant was fitted to (Pythia 70M-2.8B, Falcon, MPT, StarCoderBase, Llama 3.1),
    energy and carbon, reliability at scale, serving throughput (MLPerf Inference v4.1, TensorRT-LLM).

    JSON keys: throughput{title, rows[{run_id, metric, published, predicted, error_pct, cv_error_pct, family,
    stack, gpus, feasible, flags, source, notes}], summary{n, median_abs_pct, max_abs_pct, cv_median_abs_pct,
    cv_max_abs_pct}}, gpu_hours{title, rows}, holdout{title, rows, summary{n, median_abs_pct, max_abs_pct,
    median_pct, excluded}}, energy{title, rows}, reliability{title, rows}, serving{title,
    rows[{run_id, source, scenario, gpus, precision, tp, ep, published, predicted, error_pct, ttft_p99_ms,
    tpot_p99_ms, within_limits, stable}], summary}."""
    from .commands import validate_cmd
    validate_cmd(json_out, wide)


@app.command(short_help="a self-contained HTML report with plots", epilog=EXIT_CODES_HELP)
def report(scenario: str = typer.Argument(..., metavar="SCENARIO.yaml"),
           output: Optional[str] = typer.Option(None, "--output", "-o",
                                                help="HTML file to write (default report.html; with --markdown "
                                                     "or --latex only when given)"),
           plots: Optional[str] = PLOTS, fmt: str = FMT,
           pareto: bool = typer.Option(True, "--pareto/--no-pareto", help="include a design-space sweep"),
           markdown: bool = typer.Option(False, "--markdown", help="print a citable paragraph (Markdown)"),
           latex: bool = typer.Option(False, "--latex", help="print a citable paragraph (LaTeX)"),
           sets: Optional[List[str]] = SET, json_out: bool = JSON):
    """A self-contained HTML report of a scenario: summary, a verdict when the sweep found a better plan,
    tables, plots (embedded), everyday equivalents, a citable paragraph, constraints, assumptions. Prints as a
    few pages. The file is written whole or not at all. --markdown / --latex print the citable paragraph.

    JSON keys: the `train` keys, plus report{html, bytes}, plots{name: path}, paragraph{markdown, latex}."""
    from .commands import report_cmd
    report_cmd(scenario, output, plots, fmt, pareto, sets or [], json_out,
               style="latex" if latex else "markdown" if markdown else None)


@app.command(short_help="plans side by side: one table, differences highlighted", epilog=EXIT_CODES_HELP)
def compare(scenarios: List[str] = typer.Argument(..., metavar="A.yaml B.yaml [...]", help="scenario files"),
            output: Optional[str] = typer.Option(None, "--output", "-o", metavar="FILE.html",
                                                 help="also write the comparison as a self-contained HTML page"),
            sets: Optional[List[str]] = SET, json_out: bool = JSON):
    """Evaluate each scenario and show them side by side: layout, status, time, MFU, memory, energy, carbon and
    cost; rows that differ are marked and the best value of each row is highlighted (among plans that fit).
    --set applies to every scenario.

    JSON keys: plans[the `train` keys of each], rows[{metric, unit, values, differs, better, best}], report."""
    from .compare import compare_cmd
    compare_cmd(scenarios, sets or [], output, json_out)


@app.command(short_help="the JSON Schema of scenario files")
def schema(output: Optional[str] = typer.Option(None, "--output", "-o", help="write to a file instead of stdout"),
           json_out: bool = JSON):
    """Print the JSON Schema of scenario files (for editors and validators). Always JSON."""
    from .commands import schema_cmd
    schema_cmd(output, json_out)


@app.command("app", short_help="start the web calculator on 127.0.0.1")
def app_(port: int = typer.Option(8000, "--port", help="TCP port"),
         host: str = typer.Option("127.0.0.1", "--host", help="address to bind (loopback by default)")):
    """Serve the web calculator (training and serving forms, JSON API at /api, docs at /docs). Needs mlsysim[web]."""
    from ..web import serve
    serve(host=host, port=port)


from .serve import register as _register_serve  # noqa: E402  (serve, serve-plan)

_register_serve(app)


def _pairs(**named) -> list:
    return [(key, value) for key, value in named.values() if value is not None]


def main():  # pragma: no cover - console entry for `python -m mlsysim.cli.main`
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
