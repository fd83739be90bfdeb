"""The package's single pint UnitRegistry (created lazily: `import mlsysim` stays cheap) and SI helpers.

Public results are pint quantities; physics works on plain floats in SI units. `si(...)` converts a user value
(quantity or plain number already in the stated unit) into such a float, refusing wrong dimensions.
"""
from __future__ import annotations

import math
from functools import lru_cache

from .errors import ConfigError


@lru_cache(maxsize=1)
def _registry():
    import pint

    reg = pint.UnitRegistry()
    reg.define("USD = [currency] = dollar")
    reg.define("FLOP = [] = flop")  # a floating-point operation: a count, so FLOP/s is a rate
    reg.formatter.default_format = "~P"
    return reg


def __getattr__(name):
    if name == "ureg":
        return _registry()
    if name == "Quantity":
        return _registry().Quantity
    raise AttributeError(name)


def Q(value, unit: str):
    """A pint quantity in the package registry."""
    return _registry().Quantity(value, unit)


def is_quantity(x) -> bool:
    return hasattr(x, "magnitude") and hasattr(x, "units") and hasattr(x, "to")


def si(value, unit: str, what: str, *, positive: bool = True, allow_zero: bool = False) -> float:
    """Convert `value` (a pint quantity, or a number taken to be in `unit`) to a float in `unit`.

    Refuses a wrong dimension, NaN/inf, booleans, strings, and (by default) zero or negative values.
    """
    if is_quantity(value):
        try:
            mag = value.to(unit).magnitude
        except Exception as exc:  # pint.DimensionalityError and friends
            expected = f"units of {unit}" if unit else "a plain (dimensionless) number"
            raise ConfigError(f"{what} must be given in {expected} (got {value!r})") from exc
    elif isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_np_number(value):
        raise ConfigError(f"{what} must be a number{f' (in {unit})' if unit else ''} or a quantity, got "
                          f"{type(value).__name__} {value!r}")
    else:
        mag = value
    try:
        mag = float(mag)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be a scalar number, got {value!r}") from exc
    if not math.isfinite(mag):
        raise ConfigError(f"{what} must be finite, got {mag}")
    if positive and (mag < 0 or (mag == 0 and not allow_zero)):
        raise ConfigError(f"{what} must be {'>= 0' if allow_zero else '> 0'}{f' {unit}' if unit else ''}, got {mag}")
    return mag


def _is_np_number(x) -> bool:
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and getattr(x, "ndim", 1) == 0


def count(value, what: str, *, minimum: int = 1) -> int:
    """Validate an integer count (e.g. layers, nodes, tp_size): an int >= minimum, never a float or bool."""
    if isinstance(value, bool) or not (isinstance(value, int) or (_is_np_number(value) and float(value).is_integer())):
        if isinstance(value, float) and value.is_integer():
            raise ConfigError(f"{what} must be an integer, got the float {value!r}; write {int(value)}")
        raise ConfigError(f"{what} must be an integer >= {minimum}, got {value!r}")
    value = int(value)
    if value < minimum:
        raise ConfigError(f"{what} must be >= {minimum}, got {value}")
    return value


def flag(value, what: str) -> bool:
    """Validate a yes/no option: True or False (a numpy bool too), never a string such as "no" or a number."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise ConfigError(f"{what} must be True or False, got {type(value).__name__} {value!r}")


def quantity(attr: str, unit: str, to: str | None = None, doc: str | None = None) -> property:
    """A read-only pint view of a float field stored in SI (results keep floats; quantities are made on access)."""
    def get(self):
        q = Q(getattr(self, attr), unit)
        return q.to(to) if to else q
    return property(get, doc=doc or f"`{attr}` as a quantity in {to or unit}")
