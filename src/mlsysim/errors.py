"""One family of exceptions: every bad input raises a ConfigError subclass with a message a user can act on."""
from __future__ import annotations


class MlsysimError(Exception):
    """Base of all mlsysim errors."""


class ConfigError(MlsysimError, ValueError):
    """An input is invalid (wrong value, wrong unit, contradictory fields); raised before any arithmetic."""


class UnknownNameError(ConfigError, AttributeError, KeyError):
    """A registry name (or option) does not exist; the message lists the closest valid names."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class InfeasibleError(MlsysimError):
    """A search found no configuration that satisfies the constraints (the reasons are in the message)."""


def unknown(kind: str, name: str, choices) -> UnknownNameError:
    """Build an UnknownNameError for `name`, suggesting the close matches among `choices`."""
    import difflib  # only on the error path: stays out of start-up

    choices = list(choices)
    close = difflib.get_close_matches(str(name), choices, n=3, cutoff=0.5)
    if not close:
        low = str(name).lower()
        close = [c for c in choices if low and (low in c.lower() or c.lower() in low)][:3]
    more = f" (and {len(choices) - 20} more)" if len(choices) > 20 else ""  # a cut list must not read as complete
    hint = f"; did you mean {', '.join(close)}?" if close else f"; valid: {', '.join(sorted(choices)[:20])}{more}"
    return UnknownNameError(f"unknown {kind} '{name}'{hint}")


def unexpected_keywords(fn, given: dict) -> ConfigError:
    """The ConfigError for keywords `fn` does not take, naming the ones it has that are close (tp -> tp_size)."""
    import difflib  # only on the error path

    code = fn.__code__
    first = 1 if code.co_varnames[:1] in (("self",), ("cls",)) else 0  # a method's self; a staticmethod has none
    names = code.co_varnames[first:code.co_argcount + code.co_kwonlyargcount]
    parts = []
    for name in given:
        close = [n for n in names if n == f"{name}_size" or name.startswith(f"{n}_")] \
            or [n for n in names if n.startswith(f"{name}_") or n.endswith(f"_{name}")][:3] \
            or difflib.get_close_matches(name, names, n=3, cutoff=0.6)
        parts.append(f"'{name}'" + (f" (did you mean {', '.join(close)}?)" if close else ""))
    return ConfigError(f"{fn.__qualname__}() takes no argument {', '.join(parts)}; it takes: {', '.join(names)}")


class InfeasibleResultWarning(UserWarning):
    """A result was built from one marked feasible=False (a layout that does not fit): its numbers are shown but
    the plan cannot run."""
