"""The report's serving section: a scenario's `serving:` section through ServingLoadModel (the same call as
`mlsysim serve SCENARIO.yaml`): TTFT / TPOT at the percentile, GPUs, $ per million tokens, Wh and gCO2e per
request."""
from __future__ import annotations


def serving_section(sc) -> str:
    """HTML of the serving section ('' when the scenario has no `serving:` section)."""
    if not (getattr(sc, "raw", None) or {}).get("serving"):
        return ""
    from ..errors import ConfigError
    from ..scenario_serving import evaluate
    from .html import esc, table
    try:
        r = evaluate(sc)
    except ConfigError as e:  # e.g. an SLO nothing meets: say so in the report instead of failing it
        return f"<h2>Serving</h2><p class='bad'>{esc(e)}</p>"
    p = int(round(r.percentile * 100))
    rows = [("traffic", f"{r.qps:g} QPS (Poisson), {r.input_len:g} input / {r.output_len:g} output tokens"),
            ("replicas x GPUs each", f"{r.replicas} x {r.tp * r.pp} (TP{r.tp} x PP{r.pp}, {'/'.join(r.precision)})"),
            ("GPUs", r.gpus), (f"TTFT p50 / p{p} (ms)", f"{r.ttft_p50_s * 1e3:,.1f} / {r.ttft_p99_s * 1e3:,.1f}"),
            (f"TPOT p50 / p{p} (ms)", f"{r.tpot_p50_s * 1e3:,.1f} / {r.tpot_p99_s * 1e3:,.1f}"),
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
