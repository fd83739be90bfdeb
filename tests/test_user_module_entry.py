"""`python -m mlsysim` alone lists the commands, as `mlsysim` alone does; it printed the 150-line validation report
(`python -m mlsysim validate` still does, with or without the CLI extras)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("typer")

SRC = str(Path(__file__).resolve().parents[1] / "src")


def run(*args):
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), COLUMNS="80")
    return subprocess.run([sys.executable, "-m", "mlsysim", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_no_command_is_the_command_list():
    r = run()
    assert r.returncode == 2 and "Usage: python -m mlsysim" in r.stdout + r.stderr
    assert "Commands" in r.stdout + r.stderr and "Training throughput" not in r.stdout


def test_validate_and_commands_still_run():
    assert "Training throughput: predicted vs published" in run("validate").stdout
    z = run("zoo", "H100", "--json")
    assert z.returncode == 0 and '"bf16_tflops": 989.5' in z.stdout
