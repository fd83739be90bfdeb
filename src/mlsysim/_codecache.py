"""Dataclass methods compiled once, not at every start: `@dataclass` writes each class's __init__, __repr__,
__eq__, ... as source text and compiles it with exec(); importing pint (with flexparser and flexcache) compiles ~400
of them and mlsysim's records ~50, together a quarter of the tutorial's start-up. While `compiled_dataclass_code()`
is active (around `import pint`; around each class that this module's `dataclass` makes), the dataclasses module's
exec() takes the code object compiled from the same text, with the same flags, from a file in the user's cache
folder (as a .pyc holds a module's code); a text not there is compiled as exec() compiles it. Either way exec()
then runs the same code in the same namespaces. Outside those blocks nothing changes.
"""
from __future__ import annotations

import __future__
import builtins
import sys
from contextlib import contextmanager

_FUTURE_FLAGS = 0  # the __future__ compiler flags, which exec(text) takes from its caller (but the obsolete ones)
for _name in set(__future__.all_feature_names) - {"nested_scopes", "generators"}:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
_MAX_ENTRIES = 2000  # a file that grows past this (texts of earlier versions of the sources) starts again
_LOADED: dict = {}  # cache file name -> {source text: code}, read once per process


@contextmanager
def compiled_dataclass_code(name: str):
    """Take the code that dataclasses compiles inside this block from the cache file `name`, and add to the file
    what was missing."""
    import dataclasses

    if "exec" in vars(dataclasses):  # active already, or someone else's: leave it alone
        yield
        return
    path = _path(name)
    cache = _LOADED.get(name)
    if cache is None:
        cache = _LOADED[name] = _load(path) if path is not None else {}
    used, missed = {}, []

    def exec_(source, globals=None, locals=None, /):
        caller = sys._getframe(1)
        if globals is None:  # exec's own defaults: the caller's namespaces
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        if type(source) is str:
            code = cache.get(source)
            if code is None:
                code = compile(source, "<string>", "exec", flags=caller.f_code.co_flags & _FUTURE_FLAGS,
                               dont_inherit=True)
                missed.append(source)
            used[source] = source = code
        return builtins.exec(source, globals, locals)

    dataclasses.exec = exec_
    try:
        yield
    finally:
        if vars(dataclasses).get("exec") is exec_:
            del dataclasses.exec
        if path is not None and missed:
            if len(cache) + len(missed) <= _MAX_ENTRIES:
                used = {**cache, **used}
            _LOADED[name] = used
            _store(path, used)


def dataclass(cls=None, /, **kwargs):
    """dataclasses.dataclass, its methods' code compiled once per installation (a cache file per module)."""
    import dataclasses

    def wrap(cls):
        with compiled_dataclass_code(cls.__module__):
            return dataclasses.dataclass(cls, **kwargs)

    return wrap if cls is None else wrap(cls)


def _path(name):
    from importlib.util import MAGIC_NUMBER  # the bytecode format (marshal's code objects): as .pyc files are keyed

    from ._cache import cache_dir, python_tag

    folder = cache_dir("code", python_tag())
    return None if folder is None else folder / f"{name}-{MAGIC_NUMBER.hex()}.marshal"


def _load(path) -> dict:
    import marshal
    import zlib

    try:
        blob = path.read_bytes()
        if zlib.crc32(blob[4:]) == int.from_bytes(blob[:4], "little"):
            codes = marshal.loads(blob[4:])
            if isinstance(codes, dict):
                return codes
    except (OSError, EOFError, ValueError, TypeError):  # absent or damaged: compiled again, then stored
        pass
    return {}


def _store(path, codes: dict) -> None:
    import marshal
    import zlib

    from ._cache import write_atomic
    try:
        blob = marshal.dumps(codes)
        write_atomic(path, zlib.crc32(blob).to_bytes(4, "little") + blob)
    except (OSError, ValueError):
        pass
