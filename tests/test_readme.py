"""The README's Python snippets run, in order, in one namespace (so they stay true)."""

import re
from pathlib import Path

import segmenter as sg
from segmenter.datasets import load_tourism

README = Path(__file__).parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    df = load_tourism()
    ids = ["Region", "State", "Purpose"]
    new_df = df[df["Region"] == "Sydney"]
    panel = sg.read_panel(df, id_col=ids, time_col="Quarter", target_col="Trips")
    ns = {
        "df": df,
        "new_df": new_df,
        "panel": panel,
        "new_panel": panel.subset(range(10)),
        "a": [1.0, 2.0, 3.0],
        "b": [1.0, 3.0],
        "X": [[1.0, 2.0, 3.0], [2.0, 2.5], [0.0, 1.0, 0.5, 2.0]],
        "Y": [[1.0, 2.0]],
    }
    for block in blocks:
        exec(compile(block, str(README), "exec"), ns)
    assert len(ns["seg"].mapping_) == 304
    assert (tmp_path / "model.segmenter").exists()
