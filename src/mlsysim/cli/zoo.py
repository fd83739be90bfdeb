"""`mlsysim zoo`: browse the registries, filter with --where, sort, or show one entry in full."""
from __future__ import annotations

import re

from . import _json as J
from ._common import EXIT_OK, Failure, emit_json, guarded
from .commands import _finish

REGISTRIES = ("Models", "SmallModels", "Hardware", "Systems", "Infrastructure")


def zoo_rows(what=None) -> list[dict]:
    import mlsysim
    regs = {r: getattr(mlsysim, r) for r in REGISTRIES}
    scope = None
    if what:
        low = what.lower()
        for rname, reg in regs.items():
            if low == rname.lower():
                scope = [(rname, c, None) for c in reg.categories()]
                break
        if scope is None:
            for rname, reg in regs.items():
                for c in reg.categories():
                    if low == c.lower():
                        scope = [(rname, c, None)]
        if scope is None:
            for rname, reg in regs.items():
                for c in reg.categories():
                    for k in getattr(reg, c).names():
                        if what == k or low == k.lower():
                            scope = [(rname, c, k)]
        if scope is None and what in regs["Infrastructure"].Grids:  # a dataset grid: PL, PL@2022, gcp:us-central1
            scope = [("Infrastructure", "Grids", what)]
        if scope is None:
            names = list(REGISTRIES) + [c for r in regs.values() for c in r.categories()] + \
                [k for r in regs.values() for k in r.all_names()]
            from ..errors import unknown
            raise unknown("registry, category or entry", what, names)
    else:
        scope = [(rname, c, None) for rname, reg in regs.items() for c in reg.categories()]
    rows = []
    for rname, cat, key in scope:
        category = getattr(regs[rname], cat)
        for k in ([key] if key else category.names()):
            rows.append(J.zoo_entry(rname, cat, k, category[k], detail=bool(key)))
    return rows


_OPS = {"<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "!=": lambda a, b: a != b,
        "==": lambda a, b: a == b, "=": lambda a, b: a == b, "<": lambda a, b: a < b, ">": lambda a, b: a > b}


def _filter(rows, where: list[str]):
    keys = sorted({k for r in rows for k in r})
    for expr in where:
        m = re.match(r"^\s*([A-Za-z_][\w]*)\s*(<=|>=|!=|==|=|<|>)\s*(.+?)\s*$", expr)
        if not m:
            raise Failure(f"--where {expr!r}: expected KEY<OP>VALUE, e.g. memory_gb>=80")
        key, op, raw = m.groups()
        if key not in keys:
            from ..errors import unknown
            raise unknown("--where field", key, keys)
        if raw[:1] in "<>=!":
            raise Failure(f"--where {expr!r}: {op + raw[:1]!r} is not an operator; use one of < <= > >= = != "
                          f"(e.g. memory_gb>=80)")
        try:
            val = float(raw)
        except ValueError:
            val = raw
            if any(isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool) for r in rows):
                raise Failure(f"--where {expr!r}: {key} is a number but {raw!r} is not one (check for a letter "
                              f"O for a zero, e.g. {key}{op}80)")
        fn = _OPS[op]

        def keep(r, key=key, val=val, fn=fn):
            v = r.get(key)
            if v is None:
                return False
            if isinstance(val, float):
                return isinstance(v, (int, float)) and not isinstance(v, bool) and fn(float(v), val)
            return fn(str(v).lower(), val.lower())
        rows = [r for r in rows if keep(r)]
    return rows


def sort_rows(rows: list, key: str, desc: bool) -> list:
    """Rows ordered by `key`: numbers by value, text alphabetically (case-insensitive); rows without it last."""
    num = [r for r in rows if isinstance(r.get(key), (int, float)) and not isinstance(r.get(key), bool)]
    text = [r for r in rows if isinstance(r.get(key), str) and r.get(key)]
    rest = [r for r in rows if r not in num and r not in text]
    return (sorted(num, key=lambda r: r[key], reverse=desc)
            + sorted(text, key=lambda r: r[key].lower(), reverse=desc) + rest)


def zoo_cmd(what, search, where, sort, json_out):
    with guarded("zoo", json_out):
        rows = zoo_rows(what)
        if search:
            s = search.lower()
            rows = [r for r in rows if s in r["key"].lower() or s in str(r["name"]).lower()
                    or s in str(r.get("vendor", "")).lower() or s in str(r.get("country", "")).lower()]
        rows = _filter(rows, where)
        if sort:
            desc = sort.startswith("-")
            key = sort.lstrip("-")
            if rows and not any(key in r for r in rows):
                from ..errors import unknown
                raise unknown("--sort field", key, sorted({k for r in rows for k in r}))
            rows = sort_rows(rows, key, desc)
        if json_out:
            emit_json(J.envelope("zoo", "ok", 0, query={"what": what, "search": search, "where": where,
                                                        "sort": sort}, count=len(rows), entries=rows))
        else:
            from ._render import render_zoo
            render_zoo(rows, detail=bool(what) and len(rows) == 1)
    _finish(EXIT_OK)
