"""What a sweep's text and notebook views show at 80 columns: why a row has no numbers (the reason, cut to fit,
never hidden behind NaN), the column the rows are sorted by, and no empty reason column when every row runs."""
from __future__ import annotations

import numpy as np
import pytest

from mlsysim import Models, Systems, explore

M, C = Models.Language.Llama3_70B, Systems.Clusters.Research_256


def test_rows_without_numbers_show_their_reason_at_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    # Research_256 has 256 accelerators; tp=3 (pp=1, cp=1) does not divide 256 = 2**8, so dp = 256 // 3 = 85 and the
    # tp=3 rows (microbatch 1 and 2) have no time or MFU; their reason was dropped from the view, leaving "nan nan"
    res = explore.sweep(M, C, tp=[3, 8], pp=[1])
    text = repr(res)
    rows = [ln for ln in text.splitlines() if ln.split()[:3] == ["3", "1", "85"]]
    assert len(rows) == 2 and all("does not divide" in ln for ln in rows)
    assert max(map(len, text.splitlines())) <= 80


def test_a_sorted_view_shows_its_key_and_no_empty_reason(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    res = explore.sweep(M, C, tp=[4, 8], pp=[1, 2, 4], datacenters=["GCP_Iowa", "Quebec_Hydro"]).feasible()
    by_cost = res.sort("cost_usd")
    header = repr(by_cost).splitlines()[2]
    assert "cost_usd" in header.split() and "reason" not in header.split()
    cost = by_cost.column("cost_usd")
    assert np.all(np.diff(cost) >= 0)  # ascending, as asked
    # the same layout costs less in Quebec (hydro power at a lower price than Iowa's) at an equal time: the first
    # row's figure is the cheapest one printed with thousands separators
    assert f"{cost[0]:,.0f}" in repr(by_cost).splitlines()[3]
    # a key the default view does not list (energy) joins it, in the notebook view too
    html = res.sort("energy_mwh")._repr_html_()
    assert "<th>energy_mwh</th>" in html and "<th>reason</th>" not in html


def test_a_table_with_infeasible_rows_keeps_the_reason_column():
    res = explore.sweep(M, C, tp=[1, 8], pp=[1], microbatch=[1])
    # tp=1 pp=1 holds all of Llama 3 70B on each GPU: its bf16 weights alone are 2 B x 70.6e9 = 141 GB > 85.9 GB
    assert "reason" in res._shown() and "out of memory" in res._repr_html_()
    assert int(np.count_nonzero(res.column("feasible"))) == 1  # tp=8: 70.6e9 x 2 B / 8 = 17.6 GB of weights


def test_optimize_and_serving_sweep_views_fit_80_columns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    o = explore.optimize(M, "cost", fleets=C, tp=[4, 8], pp=[1, 2, 4], datacenters=["GCP_Iowa", "Quebec_Hydro"])
    lines = repr(o).splitlines()
    assert max(map(len, lines)) <= 80  # were 113 and 183 characters
    # the table follows the two wrapped lines directly: its own title is dropped whole (a wrapped remainder,
    # "  DGX H100 on InfiniBand NDR", was left as a stray line above the header)
    header = next(i for i, ln in enumerate(lines) if ln.split()[:2] == ["datacenter", "tp"])
    assert all(ln.startswith(("OptimizeResult", "best:", "  ")) for ln in lines[:header])
    assert not any(ln.strip() == "DGX H100 on InfiniBand NDR" for ln in lines)
    # cheapest first: the hydro site's $5.64M run (TP4 PP4) heads the table, as the best line says
    assert lines[header + 1].split()[:3] == ["Quebec_Hydro", "4", "4"] and "Hydro-Quebec" in repr(o)
    s = explore.serving_sweep("Llama3_70B", hardware=["H100"], precisions=["fp8"], tp_sizes=[2, 4, 8])
    assert max(map(len, repr(s).splitlines())) <= 80 and repr(s).startswith(f"ServingSweepResult({len(s)} rows")
