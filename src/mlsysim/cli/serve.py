"""`mlsysim serve` (one replica, or a fleet under load with --qps) and `mlsysim serve-plan` (the cheapest /
fewest-GPU / lowest-carbon fleet meeting a QPS and an SLO). Registered on the app by cli/main.py."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import ConfigError
from ._common import EXIT_CODES_HELP, EXIT_INFEASIBLE, EXIT_OK, emit_json, guarded

JSON = typer.Option(False, "--json", help="print machine-readable JSON on stdout")
# speculative decoding, on one replica, a fleet (--qps) and the planner alike
DRAFT_MODEL = typer.Option(None, "--draft-model", help="speculative decoding with this draft model")
MTP_DEPTH = typer.Option(None, "--mtp-depth", help="draft with the model's own MTP modules")
ACCEPTANCE = typer.Option(None, "--acceptance", help="per-token acceptance of drafted tokens, [0, 1)")
DRAFT_TOKENS = typer.Option(None, "--draft-tokens", help="tokens drafted per step (default 4)")


def _dc(name):
    if name is None:
        return None
    from ..infrastructure.registry import Infrastructure
    return Infrastructure.Datacenters[name] if name in Infrastructure.Datacenters.names() \
        else Infrastructure.get(name)


def _profile(text):
    """--load-profile "0.3,0.5,1": the multipliers as floats."""
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(f"--load-profile takes comma-separated shares of the peak, e.g. 0.3,0.6,1; got {text!r}") \
            from None


def _fields(r, skip=("model", "accelerator", "datacenter")) -> dict:
    from dataclasses import fields
    out = {f.name: getattr(r, f.name) for f in fields(r) if f.name not in skip}
    out["model"], out["accelerator"] = r.model.name, r.accelerator.name
    if isinstance(out.get("kv_capacity"), float):  # whole sequences, as the table prints (the solver keeps the float)
        out["kv_capacity"] = int(out["kv_capacity"])
    return out


def _from_scenario(path, sets):
    from ..scenario import load_scenario
    from ..scenario_serving import evaluate
    from .commands import _parse_sets
    return evaluate(load_scenario(path, _parse_sets(sets)))


# options a single replica (no --qps or --trace) has no use for, and the one a fleet under load has none for
_LOAD_ONLY = ("arrival_cv", "output_cv", "load_profile", "ttft_slo_ms", "tpot_slo_ms", "datacenter")
_REPLICA_ONLY = ("batch_size",)


def _refuse_ignored(ctx, with_scenario: bool, under_load: bool) -> None:
    """An option the chosen mode would silently ignore is an error that says what to do instead."""
    given = [p for p in ctx.command.params
             if p.name not in ("scenario", "sets", "json_out")
             and getattr(ctx.get_parameter_source(p.name), "name", "DEFAULT") != "DEFAULT"]
    flag = {p.name: max(p.opts, key=len) for p in given}
    if with_scenario and given:
        raise ConfigError(f"with a scenario file, change its fields with --set (e.g. --set serving.qps=80); "
                          f"{', '.join(flag.values())} would be ignored")
    unused = [flag[n] for n in (_REPLICA_ONLY if under_load else _LOAD_ONLY) if n in flag]
    if unused and under_load:
        raise ConfigError(f"{', '.join(unused)} sets one replica's batch; with --qps the batch follows from the "
                          f"traffic and the SLO: drop it")
    if unused:
        raise ConfigError(f"{', '.join(unused)} appl{'ies' if len(unused) == 1 else 'y'} to a fleet under load: "
                          f"add --qps (or --trace)")


def register(app: typer.Typer):
    @app.command(short_help="LLM serving: one replica, or a fleet under load (--qps)", epilog=EXIT_CODES_HELP)
    def serve(ctx: typer.Context,
              scenario: Optional[str] = typer.Argument(None, metavar="SCENARIO.yaml",
                                                       help="a scenario with a `serving:` section"),
              model: Optional[str] = typer.Option(None, "--model", "-m", help="Models name (e.g. Llama3_70B)"),
              hardware: Optional[str] = typer.Option(None, "--hardware", "-a", help="Hardware name (e.g. H100)"),
              input_len: int = typer.Option(1024, "--input-len", help="prompt tokens (mean)"),
              output_len: int = typer.Option(256, "--output-len", help="generated tokens (mean)"),
              batch_size: int = typer.Option(1, "--batch-size", "-b", help="one replica: sequences per step"),
              tp: int = typer.Option(1, "--tp", help="tensor-parallel size of a replica"),
              pp: int = typer.Option(1, "--pp", help="pipeline-parallel size of a replica"),
              ep: int = typer.Option(1, "--ep", help="expert-parallel ranks of an MoE replica (attention DP)"),
              precision: Optional[str] = typer.Option(None, "--precision", help="bf16, fp16, fp8, int8, int4, fp4"),
              qps: Optional[float] = typer.Option(None, "--qps", help="serve Poisson traffic at this QPS"),
              trace: Optional[str] = typer.Option(None, "--trace", metavar="CSV",
                                                  help="replay a trace: CSV arrival_s[,input_len,output_len]"),
              arrival_cv: Optional[float] = typer.Option(None, "--arrival-cv",
                                                         help="inter-arrival CV (1 Poisson, > 1 bursty)"),
              output_cv: float = typer.Option(0.0, "--output-cv", help="output lengths' CV"),
              load_profile: Optional[str] = typer.Option(None, "--load-profile", metavar="M1,M2,...",
                                                         help="load per period as shares of the peak --qps"),
              ttft_slo_ms: Optional[float] = typer.Option(None, "--ttft-slo-ms", help="p99 TTFT target (ms)"),
              tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms", help="p99 TPOT target (ms)"),
              draft_model: Optional[str] = DRAFT_MODEL, mtp_depth: Optional[int] = MTP_DEPTH,
              acceptance: Optional[float] = ACCEPTANCE, draft_tokens: Optional[int] = DRAFT_TOKENS,
              datacenter: Optional[str] = typer.Option(None, "--datacenter", "-d",
                                                       help="datacenter for energy, carbon and $ per request"),
              sets: Optional[List[str]] = typer.Option(None, "--set", metavar="SECTION.KEY=VALUE",
                                                       help="override a scenario field, e.g. --set serving.qps=80"),
              json_out: bool = JSON):
        """With a scenario: its `serving:` section under load (other options are refused:
        change its fields with --set). Without --qps or --trace: one replica's TTFT, TPOT, tokens/s, memory and KV capacity at a batch size
        (ServingModel). With --qps: replicas and GPUs for the traffic within the SLO, p50/p99 TTFT and TPOT,
        goodput, tokens/s per GPU and, with --datacenter, Wh, gCO2e and $ per request (ServingLoadModel).
        --trace replays recorded arrivals (at --qps if given); --load-profile (e.g. 24 hourly shares of the peak)
        spreads energy, carbon and $ per request over a day with idle replicas at idle power.

        JSON keys (--qps): replicas, gpus, percentile, ttft_p50_s, ttft_p99_s, tpot_p50_s, tpot_p99_s (the p99
        keys hold the tail at percentile: a scenario's serving.percentile), tokens_per_s_per_gpu, goodput_qps, qps_per_replica_max, concurrency_per_replica, kv_capacity, memory_bytes, feasible, binding,
        per_request{energy_j, carbon_location_kg, carbon_market_kg, carbon_embodied_kg, water_l, usd}, usd_per_m_input,
        usd_per_m_output, traffic, arrival_cv, output_cv, load_factor, assumptions. Exit 4 when infeasible."""
        with guarded("serve", json_out):
            _refuse_ignored(ctx, scenario is not None, qps is not None or trace is not None)
            if scenario is not None:
                r = _from_scenario(scenario, sets or [])
                body = _fields(r)
            elif model is None or hardware is None:
                raise ConfigError("give a scenario file, or --model and --hardware (e.g. --model Llama3_70B "
                                  "--hardware H100)")
            elif qps is None and trace is None:
                from ..solvers.serving import ServingModel
                r = ServingModel().solve(model, hardware, input_len=input_len, output_len=output_len,
                                         batch_size=batch_size, tp_size=tp, pp_size=pp, ep_size=ep,
                                         precision=precision, draft_model=draft_model, mtp_depth=mtp_depth,
                                         draft_acceptance_rate=acceptance, draft_tokens=draft_tokens)
                body = _fields(r)
                body["ttft_s"], body["itl_s"] = r.ttft_s, r.itl_s
            else:
                from ..solvers.serving_load import ServingLoadModel
                from ..solvers.serving_traffic import load_trace
                r = ServingLoadModel().solve(model, hardware, qps=qps, input_len=input_len, output_len=output_len,
                                             tp_size=tp, pp_size=pp, ep_size=ep, precision=precision,
                                             arrival_cv=arrival_cv,
                                             output_cv=output_cv, load_profile=_profile(load_profile),
                                             **(load_trace(trace) if trace else {}),
                                             ttft_slo=None if ttft_slo_ms is None else ttft_slo_ms / 1e3,
                                             tpot_slo=None if tpot_slo_ms is None else tpot_slo_ms / 1e3,
                                             datacenter=_dc(datacenter), draft_model=draft_model,
                                             mtp_depth=mtp_depth, draft_acceptance_rate=acceptance,
                                             draft_tokens=draft_tokens)
                body = _fields(r)
            code = EXIT_OK if r.feasible else EXIT_INFEASIBLE
            if json_out:
                from ._json import envelope
                emit_json(envelope("serve", "ok" if r.feasible else "infeasible", code, result=body))
            else:
                print(r)
        raise typer.Exit(code)

    @app.command("serve-plan", short_help="cheapest fleet serving a QPS within a TTFT/TPOT SLO",
                 epilog=EXIT_CODES_HELP)
    def serve_plan(model: str = typer.Option(..., "--model", "-m", help="Models name"),
                   qps: float = typer.Option(..., "--qps", help="total requests per second"),
                   ttft_slo_ms: float = typer.Option(..., "--ttft-slo-ms", help="p99 TTFT target (ms)"),
                   tpot_slo_ms: Optional[float] = typer.Option(None, "--tpot-slo-ms", help="p99 TPOT target (ms)"),
                   input_len: int = typer.Option(1024, "--input-len"),
                   output_len: int = typer.Option(256, "--output-len"),
                   hardware: Optional[List[str]] = typer.Option(None, "--hardware", "-a", metavar="NAME",
                                                                help="candidate (repeatable; default H100 H200 B200)"),
                   precision: Optional[List[str]] = typer.Option(None, "--precision", metavar="NAME",
                                                                 help="candidate (repeatable; default fp16 fp8 int4)"),
                   datacenter: Optional[List[str]] = typer.Option(None, "--datacenter", "-d", metavar="NAME",
                                                                  help="region (repeatable; QPS split equally)"),
                   objective: str = typer.Option("cost", "--objective", "-o", help="cost, gpus or carbon"),
                   budget: Optional[float] = typer.Option(None, "--budget", help="USD per year of ownership"),
                   top: int = typer.Option(5, "--top", help="rows of the ranking"),
                   arrival_cv: Optional[float] = typer.Option(None, "--arrival-cv",
                                                              help="inter-arrival CV (1 Poisson, > 1 bursty)"),
                   output_cv: float = typer.Option(0.0, "--output-cv", help="output lengths' CV"),
                   load_profile: Optional[str] = typer.Option(None, "--load-profile", metavar="M1,M2,...",
                                                              help="load per period as shares of the peak --qps"),
                   draft_model: Optional[str] = DRAFT_MODEL, mtp_depth: Optional[int] = MTP_DEPTH,
                   acceptance: Optional[float] = ACCEPTANCE, draft_tokens: Optional[int] = DRAFT_TOKENS,
                   json_out: bool = JSON):
        """Search accelerators x precision x TP for the fleet that serves --qps within the SLO, by --objective.
        Exit 3 when nothing meets the SLO (the message gives the closest TTFT/TPOT reached) or the budget.

        JSON keys: best{hardware, precision, tp, replicas, gpus, ttft_p99_ms, tpot_p99_ms, capex_usd,
        usd_per_year, usd_per_m_output, carbon_t_per_year, wh_per_request, g_per_request, ...}, ranking[rows],
        pareto_cost_ttft[rows: $/M output tokens vs p99 TTFT],
        feasible, binding, skipped{config: reason}, assumptions."""
        from ._common import EXIT_CONSTRAINT
        from ._render import _money, sig3
        with guarded("serve-plan", json_out):
            if top < 1:  # a slice [:top] would show nothing, or all but the last rows
                raise ConfigError(f"--top must be >= 1, got {top}")
            from ..solvers.serving_plan import plan_serving
            dcs = [_dc(n) for n in (datacenter or ["US_East_Virginia"])]
            p = plan_serving(model, qps=qps, input_len=input_len, output_len=output_len,
                             ttft_slo=ttft_slo_ms / 1e3, tpot_slo=None if tpot_slo_ms is None else tpot_slo_ms / 1e3,
                             hardware=tuple(hardware or ("H100", "H200", "B200")),
                             precisions=tuple(precision or ("fp16", "fp8", "int4")), datacenters=dcs,
                             objective=objective, budget_usd=budget, arrival_cv=arrival_cv, output_cv=output_cv,
                             load_profile=_profile(load_profile), draft_model=draft_model, mtp_depth=mtp_depth,
                             draft_acceptance_rate=acceptance, draft_tokens=draft_tokens)
            code = EXIT_OK if p.feasible else EXIT_CONSTRAINT
            if json_out:
                from ._json import envelope
                emit_json(envelope("serve-plan", "ok" if p.feasible else "constraint", code, best=p.best,
                                   ranking=p.rows[:top], pareto_cost_ttft=p.pareto(), feasible=p.feasible,
                                   binding=p.binding, skipped=p.skipped,
                                   assumptions=p.assumptions))
            else:
                print(p)
                rows = p.rows[:top]
                hw = max((len(r["hardware"]) for r in rows), default=0)
                for r in rows:  # 77 columns with a 5-letter accelerator name
                    print(f"  {r['hardware']:{hw}s} {r['precision']:4s} TP{r['tp']}: {r['gpus']:5d} GPUs  "
                          f"p99 TTFT {r['ttft_p99_ms']:5.1f} ms  {_money(r['usd_per_year']):>6s}/yr  "
                          f"{sig3(r['carbon_t_per_year'])} t CO2e/yr")  # a 1-GPU plan read "$ 0.01M/yr", "5 t"
        raise typer.Exit(code)
