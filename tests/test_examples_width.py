"""What the examples print fits an 80-column terminal (a student runs them in one)."""
from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("name", ["tutorial", "module1", "module2", "module4", "serving_traffic",
                                  "capstone_serving"])
def test_example_output_fits_80_columns(name, capsys):
    runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    out = capsys.readouterr().out
    wide = [line for line in out.splitlines() if len(line) > 80]
    assert out.strip() and not wide, wide
