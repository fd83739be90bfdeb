"""The float/array helpers (_np.vwhere, vmin, vmax, vceil) inlined into the physics functions that call them,
generated from those functions' own source: a scalar solve() then makes ~50 Python calls fewer (~7 % of its work).

Each helper call becomes the helper's own scalar branch, guarded by the same type test the helper makes first, with
the call itself as the fallback (arrays and every other type take it unchanged):
    vwhere(c, a, b) -> ((a if c else b) if c.__class__ is bool else vwhere(c, a, b))
    vmax(a, b)      -> ((_a if _a > _b else _b) if (_a := a).__class__ is (_b := b).__class__ is float
                        else vmax(_a, _b))                    (vmin alike, with <)
    vceil(x)        -> (float(_x.__ceil__()) if (_x := x).__class__ is float else vceil(_x))
So the formulas stay written once and give the same values; the one difference is that a scalar vwhere evaluates
only the branch it returns (the helper evaluates both), which can only spare an error, never change a value.
The rewritten code replaces each function's __code__ in place (every reference to the function sees it).

Each function also gets a scalar variant (`scalar(f)`, bound as `_scalar_<name>` in its module), for callers whose
every argument is a plain number (solve()'s floats; never an array): the helpers' scalar branches without their
type tests (vwhere(c, a, b) -> (a if c else b), vmax(a, b) -> (_a if (_a := a) > (_b := b) else _b), vceil(x) ->
float(x.__ceil__())), and its calls to physics functions call their scalar variants (f(...) -> _scalar_f(...),
col.f(...) -> col._scalar_f(...)). On numbers these are the helpers' own branches: the same values.
tests/test_inline.py checks the rewritten functions and the scalar variants against the written ones, on floats
and on arrays.
"""
from __future__ import annotations

import ast
import hashlib
import marshal
import sys
from types import FunctionType, ModuleType

_TEMPLATES = {  # C, A, B: the helper's arguments (one that is not a name or constant goes to a temporary _hN)
    "vwhere": "((A if C else B) if C.__class__ is bool else vwhere(C, A, B))",
    "vmax": "((A if A > B else B) if A.__class__ is B.__class__ is float else vmax(A, B))",
    "vmin": "((A if A < B else B) if A.__class__ is B.__class__ is float else vmin(A, B))",
    "vceil": "(float(A.__ceil__()) if A.__class__ is float else vceil(A))",
}
_SCALAR_TEMPLATES = {  # the same helpers where no argument can be an array: their scalar branches alone
    "vwhere": "(A if C else B)",
    "vmax": "(A if A > B else B)",
    "vmin": "(A if A < B else B)",
    "vceil": "float(A.__ceil__())",
}
_ARGS = {"vwhere": ("C", "A", "B"), "vmax": ("A", "B"), "vmin": ("A", "B"), "vceil": ("A",)}
ORIGINAL = {}  #: function (or scalar variant) -> its code as written (tests compare the two)
SCALAR = {}  #: physics function -> its scalar variant (the function itself where the rewriting changes nothing)


def scalar(func):
    """The scalar variant of a physics function: for plain numbers only (an array must never reach it)."""
    return SCALAR.get(func, func)


class _Inline(ast.NodeTransformer):
    """Rewrites helper calls (innermost first); leaves nested scopes (lambdas, comprehensions) alone."""

    def __init__(self, taken, helpers, templates=_TEMPLATES):
        self.taken, self.helpers, self.templates, self.n, self.changed = taken, helpers, templates, 0, False

    def _temp(self):
        self.n += 1
        while f"_h{self.n}" in self.taken:
            self.n += 1
        return f"_h{self.n}"

    def visit_Lambda(self, node):
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Call(self, node):
        self.generic_visit(node)
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in self.helpers or node.keywords or len(node.args) != len(_ARGS[name]) \
                or any(isinstance(a, ast.Starred) for a in node.args):
            return node
        slots, first = {}, {}
        for slot, arg in zip(_ARGS[name], node.args):
            if isinstance(arg, (ast.Name, ast.Constant)) or (name == "vwhere" and slot != "C"):
                slots[slot] = arg  # evaluated where it stands (vwhere's branches: only the one returned)
            else:  # evaluated once, into a temporary, at its first use (the guard)
                tmp = self._temp()
                slots[slot], first[slot] = ast.Name(tmp, ast.Load()), ast.NamedExpr(ast.Name(tmp, ast.Store()), arg)
        self.changed = True
        template = ast.parse(self.templates[name], mode="eval").body
        for part in ast.walk(template):  # the template's own nodes stand where the call stood (tracebacks)
            ast.copy_location(part, node)
        return _Fill(slots, first).visit(template)


class _ToScalar(ast.NodeTransformer):
    """Calls to physics functions with scalar variants call those: f(...) -> _scalar_f(...) for a module-level
    name in `names`, mod.f(...) -> mod._scalar_f(...) for (mod, f) in `attrs`; locals (`taken`) stay as they are."""

    def __init__(self, names, attrs, taken):
        self.names, self.attrs, self.taken, self.changed = names, attrs, taken, False

    def visit_Lambda(self, node):
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Name) and f.id in self.names and f.id not in self.taken:
            node.func = ast.copy_location(ast.Name("_scalar_" + f.id, ast.Load()), f)
            self.changed = True
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id not in self.taken \
                and (f.value.id, f.attr) in self.attrs:
            node.func = ast.copy_location(ast.Attribute(f.value, "_scalar_" + f.attr, ast.Load()), f)
            self.changed = True
        return node


class _Fill(ast.NodeTransformer):
    """Puts the arguments into a template: a temporary is assigned (`:=`) where the template first reads it."""

    def __init__(self, slots, first):
        self.slots, self.first, self.order = slots, first, []

    def visit_IfExp(self, node):  # the guard (node.test) runs first: visit it before the branches
        node.test = self.visit(node.test)
        node.body, node.orelse = self.visit(node.body), self.visit(node.orelse)
        return node

    def visit_Compare(self, node):
        node.left = self.visit(node.left)
        node.comparators = [self.visit(c) for c in node.comparators]
        return node

    def visit_Name(self, node):
        if node.id not in self.slots:
            return node
        if node.id in self.first:
            return self.first.pop(node.id)
        return self.slots[node.id]  # the same node at each use (compile() reads it as often as it appears)


def inline_helpers(namespace: dict) -> None:
    """Rewrite, in place, every function defined in the module `namespace` (its globals()) that calls a helper, and
    bind each function's scalar variant as `_scalar_<name>` (physics functions imported by name too).
    The generated code is cached beside pint's (keyed by the module's and this file's source, and by which
    imported physics functions it calls: as .pyc files are), since generating it takes tens of milliseconds."""
    path = namespace.get("__file__")
    try:
        with open(path, "rb") as f:
            source = f.read()
    except (OSError, TypeError):  # no source beside the bytecode: keep the code as written
        return
    funcs = {k: f for k, f in namespace.items() if getattr(f, "__module__", None) == namespace["__name__"]
             and getattr(f, "__code__", None) is not None}
    # physics functions from other modules with scalar variants, imported by name or called as module.attribute
    imported = {k: f for k, f in namespace.items() if k not in funcs and isinstance(f, FunctionType) and f in SCALAR}
    attrs = {(k, a) for k, mod in namespace.items() if isinstance(mod, ModuleType)
             for a, f in vars(mod).items() if isinstance(f, FunctionType) and f in SCALAR}
    deps = "\0".join(sorted(imported) + sorted(f"{k}.{a}" for k, a in attrs)).encode()
    where = hashlib.sha1(f"{path}\0{sys.version}".encode()).hexdigest()[:10]  # one entry per file and Python
    key = f"{namespace['__name__']}-{where}-{hashlib.sha1(source + _SELF + deps).hexdigest()[:16]}"
    cached = _load(key)
    seen = cached.get(_DEPS) if cached is not None else None
    if not isinstance(seen, dict) or seen != _digests(seen):  # none yet, or a module it inlines has changed
        read = set()
        cached = _generate(source, path, funcs, namespace, set(funcs) | set(imported), attrs, read)
        cached[_DEPS] = _digests(dict.fromkeys(read, ""))
        _store(key, cached)
    for name, new in cached.items():
        func = funcs.get(name)
        if func is not None and new.co_freevars == func.__code__.co_freevars:
            ORIGINAL[func] = func.__code__
            func.__code__ = new
    for k, func in funcs.items():  # aliases (reduce_scatter = allgather) share their function's variant
        variant = SCALAR.get(func)
        if variant is None:
            code = cached.get("_scalar_" + func.__name__)
            variant = func if code is None or code.co_freevars != func.__code__.co_freevars else _clone(func, code)
            SCALAR[func] = variant
            if variant is not func:
                ORIGINAL[variant] = ORIGINAL.get(func, func.__code__)
        namespace["_scalar_" + k] = variant
    for k, func in imported.items():
        namespace["_scalar_" + k] = SCALAR[func]


_DEPS = "__deps__"  # in a cache entry: {path: sha1} of the other modules whose functions it inlines


def _digests(paths: dict) -> dict:
    """{path: sha1 of its content} for the given paths (an unreadable one: "")."""
    out = {}
    for p in paths:
        try:
            with open(p, "rb") as f:
                out[p] = hashlib.sha1(f.read()).hexdigest()
        except OSError:
            out[p] = ""
    return out


def _scalar_names(namespace: dict):
    """(names, attrs) whose calls a module's scalar variants redirect (_ToScalar): its own functions and the
    physics functions it imports; (module alias, function) pairs of the physics modules it imports."""
    name = namespace["__name__"]
    names = {k for k, f in namespace.items() if isinstance(f, FunctionType) and (f.__module__ == name or f in SCALAR)}
    attrs = {(k, a) for k, mod in namespace.items() if isinstance(mod, ModuleType)
             for a, f in vars(mod).items() if isinstance(f, FunctionType) and f in SCALAR}
    return names, attrs


def _resolver(namespace: dict, own: dict, read: set):
    """resolve(func node) for InlineCalls: the callee of a call to a scalar variant, with how its globals read in
    `namespace` and how to ready its AST; `own`: this module's function nodes by name; `read` collects the other
    modules' source files it parses (the cache entry is checked against them)."""
    missing, trees = object(), {}

    def callee_node(mod, fname):
        if mod is None:
            return own.get(fname)
        if mod.__name__ not in trees:
            read.add(mod.__file__)
            with open(mod.__file__, "rb") as f:
                trees[mod.__name__] = {n.name: n for n in ast.parse(f.read(), mod.__file__).body
                                       if isinstance(n, ast.FunctionDef)}
        return trees[mod.__name__].get(fname)

    def resolve(func):
        if isinstance(func, ast.Name) and func.id.startswith("_scalar_"):
            target, alias = namespace.get(func.id[8:]), None
        elif isinstance(func, ast.Attribute) and func.attr.startswith("_scalar_") and isinstance(func.value, ast.Name) \
                and isinstance(namespace.get(func.value.id), ModuleType):
            target, alias = getattr(namespace[func.value.id], func.attr[8:], None), func.value.id
        else:
            return None
        if not isinstance(target, FunctionType) \
                or (target not in SCALAR and target.__module__ != namespace["__name__"]):
            return None
        mod = sys.modules.get(target.__module__)
        same = mod is None or vars(mod) is namespace
        node = callee_node(None if same else mod, target.__name__)
        if node is None:
            return None
        theirs = namespace if same else vars(mod)

        def glob(name):
            mine, their = namespace.get(name, missing), theirs.get(name, missing)
            if mine is their:  # the same object (or a builtin neither shadows)
                return ast.Name(name, ast.Load())
            if their is not missing and alias is not None:
                return ast.Attribute(ast.Name(alias, ast.Load()), name, ast.Load())
            return None

        def prepare(fn):
            names, attrs = _scalar_names(theirs)
            return _ToScalar(names, attrs, {a.arg for a in fn.args.args}).visit(fn)

        return node, glob, prepare

    return resolve


def _clone(func, code):
    """A function like `func` (defaults, keyword defaults, globals) running `code`."""
    new = FunctionType(code, func.__globals__, func.__name__, func.__defaults__, func.__closure__)
    new.__kwdefaults__, new.__doc__, new.__qualname__ = func.__kwdefaults__, func.__doc__, func.__qualname__
    return new


def _generate(source: bytes, path: str, funcs: dict, namespace: dict, names: set, attrs: set, read: set) -> dict:
    """name -> rewritten code object, for the module's top-level functions that call a helper, and
    _scalar_<name> -> the code of their scalar variants (for those the rewriting changes)."""
    from . import _np
    helpers = {h for h in _TEMPLATES if namespace.get(h) is getattr(_np, h)}  # the module's names for the helpers
    from ._inline_calls import InlineCalls
    # three parses (cheaper than copies): rewritten in place, for the scalar variants, and read as written (callees)
    out, tree, scalars = {}, ast.parse(source, path).body, ast.parse(source, path).body
    resolve = _resolver(namespace, {n.name: n for n in ast.parse(source, path).body if isinstance(n, ast.FunctionDef)},
                        read)
    rejected = set()  # callees found not to qualify for inlining (InlineCalls)
    for node, scalar in zip(tree, scalars):
        func = funcs.get(getattr(node, "name", None))
        if not isinstance(node, ast.FunctionDef) or func is None \
                or func.__code__.co_firstlineno != (node.decorator_list or [node])[0].lineno:
            continue
        code = func.__code__
        taken = set(code.co_varnames) | set(code.co_names)
        rewriter = _Inline(taken, helpers - set(code.co_varnames))
        node = rewriter.visit(node)
        if rewriter.changed:
            out[node.name] = _compile(node, code, path)
        to_scalar = _ToScalar(names, attrs, set(code.co_varnames))
        calls = InlineCalls(resolve, set(taken), rejected)
        scalar = calls.visit(to_scalar.visit(scalar))
        inline = _Inline(calls.taken, helpers - set(code.co_varnames), _SCALAR_TEMPLATES)
        scalar = inline.visit(scalar)
        if to_scalar.changed or inline.changed:
            out["_scalar_" + node.name] = _compile(scalar, code, path)
    return out


def _compile(node, code, path):
    """The code object of one rewritten top-level function (`code`: the function's code as written)."""
    node.decorator_list, node.lineno = [], code.co_firstlineno
    module = ast.fix_missing_locations(ast.Module([node], []))
    return next(c for c in compile(module, path, "exec", dont_inherit=True).co_consts
                if getattr(c, "co_name", None) == code.co_name)


def _cache_file(key):
    from .._cache import cache_dir
    folder = cache_dir("inline")
    return None if folder is None else folder / f"{key}.marshal"


def _load(key):
    try:
        path = _cache_file(key)
        codes = None if path is None else marshal.loads(path.read_bytes())
        return codes if isinstance(codes, dict) else None
    except (OSError, EOFError, ValueError, TypeError):  # absent or damaged: generate it again
        return None


def _store(key, codes):
    """Write the module's entry, removing its stale ones (from an earlier version of its source)."""
    from .._cache import write_atomic
    try:
        path = _cache_file(key)
        if path is not None:
            for old in path.parent.glob(key.rsplit("-", 1)[0] + "-*.marshal"):
                old.unlink(missing_ok=True)
            write_atomic(path, marshal.dumps(codes))
    except (OSError, ValueError):
        pass


try:  # this file's source: a change to the rewriting invalidates the cache
    with open(__file__, "rb") as _f:
        _SELF = _f.read()
except OSError:
    _SELF = b""
