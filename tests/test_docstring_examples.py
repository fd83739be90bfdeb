"""Every `>>>` example in the package's docstrings runs and prints what it says (none ran in the suite before, so a
changed number or a renamed argument could leave a docstring wrong unseen)."""
from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "mlsysim"
MODULES = sorted("mlsysim." + ".".join(p.relative_to(SRC).with_suffix("").parts).replace(".__init__", "")
                 for p in SRC.rglob("*.py") if ">>> " in p.read_text() and "web" not in p.parts)


def test_the_examples_are_found():
    # 29 modules carried examples when this test was written; a refactor that hides them should be noticed
    assert len(MODULES) >= 25 and "mlsysim.solvers.distributed" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.attempted > 0 and res.failed == 0, f"{name}: {res.failed} of {res.attempted} examples fail"
