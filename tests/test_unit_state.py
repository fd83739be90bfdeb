"""The unit registry restored from its stored data (mlsysim._unit_state) converts as pint's parsed registry does,
is used by a second process, and a damaged file is stored again (issue 17)."""
from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from mlsysim import _unit_state, units

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pint():
    return units._import_pint()


def parsed_registry(pint, tmp_path):
    """pint's own registry from the same definitions, parsed."""
    path = tmp_path / "units.txt"
    path.write_text(units._definitions())
    return pint.UnitRegistry(str(path))


def outcome(reg, name):
    try:
        factor, root = reg.get_root_units(name)
        return factor, str(root), dict(reg.get_dimensionality(name))
    except Exception as exc:
        return type(exc).__name__


def stored_registry(pint, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    units._cached_registry(pint)  # builds and stores
    assert len(list(tmp_path.glob("mlsysim/pint-*/registry-*.pickle"))) == 1
    reg = units._cached_registry(pint)  # restores
    assert type(reg) is pint.UnitRegistry and "_context_defs" not in vars(reg)
    return reg


def test_the_installed_pint_registry_can_be_stored(pint, tmp_path):
    """Fails (loudly, here) when a pint version holds what the scheme cannot store: start-up would then build the
    registry in every process again."""
    path = tmp_path / "units.txt"
    path.write_text(units._definitions())
    reg, blob = _unit_state.round_trip(pint, _unit_state.recording_registry(pint, str(path)))
    assert blob and set(reg._systems) == {"Planck", "SI", "US", "atomic", "cgs", "imperial", "mks"}


def test_every_unit_converts_as_in_the_parsed_registry(pint, tmp_path, monkeypatch):
    stored, parsed = stored_registry(pint, tmp_path, monkeypatch), parsed_registry(pint, tmp_path)
    assert set(stored._units) == set(parsed._units) and set(stored._prefixes) == set(parsed._prefixes)
    for name in parsed._units:  # the same root units, dimensionality, or error (a few internal names, e.g. R_)
        assert outcome(stored, name) == outcome(parsed, name), name
    for system in parsed._systems:  # base units in the 7 unit systems
        for name in ("inch", "kWh", "dyne", "foot_pound", "gauss", "hartree", "TB/s"):
            (f1, u1), (f2, u2) = (r.get_base_units(name, system=system) for r in (stored, parsed))
            assert (f1, str(u1)) == (f2, str(u2)), (system, name)
    assert set(stored._contexts) == set(parsed._contexts) and set(stored._groups) == set(parsed._groups)
    assert stored.default_system == parsed.default_system == "mks"


def test_hand_conversions_and_contexts(pint, tmp_path, monkeypatch):
    reg = stored_registry(pint, tmp_path, monkeypatch)
    Q = reg.Quantity
    assert Q(1, "kWh").to("J").magnitude == pytest.approx(3.6e6)  # 1000 W x 3600 s
    assert Q(1, "tonne").to("kg").magnitude == pytest.approx(1000)
    assert Q(1, "day").to("s").magnitude == pytest.approx(86400)  # 24 x 3600
    assert Q(1, "TB/s").to_base_units().magnitude == pytest.approx(8e12)  # 1e12 bytes x 8 bits
    assert str(Q(1, "TB/s").to_base_units().units) == "bit / second"
    assert Q(1, "inch").to("m").magnitude == pytest.approx(0.0254)  # exact by definition (1959)
    assert Q(25, "degC").to("K").magnitude == pytest.approx(298.15)
    assert Q(989, "TFLOP/s").to("FLOP/s").magnitude == pytest.approx(989e12)
    with pytest.raises(pint.DimensionalityError):
        Q(1, "TB/s").to("FLOP/s")
    with reg.context("sp"):  # c / 500 nm = 299,792,458 m/s / 5e-7 m = 599.584916 THz
        assert Q(500, "nm").to("THz").magnitude == pytest.approx(599.584916)
    reg.default_system = "imperial"  # to_base_units follows the default system
    assert Q(1, "m").to_base_units().magnitude == pytest.approx(1 / 0.9144)  # yards (1 yd = 0.9144 m)


def child(code, tmp_path):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), MLSYSIM_CACHE="1",
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                          cwd=str(ROOT)).stdout.split()


# prints whether the registry was built in this process, then 1 kWh in J (1000 W x 3600 s = 3.6e6)
PROBE = ("from mlsysim import _unit_state\n"
         "build = _unit_state.recording_registry\n"
         "def recording(*a, **k):\n"
         "    print('built')\n"
         "    return build(*a, **k)\n"
         "_unit_state.recording_registry = recording\n"
         "from mlsysim.units import Q\n"
         "print(Q(1, 'kWh').to('J').magnitude)\n")


def test_a_second_process_restores_and_a_damaged_file_is_stored_again(tmp_path):
    assert child(PROBE, tmp_path) == ["built", "3600000.0"]
    assert child(PROBE, tmp_path) == ["3600000.0"]
    (state,) = tmp_path.glob("mlsysim/pint-*/registry-*.pickle")
    good = state.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte: the checksum no longer matches
    state.write_bytes(bytes(damaged))
    assert child(PROBE, tmp_path) == ["built", "3600000.0"]
    assert zlib.crc32(state.read_bytes()[4:]) == int.from_bytes(state.read_bytes()[:4], "little")
    state.write_bytes(b"")  # truncated
    assert child(PROBE, tmp_path) == ["built", "3600000.0"]
    assert child(PROBE, tmp_path) == ["3600000.0"]


def test_a_cache_folder_that_refuses_writes_still_gives_the_registry(pint, tmp_path, monkeypatch):
    from mlsysim import _cache

    def refuse(path, data):
        raise PermissionError(f"read-only: {path}")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MLSYSIM_CACHE", "1")
    monkeypatch.setattr(_cache, "write_atomic", refuse)
    reg = units._cached_registry(pint)  # the definitions file cannot be written: None, the caller parses
    assert reg is None and not list(tmp_path.glob("mlsysim/pint-*/*.txt"))
    monkeypatch.undo()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    units._cached_registry(pint)  # writes the definitions and the stored registry
    (state,) = tmp_path.glob("mlsysim/pint-*/registry-*.pickle")
    state.unlink()
    monkeypatch.setattr(_cache, "write_atomic", refuse)
    reg = units._cached_registry(pint)  # built, cannot be stored: used all the same
    assert type(reg) is pint.UnitRegistry and reg.Quantity(1, "kWh").to("J").magnitude == pytest.approx(3.6e6)
    assert not list(tmp_path.glob("mlsysim/pint-*/registry-*.pickle"))
