"""Sweep results export with their units in the column names, and read back identical."""
import pytest

from mlsysim import Models, Systems, explore


def test_csv_and_parquet_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    res = explore.sweep(Models.Language.Llama3_70B, Systems.Clusters.Research_256, tp=[4, 8], pp=[1, 2])
    df = res.to_pandas()
    assert {"step_s", "time_to_train_days", "memory_gb", "mfu"} <= set(df.columns)
    res.to_csv(tmp_path / "s.csv")
    res.to_parquet(tmp_path / "s.parquet")
    back = pd.read_parquet(tmp_path / "s.parquet")
    assert len(back) == len(df)
    assert back["step_s"].tolist() == pytest.approx(df["step_s"].tolist())
    csv = pd.read_csv(tmp_path / "s.csv")
    assert csv["time_to_train_days"].tolist() == pytest.approx(df["time_to_train_days"].tolist())
