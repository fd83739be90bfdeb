"""Plots (matplotlib, imported only when drawing) and a self-contained HTML report of a scenario.

    >>> from mlsysim.scenario import load_scenario
    >>> from mlsysim.report import plots
    >>> out = load_scenario("examples/llama3_70b_research256.yaml").evaluate()     # doctest: +SKIP
    >>> plots.breakdown(out.performance).savefig("breakdown.png")                  # doctest: +SKIP
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path, data):
    """Write a file completely or not at all: a temp file in the same folder, then an atomic rename."""
    from ..errors import ConfigError
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ConfigError(f"{path}: the folder {parent} does not exist")
    binary = isinstance(data, (bytes, bytearray))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
