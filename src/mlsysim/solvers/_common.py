"""Shared plumbing for solvers: resolving registry names, checking options, rendering results."""
from __future__ import annotations

import math

from ..errors import ConfigError, UnknownNameError, unknown


_TYPES = {}


def _record_type(name):
    """The record classes, imported once (not on every solve: ~1 us each)."""
    t = _TYPES.get(name)
    if t is None:
        if name == "model":
            from ..models.workload import TransformerWorkload as t
        else:
            from ..systems.system import Fleet as t
        _TYPES[name] = t
    return t


def resolve_model(model):
    t = _record_type("model")
    if model.__class__ is t:
        return model
    if isinstance(model, str):
        from ..models.registry import Models
        try:
            model = Models.get(model)
        except UnknownNameError:
            from ..models.small import SmallModels
            if model not in SmallModels.all_names():
                raise
            model = SmallModels.get(model)  # told below where a small network goes (was "unknown Models entry")
    if not isinstance(model, t):
        if type(model).__name__ == "InferenceWorkload":  # its repr was the whole record, with no way out
            raise ConfigError(f"{model.name} is a small network (FLOPs and parameters per inference), not a "
                              f"transformer: its roofline is Engine.solve(model, hardware, precision=...); this "
                              f"solver needs a TransformerWorkload (Models.Language...)")
        shown = repr(model) if len(repr(model)) <= 80 else f"a {type(model).__name__}"
        raise ConfigError(f"model must be a TransformerWorkload or a Models registry name, got {shown}")
    return model


def resolve_fleet(fleet):
    t = _record_type("fleet")
    if fleet.__class__ is t:
        return fleet
    if isinstance(fleet, str):
        from ..systems.registry import Systems
        fleet = Systems.get(fleet)
    if not isinstance(fleet, t):
        from ..systems.system import Node
        if isinstance(fleet, Node):  # one server: say how to make it a fleet of one
            key = fleet.key or "<node>"
            raise ConfigError(f"fleet must be a Fleet, got the node {fleet.name!r}; a fleet of one: Fleet(node="
                              f"Systems.Nodes.{key}, count=1, fabric=Systems.Fabrics.InfiniBand_NDR)")
        raise ConfigError(f"fleet must be a Fleet (e.g. Systems.Clusters.Research_256) or its name, got {fleet!r}")
    return fleet


def resolve_accelerator(hardware):
    """One accelerator from an Accelerator or a Hardware registry name; a Node or Fleet is refused with the chip
    to pass instead (the message named no way out)."""
    from ..hardware.accelerator import Accelerator
    acc = hardware
    if isinstance(hardware, str):
        from ..hardware.registry import Hardware
        acc = Hardware.get(hardware)
    if isinstance(acc, Accelerator):
        return acc
    chip = getattr(getattr(acc, "node", acc), "accelerator", None)
    if isinstance(chip, Accelerator):
        path = "node.accelerator" if hasattr(acc, "node") else "accelerator"
        raise ConfigError(f"hardware must be one Accelerator here, got {getattr(acc, 'name', acc)!r} (a "
                          f"{type(acc).__name__}): pass its chip, .{path} ({chip.key or chip.name}), or use "
                          f"DistributedModel / ServingModel for several")
    raise ConfigError(f"hardware must be an Accelerator or a Hardware registry name, got {hardware!r}")


def frozen(cls, fields: dict):
    """An instance of frozen dataclass `cls` whose attributes are `fields` (a fresh dict of all its fields, which
    the instance takes over), without the per-field checks of __init__ (results are built on every solve; their
    fields are already validated)."""
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    return obj


def choice(value, options, what):
    if not isinstance(value, str) or value not in options:  # a list or dict would be unhashable: same message
        raise unknown(what, value, options)
    return value


def finite(d: dict, what: str):
    """Guard: no NaN/inf ever leaves a solver."""
    try:
        if math.isfinite(math.fsum(d.values())):  # one pass when all is well (the sum of finite values is finite)
            return
    except (TypeError, ValueError, OverflowError):  # inf - inf, a sum too large: find the culprit
        pass
    for k, v in d.items():
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{what}: internal value {k} is not finite ({v}); please report this input")


def carried_feasibility(source, what: str) -> bool:
    """False, with an InfeasibleResultWarning, when `source` (a performance, goodput or sustainability result)
    is marked feasible=False: whatever `what` builds from it carries the mark."""
    if source is None or getattr(source, "feasible", True):
        return True
    import warnings

    from ..errors import InfeasibleResultWarning
    warnings.warn(f"{what}: built from a result marked feasible=False (the layout does not fit in device "
                  f"memory); its numbers describe a plan that cannot run", InfeasibleResultWarning, stacklevel=3)
    return False


INFEASIBLE_ROW = ("feasible", "NO: built from a layout that does not fit in memory")


def divisors(n: int) -> list[int]:
    """The divisors of n, ascending (pairs up to sqrt(n): a 16,384-GPU fleet takes 128 steps, not 16,384)."""
    small = [i for i in range(1, math.isqrt(n) + 1) if n % i == 0]
    return small + [n // i for i in reversed(small) if i * i != n]


def format_number(v, digits=4, tiny_digits=3) -> str:
    """Human-readable number: `digits` significant digits (every integer digit from 10^digits on), thousands
    separators from 1,000 on (1855.4 -> "1,855"; digits=5: "1,855.4"), `tiny_digits` in exponent form beyond 1e12
    or below 1e-3."""
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
        short = f"{v:.{digits}g}"
        if a < 1e3 and abs(float(short)) < 1e3:  # (999.96 rounds to 1000 at 4 digits: written as 1,000 below)
            return short
        # no exponent form: fixed decimals for the significant digits left after the integer part, zeros dropped
        text = f"{v:,.{max(digits - len(str(int(a))), 0)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(v)


def fmt_q(q, digits=4) -> str:
    """Compact '1.23 days' style string for a quantity or float."""
    if hasattr(q, "magnitude"):
        return f"{format_number(float(q.magnitude), digits)} {q.units:~P}"
    if isinstance(q, (bool, int, float)):
        return format_number(q, digits)
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
        return text_table(self._title(), self._rows())

    def _repr_html_(self):
        return html_table(self._title(), self._rows())


def text_table(title: str, rows: list[tuple[str, object]]) -> str:
    """The title (wrapped at 80 columns, continued indented) over `label  value` rows; a value too long for
    the line wraps under itself."""
    import textwrap
    w = max(len(k) for k, _ in rows)
    head = textwrap.wrap(title, 80, subsequent_indent="    ", break_on_hyphens=False) or [title]
    room = max(80 - (w + 4), 20)
    lines = []
    for k, v in rows:
        text = fmt_q(v)
        parts = textwrap.wrap(text, room, break_on_hyphens=False) if len(text) > room else [text]
        lines += [f"  {k:<{w}}  {parts[0]}"] + [" " * (w + 4) + p for p in parts[1:]]
    return "\n".join(head + lines)
