"""Fuzzing the input contract: random malformed and odd tables either work, with every
input series in every output, or raise a SegmenterError that names what is wrong.
Never any other exception, and the command line never prints a traceback."""

import math
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import segmenter as sg
from segmenter.cli import main
from segmenter.errors import SegmenterError

IDS = st.one_of(
    st.integers(-3, 40),
    st.sampled_from(
        ["a", "b", " a", "a ", "", "é", "日本", "None", "nan", "0", "001", "1"]
    ),
    st.none(),
    st.just(float("nan")),
    st.booleans(),
)
TIMES = {
    "int": st.integers(0, 60),
    "float": st.one_of(
        st.integers(0, 60).map(float), st.floats(0, 60), st.just(float("nan"))
    ),
    "date": st.dates(
        pd.Timestamp("2020-01-01").date(), pd.Timestamp("2024-12-31").date()
    ).map(pd.Timestamp),
    "string": st.one_of(
        st.sampled_from(
            [
                "2020-01-01",
                "2020/02/01",
                "01.03.2020",
                "March 2020",
                "2020-04-01T00:00:00+01:00",
                "2020-05-01T00:00Z",
                "not a date",
                "",
                "2020-13-45",
            ]
        ),
        st.integers(2000, 2030).map(str),
    ),
}
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(-1e300, 1e300),
    st.floats(-1e-300, 1e-300),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.sampled_from(["1.5", "2", " 3 ", "x", "", "1e5", "NaN"]),
)


CLEAN_IDS = st.one_of(
    st.integers(-3, 1000), st.text("abcé日 _-0123456789", min_size=1, max_size=6)
)


@st.composite
def tables(draw):
    kind = draw(
        st.sampled_from(["regular"] * 6 + ["random"] * 2 + ["one_row", "one_series"])
    )
    time_kind = draw(st.sampled_from(list(TIMES)))
    if kind == "regular":  # well-formed but odd: many series, one grid
        n_ids = draw(st.sampled_from([1, 3, 10, 12, 12, 16]))
        length = draw(st.sampled_from([1, 5, 36, 40, 40, 45]))
        ids = draw(st.lists(CLEAN_IDS, min_size=n_ids, max_size=n_ids, unique_by=repr))
        if draw(st.integers(0, 4)) == 0:  # one odd id: empty, spaces, None, NaN, bool
            ids[draw(st.integers(0, n_ids - 1))] = draw(IDS)
        rows = [(i, t) for i in ids for t in range(length)]
        ts = [t for _, t in rows]
        if time_kind == "date":
            ts = list(pd.date_range("2020-01-01", periods=length, freq="MS")) * len(ids)
        elif time_kind == "string":
            ts = [
                str(d.date())
                for d in pd.date_range("2020-01-01", periods=length, freq="D")
            ] * len(ids)
        scale = draw(st.sampled_from([1e-300, 1e-6, 1.0, 1e6, 1e300]))
        ys = list(
            np.random.default_rng(draw(st.integers(0, 9))).normal(10, 3, len(rows))
            * scale
        )
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 3]))):  # a few odd values
            ys[draw(st.integers(0, len(rows) - 1))] = draw(VALUES)
        frame = pd.DataFrame({"unique_id": [i for i, _ in rows], "ds": ts, "y": ys})
        if draw(st.integers(0, 3)) == 0:  # some rows dropped: gaps, unequal lengths
            keep = draw(
                st.lists(st.booleans(), min_size=len(frame), max_size=len(frame))
            )
            frame = frame[keep].reset_index(drop=True)
    else:
        n = 1 if kind == "one_row" else draw(st.integers(2, 60))
        id_s = st.just("only") if kind == "one_series" else IDS
        frame = pd.DataFrame(
            {
                "unique_id": draw(st.lists(id_s, min_size=n, max_size=n)),
                "ds": draw(st.lists(TIMES[time_kind], min_size=n, max_size=n)),
                "y": draw(st.lists(VALUES, min_size=n, max_size=n)),
            }
        )
    if draw(st.integers(0, 4)) == 0:  # dtypes shuffled: objects, categories
        col = draw(st.sampled_from(["unique_id", "ds", "y"]))
        frame[col] = frame[col].astype(
            draw(st.sampled_from(["object", "category", "string"]))
        )
    if draw(st.integers(0, 9)) == 0:  # a duplicated column name
        frame = pd.concat([frame, frame[["y"]]], axis=1)
    return frame


def _ids(df) -> set:
    return {
        v
        for v in df["unique_id"].tolist()
        if not (v is None or (isinstance(v, float) and math.isnan(v)))
    }


def _same_ids(out_ids, panel) -> None:
    assert list(out_ids) == panel.id_labels() or set(out_ids) == set(panel.id_labels())


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables())
def test_fuzzed_tables_work_or_raise_a_segmenter_error(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            panel = sg.read_panel(df)
        except SegmenterError as exc:
            assert str(exc)
            event(f"read_panel: {type(exc).__name__}")
            return
        assert panel.n_series == len(set(panel.id_labels()))
        try:
            seg = sg.Segmenter(blueprints="quick", progress=False).fit(df)
        except SegmenterError as exc:
            assert str(exc)
            event(f"Segmenter.fit: {type(exc).__name__}")
            seg = None
        if seg is not None:
            m = seg.mapping_.to_frame()
            assert len(m) == panel.n_series
            _same_ids(seg.mapping_.ids(), panel)
        mapping = (
            seg.mapping_
            if seg is not None
            else sg.SegmentMapping(panel.ids.assign(segment=0), panel.id_cols)
        )
        try:
            fc = sg.SegmentedForecaster(
                horizon=2,
                n_origins=2,
                candidates=["naive", "theta"],
                n_jobs=1,
                progress=False,
            ).fit(df, mapping=mapping)
        except SegmenterError as exc:
            assert str(exc)
            event(f"SegmentedForecaster.fit: {type(exc).__name__}")
            return
        event("forecast: ok" + (" (segmented)" if seg is not None else ""))
        pred = fc.predict()
        assert len(pred) == 2 * panel.n_series
        assert "nan" not in getattr(
            fc, "comparison_text_", ""
        ).lower() or fc.comparison_text_.startswith("Could not compare")


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(tables())
def test_the_command_line_never_prints_a_traceback(tmp_path_factory, df):
    path = tmp_path_factory.mktemp("fuzz") / "d.csv"
    df.to_csv(path, index=False)
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(["check", str(path), "--k", "2"])
    assert code in (0, 2, 3), (code, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if code == 3:
        assert err.getvalue().startswith("error:")
