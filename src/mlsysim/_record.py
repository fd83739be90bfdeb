"""Shared helpers for the frozen description records (hardware, systems, infrastructure, workloads)."""
from __future__ import annotations

from dataclasses import MISSING, fields

from .errors import ConfigError
from .units import count, si


def build_kwargs(cls, raw: dict, key: str) -> dict:
    """Keep the keys of `raw` that are fields of `cls`; refuse unknown keys in data files (typos)."""
    names = {f.name for f in fields(cls)}
    extra = set(raw) - names
    if extra:
        raise ConfigError(f"registry entry {key}: unknown field(s) {sorted(extra)} for {cls.__name__}")
    return dict(raw)


def _required(obj, name, what):
    """None is refused for a field whose default is not None (an Accelerator with tdp_w=None, a workload with
    n_experts=None were built, then failed as TypeErrors in the first solver that read them); a field whose
    default is None (optional: unknown) may be None."""
    f = next(f for f in fields(obj) if f.name == name)
    if f.default is None:
        return
    who = f"{type(obj).__name__} {getattr(obj, 'name', '')!r}"
    if f.default is MISSING and f.default_factory is MISSING:
        raise ConfigError(f"{who}: {name} is required, got None; give it {what}")
    raise ConfigError(f"{who}: {name} cannot be None; give it {what}, or leave it out for the default "
                      f"{f.default!r}")


def check_si(obj, spec: dict[str, tuple[str, bool]]):
    """Validate/convert float fields in place on a frozen dataclass: {field: (unit, allow_zero)}; None passes
    where the field is optional."""
    for name, (unit, allow_zero) in spec.items():
        val = getattr(obj, name)
        if val is not None:
            object.__setattr__(obj, name, si(val, unit, f"{type(obj).__name__}.{name}", allow_zero=allow_zero))
        else:
            _required(obj, name, f"in {unit}" if unit else "as a number")


def check_counts(obj, names: dict[str, int]):
    """Validate integer fields in place: {field: minimum}; None passes where the field is optional."""
    for name, minimum in names.items():
        val = getattr(obj, name)
        if val is not None:
            object.__setattr__(obj, name, count(val, f"{type(obj).__name__}.{name}", minimum=minimum))
        else:
            _required(obj, name, f"as an integer >= {minimum}")


def check_text(obj, names: tuple[str, ...] = ("name",)):
    """Text fields (name, source, notes) must be strings: a number in a name is a shifted positional argument.
    The record's `year`, where it has one, must be an integer (a year "2027" failed as a TypeError in DataModel)."""
    for name in names:
        val = getattr(obj, name)
        if not isinstance(val, str):
            raise ConfigError(f"{type(obj).__name__}.{name} must be a string, got {type(val).__name__} {val!r}; "
                              f"pass the numbers by keyword (e.g. tdp_w=700)")
    year = getattr(obj, "year", None)
    if year is not None:
        object.__setattr__(obj, "year", count(year, f"{type(obj).__name__}.year"))


def refuse(obj, problem: str, fix: str):
    """Raise the ConfigError for a record whose fields cannot all hold at once, naming the record and the fix."""
    raise ConfigError(f"{type(obj).__name__} {getattr(obj, 'name', '')!r}: {problem}; {fix}")
