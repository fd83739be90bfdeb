"""The report's serving section: a scenario's `serving:` section through ServingLoadModel (the same call as
`mlsysim serve SCENARIO.yaml`): the traffic as read (Poisson, bursty, a trace, a load profile and its load factor),
TTFT / TPOT at the percentile, GPUs, $ per million tokens, Wh and gCO2e per request."""
from __future__ import annotations


def traffic_rows(r, cfg) -> list:
    """What arrives, as the solver read it: the arrival process (a trace's size, span and CV), the lengths and
    their spread, and a load profile with the load factor's arithmetic. `cfg`: the `serving:` section."""
    from ..solvers.serving_traffic import profile_formula
    profile = cfg.get("load_profile")
    peak = " at the peak" if profile else ""
    if "trace" in cfg:
        n = r.trace_requests
        arrivals = (f"{r.traffic} from {cfg['trace']}, replayed at {r.qps:g} QPS{peak}: {n - 1:,} gaps over "
                    f"{(n - 1) / r.qps:,.4g} s")
    elif r.arrival_cv == 1.0:
        arrivals = f"Poisson, {r.qps:g} QPS{peak}"
    else:
        arrivals = f"{r.traffic} (Kingman), {r.qps:g} QPS{peak}"
    lengths = f"{r.input_len:g} input / {r.output_len:g} output tokens (mean)"
    if r.output_cv > 0:
        lengths += f", output-length CV {r.output_cv:.3g}"
    rows = [("traffic", arrivals), ("lengths", lengths)]
    if profile:
        rows += [("load profile", f"{len(profile)} equal periods, {min(profile):g} to {max(profile):g} of the peak; "
                                  f"the fleet is sized for the peak, idle replicas at idle power"),
                 ("load factor (mean share of the peak)", f"{profile_formula(profile, r.load_factor)}: "
                                                          f"{r.qps * r.load_factor:.4g} QPS on average")]
    return rows


def serving_section(sc) -> str:
    """HTML of the serving section ('' when the scenario has no `serving:` section)."""
    cfg = (getattr(sc, "raw", None) or {}).get("serving")
    if not cfg:
        return ""
    from ..errors import ConfigError
    from ..scenario_serving import evaluate
    from ..solvers.serving_load import ms, pct
    from .html import esc, table
    try:
        r = evaluate(sc)
    except ConfigError as e:  # e.g. an SLO nothing meets: say so in the report instead of failing it
        return f"<h2>Serving</h2><p class='bad'>{esc(e)}</p>"
    p = pct(r.percentile)
    rows = traffic_rows(r, cfg) + [
            ("replicas x GPUs each", f"{r.replicas} x {r.tp * r.pp * r.ep} (TP{r.tp} x PP{r.pp}"
                                     f"{f' x EP{r.ep}' if r.ep > 1 else ''}, {'/'.join(r.precision)})"),
            ("GPUs", r.gpus), (f"TTFT p50 / {p} (ms)", f"{ms(r.ttft_p50_s)} / {ms(r.ttft_p99_s)}"),
            (f"TPOT p50 / {p} (ms)", f"{r.tpot_p50_s * 1e3:,.1f} / {r.tpot_p99_s * 1e3:,.1f}"),
            ("output tokens/s per GPU", r.tokens_per_s_per_gpu), ("goodput (QPS within the SLO)", r.goodput_qps),
            ("binding", r.binding), ("feasible", "yes" if r.feasible else f"no: {r.binding}")]
    if r.per_request:
        rows += [("$ per million input / output tokens", f"{r.usd_per_m_input:.3g} / {r.usd_per_m_output:.3g}"),
                 ("energy per request (Wh)", r.energy_per_request_wh),
                 ("gCO2e per request (location / market)", f"{r.per_request['carbon_location_kg'] * 1e3:.3g} / "
                                                           f"{r.per_request['carbon_market_kg'] * 1e3:.3g}")]
    return (f"<h2>Serving</h2><p class='note'>{esc(r.model.name)} on {esc(r.accelerator.name)}, engine "
            f"{esc(r.engine)} (the same call as <code>mlsysim serve SCENARIO.yaml</code>).</p>"
            + table(rows, ("metric", "value")))
