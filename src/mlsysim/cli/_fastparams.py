"""Option values without pydantic: typer (>= 0.2x) converts every CLI value through a pydantic TypeAdapter, and
importing pydantic takes longer than the rest of `mlsysim train`'s start-up. The values these commands take (text,
whole numbers, decimal numbers, repeated text options, unset options) convert here to exactly what typer's adapter
returns; anything else (a malformed number, a path, a choice, a bound) still goes through typer's own path, so its
results and error messages are typer's. tests/test_cli_fastparams.py compares the two on the same values.
"""
from __future__ import annotations

import re

_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def fast_value(annotation, info, value):
    """(True, converted) where the conversion needs no pydantic, else (False, None)."""
    if info.parser is not None or info.min is not None or info.max is not None or info.clamp:
        return False, None
    cls = value.__class__
    if annotation is str:
        return (True, value) if cls is str else (False, None)
    if annotation is int:
        if cls is int:
            return True, value
        return (True, int(value)) if cls is str and _INT.match(value) else (False, None)
    if annotation is float:
        if cls is float:
            return True, value
        return (True, float(value)) if cls is str and _FLOAT.match(value) else (False, None)
    if getattr(annotation, "__origin__", None) is list and getattr(annotation, "__args__", None) == (str,):
        if cls in (list, tuple) and all(v.__class__ is str for v in value):
            return True, list(value)
    return False, None


def install() -> None:
    """Give typer's parameters the pydantic-free conversion above, falling back to typer's own. A typer without
    these internals (older or newer) is left as it is: only start-up time depends on this."""
    try:
        from dataclasses import dataclass

        from typer import core
        from typer._coercion import RuntimeParam, build_runtime_param
        param_cls = core._TyperParameter
        param_cls.get_runtime_param  # noqa: B018 -- the method replaced below
        if list(RuntimeParam.__dataclass_fields__) != ["parameter_info", "annotation"]:
            return
    except (ImportError, AttributeError):
        return

    @dataclass(frozen=True)
    class _Fast(RuntimeParam):
        descriptor: object

        def _coerce_value(self, value, param, ctx):
            ok, out = fast_value(self.annotation, self.parameter_info, value)
            if ok:
                return out
            return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def get_runtime_param(self):
        if self._runtime_param is None:
            d = self.type_descriptor
            self._runtime_param = (build_runtime_param(d) if d.file_annotation is not None else
                                   _Fast(parameter_info=d.parameter_info, annotation=d.annotation, descriptor=d))
        return self._runtime_param

    param_cls.get_runtime_param = get_runtime_param
