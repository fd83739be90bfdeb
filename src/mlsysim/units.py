"""The package's single pint UnitRegistry (created lazily: `import mlsysim` stays cheap) and SI helpers.

Public results are pint quantities; physics works on plain floats in SI units. `si(...)` converts a user value
(quantity or plain number already in the stated unit) into such a float, refusing wrong dimensions.
"""
from __future__ import annotations

import math
import re
import sys
from functools import lru_cache

from .errors import ConfigError


# Units the package adds to pint's defaults. pint counts bits and bytes as dimensionless (so "TB/s" would convert
# to "FLOP/s" with a factor 8); here information and computation are dimensions of their own, so a bandwidth given
# as a FLOP rate, a token count given in bytes or a duration in day*byte is refused instead of silently scaled.
_EXTRA = """
FLOP = [computation] = _ = flop
FLOPS = FLOP / second
USD = [currency] = dollar
token = [] = tok
"""
_BIT_DIMENSIONLESS = re.compile(r"^bit\s*=\s*\[\]", re.M)


def _definitions() -> str:
    """pint's default definitions (includes inlined) with `bit` made a base unit of [information]."""
    from importlib import resources

    root = resources.files("pint")
    text = root.joinpath("default_en.txt").read_text(encoding="utf-8")
    text = re.sub(r"^@import\s+(\S+)\s*$", lambda m: root.joinpath(m.group(1)).read_text(encoding="utf-8"),
                  text, flags=re.M)
    text, n = _BIT_DIMENSIONLESS.subn("bit = [information]", text)
    if n != 1:  # pint changed its definition file: refuse to run with bytes dimensionless rather than mis-convert
        raise RuntimeError("mlsysim.units: pint's default_en.txt no longer defines 'bit = []'; "
                           "update mlsysim.units._definitions for this pint version")
    return text + _EXTRA


def _import_pint():
    """Import pint without its optional dask support: pint imports dask whenever it is installed (~0.1 s), only to
    wrap dask arrays in quantities, which this package never does. Skipped if dask is already imported. Package
    versions come from their .dist-info folders meanwhile (mlsysim._versions), its dataclasses' methods from the
    code compiled at an earlier start (mlsysim._codecache)."""
    from ._codecache import compiled_dataclass_code
    from ._versions import lightweight_metadata

    if "pint" in sys.modules:
        import pint
        return pint
    hide_dask = "dask" not in sys.modules
    if hide_dask:
        sys.modules["dask"] = None  # importlib.util.find_spec("dask") -> None while pint is imported
    try:
        with lightweight_metadata(), compiled_dataclass_code("pint"):
            import pint
    finally:
        if hide_dask and sys.modules.get("dask", 0) is None:
            del sys.modules["dask"]
    return pint


def _cached_registry(pint):
    """The registry from the user's cache folder, None when there is none (the caller parses instead). Its data
    is stored once per pint version, Python and definitions (mlsysim._unit_state: ~7x faster than building it
    again); the definitions file, parsed through pint's own disk cache (keyed by the file's content and pint's
    version), builds it the first time."""
    import hashlib
    import zlib

    from . import _unit_state
    from ._cache import cache_dir, python_tag, write_atomic

    try:
        folder = cache_dir(f"pint-{pint.__version__}")
        if folder is None:
            return None
        key = hashlib.sha1((_EXTRA + _BIT_DIMENSIONLESS.pattern).encode()).hexdigest()[:12]
        state = folder / f"registry-{key}-{python_tag()}-{_unit_state.FORMAT}.pickle"
        try:
            blob = state.read_bytes()
            if zlib.crc32(blob[4:]) == int.from_bytes(blob[:4], "little"):  # else damaged: stored again below
                return _unit_state.loads(pint, blob[4:])
        except Exception:  # not stored yet, or damaged
            pass
        path = folder / f"units-{key}.txt"
        if not path.exists():
            write_atomic(path, _definitions().encode("utf-8"))
        built = _unit_state.recording_registry(pint, str(path), cache_folder=str(folder / "cache"))
        try:
            reg, blob = _unit_state.round_trip(pint, built)
        except Exception:  # a pint whose registry holds what cannot be stored (tests/test_unit_state.py says so)
            return built
        try:
            write_atomic(state, zlib.crc32(blob).to_bytes(4, "little") + blob)
        except OSError:  # a read-only cache folder: built again next time
            pass
        return reg
    except Exception:  # unwritable cache, a damaged cache entry: parse the definitions instead
        return None


@lru_cache(maxsize=1)
def _registry():
    pint = _import_pint()
    reg = _cached_registry(pint)
    if reg is None:
        reg = pint.UnitRegistry(None)
        reg.load_definitions(_definitions().splitlines())
        reg._build_cache()  # what UnitRegistry() does after loading its default file
    reg.formatter.default_format = "~P"
    return reg


def __getattr__(name):
    if name == "ureg":
        return _registry()
    if name == "Quantity":
        return _registry().Quantity
    raise AttributeError(name)


def Q(value, unit: str | None = None):
    """A pint quantity in the package registry: `Q(400, "Gbps")` or `Q("400 Gbps")`."""
    if unit is None:
        if not isinstance(value, str):
            raise ConfigError(f"Q({value!r}) needs a unit: write Q({value!r}, 'GB/s') or Q('{value} GB/s')")
        try:
            return _registry().Quantity(value)
        except Exception as exc:  # pint's UndefinedUnitError / parse errors
            raise ConfigError(f"cannot read {value!r} as a quantity ({exc}); write e.g. '400 Gbps' or "
                              f"'989 TFLOP/s'") from exc
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
            raise ConfigError(_wrong_unit(value, unit, what)) from exc
    elif isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_np_number(value):
        raise ConfigError(f"{what} must be a number{f' (in {unit})' if unit else ''} or a quantity, got "
                          f"{type(value).__name__} {value!r}{_quantity_hint(value, unit)}")
    else:
        mag = value
    try:
        mag = float(mag)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} must be a scalar number, got {value!r}") from exc
    if not math.isfinite(mag):
        raise ConfigError(f"{what} must be finite, got {mag}")
    if positive and (mag < 0 or (mag == 0 and not allow_zero)):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{what} must be {bound}{f' (in {unit})' if unit else ''}, got {mag}")
    return mag


def _quantity_hint(value, unit: str) -> str:
    """For a string such as '100 GB' where a quantity was meant: how to write it (Q('100 GB'), or the number)."""
    if not isinstance(value, str):
        return ""
    try:
        q = Q(value.strip())
        mag = q.to(unit).magnitude
    except Exception:  # not a quantity, or of another dimension: the message already says what is wanted
        return ""
    return f"; write {mag:g}" if not unit else f"; write Q({value.strip()!r}) (from mlsysim.units import Q) or {mag:g}"


def _wrong_unit(value, unit: str, what: str) -> str:
    """The message for a quantity of the wrong dimension: what was expected, what was given, an example."""
    try:
        got = f"{value:~P}, a {value.dimensionality} quantity"
    except Exception:  # a foreign registry or an odd object: its repr still helps
        got = repr(value)
    if not unit:
        return f"{what} must be given in a plain (dimensionless) number, e.g. 1e12, not {got}"
    try:
        dim = f" ({Q(1, unit).dimensionality})"
    except Exception:
        dim = ""
    return f"{what} must be given in units of {unit}{dim}, e.g. Q(1, {unit!r}); got {got}"


def _is_np_number(x) -> bool:
    return type(x).__module__ == "numpy" and hasattr(x, "dtype") and getattr(x, "ndim", 1) == 0


def count(value, what: str, *, minimum: int = 1) -> int:
    """Validate an integer count (e.g. layers, nodes, tp_size): an int >= minimum, never a float or bool."""
    if value.__class__ is int and value >= minimum:  # the common case, first
        return value
    if isinstance(value, bool) or not (isinstance(value, int) or (_is_np_number(value) and float(value).is_integer())):
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:  # not 1e308's 309 digits
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
