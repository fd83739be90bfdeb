"""A built pint UnitRegistry stored as its data, so that later processes skip building it (~40 ms: pint's parsed-
definitions cache still dispatches ~430 definitions, builds 7 unit systems and parses their units on every start).

A registry is pint's own machinery (the classes bound to it, its definition parser, formatter, preprocessors and
definition adders, all made by its constructor) plus data (units, prefixes, dimensions, groups, systems, the
root-unit cache, ...). The data is pickled as pint's deepcopy of a registry copies it, the machinery is never
stored: a restored registry is `pint.UnitRegistry(None)`, built by pint's constructor from no definitions, with
the data put in. References from the data to the registry or to its machinery (a group's or system's class) are
stored as names and resolved to the new registry's. Contexts hold functions made from their definitions, so the
@context definitions are stored instead and given to the public `add_context`, as pint's loader does.

A pint version that holds something this scheme cannot store fails to pickle and the registry is built as before;
tests/test_unit_state.py checks on the installed pint that the stored form is used and converts as pint's own.
"""
from __future__ import annotations

import io
import pickle

FORMAT = 1  #: bump when what is stored changes (it is part of the file name)
_MACHINERY = ("Unit", "Quantity", "Measurement", "Group", "System",  # classes bound to the registry
              "_adders", "_def_parser", "_diskcache", "formatter", "preprocessors")  # made by its constructor
_CONTEXTS = "_contexts"  # rebuilt from their definitions


def recording_registry(pint, *args, **kwargs):
    """pint.UnitRegistry(*args, **kwargs) that also keeps the @context definitions it loads (`_context_defs`)."""
    class Recording(pint.UnitRegistry):
        def add_context(self, context):
            self.__dict__.setdefault("_context_defs", []).append(context)
            super().add_context(context)

    return Recording(*args, **kwargs)


class _Pickler(pickle.Pickler):
    def __init__(self, file, reg):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._names = {id(reg): "registry"}
        self._names.update({id(getattr(reg, n)): n for n in _MACHINERY if n in vars(reg)})
        self._keep = [reg]  # the ids above stay valid while pickling

    def persistent_id(self, obj):
        return self._names.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, reg):
        super().__init__(file)
        self._reg = reg

    def persistent_load(self, name):
        return self._reg if name == "registry" else getattr(self._reg, name)


def dumps(reg) -> bytes:
    """The data of `reg`, a registry from `recording_registry`; raises if pint holds something it cannot store."""
    data = {k: v for k, v in vars(reg).items() if k not in _MACHINERY and k not in (_CONTEXTS, "_context_defs")}
    contexts = reg.__dict__.get("_context_defs", [])
    if any(not hasattr(c, "relations") for c in contexts):  # a Context object, not a ContextDefinition
        raise TypeError("only @context definitions can be stored")
    buf = io.BytesIO()
    _Pickler(buf, reg).dump((data, contexts))
    return buf.getvalue()


def loads(pint, blob: bytes):
    """A registry with the data that `dumps` stored, made by pint's constructor and its add_context."""
    reg = pint.UnitRegistry(None)
    data, contexts = _Unpickler(io.BytesIO(blob), reg).load()
    vars(reg).update(data)
    for definition in contexts:
        reg.add_context(definition)
    return reg


def round_trip(pint, built):
    """(the registry restored from `built`'s data, the data); raises if pint's registry holds what cannot be stored
    or if the restored registry lacks or adds an attribute (a pint whose constructor sets what this scheme does not
    know)."""
    blob = dumps(built)
    reg = loads(pint, blob)
    ignored = {"_context_defs", "_diskcache"}  # what the recording adds; the disk cache of parsed files
    if set(vars(reg)) - ignored != set(vars(built)) - ignored or set(reg._contexts) != set(built._contexts):
        raise ValueError("a restored unit registry differs from the one built")
    return reg, blob
