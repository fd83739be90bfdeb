"""The CLI's pydantic-free option conversion (cli/_fastparams.py) returns what typer's own pydantic adapter returns
for the same annotation and value, and leaves every other value to typer (issue 17)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

typer = pytest.importorskip("typer")
from typer.models import OptionInfo  # noqa: E402

from mlsysim.cli._fastparams import fast_value  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CASES = [(str, "H100"), (str, "päth with spaces/x.yaml"), (str, ""), (str, "15e12"),
         (int, "8"), (int, "-3"), (int, "+12"), (int, "007"), (int, 5),
         (float, "15e12"), (float, "1.5"), (float, ".5"), (float, "-2E-3"), (float, "3"), (float, "1."),
         (float, 0.25), (List[str], ("layout.tp_size=4", "a.b=2")), (List[str], ["x"])]


@pytest.mark.parametrize("annotation,value", CASES)
def test_fast_conversion_equals_typers_adapter(annotation, value):
    from typer._adapters import build_adapter

    ok, fast = fast_value(annotation, OptionInfo(), value)
    assert ok, "these values should convert without pydantic"
    slow = build_adapter(annotation, OptionInfo()).validate_python(value)
    assert fast == slow and type(fast) is type(slow)


# typer's path keeps these: malformed numbers (its error message), bounds, custom parsers, bools, other types
@pytest.mark.parametrize("annotation,value,info", [
    (int, "8.0", OptionInfo()), (int, "1_000", OptionInfo()), (int, " 8", OptionInfo()), (int, "eight", OptionInfo()),
    (int, 5.0, OptionInfo()), (float, "inf", OptionInfo()), (float, "nan", OptionInfo()), (float, 3, OptionInfo()),
    (float, "1,5", OptionInfo()), (int, "8", OptionInfo(min=1)), (int, "8", OptionInfo(clamp=True, max=4)),
    (str, "x", OptionInfo(parser=str.upper)), (bool, "true", OptionInfo()), (Path, "a.yaml", OptionInfo()),
    (str, b"bytes", OptionInfo()), (List[int], ("1",), OptionInfo())])
def test_other_values_are_left_to_typer(annotation, value, info):
    assert fast_value(annotation, info, value) == (False, None)


def test_a_bad_number_keeps_typers_message():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bad = subprocess.run([sys.executable, "-m", "mlsysim", "train", "examples/llama3_70b_research256.yaml",
                          "--tp", "eight"], capture_output=True, text=True, env=env, cwd=str(ROOT))
    assert bad.returncode == 2 and "Invalid value for '--tp'" in bad.stderr
