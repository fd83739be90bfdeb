"""Shared plumbing for solvers: resolving registry names, checking options, rendering results."""
from __future__ import annotations

import math

from ..errors import ConfigError, unknown


def resolve_model(model):
    from ..models.registry import Models
    from ..models.workload import TransformerWorkload
    if isinstance(model, str):
        model = Models.get(model)
    if not isinstance(model, TransformerWorkload):
        raise ConfigError(f"model must be a TransformerWorkload or a Models registry name, got {model!r}")
    return model


def resolve_fleet(fleet):
    from ..systems.registry import Systems
    from ..systems.system import Fleet
    if isinstance(fleet, str):
        fleet = Systems.get(fleet)
    if not isinstance(fleet, Fleet):
        raise ConfigError(f"fleet must be a Fleet (e.g. Systems.Clusters.Research_256) or its name, got {fleet!r}")
    return fleet


def choice(value, options, what):
    if not isinstance(value, str) or value not in options:  # a list or dict would be unhashable: same message
        raise unknown(what, value, options)
    return value


def finite(d: dict, what: str):
    """Guard: no NaN/inf ever leaves a solver."""
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{what}: internal value {k} is not finite ({v}); please report this input")


def carried_feasibility(source) -> tuple[bool, tuple]:
    """(feasible, warnings) for a result composed from `source` (a performance, sustainability ... result): a
    plan that does not fit in memory stays marked feasible=False, with the reason, in everything built on it."""
    if source is None or getattr(source, "feasible", True):
        return True, tuple(getattr(source, "warnings", ()))
    inherited = tuple(getattr(source, "warnings", ()))
    if inherited:
        return False, inherited
    mem, cap = getattr(source, "memory_bytes", None), getattr(source, "memory_capacity_bytes", None)
    need = f" ({sum(mem.values()) / 1e9:.1f} GB per device needed, {cap / 1e9:.1f} GB available)" \
        if isinstance(mem, dict) and cap else ""
    return False, (f"the performance result does not fit in device memory{need}: these numbers describe a plan "
                   f"that cannot run; change the layout (more ZeRO/TP/PP, recompute) until feasible=True",)


def divisors(n: int) -> list[int]:
    return [i for i in range(1, n + 1) if n % i == 0]


def format_number(v, digits=4, tiny_digits=3) -> str:
    """Human-readable number: thousands separators for large values, significant digits otherwise."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        a = abs(v)
        if a >= 1e12 or (0 < a < 1e-3):
            return f"{v:.{tiny_digits}g}"
        if a >= 1e4:
            return f"{v:,.0f}"
        return f"{v:.{digits}g}"
    return str(v)


def fmt_q(q, digits=4) -> str:
    """Compact '1.23 days' style string for a quantity or float."""
    if hasattr(q, "magnitude"):
        return f"{q.magnitude:.{digits}g} {q.units:~P}"
    if isinstance(q, float):
        return f"{q:.{digits}g}"
    return str(q)


def html_table(title: str, rows: list[tuple[str, object]]) -> str:
    import html
    body = "".join(f"<tr><td style='text-align:left'>{html.escape(str(k))}</td>"
                   f"<td style='text-align:right'>{html.escape(fmt_q(v))}</td></tr>" for k, v in rows)
    return f"<table><caption><b>{html.escape(title)}</b></caption>{body}</table>"


class TableRepr:
    """Results render as a two-column table: readable text in a terminal, HTML in Jupyter.
    Subclasses give `_title()` and `_rows()` (label, value pairs)."""

    def __str__(self):
        return text_table(self._title(), self._all_rows())

    def _repr_html_(self):
        return html_table(self._title(), self._all_rows())

    def _all_rows(self):
        return self._rows() + [("WARNING", w) for w in getattr(self, "warnings", ())]


def text_table(title: str, rows: list[tuple[str, object]]) -> str:
    w = max(len(k) for k, _ in rows)
    return "\n".join([title] + [f"  {k:<{w}}  {fmt_q(v)}" for k, v in rows])
