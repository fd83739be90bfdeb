"""print(sweep) in an 80-column terminal: it ran to 189 columns (the datacenter's full name, 16 columns); now the
sites show by registry key and the least telling columns step aside, named below the table."""
from __future__ import annotations

from mlsysim import Infrastructure, Models, Systems, explore


def test_a_sweep_prints_within_the_terminal(monkeypatch):
    res = explore.sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[4, 8], pp=[1, 2],
                        datacenters=[Infrastructure.Datacenters.GCP_Iowa, Infrastructure.Datacenters.Quebec_Hydro])
    monkeypatch.setenv("COLUMNS", "80")
    text = repr(res)
    assert all(len(line) <= 80 for line in text.splitlines()), text
    lines = text.splitlines()
    header = next(x for x in lines if x.split()[:2] == ["datacenter", "tp"])
    # the answers stay; the sites are named by key; what stepped aside is said
    assert {"tp", "pp", "dp", "time_to_train_days", "mfu"} <= set(header.split())
    assert any(x.split()[0] == "Quebec_Hydro" for x in lines) and "Montreal" not in text
    assert "not shown:" in text and "interleave" in text.split("not shown:")[1]
    # the first shown row is the first row of the table: tp 4 x pp 1 x dp = 256 / 4 = 64
    first = lines[lines.index(header) + 1].split()
    assert first[1:4] == ["4", "1", "64"]
    monkeypatch.setenv("COLUMNS", "250")
    wide = repr(res)
    assert "not shown:" not in wide and "interleave" in wide
