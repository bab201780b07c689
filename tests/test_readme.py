"""The Python snippets of the README and of every docs page run (so they stay true).

They run in order, README first then the pages in the order of ``mkdocs.yml``, in one
namespace: a page may use what an earlier one built (``seg``, ``fc``), as a reader who
follows the README's quick start would have them."""

import re
from pathlib import Path

import segmenter as sg
from segmenter.datasets import load_tourism

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"


def blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


def doc_pages() -> list[Path]:
    """The pages of the docs in their nav order (mkdocs.yml), then any not in the nav."""
    nav = re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    pages = [ROOT / "docs" / p for p in nav]
    return pages + sorted(set((ROOT / "docs").glob("*.md")) - set(pages))


def test_readme_and_docs_python_blocks_run(tmp_path, monkeypatch):
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
    readme = blocks(README)
    assert len(readme) >= 3
    for block in readme:
        exec(compile(block, str(README), "exec"), ns)
    # the README's quick start: the forecaster fitted a clone of seg, seg is untouched
    assert len(ns["fc"].segmenter_.mapping_) == 304
    assert not hasattr(ns["seg"], "mapping_")
    assert (tmp_path / "model.segmenter").exists()
    ran = 0
    for page in doc_pages():
        for block in blocks(page):
            exec(compile(block, str(page), "exec"), ns)
            ran += 1
    assert ran >= 5
    assert (tmp_path / "out" / "report.html").exists()


def test_every_docs_page_is_in_the_nav():
    nav = re.findall(r":\s*(\S+\.md)\s*$", (ROOT / "mkdocs.yml").read_text(), re.M)
    assert sorted(nav) == sorted(p.name for p in (ROOT / "docs").glob("*.md"))
