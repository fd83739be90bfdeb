"""Scenario YAML with line numbers: safe parsing (no tags, bounded aliases and nesting, YAML merge keys) and
field-by-field validation against the schema, every message starting with `file:line:`."""
from __future__ import annotations

import dataclasses
import math
import re

from .errors import ConfigError, unknown
from .scenario_schema import F, ScenarioError, _choices, _dataset_name, _names


# ------------------------------------------------------------------------------------ YAML with line numbers
def parse_yaml(text: str, path: str = "<scenario>") -> tuple[dict, dict]:
    """Safe-parse YAML into plain Python, plus {key path tuple: line} for every key (1-based)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover
        raise ConfigError("reading scenario files needs PyYAML: pip install 'mlsysim[cli]'") from None
    lines: dict[tuple, int] = {}
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses control characters (NUL, ...) right here
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError(f"{path}:1: the scenario is empty; it needs at least `workload:` and `system:`")
        data = _build(loader, node, (), lines, path, _Budget())
    except RecursionError:  # the YAML composer recurses once per nesting level
        raise ScenarioError(f"{path}: malformed YAML: nested too deeply (a scenario is a few levels of "
                            f"key: value lines)") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else path
        what = " ".join(s for s in (exc.context, exc.problem) if s)
        raise ScenarioError(f"{where}: malformed YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: malformed YAML: {str(exc).splitlines()[0]}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario must be a mapping (key: value lines), got a "
                            f"{type(data).__name__}")
    return data, lines


class _Budget:
    """Limits on building YAML nodes into Python: aliases are expanded, so `&a [*a]` would recurse forever and a
    few nested aliases would expand exponentially ("billion laughs"); a scenario has a few dozen values."""

    MAX_VALUES = 100_000
    MAX_DEPTH = 32

    def __init__(self):
        self.left = self.MAX_VALUES
        self.active: set[int] = set()  # ids of the nodes on the path being built


def _construct(loader, node, path: str):
    """A scalar (or key) as Python; a value its tag cannot read (`!!int abc`, `2001-02-30`) is a ScenarioError."""
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:
        shown = repr(node.value[:60]) if isinstance(node.value, str) else "this value"
        raise ScenarioError(f"{path}:{node.start_mark.line + 1}: malformed YAML: cannot read {shown} as "
                            f"{node.tag.rsplit(':', 1)[-1]} ({str(exc)[:100]}); quote it to make it a string") from None


def _build(loader, node, kp: tuple, lines: dict, path: str, budget: _Budget):
    import yaml
    line = node.start_mark.line + 1
    budget.left -= 1
    if budget.left < 0:
        raise ScenarioError(f"{path}:{line}: malformed YAML: more than {_Budget.MAX_VALUES:,} values once aliases "
                            f"are expanded; a scenario file needs a few dozen")
    if len(kp) > _Budget.MAX_DEPTH or id(node) in budget.active:
        why = "an alias refers to itself" if id(node) in budget.active else "nested too deeply"
        raise ScenarioError(f"{path}:{line}: malformed YAML: {why} (at '{_dot(kp)}')")
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
        kind = "map" if isinstance(node, yaml.MappingNode) else "seq"
        if node.tag not in (f"tag:yaml.org,2002:{kind}", "tag:yaml.org,2002:omap" if kind == "seq" else ""):
            raise ScenarioError(f"{path}:{node.start_mark.line + 1}: malformed YAML: unsupported tag {node.tag} "
                                f"(scenario files are plain data)")
    if isinstance(node, yaml.MappingNode):
        out = {}
        budget.active.add(id(node))
        for key, knode, vnode in _pairs(loader, node, kp, lines, path, budget):
            lines[kp + (key,)] = knode.start_mark.line + 1
            out[key] = _build(loader, vnode, kp + (key,), lines, path, budget)
        budget.active.discard(id(node))
        return out
    if isinstance(node, yaml.SequenceNode):
        out = []
        budget.active.add(id(node))
        for i, item in enumerate(node.value):
            lines[kp + (i,)] = item.start_mark.line + 1
            out.append(_build(loader, item, kp + (i,), lines, path, budget))
        budget.active.discard(id(node))
        return out
    return _construct(loader, node, path)


def _pairs(loader, node, kp: tuple, lines: dict, path: str, budget: _Budget) -> list:
    """A mapping's (key, key node, value node) with merge keys resolved as YAML specifies (yaml.org/type/merge):
    keys written out override merged ones, and of several merged maps (`<<: [*a, *b]`) the earlier wins.
    (pyyaml's own flattening lets the later map win.) Only written-out keys may not repeat."""
    import yaml
    merge_tag = "tag:yaml.org,2002:merge"
    own, sources, seen = [], [], {}
    for knode, vnode in node.value:
        line = knode.start_mark.line + 1
        if knode.tag == merge_tag:
            subs = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
            if not all(isinstance(m, yaml.MappingNode) for m in subs):
                raise ScenarioError(f"{path}:{line}: malformed YAML: `<<` merges a mapping or a list of mappings "
                                    f"(e.g. `<<: *base`)")
            sources.extend(subs)
            continue
        key = _construct(loader, knode, path)
        if not isinstance(key, str):
            raise ScenarioError(f"{path}:{line}: keys must be names, got {key!r}")
        if key in seen:
            raise ScenarioError(f"{path}:{line}: duplicate key '{_dot(kp + (key,))}' (first on line {seen[key]})")
        seen[key] = line
        own.append((key, knode, vnode))
    for src in sources:
        budget.left -= len(src.value)
        if budget.left < 0:
            raise ScenarioError(f"{path}:{src.start_mark.line + 1}: malformed YAML: more than "
                                f"{_Budget.MAX_VALUES:,} values once merge keys are expanded")
        if id(src) in budget.active:
            raise ScenarioError(f"{path}:{src.start_mark.line + 1}: malformed YAML: an alias refers to itself "
                                f"(at '{_dot(kp)}')")
        budget.active.add(id(src))
        for key, knode, vnode in _pairs(loader, src, kp, {}, path, budget):
            if key not in seen:
                seen[key] = knode.start_mark.line + 1
                own.append((key, knode, vnode))
        budget.active.discard(id(src))
    return own


def _dot(kp) -> str:
    return ".".join(str(k) for k in kp)


# ------------------------------------------------------------------------------------------------- checking
_FLOAT_STR = re.compile(r"^[+-]?(\d[\d_]*\.?\d*|\.\d+)([eE][+-]?\d+)?$")


class _Where:
    """Formats `file:line: ` for a key path (the nearest known line up the path)."""

    def __init__(self, path: str, lines: dict):
        self.path, self.lines = path, lines

    def __call__(self, kp: tuple) -> str:
        for i in range(len(kp), 0, -1):
            line = self.lines.get(kp[:i])
            if line == "cli":
                return f"command line ({_dot(kp[:i])}): "
            if line is not None:
                return f"{self.path}:{line}: "
        return f"{self.path}: "


def _check(value, f: F, kp: tuple, where: _Where):
    """Validate and convert one value against its spec; raise a one-line ScenarioError."""
    name = _dot(kp)
    if f.type.startswith("list["):
        if not isinstance(value, list) or not value:
            raise ScenarioError(f"{where(kp)}{name} must be a non-empty list, got {value!r}")
        item = dataclasses.replace(f, type=f.type[5:-1])
        return [_check(v, item, kp + (i,), where) for i, v in enumerate(value)]
    t = f.type
    if t == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            hint = f"; write {int(value)}" if isinstance(value, float) and value.is_integer() and abs(value) < 1e18 \
                else ""  # (1e308 was answered with its 309 digits)
            if isinstance(value, str) and _FLOAT_STR.match(value.strip()) and "e" in value.lower():
                v = float(value.replace("_", ""))  # YAML 1.1 reads 1e4 (no dot) as text
                hint = f" (YAML reads {value} as text); write {int(v)}" if v.is_integer() and v < 1e18 else ""
            raise ScenarioError(f"{where(kp)}{name} must be an integer, got {_show(value)}{hint}")
    elif t == "float":
        if isinstance(value, str) and _FLOAT_STR.match(value.strip()):
            value = float(value.replace("_", ""))  # YAML 1.1 reads 15e12 (no dot) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ScenarioError(f"{where(kp)}{name} must be a number, got {_show(value)}{_unit_hint(kp, value)}")
        value = float(value)
        if not math.isfinite(value):
            raise ScenarioError(f"{where(kp)}{name} must be finite, got {value}")
        if f.choices and value not in _choices(f):
            raise ScenarioError(f"{where(kp)}{name} must be one of {', '.join(f'{c:g}' for c in _choices(f))}, "
                                f"got {value:g}")
    elif t == "bool":
        if not isinstance(value, bool):
            raise ScenarioError(f"{where(kp)}{name} must be true or false, got {_show(value)}")
        return value
    elif t in ("str", "name", "enum"):
        if not isinstance(value, str):
            raise ScenarioError(f"{where(kp)}{name} must be a {'name' if t != 'str' else 'string'}, got "
                                f"{_show(value)}")
        if t == "enum" and value not in _choices(f):
            raise ScenarioError(where(kp) + str(unknown(name, value, _choices(f))))
        if t == "name":
            names = _names(f.registry)
            if value not in names and not _dataset_name(f.registry, value):
                msg = str(unknown(f"{f.registry} entry for {name}", value, names))
                if f.registry == "Infrastructure.Grids":
                    from .infrastructure.grids import CODES_HINT
                    msg += f"; {CODES_HINT}"
                raise ScenarioError(where(kp) + msg)
        return value
    if f.minimum is not None and (value < f.minimum or (f.exclusive_minimum and value == f.minimum)):
        op = ">" if f.exclusive_minimum else ">="
        raise ScenarioError(f"{where(kp)}{name} must be {op} {f.minimum:g}, got {value:g}")
    if f.maximum is not None and value > f.maximum:
        raise ScenarioError(f"{where(kp)}{name} must be <= {f.maximum:g}, got {value:g}")
    return value


# The unit a float key names by its suffix (the schema's rule: plain numbers in the unit of the key's name).
_KEY_UNITS = (("_usd_per_gpu_hour", "USD/hour"), ("_usd_per_kwh", "USD/kWh"), ("_l_per_kwh", "L/kWh"),
              ("_usd", "USD"), ("_gb", "GB"), ("_days", "day"), ("_years", "year"), ("_ms", "ms"), ("_t", "t"))


def _unit_hint(kp: tuple, value) -> str:
    """For a number written with a unit ('80 GB', '2 days'): the plain number to write, in the key's unit."""
    if not isinstance(value, str) or not kp or not isinstance(kp[-1], str):
        return ""
    unit = next((u for suffix, u in _KEY_UNITS if kp[-1].endswith(suffix)), "")
    try:
        from .units import Q
        q = Q(value.strip())
        return f"; write {q.to(unit or '').magnitude:g} (the unit{f', {unit},' if unit else ''} is the key's)"
    except Exception:  # not a quantity, or of another dimension
        return f"; write a plain number{f' in {unit} (the unit of the key)' if unit else ''}" if unit or any(
            c.isdigit() for c in value) else ""


def _show(v) -> str:
    return f"{type(v).__name__} {v!r}" if not isinstance(v, (dict, list)) else f"a {type(v).__name__}"


def _section(raw: dict, sec: str, spec: dict, where: _Where) -> dict:
    val = raw.get(sec)
    if val is None:
        return {}
    if not isinstance(val, dict):
        what = "a name or a mapping" if sec == "datacenter" else "a mapping"
        raise ScenarioError(f"{where((sec,))}{sec} must be {what} (indented key: value lines), got "
                            f"{_show(val)}")
    out = {}
    for k, v in val.items():
        if k not in spec:
            raise ScenarioError(where((sec, k)) + str(unknown(f"key in {sec}", k, spec)))
        if v is None:
            continue
        out[k] = _check(v, spec[k], (sec, k), where)
    return out
