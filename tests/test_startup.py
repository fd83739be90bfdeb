"""Start-up stays light: pint is imported without dask, the unit registry comes from pint's disk cache with the
same units as a parsed one, registry data from a cache of the parsed TOML, and `mlsysim train` never needs pint
(issue 17)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "llama3_70b_research256.yaml"

# 1 TB/s = 1e12 bytes/s x 8 bits/byte = 8e12 bit/s; a byte rate is not a FLOP rate (information is a dimension).
PROBE = ("import sys\n"
         "from mlsysim.units import Q, ureg\n"
         "print(Q(1, 'TB/s').to('bit/s').magnitude)\n"
         "print(dict(Q(1, 'byte').dimensionality))\n"
         "try:\n"
         "    Q(1, 'TB/s').to('FLOP/s'); print('converted')\n"
         "except Exception as exc:\n"
         "    print(type(exc).__name__)\n"
         "print('dask' in sys.modules, 'pint' in sys.modules)\n")


def run(code, tmp_path, cache="1"):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), MLSYSIM_CACHE=cache,
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                          cwd=str(ROOT)).stdout.split("\n")


def test_cached_registry_has_the_parsed_units_and_skips_dask(tmp_path):
    parsed = run(PROBE, tmp_path, cache="0")
    first = run(PROBE, tmp_path)  # writes the definitions and pint's cache
    assert list(tmp_path.glob("mlsysim/pint-*/units-*.txt")), "no definitions file in the cache folder"
    second = run(PROBE, tmp_path)  # reads them back
    for out in (parsed, first, second):
        assert float(out[0]) == 8e12
        assert out[1] == "{'[information]': 1}"
        assert out[2] == "DimensionalityError"
        assert out[3] == "False True"  # pint loaded, dask not


def train_in_child(args, after=""):
    """`mlsysim train GOLDEN --json *args` in a fresh interpreter, then the code `after` (which prints to stderr)."""
    code = ("import sys\n"
            "from mlsysim.cli.main import app\n"
            f"sys.argv = ['mlsysim', 'train', {str(GOLDEN)!r}, '--json', *{list(args)!r}]\n"
            "try:\n"
            "    app()\n"
            "except SystemExit:\n"
            "    pass\n" + after)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(ROOT))
    assert '"status": "ok"' in p.stdout
    return p.stderr.strip().splitlines()


def test_train_imports_neither_pint_nor_numpy_nor_pydantic():
    """pint (units only at the API), numpy (physics/_np.py loads it on first use) and pydantic (cli/_fastparams.py
    converts these option values) stay out of `mlsysim train`."""
    err = train_in_child(["--tp", "8", "--tokens", "15e12", "--set", "layout.pp_size=1"],
                         "print(*(m in sys.modules for m in ('pint', 'numpy', 'pydantic')), file=sys.stderr)\n")
    assert err[-1] == "False False False"


def test_registry_data_cache_equals_the_toml(tmp_path):
    code = ("import tomllib, pathlib\n"
            "from mlsysim import registry\n"
            "f = pathlib.Path(registry.__file__).parent / 'data' / 'hardware.toml'\n"
            "print(registry.load_data('hardware.toml') == tomllib.loads(f.read_text()))\n"
            "print(registry.load_data('models.toml')['Language']['Llama3_70B']['n_layers'])\n")
    first = run(code, tmp_path)  # parses and writes the cache
    assert list(tmp_path.glob("mlsysim/data/py*/hardware.toml.*.marshal"))
    second = run(code, tmp_path)  # reads it
    for out in (first, second):
        assert out[0] == "True"
        assert out[1] == "80"  # Llama 3 70B has 80 layers (Llama 3 paper, Table 3)


def test_arrays_work_after_a_late_numpy_import():
    """physics/_np.py stands in for numpy until it is imported; afterwards the same functions take arrays."""
    err = train_in_child([], (
        "from mlsysim.physics import _np\n"
        "print('numpy' in sys.modules, isinstance([1.0], _np._ND), _np.vmax(2.0, 3.0), _np.vceil(2.5), "
        "file=sys.stderr)\n"
        "import numpy\n"
        # max(1, 3) = 3 and max(4, 3) = 4 elementwise; ceil(2.5) = 3, ceil(-0.5) = -0 (numpy keeps the sign)
        "print(_np.vmax(numpy.array([1.0, 4.0]), 3.0).tolist(), _np.vceil(numpy.array([2.5, -0.5])).tolist(),"
        " _np.np is numpy, _np._ND is numpy.ndarray, file=sys.stderr)\n"))
    assert err[-2:] == ["False False 3.0 3.0", "[3.0, 4.0] [3.0, -0.0] True True"]
