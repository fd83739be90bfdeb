"""Dataclass methods from the code cache (mlsysim._codecache) are the code dataclasses compiles itself and behave
the same; a second process compiles none of pint's; a damaged file is compiled again (issue 17)."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsysim import _codecache

ROOT = Path(__file__).resolve().parents[1]


def make(decorator):
    """The same class, made by `decorator`: frozen, ordered, with defaults and a default factory."""
    @decorator(frozen=True, order=True)
    class Point:
        x: float
        y: float = 2.0
        tags: list = dataclasses.field(default_factory=list, compare=False)
    return Point


def methods(cls):
    return {n: getattr(cls, n).__code__ for n in ("__init__", "__repr__", "__eq__", "__lt__", "__hash__",
                                                   "__setattr__", "__delattr__")}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    monkeypatch.setattr(_codecache, "_LOADED", {})
    return tmp_path


def test_cached_methods_are_the_compiled_ones_and_behave_alike(cache, monkeypatch):
    plain = make(dataclasses.dataclass)
    cold = make(_codecache.dataclass)  # compiles and stores
    assert list(cache.glob(f"mlsysim/code/py*/{__name__}-*.marshal"))
    monkeypatch.setattr(_codecache, "_LOADED", {})  # as a new process: read from the file
    compiled = []
    monkeypatch.setattr(_codecache, "compile", lambda *a, **k: compiled.append(a) or compile(*a, **k),
                        raising=False)
    warm = make(_codecache.dataclass)
    assert compiled == []  # every method came from the file
    assert methods(plain) == methods(cold) == methods(warm)  # code objects compare their bytecode, names, consts
    assert "exec" not in vars(dataclasses)  # the block is over: dataclasses is as it was
    p = warm(1.0)
    assert repr(p) == "make.<locals>.Point(x=1.0, y=2.0, tags=[])" == repr(plain(1.0)) and p == warm(1.0, tags=[3]) and p < warm(1.5)
    assert hash(p) == hash((1.0, 2.0))  # frozen + eq: the hash of the compared fields
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 3.0


def test_a_damaged_file_is_compiled_again(cache, monkeypatch):
    make(_codecache.dataclass)
    (path,) = cache.glob("mlsysim/code/py*/*.marshal")
    path.write_bytes(path.read_bytes()[:-10])  # truncated: the checksum fails
    monkeypatch.setattr(_codecache, "_LOADED", {})
    assert methods(make(_codecache.dataclass)) == methods(make(dataclasses.dataclass))
    assert _codecache._load(path)  # stored again, whole


def test_off_without_a_cache_and_someone_elses_exec_is_left_alone(cache, monkeypatch):
    monkeypatch.setenv("MLSYSIM_CACHE", "0")
    assert methods(make(_codecache.dataclass)) == methods(make(dataclasses.dataclass))
    assert not list(cache.glob("mlsysim/code/*/*"))
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    monkeypatch.setattr(dataclasses, "exec", exec, raising=False)  # another tool's, active
    make(_codecache.dataclass)
    assert vars(dataclasses)["exec"] is exec and not list(cache.glob("mlsysim/code/*/*"))


# pint imported as mlsysim does; prints whether dataclasses compiled anything, and a fingerprint of the code of
# the methods of pint's and mlsysim's dataclasses
PROBE = """
import builtins, dataclasses, sys, zlib
from mlsysim import _codecache
compiled = []
_codecache.compile = lambda *a, **k: compiled.append(a) or builtins.compile(*a, **k)
from mlsysim.units import _import_pint
pint = _import_pint()
from mlsysim.systems.system import Fleet
from pint.facets.plain.definitions import UnitDefinition
from flexparser.flexparser import ParsedProject
codes = [getattr(c, n).__code__ for c in (UnitDefinition, Fleet) for n in ("__init__", "__repr__", "__eq__")]
print(len(compiled) > 0, zlib.crc32(repr([(c.co_code, c.co_consts, c.co_names, c.co_varnames) for c in codes]).encode()))
"""


def test_a_second_process_compiles_none_of_pints_dataclass_methods(tmp_path):
    def run(cache):
        env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), MLSYSIM_CACHE=cache,
                   PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, env=env,
                              cwd=str(ROOT)).stdout.split()
    off, first, second = run("0"), run("1"), run("1")
    assert off[0] == "True" and first[0] == "True" and second[0] == "False"
    assert off[1] == first[1] == second[1]  # the same code with or without the cache
