"""`Q_`: build a quantity in the package's single pint registry, from a string or a value and a unit.

    >>> from mlsysim.core.constants import Q_
    >>> Q_("400 Gbps").to("GB/s").magnitude
    50.0
"""
from __future__ import annotations

from ..errors import ConfigError


def Q_(value, unit: str | None = None):
    """`Q_("150 KB")` or `Q_(150, "KB")`; a string pint cannot parse is a ConfigError."""
    ureg = tutorial_registry()
    try:
        return ureg.Quantity(value) if unit is None else ureg.Quantity(value, unit)
    except Exception as exc:  # pint.UndefinedUnitError and friends
        raise ConfigError(f"cannot read {value!r}{'' if unit is None else f' {unit!r}'} as a quantity "
                          f"(write e.g. '150 KB', '40000 1/s', '400 Gbps'): {exc}") from exc


def tutorial_registry():
    """The package registry, plus the tutorial's spelling `KB` (= kB, 1000 bytes), defined once."""
    from ..units import ureg
    try:
        ureg.Unit("KB")
    except Exception:  # pint.UndefinedUnitError
        ureg.define("KB = kB")
    return ureg
