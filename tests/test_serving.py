"""Serving, batch scoring, monitoring and the MLflow flavor.

The service is tested as users run it: ``segmenter serve MODEL`` started as a
subprocess on a free port and called over real HTTP with httpx.
"""

import io
import json
import os
import pickle
import re
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pandas as pd
import pytest
from conftest import drift_panel

import segmenter as sg
from segmenter.cli import main
from segmenter.serving.app import frame_records
from segmenter.serving.monitoring import Thresholds, monitor
from segmenter.serving.scoring import score

SWITCHED = {
    "season0",
    "season1",
    "season2",
    "trend0",
    "trend1",
    "trend2",
    "square0",
    "square1",
}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A forecaster (with its segmenter) fitted on 24 planted series, saved."""
    folder = tmp_path_factory.mktemp("served")
    df = drift_panel()
    fc = sg.SegmentedForecaster(
        horizon=6, candidates="quick", random_state=0, n_jobs=1, progress=False
    ).fit(
        df,
        segmenter=sg.Segmenter(
            n_clusters=[3], blueprints="quick", random_state=0, progress=False
        ),
    )
    path = fc.save(folder / "fc.segmenter")
    seg_path = fc.segmenter_.save(folder / "seg.segmenter")
    return {"fc": fc, "path": path, "seg_path": seg_path, "df": df, "folder": folder}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``segmenter serve`` in a subprocess."""

    def __init__(self, path, *extra):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "segmenter",
                "serve",
                str(path),
                "--port",
                str(self.port),
                "-q",
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.proc.stdout.read().decode())
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("the server did not start in 90 s")

    def post(self, route, **kw):
        return httpx.post(self.url + route, timeout=120, **kw)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def server(model):
    s = Server(model["path"], "--threads", "2")
    yield s
    s.stop()


def _history(df, n_last_dropped=0, ids=None):
    h = df if ids is None else df[df["unique_id"].isin(ids)]
    if n_last_dropped:
        step = h.groupby("unique_id").cumcount(ascending=False)
        h = h[step >= n_last_dropped]
    return h.reset_index(drop=True)


def _frame(rows):
    out = pd.DataFrame(rows)
    if "ds" in out:
        out["ds"] = pd.to_datetime(out["ds"])
    return out


def _same(got: pd.DataFrame, want: pd.DataFrame):
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want)
    for c in want.columns:
        a, b = got[c].to_numpy(), want[c].to_numpy()
        if want[c].dtype.kind == "f":
            np.testing.assert_array_equal(a.astype(float), b.astype(float))  # exactly
        else:
            assert [str(x) for x in a] == [str(x) for x in b], c


# ---------------------------------------------------------------------- the service
def test_forecasts_over_http_equal_predict_exactly(model, server):
    hist = _history(model["df"], 2)
    want = sg.load(model["path"]).predict(hist, level=[80, 95])
    r = server.post("/forecast", json={"data": frame_records(hist), "level": [80, 95]})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == 24 * 6
    _same(_frame(r.json()["forecasts"]), want)
    # the same as an upload, Parquet in and out
    buf = io.BytesIO()
    hist.to_parquet(buf, index=False)
    r = server.post(
        "/forecast",
        files={"data": ("h.parquet", buf.getvalue())},
        data={"level": "80,95"},
        headers={"accept": "application/vnd.apache.parquet"},
    )
    assert r.status_code == 200, r.text
    _same(pd.read_parquet(io.BytesIO(r.content)), want)
    # a shorter horizon: the first steps of the same forecasts
    r = server.post("/forecast", json={"data": frame_records(hist), "horizon": 2})
    got = _frame(r.json()["forecasts"])
    first = want.groupby("unique_id", sort=False).head(2).reset_index(drop=True)
    np.testing.assert_array_equal(
        got["forecast"].to_numpy(), first["forecast"].to_numpy()
    )


def test_assign_model_and_health(model, server):
    hist = _history(model["df"])
    r = server.post("/assign", json={"data": frame_records(hist)})
    assert r.status_code == 200, r.text
    want = sg.load(model["path"]).segmenter_.predict(hist).to_frame()
    _same(pd.DataFrame(r.json()["assignments"]), want)
    info = httpx.get(server.url + "/model").json()
    fc = model["fc"]
    assert info["horizon"] == 6 and info["data_fingerprint"] == fc.data_fingerprint_
    assert info["fitted_at"] == fc.fitted_at_
    assert info["champions"] == {str(k): v for k, v in fc.champions_.items()}
    assert sum(info["segments"].values()) == 24
    assert set(info["backtest_error"]) == set(info["champions"])
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert httpx.get(server.url + "/openapi.json").status_code == 200


@pytest.mark.parametrize(
    "payload, kind",
    [
        ({"level": [80]}, "no_data"),
        ({"data": "not rows"}, "bad_records"),
        ({"data": [], "colour": 1}, "unknown_fields"),
        ("HORIZON", "horizon"),
        ("NO_TARGET", "missing_columns"),
        ("TEXT_TARGET", "non_numeric"),
        ("DUPLICATES", "duplicate_rows"),
        ("FUTURE_ONLY", "unknown_series"),
        ({"data": []}, "no_history"),
        ("LEVEL", "bad_level"),
    ],
)
def test_bad_payloads_get_422_naming_the_problem(model, server, payload, kind):
    hist = _history(model["df"], ids=["season0", "trend0"])
    rows = frame_records(hist)
    if payload == "HORIZON":
        payload = {"data": rows, "horizon": 7}
    elif payload == "NO_TARGET":
        payload = {"data": frame_records(hist.drop(columns="y"))}
    elif payload == "TEXT_TARGET":
        payload = {
            "data": [{**r, "y": "n/a"} if i == 3 else r for i, r in enumerate(rows)]
        }
    elif payload == "DUPLICATES":
        payload = {"data": rows + rows[:2]}
    elif payload == "FUTURE_ONLY":
        payload = {"data": rows, "future": [{"unique_id": "ghost", "ds": "2019-01-01"}]}
    elif payload == "LEVEL":
        payload = {"data": rows, "level": [150]}
    r = server.post("/forecast", json=payload)
    assert r.status_code == 422, r.text
    body = r.json()
    assert kind in [p["kind"] for p in body["problems"]], body
    assert body["detail"]
    if kind == "unknown_series":
        assert body["problems"][0]["ids"] == ["ghost"]
    if kind == "duplicate_rows":
        assert body["problems"][0]["ids"] or body["problems"][0]["rows"]


def test_not_json_and_oversize(model, server):
    r = server.post(
        "/forecast", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["problems"][0]["kind"] == "bad_json"
    r = server.post("/forecast", content=b"a,b", headers={"content-type": "text/plain"})
    assert r.status_code == 422 and r.json()["problems"][0]["kind"] == "content_type"
    small = Server(model["path"], "--max-request-mb", "0.01")
    try:
        rows = frame_records(_history(model["df"]))
        r = small.post("/forecast", json={"data": rows})
        assert r.status_code == 413
        assert "segmenter score" in r.json()["problems"][0]["message"]
    finally:
        small.stop()


def test_twenty_concurrent_requests_are_all_correct(model, server):
    fc = sg.load(model["path"])
    ids = sorted(model["df"]["unique_id"].unique())
    jobs = []
    for k in range(20):
        pick = ids[k % 12 : k % 12 + 3 + k % 5]
        hist = _history(model["df"], k % 3, ids=pick)
        jobs.append((hist, fc.predict(hist, level=[80])))

    def call(job):
        hist, _ = job
        return server.post(
            "/forecast", json={"data": frame_records(hist), "level": [80]}
        )

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(call, jobs))
    for (_, want), r in zip(jobs, answers):
        assert r.status_code == 200, r.text
        _same(_frame(r.json()["forecasts"]), want)


def test_a_restarted_server_gives_the_same_answers(model):
    hist = _history(model["df"], 1)
    payload = {"data": frame_records(hist), "level": [95]}
    first = Server(model["path"])
    try:
        a = first.post("/forecast", json=payload).content
    finally:
        first.stop()
    second = Server(model["path"])
    try:
        b = second.post("/forecast", json=payload).content
    finally:
        second.stop()
    assert a == b and json.loads(a)["rows"] == 24 * 6


def test_serve_refuses_an_untrusted_or_damaged_file_before_binding(model, tmp_path):
    bad = tmp_path / "bad.segmenter"
    raw = model["path"].read_bytes()
    bad.write_bytes(raw[:-10])
    assert main(["serve", str(bad), "--port", str(_free_port())]) == 3


def test_predict_never_changes_the_model(model):
    fc = sg.load(model["path"])
    assert any(m.states for m in fc._models.values())  # a pooled (LightGBM) member
    before = pickle.dumps(fc)
    fc.predict(_history(model["df"], 3), level=[80])
    assert pickle.dumps(fc) == before


def test_predict_horizon_reads_future_for_those_steps_only(model):
    fc = sg.load(model["path"])
    hist = _history(model["df"])
    full = fc.predict(hist)
    two = fc.predict(hist, horizon=2)
    want = full.groupby("unique_id", sort=False).head(2).reset_index(drop=True)
    pd.testing.assert_frame_equal(two, want)
    for bad in (0, 7, 2.5, True):
        with pytest.raises(sg.DataValidationError, match="forecasts 1 to 6 steps"):
            fc.predict(hist, horizon=bad)


# ---------------------------------------------------------------------- batch scoring
def test_score_in_chunks_equals_predict(model, tmp_path):
    hist = _history(model["df"], 1)
    hist.to_parquet(tmp_path / "h.parquet", index=False)
    res = score(
        model["path"],
        tmp_path / "h.parquet",
        tmp_path / "out",
        level=[80],
        series_per_chunk=5,
        progress=False,
    )
    assert res.n_series == 24 and res.n_chunks >= 3 and res.n_rows_written == 24 * 6
    got = pd.read_parquet(tmp_path / "out" / "forecasts")
    want = sg.load(model["path"]).predict(hist, level=[80])
    key = ["unique_id", "ds"]
    _same(
        got.sort_values(key).reset_index(drop=True),
        want.sort_values(key).reset_index(drop=True),
    )
    summary = json.loads((tmp_path / "out" / "score.json").read_text())
    assert summary["n_series"] == 24 and summary["n_rows_read"] == len(hist)
    assert not (tmp_path / "out" / "_buckets").exists()
    # the command, from CSV, with a Segmenter file: assignments
    hist.to_csv(tmp_path / "h.csv", index=False)
    assert (
        main(
            [
                "score",
                str(model["seg_path"]),
                str(tmp_path / "h.csv"),
                "-o",
                str(tmp_path / "seg"),
                "-q",
            ]
        )
        == 0
    )
    assigned = pd.read_parquet(tmp_path / "seg" / "assignments")
    assert sorted(assigned["unique_id"]) == sorted(hist["unique_id"].unique())


def test_score_names_a_missing_id_column(model, tmp_path):
    _history(model["df"]).rename(columns={"unique_id": "sku"}).to_parquet(
        tmp_path / "h.parquet"
    )
    with pytest.raises(sg.DataValidationError, match=r"id column\(s\) \['unique_id'\]"):
        score(model["path"], tmp_path / "h.parquet", tmp_path / "out", progress=False)


# ---------------------------------------------------------------------- monitoring
def test_monitor_keeps_a_model_whose_data_did_not_change(model):
    res = monitor(
        model["path"], drift_panel(length=54)
    )  # the fit's series, 6 new months
    assert res.recommendation == "keep", res.reasons
    assert res.summary["n_changed"] == 0 and res.summary["n_new"] == 0
    assert len(res.accuracy) == 3 and res.accuracy["n_scored"].sum() == 24
    assert res.exit_code == 0


def test_monitor_says_segment_again_naming_the_switched_series(model):
    res = monitor(model["path"], drift_panel(length=54, switch=SWITCHED))
    assert res.recommendation == "segment again"
    assert set(res.changed_ids()) == SWITCHED
    assert any("series that changed segment" in r for r in res.reasons)
    assert res.exit_code == 6


def test_monitor_says_refit_champions_after_a_level_shift_in_the_actuals(model):
    res = monitor(model["path"], drift_panel(length=54, shift=0.5, shift_from=48))
    assert res.recommendation == "refit champions", res.reasons
    assert res.summary["changed_share"] <= Thresholds().max_changed_share
    assert res.accuracy["flagged"].any()
    assert res.exit_code == 5


def test_monitor_scores_forecasts_served_since_the_fit(model, tmp_path):
    served = sg.load(model["path"]).predict(drift_panel(length=54))  # months 55-60
    served.to_parquet(tmp_path / "served.parquet")
    ok = monitor(
        model["path"], drift_panel(length=60), forecasts=tmp_path / "served.parquet"
    )
    assert ok.recommendation == "keep", ok.reasons
    assert ok.accuracy["n_scored"].sum() == 24
    shifted = drift_panel(length=60, shift=0.5, shift_from=54)
    bad = monitor(model["path"], shifted, forecasts=served)
    assert bad.recommendation == "refit champions", bad.reasons
    with pytest.raises(sg.DataValidationError, match="lacks columns"):
        monitor(model["path"], shifted, forecasts=served.drop(columns="champion"))


def test_monitor_new_and_vanished_series_and_thresholds(model):
    df = drift_panel(length=54)
    df = df[~df["unique_id"].isin(["trend7"])]
    extra = drift_panel(n_per=2, length=54, seed=5)
    extra["unique_id"] = "new_" + extra["unique_id"]
    res = monitor(sg.load(model["path"]), pd.concat([df, extra]))
    assert res.summary["n_vanished"] == 1 and res.summary["vanished_ids"] == ["trend7"]
    assert res.summary["n_new"] == 6  # 6 of 29: under the default 25%
    assert res.recommendation == "keep", res.reasons
    res = monitor(model["path"], pd.concat([df, extra]), Thresholds(max_new_share=0.1))
    assert res.recommendation == "segment again"
    assert any("6 of 29 series (21%) were not seen at fit" in r for r in res.reasons)
    with pytest.raises(sg.DataValidationError, match="max_far_share"):
        Thresholds(max_far_share=2)


def test_monitor_command_writes_json_and_page_and_exit_codes(model, tmp_path):
    drift_panel(length=54, switch=SWITCHED).to_parquet(tmp_path / "new.parquet")
    code = main(
        [
            "monitor",
            str(model["path"]),
            str(tmp_path / "new.parquet"),
            "-o",
            str(tmp_path / "m"),
        ]
    )
    assert code == 6
    out = json.loads((tmp_path / "m" / "monitor.json").read_text())
    assert out["recommendation"] == "segment again" and out["exit_code"] == 6
    page = (tmp_path / "m" / "monitor.html").read_text()
    assert "segment again" in page  # and nothing loaded from the network:
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    drift_panel(length=54).to_parquet(tmp_path / "same.parquet")
    assert (
        main(
            [
                "monitor",
                str(model["path"]),
                str(tmp_path / "same.parquet"),
                "-o",
                str(tmp_path / "k"),
            ]
        )
        == 0
    )
    code = main(
        [
            "monitor",
            str(model["seg_path"]),
            str(tmp_path / "new.parquet"),
            "-o",
            str(tmp_path / "s"),
        ]
    )
    assert code == 6  # a Segmenter file: membership only


# ---------------------------------------------------------------------- MLflow
def test_mlflow_round_trip_equals_predict(model, tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    import segmenter.mlflow as smlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    fc = sg.load(model["path"])
    with mlflow.start_run():
        info = smlflow.log_model(fc, name="forecaster")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    hist = _history(model["df"], 2)
    got = loaded.predict(hist, params={"horizon": 4, "level": [80, 95]})
    pd.testing.assert_frame_equal(got, fc.predict(hist, level=[80, 95], horizon=4))
    got = loaded.predict(hist)  # the signature's defaults: the fitted horizon
    pd.testing.assert_frame_equal(got, fc.predict(hist))
    back = smlflow.load_model(info.model_uri)
    pd.testing.assert_frame_equal(back.predict(hist), fc.predict(hist))


@pytest.mark.slow
def test_monitor_page_renders_in_headless_chromium(model, tmp_path):
    """The monitoring page is built from the report's components: its charts render
    offline, with titles and titled axes, and its tables are on demand."""
    from test_report import _body, _browser, _figures

    res = monitor(model["path"], drift_panel(length=54, switch=SWITCHED))
    page = res.write_html(tmp_path / "monitor.html")
    dom = _browser("--dump-dom", url=page.resolve().as_uri())
    assert "Recommendation: segment again" in dom
    for section in ("membership", "accuracy", "series", "thresholds"):
        assert f'id="{section}"' in dom
    assert "season0" in dom  # a switched series is listed
    body = _body(dom)
    assert body["charts-total"] == body["charts-rendered"] != "0", body
    titles = []
    for fig in _figures(dom):
        titles += re.findall(r'role-title-text"[^>]*><text[^>]*>([^<]+)<', fig)[:1]
        axes = set(re.findall(r'role-axis-title"[^>]*><text[^>]*>([^<]+)<', fig))
        assert len(axes) >= 2, axes
    assert "Membership drift by segment" in titles
    assert "download CSV" in dom and "<details" in dom


@pytest.mark.slow
def test_mlflow_models_serve_answers_like_predict(model, tmp_path):
    pytest.importorskip("mlflow")
    import segmenter.mlflow as smlflow

    fc = sg.load(model["path"])
    smlflow.save_model(fc, tmp_path / "mlmodel")
    port = _free_port()
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
    }
    proc = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "mlflow"),
            "models",
            "serve",
            "-m",
            str(tmp_path / "mlmodel"),
            "--env-manager",
            "local",
            "-p",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/ping", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        hist = _history(model["df"], 1)
        body = {
            "dataframe_records": frame_records(hist),
            "params": {"horizon": 3, "level": [80]},
        }
        r = httpx.post(url + "/invocations", json=body, timeout=120)
        assert r.status_code == 200, r.text
        got = _frame(r.json()["predictions"])
        _same(got, fc.predict(hist, level=[80], horizon=3))
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
