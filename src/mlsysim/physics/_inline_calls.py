"""Small physics functions (gemm_time, the collectives, ...) inlined into the scalar variants that call them
(physics/_inline.py), generated from their own source: a solve() then makes ~15 Python calls fewer.

A function qualifies when its body is straight-line: assignments to plain names, then `if test: return a` lines,
then `return b`. A call to its scalar variant, with positional arguments, where the statement evaluates it for
sure (not in a branch of `x if c else y` or past the first operand of and/or), becomes its returned expression,
after statements that give its arguments and assignments fresh names:
    proj = gemm_time(T, d.h, w / tp, ...) + ...  ->  _i1_k = d.h; _i1_n = w / tp; ...; _i3_eff = ...
                                                     proj = vmax(_i4_t_c, ...) + ...
(an argument that is a name or a constant stands in directly; `if test: return a` + `return b` becomes
`a if test else b`). The physics is pure, so computing a call's operations before the rest of its statement
changes no value. The callee's globals keep their names where the caller's module binds the same objects, else
read through the caller's name for the callee's module (col.math); a callee that needs a name the caller cannot
reach stays a call. Same operations on the same values in the same order: the same floats.
"""
from __future__ import annotations

import ast

MAX_STATEMENTS = 6  # a larger function is left a call: inlining pays on the small ones
MAX_DEPTH = 3  # inlined bodies are inlined into in turn (hierarchical_allgather -> allgather), this deep at most
_SCOPES = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.NamedExpr, ast.Yield,
           ast.YieldFrom, ast.Await)


def clone(node):
    """A copy of an AST, several times faster than a deep copy (which generation would spend most of its time in)."""
    if isinstance(node, ast.AST):
        new = node.__class__.__new__(node.__class__)
        new.__dict__.update({k: clone(v) for k, v in node.__dict__.items()})
        return new
    if isinstance(node, list):
        return [clone(x) for x in node]
    return node


def straight_line(node: ast.FunctionDef):
    """(params, defaults, [(local, value)], return expression) of a function that qualifies, else None."""
    a = node.args
    if node.decorator_list or a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs:
        return None
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    params = [x.arg for x in a.args]
    defaults = dict(zip(params[len(params) - len(a.defaults):], a.defaults))
    i, assigns, branches = 0, [], []
    while i < len(body) and isinstance(body[i], ast.Assign) and len(body[i].targets) == 1 \
            and isinstance(body[i].targets[0], ast.Name) and body[i].targets[0].id not in params:
        assigns.append((body[i].targets[0].id, body[i].value))
        i += 1
    while i < len(body) and isinstance(body[i], ast.If) and not body[i].orelse and len(body[i].body) == 1 \
            and isinstance(body[i].body[0], ast.Return) and body[i].body[0].value is not None:
        branches.append((body[i].test, body[i].body[0].value))
        i += 1
    if len(body) > MAX_STATEMENTS or i != len(body) - 1 or not isinstance(body[i], ast.Return) \
            or body[i].value is None or any(isinstance(n, _SCOPES) for n in ast.walk(node)):
        return None
    ret = body[i].value
    for test, value in reversed(branches):
        ret = ast.IfExp(test, value, ret)
    return params, defaults, assigns, ret


class _Subst(ast.NodeTransformer):
    """Names in a callee's expression -> the caller's: arguments and temporaries, and its globals (`glob`)."""

    def __init__(self, local, glob):
        self.local, self.glob = local, glob

    def visit_Name(self, node):
        if node.id in self.local:
            return clone(self.local[node.id])
        return ast.copy_location(self.glob(node.id), node)


class _Hoist(ast.NodeTransformer):
    """Within one statement: each call to a qualifying callee, where it is evaluated unconditionally, becomes its
    returned expression, its arguments and assignments going to statements (`pre`) before the statement."""

    def __init__(self, owner, pre, depth):
        self.owner, self.pre, self.depth = owner, pre, depth

    def visit_Lambda(self, node):
        return node

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda

    def visit_IfExp(self, node):  # only the test is evaluated for sure
        node.test = self.visit(node.test)
        return node

    def visit_BoolOp(self, node):  # only the first operand is evaluated for sure
        node.values[0] = self.visit(node.values[0])
        return node

    def visit_Call(self, node):
        self.generic_visit(node)  # the arguments' own calls first: they are evaluated first
        new = self.owner.expand(node, self.pre, self.depth)
        return node if new is None else ast.copy_location(new, node)


class InlineCalls:
    """Inlines, into a function's body, the calls whose callee `resolve(call.func)` gives as (function node,
    globals mapper, prepare): prepare(node) readies a copy of the callee's AST (its own calls to scalar variants).
    `rejected`: ids of callee nodes found not to qualify (shared across a module's functions)."""

    def __init__(self, resolve, taken, rejected):
        self.resolve, self.taken, self.n, self.changed, self.rejected = resolve, taken, 0, False, rejected

    def visit(self, fn: ast.FunctionDef) -> ast.FunctionDef:
        fn.body = self._block(fn.body)
        return fn

    def _block(self, stmts):
        out = []
        for st in stmts:
            if isinstance(st, ast.If):
                st.body, st.orelse = self._block(st.body), self._block(st.orelse)
            elif isinstance(st, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr)):
                pre = []
                st = _Hoist(self, pre, 0).visit(st)
                out += pre
            out.append(st)
        return out

    def _temp(self, name):
        while True:
            self.n += 1
            t = f"_i{self.n}_{name}"
            if t not in self.taken:
                self.taken.add(t)
                return t

    def expand(self, node, pre, depth):
        """The expression replacing call `node` (statements for its arguments and assignments appended to `pre`),
        or None where it stays a call."""
        if depth >= MAX_DEPTH or node.keywords or any(isinstance(x, ast.Starred) for x in node.args):
            return None
        hit = self.resolve(node.func)
        if hit is None:
            return None
        fn, glob, prepare = hit
        if id(fn) in self.rejected:  # known not to qualify: spare copying it again
            return None
        shape = straight_line(prepare(clone(fn)))
        if shape is None:
            self.rejected.add(id(fn))
            return None
        params, defaults, assigns, ret = shape
        if len(node.args) > len(params) or any(p not in defaults for p in params[len(node.args):]):
            return None
        args = list(node.args) + [defaults[p] for p in params[len(node.args):]]
        own = set(params) | {name for name, _ in assigns}
        used = {n.id for _, v in assigns for n in ast.walk(v) if isinstance(n, ast.Name)} \
            | {n.id for n in ast.walk(ret) if isinstance(n, ast.Name)}
        if any(not isinstance(a, (ast.Name, ast.Constant)) for a in args[len(node.args):]) \
                or any(glob(name) is None for name in used - own):
            return None  # a default that is not a plain constant, or a global the caller cannot reach
        local = {}
        for p, a in zip(params, args):  # an argument that is not a name or a constant gets a name first
            if isinstance(a, (ast.Name, ast.Constant)):
                local[p] = a
            else:
                local[p] = self._assign(pre, p, a)
        subst = _Subst(local, glob)
        for name, value in assigns:
            local[name] = self._assign(pre, name, _Hoist(self, pre, depth + 1).visit(subst.visit(value)))
        self.changed = True
        return _Hoist(self, pre, depth + 1).visit(subst.visit(ret))

    def _assign(self, pre, name, value):
        t = self._temp(name)
        pre.append(ast.Assign([ast.Name(t, ast.Store())], value))
        return ast.Name(t, ast.Load())
