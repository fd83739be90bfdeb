"""The README's Python examples run as written (in order, sharing one namespace), so the README stays true."""
import re
from pathlib import Path


README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 4
    ns: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), ns)
    out = capsys.readouterr().out
    assert "Total Carbon:" in out
    assert ns["best"]["tp"] * ns["best"]["pp"] * ns["best"]["dp"] == 256
    assert 0 < ns["perf"].mfu < 1 and ns["sust"].carbon_footprint > 0
