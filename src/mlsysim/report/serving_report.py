"""The report of a serving-only scenario (a `serving:` section, no training layout, tokens or search): the serving
section alone. It used to lead with a training run nobody asked for (the defaults: 15T tokens on the node, TP1),
marked infeasible, and exit 4 while the fleet met its SLO."""
from __future__ import annotations

import datetime as _dt

TRAINING_KEYS = ("layout", "tokens", "search", "economics", "constraints")


def serving_only(sc) -> bool:
    """True where the scenario asks a serving question and no training one."""
    raw = getattr(sc, "raw", None) or {}
    return bool(raw.get("serving")) and not any(k in raw for k in TRAINING_KEYS) and not sc.tokens


def serving_only_note(sc, path, what="the training run above", layout=True) -> str | None:
    """What a training command (train, regions, compare, optimize) says of a serving-only scenario: its training
    run takes the defaults, and `mlsysim serve` answers its question (regions, compare and optimize said nothing:
    an out-of-memory TP1 run or "no plan" read as the scenario's answer). None for any other scenario; a ScenarioError
    where the model has no token budget to default to."""
    if not serving_only(sc):
        return None
    if not sc.model.tokens:  # no default to take: one message, not a note on "0 tokens" and then the solver's error
        from ..scenario_schema import ScenarioError
        raise ScenarioError(f"{path}: this scenario describes serving only and {sc.model.name} has no training "
                            f"token budget to default to; `mlsysim serve {path}` answers its question (add "
                            f"`tokens:` to the scenario for a training run)")
    return (f"this scenario describes serving only: {what} takes the defaults (the model's "
            f"{sc.model.tokens or 0:.3g} tokens{', TP1 x DP over the fleet' if layout else ''}); "
            f"`mlsysim serve {path}` answers its question")


def render_serving_report(sc) -> tuple[str, object]:
    """(the HTML page, the ServingLoadResult). Bad input raises ConfigError, as `mlsysim serve` does (exit 2); it
    was a page saying 'no answer' and exit 4, 'the serving fleet misses its target'."""
    from .. import __version__
    from ..scenario_serving import evaluate
    from .html import CSS, esc, table
    from .serving_html import serving_section
    r = evaluate(sc)
    status = "ok" if r.feasible else "infeasible"
    label = "OK" if status == "ok" else "SLO not met"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{esc(sc.name)} · mlsysim"
             f"</title><meta name='generator' content='mlsysim {esc(__version__)}'><style>{CSS}</style></head><body>",
             f"<h1>{esc(sc.name)}</h1><p class='sub'>mlsysim {esc(__version__)} · "
             f"{esc(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))} · scenario <code>{esc(sc.path)}</code> · "
             f"<span class='status {status}'>{esc(label)}</span></p>"]
    if sc.description:
        parts.append(f"<p>{esc(sc.description.strip())}</p>")
    parts.append(serving_section(sc))
    parts.append("<h2>Assumptions</h2>" + table([(k, v if isinstance(v, (int, float)) else
                                                  "/".join(map(str, v)) if isinstance(v, (tuple, list)) else str(v))
                                                 for k, v in r.assumptions.items()], ("assumption", "value")))
    parts.append("<h2>Scenario</h2><p class='note'>Save as a .yaml file to rerun it: <code>mlsysim serve "
                 "FILE.yaml</code>.</p><pre>" + esc(sc.to_yaml()) + "</pre>")
    sources = [("workload", sc.model.source), ("accelerator", sc.accelerator.source if sc.accelerator else None)]
    if sc.datacenter is not None:
        sources += [("datacenter", sc.datacenter.source), ("grid", sc.datacenter.grid.source)]
    parts.append("<h2>Sources</h2>" + table([(k, v) for k, v in sources if v], ("record", "source")) +
                 "</body></html>")
    return "".join(parts), r
