"""The HTML report, opened in a real headless browser (Debian's chromium).

The browser is installed by ``make browser`` (which ``.ci/run`` calls before the tests);
without it the browser test is skipped with that hint.  The page records, from its own load
handler, how many of its images the browser decoded; the test reads that from the DOM
the browser dumps, and checks a screenshot is not blank.
"""

import shutil
import subprocess

import numpy as np
import pytest
from conftest import planted_frame

import segmenter as sg

SECTIONS = [
    "summary",
    "leaderboard",
    "segments",
    "impact",
    "associations",
    "geometry",
    "forecasting",
]


def _find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path, ""
    return (
        None,
        "no chromium on this machine: `make browser` installs it (Debian's package)",
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    df, _ = planted_frame(n_per=10, length=40, seed=8)
    seg = sg.Segmenter(
        n_clusters=[3], blueprints=["dtw_kmeans", "features_kmeans"], progress=False
    ).fit(df)
    fc = sg.SegmentedForecaster(
        horizon=4,
        n_origins=2,
        candidates="quick",
        n_jobs=1,
        progress=False,
        season_length=1,
    ).fit(df, segmenter=seg)
    path = tmp_path_factory.mktemp("report") / "report.html"
    fc.segmenter_.report(path, forecaster=fc, names={0: "first segment"})
    return path


def test_report_is_self_contained(report):
    page = report.read_text()
    for s in SECTIONS:
        assert f'id="{s}"' in page
    assert page.count('src="data:image/png;base64,') == 8  # + the selection chart
    assert "http://" not in page and "https://" not in page  # nothing from the network
    assert "first segment" in page


@pytest.mark.slow
def test_report_renders_in_headless_chromium(report, tmp_path):
    browser, why = _find_browser()
    if browser is None:
        pytest.skip(why)
    common = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--virtual-time-budget=10000",
    ]
    url = report.resolve().as_uri()
    dom = subprocess.run(
        common + ["--dump-dom", url], capture_output=True, text=True, timeout=180
    ).stdout
    assert 'data-images-total="8"' in dom and 'data-images-loaded="8"' in dom
    for s in SECTIONS:
        assert f'id="{s}"' in dom
    assert "Segmentation report" in dom and "Feature impact" in dom
    shot = tmp_path / "shot.png"
    subprocess.run(
        common + ["--window-size=1200,2400", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=180,
    )
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] >= 2000 and img.shape[1] >= 1100
    assert float(np.std(img[..., :3])) > 0.05  # not a blank page


def test_report_of_a_loaded_model_on_other_data_and_dollar_names(tmp_path):
    df, _ = planted_frame(n_per=10, length=40, seed=9)
    seg = sg.Segmenter(n_clusters=[3], blueprints=["dtw_kmeans"], progress=False).fit(
        df
    )
    seg.save(tmp_path / "m.segmenter")
    back = sg.load(tmp_path / "m.segmenter")
    with pytest.raises(sg.DataValidationError, match="pass data"):
        back.report(tmp_path / "r.html")
    part = df[df["unique_id"].isin(df["unique_id"].unique()[::2])]  # 15 of 30 series
    path = back.report(
        tmp_path / "r.html", data=part, names={0: "revenue in $ and margin_$", 1: "$x$"}
    )
    page = path.read_text()
    assert page.count('src="data:image/png;base64,') == 6 and "margin_$" in page
    assert "15 series" in page
