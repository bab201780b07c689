"""No silent guess, no raw exception: each class of odd input gets a typed error that
names what is wrong (through the API and the command line, exit code 3, never
"unexpected"), or a correct result."""

import contextlib
import gzip
import io
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import make_long
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segmenter as sg
from segmenter import persistence
from segmenter.base import level_label
from segmenter.cli import main
from segmenter.errors import DataValidationError, SegmenterError


def run_cli(argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, err.getvalue()


def kinds(call) -> list:
    with pytest.raises(DataValidationError) as exc:
        call()
    return exc.value.kinds()


def monthly_text(fmt: str, start="2020-01-01", n_series=3, length=24) -> pd.DataFrame:
    df = make_long(n_series, length)
    df["ds"] = pd.to_datetime(df["ds"]).dt.strftime(fmt)
    return df


# ------------------------------------------------------------------------- dates
def test_day_first_dates_that_also_read_month_first_are_refused_with_examples():
    df = monthly_text("%d/%m/%Y")  # 01/02/2020 ... every day is 01
    with pytest.raises(DataValidationError) as exc:
        sg.read_panel(df)
    assert exc.value.kinds() == ["ambiguous_dates"]
    text = str(exc.value)
    assert "'01/02/2020'" in text and "date_format=" in text and "dayfirst" in text
    # said either way, the column is read as monthly with no gaps
    for kw in ({"dayfirst": True}, {"date_format": "%d/%m/%Y"}):
        panel = sg.read_panel(df, **kw)
        assert panel.freq == "MS" and panel.n_gap_steps == 0 and panel.span == 24


def test_a_column_is_read_with_one_format_never_value_by_value():
    # 02/01/2020 alone could be 1 February; 13/01/2020 says the column is day-first
    df = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": ["13/01/2020", "14/01/2020", "02/01/2020", "03/01/2020"],
            "y": [1.0, 2, 3, 4],
        }
    )
    panel = sg.read_panel(df)
    assert (
        panel.freq == "D"
        and panel.span == 13
        and str(panel.summary()["first time"]).startswith("2020-01-02")
    )


def test_text_that_no_single_format_reads_is_named_by_row():
    df = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": ["2020-01-01", "2020-02-01", "March 2020"],
            "y": [1.0, 2, 3],
        }
    )
    with pytest.raises(DataValidationError) as exc:
        sg.read_panel(df)
    assert exc.value.kinds()[0] == "unparseable_times"
    assert exc.value.problems[0].rows == [2] and "one format" in str(exc.value)


@pytest.mark.parametrize(
    "times",
    [
        list(range(1, 25)),  # integer steps
        list(pd.date_range("2020-01-01", periods=24, freq="MS")),  # datetimes
        list(
            pd.date_range("2020-01-01", periods=24, freq="MS").strftime("%Y-%m-%d")
        ),  # ISO
        list(pd.period_range("2020-01", periods=24, freq="M")),  # periods
        list(1_577_836_800 + 86400 * np.arange(24)),  # epoch seconds
    ],
)
def test_usual_time_columns_keep_working(times):
    df = pd.DataFrame({"unique_id": "a", "ds": times, "y": np.arange(24.0)})
    if isinstance(times[0], pd.Period):
        df["ds"] = pd.PeriodIndex(times)
    panel = sg.read_panel(df)
    assert panel.n_gap_steps == 0 and panel.span == 24


def test_ambiguous_dates_through_the_command_line(tmp_path):
    path = tmp_path / "d.csv"
    monthly_text("%d/%m/%Y").to_csv(path, index=False)
    code, err = run_cli(["check", str(path), "--k", "2"])
    assert code == 3 and "ambiguous" in err and "error: unexpected" not in err
    code, err = run_cli(["check", str(path), "--k", "2", "--dayfirst"])
    assert code in (0, 2), err
    code, err = run_cli(["check", str(path), "--k", "2", "--date-format", "%d/%m/%Y"])
    assert code in (0, 2), err


# ------------------------------------------------------------------------- ids
def near_duplicate_frame() -> pd.DataFrame:
    df = make_long(4, 24)
    df.loc[df["unique_id"] == "s001", "unique_id"] = "s000 "  # trailing space
    df.loc[df["unique_id"] == "s003", "unique_id"] = "S002"  # case only
    df["ds"] = df.groupby("unique_id").cumcount() + np.where(
        df["unique_id"].isin(["s000 ", "S002"]), 100, 0
    )  # merged: one longer series
    return df


def test_ids_that_differ_by_spaces_or_case_are_refused_by_default():
    with pytest.raises(DataValidationError) as exc:
        sg.read_panel(near_duplicate_frame())
    assert exc.value.kinds() == ["near_duplicate_ids"]
    assert set(exc.value.problems[0].ids) == {"s000", "s000 ", "s002", "S002"}


def test_near_duplicate_ids_merged_or_kept_on_request():
    merged = sg.read_panel(near_duplicate_frame(), near_duplicate_ids="merge")
    assert merged.id_labels() == ["s000", "s002"] and merged.merged_ids
    kept = sg.read_panel(near_duplicate_frame(), near_duplicate_ids="keep")
    assert kept.n_series == 4 and "kept apart" in kept.summary_text()
    assert "('s000', 's000 ')" in kept.summary_text()


def test_near_duplicate_ids_through_the_command_line(tmp_path):
    path = tmp_path / "d.csv"
    near_duplicate_frame().to_csv(path, index=False)
    code, err = run_cli(["check", str(path), "--k", "2"])
    assert code == 3 and "spaces or case" in err and "--near-duplicate-ids" in err
    assert "'s000 '" in err and "error: unexpected" not in err
    code, err = run_cli(
        ["check", str(path), "--k", "2", "--near-duplicate-ids", "keep"]
    )
    assert code in (0, 2), err


# ------------------------------------------------------------------------- files
def _write_case(tmp_path, case: str):
    good = make_long(3, 12)
    p = tmp_path / {"folder": "folder", "text.parquet": "d.parquet"}.get(case, "d.csv")
    if case == "empty":
        p.write_bytes(b"")
    elif case == "latin-1":
        good.assign(unique_id=good["unique_id"] + "é").to_csv(
            p, index=False, encoding="latin-1"
        )
    elif case == "parquet bytes":
        good.to_parquet(p)
    elif case == "gzip bytes":
        p.write_bytes(gzip.compress(good.to_csv(index=False).encode()))
    elif case == "folder":
        p.mkdir()
        (p / "notes.txt").write_text("x")
    elif case == "text.parquet":
        p.write_text(good.to_csv(index=False))
    elif case == "no header":
        p.write_text("\n\n")
    return p


FILE_CASES = {
    "empty": "empty_file",
    "latin-1": "undecodable",
    "parquet bytes": "wrong_format",
    "gzip bytes": "wrong_format",
    "folder": "folder_without_parquet",
    "text.parquet": "wrong_format",
    "no header": "empty_file",
}


@pytest.mark.parametrize("case", list(FILE_CASES))
def test_files_that_cannot_be_read_are_typed_problems_naming_the_file(tmp_path, case):
    path = _write_case(tmp_path, case)
    with pytest.raises(DataValidationError) as exc:
        sg.read_panel(path)
    assert exc.value.kinds() == [FILE_CASES[case]] and path.name in str(exc.value)
    code, err = run_cli(["check", str(path), "--k", "2"])
    assert code == 3 and path.name in err and "error: unexpected" not in err


def test_the_encoding_can_be_given(tmp_path):
    path = _write_case(tmp_path, "latin-1")
    assert "--encoding" in str(
        pytest.raises(DataValidationError, sg.read_panel, path).value
    )
    assert sg.read_panel(path, encoding="latin-1").id_labels()[0] == "s000é"
    code, err = run_cli(["check", str(path), "--k", "2", "--encoding", "latin-1"])
    assert code in (0, 2), err


# ------------------------------------------------------------------------- values
def test_enormous_values_are_refused_naming_series_rows_and_column():
    df = make_long(3, 12)
    df.loc[14, "y"] = 1e200
    with pytest.raises(DataValidationError) as exc:
        sg.read_panel(df)
    p = exc.value.problems[0]
    assert (p.kind, p.column, p.ids, p.rows) == ("too_large", "y", ["s001"], [14])


@pytest.fixture(scope="module")
def small_forecaster():
    df = make_long(8, 36, int_time=True)
    df.loc[df["unique_id"] == "s000", "y"] = 5.0  # a constant series
    ids = sorted(df["unique_id"].unique())
    mapping = sg.SegmentMapping(
        pd.DataFrame({"unique_id": ids, "segment": [0, 1] * 4}), ["unique_id"]
    )
    fc = sg.SegmentedForecaster(
        horizon=3,
        candidates=["naive", "seasonal_naive"],
        season_length=4,
        forecast_driven=False,
        ensembles=(),
        progress=False,
        n_jobs=1,
    )
    return df, fc.fit(df, mapping=mapping)


def test_a_constant_series_gets_zero_width_intervals(small_forecaster):
    _, fc = small_forecaster
    out = fc.predict(level=[80, 95])
    const = out[out["unique_id"] == "s000"]
    assert np.isfinite(const[["lo-80", "hi-80", "lo-95", "hi-95"]].to_numpy()).all()
    assert (const["lo-95"] == const["forecast"]).all() and (const["hi-95"] == 5.0).all()
    assert out[["lo-80", "hi-80"]].notna().all().all()


# ------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("level", [[150], [0], [80, 80.0], 80, [True], ["80"], "80"])
def test_bad_levels_are_typed_errors(small_forecaster, level):
    _, fc = small_forecaster
    assert kinds(lambda: fc.predict(level=level)) == ["bad_level"]
    with pytest.raises(DataValidationError):
        sg.SegmentedForecaster(horizon=2, levels=level)._check_params()


def test_levels_are_named_as_written(small_forecaster):
    _, fc = small_forecaster
    out = fc.predict(level=[80.0, 97.5])
    assert {"lo-80", "hi-80", "lo-97.5", "hi-97.5"} <= set(out.columns)
    assert (out["hi-97.5"] >= out["hi-80"] - 1e-9).all()


@pytest.mark.parametrize(
    "params",
    [
        {"horizon": True},
        {"horizon": 2, "n_origins": True},
        {"horizon": 2, "n_random": False},
        {"horizon": 2.5},
    ],
)
def test_booleans_and_non_integers_are_refused_where_an_integer_is_due(params):
    with pytest.raises(DataValidationError) as exc:
        sg.SegmentedForecaster(**params).fit(make_long(4, 24), mapping=None)
    assert str(exc.value).count("=") >= 1 and exc.value.kinds()[0].startswith("bad_")


def test_a_horizon_past_the_calendar_is_refused():
    df = make_long(3, 24, freq="YS")  # ends in 2043
    seg = sg.SegmentMapping(
        pd.DataFrame({"unique_id": ["s000", "s001", "s002"], "segment": [0, 0, 1]}),
        ["unique_id"],
    )
    assert kinds(
        lambda: sg.SegmentedForecaster(horizon=400, progress=False).fit(df, mapping=seg)
    ) == ["horizon_past_calendar"]


def test_bad_parameters_through_the_command_line(tmp_path):
    path = tmp_path / "d.csv"
    df = make_long(6, 30)
    df.assign(seg=df["unique_id"].str[-1].astype(int) % 2).to_csv(path, index=False)
    code, err = run_cli(
        [
            "forecast",
            str(path),
            "--segment-col",
            "seg",
            "--horizon",
            "3",
            "--level",
            "150",
            "--candidates",
            "naive",
            "-o",
            str(tmp_path / "out"),
            "--quiet",
        ]
    )
    assert code == 3 and "level" in err and "error: unexpected" not in err


# ------------------------------------------------------------------------- fallbacks
@pytest.fixture(scope="module")
def promo_fit():
    rng = np.random.default_rng(0)
    rows = []
    for i in range(6):
        promo = (rng.random(64) < 0.2).astype(float)
        y = 20 + 8 * promo + rng.normal(0, 1, 64)
        rows.append(
            pd.DataFrame(
                {"unique_id": f"p{i}", "ds": np.arange(64), "y": y, "promo": promo}
            )
        )
    df = pd.concat(rows, ignore_index=True)
    hist, future = df[df["ds"] < 60], df[df["ds"] >= 60]
    mapping = sg.SegmentMapping(
        pd.DataFrame(
            {"unique_id": [f"p{i}" for i in range(6)], "segment": [0, 0, 0, 1, 1, 1]}
        ),
        ["unique_id"],
    )
    fc = sg.SegmentedForecaster(
        horizon=4,
        candidates=["naive", "lgbm"],
        progress=False,
        forecast_driven=False,
        ensembles=(),
        n_jobs=1,
    )
    fc.fit(hist, mapping=mapping, future_cols=["promo"])
    return hist, future[["unique_id", "ds", "promo"]], fc


def test_a_model_with_future_covariates_refuses_predict_without_them(
    promo_fit, tmp_path
):
    hist, future, fc = promo_fit
    assert kinds(lambda: fc.predict()) == ["no_future"]  # in memory
    back = sg.load(fc.save(tmp_path / "f.segmenter"))
    assert kinds(lambda: back.predict(hist)) == ["no_future"]  # as after loading
    out = fc.predict(future=future)
    assert len(out) == 24 and not out["fallback"].any()


@pytest.mark.parametrize(
    "bad,kind", [(np.nan, "future_missing"), (np.inf, "future_infinite")]
)
def test_missing_or_infinite_future_values_are_refused_naming_ids_and_steps(
    promo_fit, bad, kind
):
    hist, future, fc = promo_fit
    plan = future.copy()
    plan.loc[(plan["unique_id"] == "p2") & (plan["ds"] == 62), "promo"] = bad
    with pytest.raises(DataValidationError) as exc:
        fc.predict(hist, future=plan)
    p = exc.value.problems[0]
    assert (p.kind, p.column, p.ids) == (kind, "promo", ["p2"]) and "[3]" in p.message


# ------------------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    df = make_long(24, 40, int_time=True)
    seg = sg.Segmenter(
        n_clusters=2, blueprints=["velocity_std"], min_validation=4, progress=False
    ).fit(df)
    path = seg.save(tmp_path_factory.mktemp("m") / "seg.segmenter")
    return df, seg, path.read_bytes()


def test_every_bit_flip_in_a_model_file_is_refused_or_harmless(small_model):
    """Every bit of the header and of the payload: a typed error, or a model that
    assigns exactly as the original."""
    df, seg, raw = small_model
    expected = seg.predict(df).to_frame()
    start = raw.index(b"\n", len(persistence.MAGIC)) + 1
    buf = bytearray(raw)
    loaded = refused = 0
    for i in range(len(raw) * 8):
        byte, bit = divmod(i, 8)
        buf[byte] ^= 1 << bit
        try:
            obj = persistence.loads(bytes(buf))
        except SegmenterError:
            refused += 1
        else:
            assert byte < start, f"a flip of payload bit {i} was loaded"
            pd.testing.assert_frame_equal(obj.predict(df).to_frame(), expected)
            loaded += 1
        buf[byte] ^= 1 << bit
    assert refused >= (len(raw) - start) * 8 and loaded + refused == len(raw) * 8


def test_a_damaged_model_file_through_the_command_line(small_model, tmp_path):
    df, _, raw = small_model
    path = tmp_path / "bad.segmenter"
    path.write_bytes(raw[:-10])  # truncated
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    code, err = run_cli(["assign", str(path), str(data)])
    assert code == 3 and "damaged" in err and "error: unexpected" not in err
    assert "damaged" in str(pytest.raises(sg.CorruptModelError, sg.load, path).value)


# ------------------------------------------------------------------------- fuzzing
GOOD = make_long(3, 12)


@st.composite
def file_bytes(draw):
    text = GOOD.to_csv(index=False)
    enc = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "cp1252"]))
    ids = draw(st.sampled_from(["", "é", "日"])) if enc != "latin-1" else "é"
    data = (
        GOOD.assign(unique_id=GOOD["unique_id"] + ids).to_csv(index=False)
        if ids
        else text
    )
    try:
        raw = data.encode(enc)
    except UnicodeError:
        raw = text.encode(enc)
    how = draw(
        st.sampled_from(["plain", "gzip", "parquet", "truncate", "garbage", "empty"])
    )
    if how == "gzip":
        raw = gzip.compress(raw)
    elif how == "parquet":
        b = io.BytesIO()
        GOOD.to_parquet(b)
        raw = b.getvalue()
    if draw(st.booleans()) or how == "truncate":
        raw = raw[: draw(st.integers(0, len(raw)))]
    if how == "garbage":
        raw = draw(st.binary(min_size=1, max_size=200))
    if how == "empty":
        raw = b""
    name = draw(
        st.sampled_from(["d.csv", "d.csv.gz", "d.parquet", "d.tsv", "d.txt", "d"])
    )
    return raw, name


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(file_bytes())
def test_fuzzed_file_bytes_read_or_raise_a_typed_error(tmp_path_factory, case):
    raw, name = case
    path = tmp_path_factory.mktemp("bytes") / name
    path.write_bytes(raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            panel = sg.read_panel(path)
        except SegmenterError as exc:
            assert str(path.name) in str(exc) or exc.kinds()
            return
    assert panel.n_series >= 1 and panel.n_input_rows >= 1


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    level=st.one_of(
        st.none(),
        st.integers(-5, 120),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(max_size=3),
        st.lists(
            st.one_of(
                st.integers(-5, 120),
                st.floats(allow_nan=True),
                st.booleans(),
                st.text(max_size=2),
            ),
            max_size=3,
        ),
    )
)
def test_fuzzed_levels_give_a_typed_error_or_their_columns(small_forecaster, level):
    _, fc = small_forecaster
    try:
        out = fc.predict(level=level)
    except SegmenterError:
        return
    for lv in level or ():
        assert f"lo-{level_label(lv)}" in out.columns
        assert out[f"lo-{level_label(lv)}"].notna().all()


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=8))
def test_fuzzed_bit_flips_in_a_model_file(small_model, positions):
    df, seg, raw = small_model
    buf = bytearray(raw)
    for p in positions:
        buf[p % len(buf)] ^= 1 << (p % 8)
    try:
        obj = persistence.loads(bytes(buf))
    except SegmenterError:
        return
    pd.testing.assert_frame_equal(
        obj.predict(df).to_frame(), seg.predict(df).to_frame()
    )
