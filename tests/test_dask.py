"""The Dask engine: a real LocalCluster (2 worker processes) against the local engine.

Equality of results (segmentation from a frame, a Parquet folder whose series span
files, a dask DataFrame; forecasting), a worker killed mid-run, and errors that name
the chunk or segment they came from.
"""

import os
import shutil
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import segmenter as sg
from segmenter.datasets import make_planted
from segmenter.engine import LocalEngine, resolve_engine

distributed = pytest.importorskip(
    "distributed", reason="the dask extra is not installed"
)

LB_COLS = [
    "rank",
    "row",
    "blueprint",
    "n_clusters",
    "silhouette",
    "silhouette_train",
    "calinski_harabasz",
    "davies_bouldin",
    "sizes",
    "status",
    "reason",
]


@pytest.fixture(scope="module")
def client():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def _dated(n, length=60, seed=0):
    df, truth = make_planted(n, length, 4, random_state=seed)
    df["ds"] = pd.Timestamp("2021-01-04") + pd.to_timedelta(
        df["ds"] - df["ds"].min(), "D"
    )
    # staggered starts: chunks get different grid origins and must be rebased
    late = df["unique_id"].astype(str).str.endswith("3") & (df["ds"] < "2021-01-09")
    return df[~late].reset_index(drop=True), truth


KW = dict(
    n_clusters=[3, 4],
    blueprints=["dtw_kmeans", "features_kmeans", "velocity_mean"],
    progress=False,
    fit_sample=150,
    silhouette_sample=80,
    random_state=3,
)


def _same(a: sg.Segmenter, b: sg.Segmenter):
    pd.testing.assert_frame_equal(a.leaderboard_[LB_COLS], b.leaderboard_[LB_COLS])
    pd.testing.assert_frame_equal(a.mapping_.to_frame(), b.mapping_.to_frame())
    assert (
        a.mapping_.metadata["data_fingerprint"]
        == b.mapping_.metadata["data_fingerprint"]
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    df, _ = _dated(300)
    folder = tmp_path_factory.mktemp("pq")
    shuffled = df.sample(frac=1, random_state=1).reset_index(
        drop=True
    )  # series span files
    for j, part in enumerate(np.array_split(np.arange(len(shuffled)), 4)):
        shuffled.iloc[part].to_parquet(folder / f"part-{j:02d}.parquet")
    local = sg.Segmenter(**KW).fit(folder)
    return df, folder, local


def test_segmenter_on_dask_equals_local_from_a_frame(client, data):
    df, _, _ = data
    local = sg.Segmenter(**KW).fit(df)
    dask = sg.Segmenter(**KW, engine=client).fit(df)
    _same(local, dask)
    assert (dask.mapping_.to_frame()["assigned_by"] == "predict").sum() > 0
    # choosing another row (a DTW one: pruned search on every chunk) stays equal
    row = int(local.leaderboard_.query("blueprint == 'dtw_kmeans'")["row"].iloc[0])
    pd.testing.assert_frame_equal(
        local.choose(row).to_frame(), dask.choose(row).to_frame()
    )
    assert dask.assignment_["n_assigned"] == local.assignment_["n_assigned"] > 0


def test_parquet_folder_read_by_the_workers_equals_local(client, data, monkeypatch):
    _, folder, local = data
    import segmenter.data.reading as panel_module

    def no_client_read(*a, **k):  # the client must not read the data itself
        raise AssertionError("the client read the Parquet data")

    monkeypatch.setattr(panel_module, "read_table", no_client_read)
    dask = sg.Segmenter(**KW, engine=client).fit(folder)
    _same(local, dask)
    # rows of series were spread over the files, so they were regrouped by id
    assert any("regrouped" in lab for lab in dask._search.panel.labels)


def test_dask_dataframe_and_scheduler_address(client, data):
    dd = pytest.importorskip("dask.dataframe")
    _, folder, local = data
    _same(local, sg.Segmenter(**KW, engine=client).fit(dd.read_parquet(folder)))
    # the same engine given as a scheduler address
    by_address = sg.Segmenter(**KW, engine=client.scheduler.address).fit(folder)
    try:
        _same(local, by_address)
        assert by_address._search.execution.engine.client is not client
    finally:
        by_address._search.execution.engine.close()


def test_saved_model_drops_the_client(client, data, tmp_path):
    df, _, _ = data
    seg = sg.Segmenter(**KW, engine=client).fit(df)
    back = sg.load(seg.save(tmp_path / "m.seg"))
    assert back.engine == "local"
    pd.testing.assert_frame_equal(
        back.predict(df).to_frame(), seg.predict(df).to_frame()
    )


def test_a_worker_killed_mid_run_does_not_change_the_result(client):
    df, _ = _dated(900, length=80, seed=5)
    kw = {
        **KW,
        "n_clusters": [2, 3, 4, 5, 6],
        "blueprints": ["dtw_kmeans", "dtw_kmedoids", "features_kmeans"],
        "fit_sample": 400,
        "silhouette_sample": 200,
    }
    local = sg.Segmenter(**kw).fit(df)
    before = set(client.scheduler_info()["workers"])
    killed = {}

    def kill_when_busy():
        deadline = time.time() + 120
        while time.time() < deadline:
            busy = {w: ks for w, ks in client.processing().items() if ks}
            if any("candidate" in k for ks in busy.values() for k in map(str, ks)):
                addr = next(iter(busy))
                pid = client.run(os.getpid, workers=[addr])[addr]
                os.kill(pid, signal.SIGKILL)
                killed["addr"] = addr
                return
            time.sleep(0.05)

    t = threading.Thread(target=kill_when_busy)
    t.start()
    dask = sg.Segmenter(**kw, engine=client).fit(df)
    t.join()
    assert killed, "no candidate task ran long enough to kill its worker"
    client.wait_for_workers(2, timeout=60)
    assert killed["addr"] not in set(client.scheduler_info()["workers"])
    assert killed["addr"] in before
    _same(local, dask)


def test_forecaster_on_dask_equals_local(client):
    from test_forecasting import mapping_for, seasonal_frame

    df = seasonal_frame(n=12, length=40)
    kw = dict(horizon=6, n_origins=2, candidates="quick", progress=False)
    local = sg.SegmentedForecaster(**kw, n_jobs=1).fit(df, mapping=mapping_for(df))
    dask = sg.SegmentedForecaster(**kw, engine=client).fit(df, mapping=mapping_for(df))
    pd.testing.assert_frame_equal(local.forecasts_, dask.forecasts_)
    cols = ["segment", "blueprint", "mase", "smape", "rmse", "status"]
    pd.testing.assert_frame_equal(local.leaderboard_[cols], dask.leaderboard_[cols])
    pd.testing.assert_frame_equal(
        local.comparison_.drop(columns="backtest_seconds"),
        dask.comparison_.drop(columns="backtest_seconds"),
    )
    assert local.champions_ == dask.champions_


def _boom(x):
    if x == 2:
        raise ZeroDivisionError(f"cannot handle {x}")
    return x * 10


@pytest.mark.parametrize("kind", ["local", "dask"])
def test_a_failing_task_raises_its_own_error_naming_where(client, kind):
    engine = LocalEngine(1) if kind == "local" else resolve_engine(client)
    assert engine.map(_boom, [(0,), (1,)], ["segment 'a'", "segment 'b'"]) == [0, 10]
    with pytest.raises(ZeroDivisionError, match="cannot handle 2") as info:
        engine.map(_boom, [(1,), (2,)], ["segment 'a'", "segment 'b'"])
    assert info.value.__notes__ == ["segmenter task: segment 'b'"]


def test_a_corrupt_parquet_file_names_the_file(client, data, tmp_path):
    _, folder, _ = data
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    files = sorted(bad.glob("*.parquet"))
    files[2].write_bytes(files[2].read_bytes()[:200])  # truncated file
    with pytest.raises(Exception) as info:
        sg.Segmenter(**KW, engine=client).fit(sorted(map(str, files)))
    assert any(files[2].name in n for n in getattr(info.value, "__notes__", [])), (
        info.value
    )


def test_bad_rows_in_several_files_are_reported_together(client, data, tmp_path):
    _, folder, _ = data
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    broken = []
    for j in (0, 3):
        p = bad / f"part-{j:02d}.parquet"
        x = pd.read_parquet(p)
        x.loc[x.index[:1], "y"] = np.inf
        broken.append(x["unique_id"].iloc[0])
        x.to_parquet(p)
    with pytest.raises(sg.DataValidationError) as info:
        sg.Segmenter(**KW, engine=client).fit(bad)
    assert set(info.value.kinds()) == {"infinite"}
    # both series named, whichever chunks the regrouping put them in
    assert sorted(i for p in info.value.problems for i in p.ids) == sorted(broken)


def test_bad_engine_and_missing_data_for_insights(client, data):
    df, _, _ = data
    with pytest.raises(sg.DataValidationError, match="engine=42"):
        sg.Segmenter(**KW, engine=42).fit(df)
    seg = sg.Segmenter(**KW, engine=client).fit(df)
    with pytest.raises(sg.DataValidationError, match="distributed engine"):
        seg.insights()
    assert (
        len(seg.insights(data=df).sizes) == seg.mapping_.to_frame()["segment"].nunique()
    )


def test_cli_segment_with_dask_address(client, data, tmp_path):
    from segmenter.cli import main

    _, folder, _ = data
    common = [
        str(folder),
        "--k",
        "3",
        "4",
        "--blueprints",
        "dtw_kmeans",
        "velocity_mean",
        "--fit-sample",
        "150",
        "--seed",
        "3",
        "--quiet",
    ]
    assert main(["segment", *common, "-o", str(tmp_path / "local")]) == 0
    assert (
        main(
            [
                "segment",
                *common,
                "-o",
                str(tmp_path / "dask"),
                "--dask-address",
                client.scheduler.address,
            ]
        )
        == 0
    )
    a = sg.read_mapping(tmp_path / "local" / "mapping.csv")
    b = sg.read_mapping(tmp_path / "dask" / "mapping.csv")
    assert a == b and len(a) == 300


def test_forecaster_reads_a_parquet_folder_on_the_workers(
    client, tmp_path, monkeypatch
):
    from test_forecasting import mapping_for, seasonal_frame

    df = seasonal_frame(n=12, length=40)
    df["ds"] = [
        pd.Timestamp("2015-01-01") + pd.DateOffset(months=int(t)) for t in df["ds"]
    ]
    df = df[~((df["unique_id"] == "s03") & (df["ds"] < "2015-06-01"))]  # a later start
    shuffled = df.sample(frac=1, random_state=2).reset_index(drop=True)
    for j, part in enumerate(np.array_split(np.arange(len(shuffled)), 3)):
        shuffled.iloc[part].to_parquet(tmp_path / f"p{j}.parquet")
    kw = dict(horizon=6, n_origins=2, candidates="quick", progress=False)
    local = sg.SegmentedForecaster(**kw, n_jobs=1).fit(
        tmp_path, mapping=mapping_for(df)
    )
    import segmenter.data.reading as panel_module

    monkeypatch.setattr(
        panel_module, "read_table", lambda *a, **k: pytest.fail("read here")
    )
    dask = sg.SegmentedForecaster(**kw, engine=client).fit(
        tmp_path, mapping=mapping_for(df)
    )
    pd.testing.assert_frame_equal(local.forecasts_, dask.forecasts_)
    pd.testing.assert_frame_equal(
        local.comparison_.drop(columns="backtest_seconds"),
        dask.comparison_.drop(columns="backtest_seconds"),
    )
    assert dask.forecasts_["ds"].min() == pd.Timestamp("2018-06-01")  # after 2018-05


def test_cli_forecast_with_dask_address(client, data, tmp_path):
    from segmenter.cli import main

    _, folder, local = data
    local.mapping_.write(tmp_path / "mapping.csv")
    common = [
        "forecast",
        str(folder),
        "--mapping",
        str(tmp_path / "mapping.csv"),
        "--horizon",
        "4",
        "--origins",
        "1",
        "--candidates",
        "quick",
        "--quiet",
        "--jobs",
        "1",
        "--no-compare",
    ]
    assert main([*common, "-o", str(tmp_path / "local")]) == 0
    assert (
        main(
            [
                *common,
                "-o",
                str(tmp_path / "dask"),
                "--dask-address",
                client.scheduler.address,
            ]
        )
        == 0
    )
    a = pd.read_csv(tmp_path / "local" / "forecasts.csv")
    b = pd.read_csv(tmp_path / "dask" / "forecasts.csv")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 300 * 4


def _by_series(df, folder, n_files):
    folder.mkdir()
    ids = df["unique_id"].unique()
    for j, chunk in enumerate(np.array_split(ids, n_files)):
        df[df["unique_id"].isin(chunk)].to_parquet(folder / f"part-{j:02d}.parquet")
    return folder


QUICK = dict(
    n_clusters=[2],
    blueprints=["features_kmeans", "velocity_mean"],
    progress=False,
    fit_sample=100,
    silhouette_sample=60,
)


def test_frequency_is_inferred_from_all_parts_as_locally(client, tmp_path):
    df, _ = make_planted(120, 40, 3)
    # daily data whose first file holds series observed every other day only
    daily = df.copy()
    daily["ds"] = pd.Timestamp("2021-01-04") + pd.to_timedelta(daily["ds"], "D")
    daily = daily[(daily["unique_id"] >= 40) | (daily["ds"].dt.day % 2 == 0)]
    # integer times: even in the first file, odd in the second (step 1 overall)
    ints = df.copy()
    ints["ds"] = 2 * ints["ds"] + (ints["unique_id"] >= 60)
    for name, frame, n_files in (("daily", daily, 3), ("ints", ints, 2)):
        folder = _by_series(frame, tmp_path / name, n_files)
        local = sg.Segmenter(**QUICK).fit(folder)
        dask = sg.Segmenter(**QUICK, engine=client).fit(folder)
        assert (
            dask.data_args_["freq"]
            == local.data_args_["freq"]
            == {"daily": "D", "ints": 1}[name]
        )
        _same(local, dask)


def test_no_long_series_frequency_fallback_is_the_local_one(client, tmp_path):
    """Two-row series only (no series votes): both engines fall back to pandas on all
    times; irregular times (1, 3, 5, 9 Jan) are an unknown frequency on both."""
    df = pd.DataFrame(
        {
            "unique_id": [0, 0, 1, 1],
            "ds": pd.to_datetime(
                ["2020-01-01", "2020-01-03", "2020-01-05", "2020-01-09"]
            ),
            "y": [1.0, 2.0, 3.0, 4.0],
        }
    )
    folder = _by_series(df, tmp_path / "two", 2)
    with pytest.raises(sg.DataValidationError, match="frequency") as local:
        sg.read_panel(df)
    with pytest.raises(sg.DataValidationError, match="frequency") as dask:
        sg.Segmenter(**QUICK, engine=client).fit(folder)
    assert {p.kind for p in dask.value.problems} == {
        p.kind for p in local.value.problems
    }


def test_empty_parts_and_few_series_over_many_files(client, tmp_path):
    df, _ = make_planted(120, 40, 3)
    folder = _by_series(df, tmp_path / "gap", 3)
    pd.read_parquet(folder / "part-01.parquet").iloc[:0].to_parquet(
        folder / "part-01.parquet"
    )
    _same(
        sg.Segmenter(**QUICK).fit(folder),
        sg.Segmenter(**QUICK, engine=client).fit(folder),
    )
    small, _ = make_planted(12, 40, 3)
    spread = tmp_path / "spread"
    spread.mkdir()
    rows = small.sample(frac=1, random_state=0)  # every series in several files
    for j, part in enumerate(np.array_split(np.arange(len(rows)), 8)):
        rows.iloc[part].to_parquet(spread / f"p{j}.parquet")
    kw = {**QUICK, "n_clusters": [2]}
    _same(sg.Segmenter(**kw).fit(spread), sg.Segmenter(**kw, engine=client).fit(spread))


def test_hive_partitioned_folder_is_refused_with_a_hint(client, tmp_path):
    df, _ = make_planted(60, 40, 3)
    df["region"] = np.where(df["unique_id"] % 2 == 0, "north", "south")
    df.to_parquet(tmp_path / "hive", partition_cols=["region"])
    with pytest.raises(sg.DataValidationError, match="dask.dataframe.read_parquet"):
        sg.Segmenter(**QUICK, engine=client).fit(tmp_path / "hive")


def test_engine_typo_is_a_clear_error():
    with pytest.raises(sg.DataValidationError, match="scheduler address"):
        resolve_engine("dask")


def test_local_engine_reads_parquet_lists_and_dask_frames_in_read_panel(tmp_path):
    """The local engine reads a list of Parquet files or a dask DataFrame through
    read_panel: the segmenter and the forecaster alike (the forecaster used to fail on
    a list of files)."""
    import dask.dataframe as dd
    from test_forecasting import mapping_for, seasonal_frame

    df = seasonal_frame(n=8, length=30)
    for j, part in enumerate(np.array_split(np.arange(len(df)), 3)):
        df.iloc[part].to_parquet(tmp_path / f"p{j}.parquet")
    files = [str(tmp_path / f"p{j}.parquet") for j in range(3)]
    ref = sg.read_panel(df)
    for given in (files, dd.from_pandas(df, npartitions=2)):
        assert sg.read_panel(given).fingerprint() == ref.fingerprint()
    kw = dict(horizon=4, n_origins=2, candidates="quick", progress=False, n_jobs=1)
    a = sg.SegmentedForecaster(**kw).fit(files, mapping=mapping_for(df))
    b = sg.SegmentedForecaster(**kw).fit(df, mapping=mapping_for(df))
    pd.testing.assert_frame_equal(a.forecasts_, b.forecasts_)


def test_score_on_dask_equals_local(client, tmp_path):
    from conftest import drift_panel

    from segmenter.serving.scoring import score

    df = drift_panel(n_per=4, length=40)
    fc = sg.SegmentedForecaster(
        horizon=4, n_origins=2, candidates=["seasonal_naive", "lgbm"], progress=False
    ).fit(
        df,
        segment_col=None,
        mapping=None,
        segmenter=sg.Segmenter(
            n_clusters=[3], blueprints=["features_kmeans"], progress=False
        ),
    )
    path = fc.save(tmp_path / "fc.segmenter")
    df.to_parquet(tmp_path / "h.parquet")
    kw = dict(series_per_chunk=4, level=[80], progress=False)
    a = score(path, tmp_path / "h.parquet", tmp_path / "local", **kw)
    b = score(path, tmp_path / "h.parquet", tmp_path / "dask", engine=client, **kw)
    assert a.n_series == b.n_series == 12 and a.parts == b.parts
    key = ["unique_id", "ds"]
    got = pd.read_parquet(tmp_path / "dask" / "forecasts").sort_values(key)
    want = pd.read_parquet(tmp_path / "local" / "forecasts").sort_values(key)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        want.reset_index(drop=True),
        fc.predict(df, level=[80]).sort_values(key).reset_index(drop=True),
    )


def test_sampled_forecaster_on_dask_equals_local(client):
    from test_forecasting import mapping_for, seasonal_frame

    df = seasonal_frame(n=24, length=40)
    kw = dict(
        horizon=6,
        n_origins=2,
        candidates=["theta", "lgbm"],
        forecast_sample=10,
        progress=False,
    )
    local = sg.SegmentedForecaster(**kw, n_jobs=1).fit(df, mapping=mapping_for(df))
    dask = sg.SegmentedForecaster(**kw, engine=client).fit(df, mapping=mapping_for(df))
    assert local.forecast_sample_["ids"] == dask.forecast_sample_["ids"]
    pd.testing.assert_frame_equal(local.forecasts_, dask.forecasts_)
    # predict runs its chunks on the cluster too
    pd.testing.assert_frame_equal(local.predict(df), dask.predict(df))
