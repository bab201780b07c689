"""Examples and docstrings run in the tests, so they stay true to the code."""

import doctest
import importlib
import pkgutil
import runpy
from pathlib import Path

import pytest

import segmenter

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMENTER_DEMO_OUT", str(tmp_path))
    with pytest.raises(SystemExit) as exc:
        runpy.run_path(str(path), run_name="__main__")
    assert exc.value.code == 0


MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(segmenter.__path__, "segmenter.")
    if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstrings(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(
        mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert res.failed == 0
