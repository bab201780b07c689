"""The HTML report, opened in a real headless browser (Debian's chromium).

The browser is installed by ``make browser`` (which ``.ci/run`` calls before the tests);
without it the browser tests are skipped with that hint.  Every host name is made
unresolvable for the browser, so a chart that needed the network would not render.
The page records from its own script how many charts Vega rendered, how many sit
wholly in the first screen and which segment is picked; the tests read that, and the
rendered SVG, from the DOM the browser dumps.
"""

import re
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
    "tables",
]
N_CHARTS = 13  # with a forecaster; 9 without


def _find_browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path, ""
    return (
        None,
        "no chromium on this machine: `make browser` installs it (Debian's package)",
    )


def _browser(*args, url, size="1280,800"):
    browser, why = _find_browser()
    if browser is None:
        pytest.skip(why)
    cmd = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no network
        "--virtual-time-budget=20000",
        f"--window-size={size}",
        *args,
        url,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout


def _body(dom: str) -> dict:
    tag = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))


def _figures(dom: str) -> list[str]:
    """The rendered HTML of every chart figure."""
    parts = dom.split('<figure class="chart')[1:]
    return [p.split("</figure>")[0] for p in parts]


@pytest.fixture(scope="module")
def fitted():
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
    return df, fc


@pytest.fixture(scope="module")
def report(fitted, tmp_path_factory):
    _, fc = fitted
    path = tmp_path_factory.mktemp("report") / "report.html"
    fc.segmenter_.report(path, forecaster=fc, names={0: "first segment"})
    return path


def test_segments_are_named_from_their_features(fitted):
    _, fc = fitted
    names = fc.segmenter_.segment_names_
    assert len(names) == 3 and len(set(names.values())) == 3
    words = {"level", "season", "trend", "volatile", "steady", "intermittent"}
    assert all(
        n == "typical" or any(w in n for w in words) or "history" in n
        for n in names.values()
    )
    frame = fc.segmenter_.mapping_.to_frame()
    assert list(frame.columns[:3]) == ["unique_id", "segment", "segment_name"]
    assert (frame["segment_name"] == frame["segment"].map(names)).all()


def test_report_is_self_contained(report):
    page = report.read_text()
    for s in SECTIONS:
        assert f'id="{s}"' in page
    assert page.count('data-chart="') == N_CHARTS
    # nothing is loaded from elsewhere: no remote src/href, no imports, no CSS urls
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "@import" not in page and "url(http" not in page
    assert page.count("download CSV") >= 8 and "<details" in page
    assert "first segment" in page  # names= applies to this page
    assert report.stat().st_size < 3_000_000


def test_report_renders_offline_with_the_answer_first(report):
    url = report.resolve().as_uri()
    dom = _browser("--dump-dom", url=url)
    body = _body(dom)
    assert body["charts-total"] == str(N_CHARTS)
    assert body["charts-rendered"] == str(N_CHARTS), body.get("chart-errors")
    assert int(body["charts-first-screen"]) >= 3
    assert 'id="verdict"' in dom and "one global model" in dom
    for s in SECTIONS:
        assert f'id="{s}"' in dom
    figures = _figures(dom)
    assert len(figures) == N_CHARTS
    for i, fig in enumerate(figures):
        titles = re.findall(r'role-title-text"[^>]*><text[^>]*>([^<]+)<', fig)
        assert titles and titles[0].strip(), f"chart {i + 1} has no title"
        axes = re.findall(r'role-axis-title"[^>]*><text[^>]*>([^<]+)<', fig)
        axes = {a.strip() for a in axes if a.strip()}
        assert len(axes) >= 2, f"chart {i + 1} ({titles[0]}): axis titles {axes}"


def test_renaming_segments_changes_the_page_and_the_forecasts(fitted, tmp_path):
    df, fc = fitted
    before = fc.segment_names_
    with pytest.raises(sg.DataValidationError, match="segment 9 does not exist"):
        fc.rename_segments({9: "x"})
    with pytest.raises(sg.DataValidationError, match="non-empty string"):
        fc.rename_segments({0: " "})
    assert fc.segment_names_ == before  # a refused rename changes nothing
    fc.rename_segments({1: "renamed by the user"})
    assert fc.segment_names_[1] == "renamed by the user"
    for frame in (fc.forecasts_, fc.predict(), fc.predict(df)):
        assert frame.columns[frame.columns.get_loc("segment") + 1] == "segment_name"
        named = frame.loc[frame["segment"] == 1, "segment_name"]
        assert len(named) and (named == "renamed by the user").all()
    seg = fc.segmenter_  # the forecasts use its segments: renamed there too
    assert seg.segment_names_[1] == "renamed by the user"
    assert "renamed by the user" in set(seg.mapping_.to_frame()["segment_name"])
    assert "renamed by the user" in set(seg.predict(df).to_frame()["segment_name"])
    path = seg.report(tmp_path / "r.html", forecaster=fc)
    assert "renamed by the user" in path.read_text()
    target = "renamed by the user"
    dom = _browser(
        "--dump-dom",
        url=path.resolve().as_uri() + "#segment=" + target.replace(" ", "%20"),
    )
    body = _body(dom)
    assert body["picked"] == target  # the link picked the segment
    # the segment sizes: only the picked segment is drawn
    drawn = re.findall(r"<text[^>]*>([^<]+)<", _figures(dom)[1])
    others = [n for s, n in fc.segment_names_.items() if s != 1]
    assert target in drawn and not any(n in drawn for n in others)


def test_static_report_draws_images_and_no_script(fitted, tmp_path):
    _, fc = fitted
    path = fc.segmenter_.report(tmp_path / "s.html", forecaster=fc, static=True)
    page = path.read_text()
    assert page.count('src="data:image/png;base64,') == N_CHARTS
    assert 'type="module"' not in page and "data-chart=" not in page
    dom = _browser("--dump-dom", url=path.resolve().as_uri())
    body = _body(dom)
    assert body["images-loaded"] == body["images-total"] == str(N_CHARTS)
    shot = tmp_path / "shot.png"
    _browser(f"--screenshot={shot}", url=path.resolve().as_uri(), size="1280,2400")
    from matplotlib.image import imread

    img = imread(shot)
    assert img.shape[0] >= 2000 and float(np.std(img[..., :3])) > 0.05


def test_report_of_a_loaded_model_on_other_data_and_dollar_names(tmp_path):
    df, _ = planted_frame(n_per=10, length=40, seed=9)
    seg = sg.Segmenter(n_clusters=[3], blueprints=["dtw_kmeans"], progress=False).fit(
        df
    )
    seg.save(tmp_path / "m.segmenter")
    back = sg.load(tmp_path / "m.segmenter")
    assert back.segment_names_ == seg.segment_names_  # names are saved with the model
    with pytest.raises(sg.DataValidationError, match="pass data"):
        back.report(tmp_path / "r.html")
    part = df[df["unique_id"].isin(df["unique_id"].unique()[::2])]  # 15 of 30 series
    path = back.report(
        tmp_path / "r.html", data=part, names={0: "revenue in $ and margin_$", 1: "$x$"}
    )
    page = path.read_text()
    assert page.count('data-chart="') == 9 and "margin_$" in page
    assert "15 series" in page or ">15<" in page
