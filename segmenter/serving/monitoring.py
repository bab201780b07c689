"""Watching a served model: do the series still belong to their segments, and do the
champions still forecast them as well as they did in the backtests?

:func:`monitor` (``sg.monitor(model, new_data)``, ``segmenter monitor MODEL new.parquet``)
compares new data with what the model saw at fit and returns a :class:`MonitorResult`:

- **membership drift** (needs the model's segmenter): each series' nearest segment
  now (``Segmenter.predict`` on the new data) against its segment at fit, by segment;
  each distance to its segment's centre against that segment's fit-time distance
  quantile (``distance_quantile``); the series new since fit and those that vanished;
- **accuracy drift** (a forecaster, where actuals have arrived for periods it
  forecast at fit, i.e. rows of the new data at the times of ``forecasts_``): each
  segment's error (the model's metric) against the seasonal naive forecast of the same
  periods from the same history, and against the segment champion's backtest error at
  fit;
- **a recommendation**, from :class:`Thresholds`:

  - ``"segment again"`` when more than ``max_changed_share`` of the series changed
    segment, or more than ``max_far_share`` lie beyond ``far_factor`` times their
    segment's fit-time distance quantile, or more than ``max_new_share`` are new;
  - otherwise ``"refit champions"`` when a segment with at least ``min_series``
    scored series has an error above ``max_error_ratio`` times its backtest error, or
    above ``max_naive_ratio`` times the seasonal naive's;
  - otherwise ``"keep"``.

  ``reasons`` lists the figures that triggered it.  The command's exit code tells a
  scheduler what to do: 0 keep, 5 refit champions, 6 segment again
  (:data:`EXIT_CODES`).

The result is written as JSON (``to_json``) and as an HTML page in the report's style
(``write_html``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from ..errors import DataValidationError, Problem
from ..persistence import atomic_write

__all__ = ["monitor", "MonitorResult", "Thresholds", "EXIT_CODES"]

KEEP, REFIT, RESEGMENT = "keep", "refit champions", "segment again"
#: Exit codes of ``segmenter monitor`` by recommendation.
EXIT_CODES = {KEEP: 0, REFIT: 5, RESEGMENT: 6}


@dataclass(frozen=True)
class Thresholds:
    """When :func:`monitor` recommends more than "keep" (shares are of the series
    present in the new data).

    Attributes
    ----------
    max_changed_share : float, default 0.2
        Series whose nearest segment is not their fit-time segment.
    max_far_share : float, default 0.3
        Series farther from their segment's centre than ``far_factor`` times the
        segment's fit-time ``distance_quantile`` distance.  (Without the factor about
        1 - distance_quantile of them would be, with no drift at all; with segments of
        a few series the quantile is close to their largest distance, so the factor
        keeps fresh noise from raising the alarm.)
    distance_quantile : float, default 0.95
    far_factor : float, default 2.0
    max_new_share : float, default 0.25
        Series not seen at fit.
    max_error_ratio : float, default 2.0
        A segment's error on the arrived actuals over its champion's backtest error.
    max_naive_ratio : float, default 1.25
        A segment's error over the seasonal naive forecast's on the same periods.
    min_series : int, default 3
        Segments with fewer series scored on actuals are reported, not judged.
    """

    max_changed_share: float = 0.2
    max_far_share: float = 0.3
    distance_quantile: float = 0.95
    far_factor: float = 2.0
    max_new_share: float = 0.25
    max_error_ratio: float = 2.0
    max_naive_ratio: float = 1.25
    min_series: int = 3

    def __post_init__(self):
        problems = []
        for name in (
            "max_changed_share",
            "max_far_share",
            "distance_quantile",
            "max_new_share",
        ):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                problems.append(
                    Problem("bad_threshold", name, f"{name}={v}: a share, 0 to 1")
                )
        for name in ("max_error_ratio", "max_naive_ratio", "far_factor"):
            if not getattr(self, name) > 0:
                problems.append(
                    Problem(
                        "bad_threshold", name, f"{name}={getattr(self, name)}: above 0"
                    )
                )
        if self.min_series < 1:
            problems.append(
                Problem("bad_threshold", "min_series", "min_series: at least 1")
            )
        if problems:
            raise DataValidationError(problems)


@dataclass
class MonitorResult:
    """What :func:`monitor` found.

    Attributes
    ----------
    recommendation : {"keep", "refit champions", "segment again"}
    reasons : list of str
        The figures that triggered the recommendation (empty for "keep").
    summary : dict
        Series at fit, in the new data, new, vanished, changed, far; the shares.
    membership : DataFrame
        Per fit-time segment: ``segment_name``, ``n_fit``, ``n_present``, ``changed``,
        ``changed_share``, ``far``, ``far_share``, ``fit_distance_q``.
    series : DataFrame
        Per series (fit and new): ``status`` (kept, new, vanished),
        ``fit_segment``, ``segment`` (now), ``changed``, ``distance``,
        ``fit_distance_q``, ``far``.
    accuracy : DataFrame
        Per forecast segment with arrived actuals: ``segment_name``, ``champion``,
        ``n_scored``,
        ``error``, ``naive_error``, ``fit_error``, ``error_ratio``, ``naive_ratio``,
        ``flagged``.
    """

    recommendation: str
    reasons: list
    summary: dict
    membership: pd.DataFrame
    series: pd.DataFrame
    accuracy: pd.DataFrame
    thresholds: Thresholds
    model: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.recommendation]

    def changed_ids(self) -> list:
        s = self.series
        return s.loc[s["changed"].eq(True), "id"].tolist()

    def as_dict(self) -> dict:
        from .model import _plain

        def rows(df):
            from .app import frame_records

            return frame_records(df)

        return {
            "recommendation": self.recommendation,
            "exit_code": self.exit_code,
            "reasons": list(self.reasons),
            "summary": _plain(self.summary),
            "thresholds": asdict(self.thresholds),
            "membership": rows(self.membership),
            "accuracy": rows(self.accuracy),
            "series": rows(self.series),
            "model": _plain(self.model),
            "segmenter_version": __version__,
        }

    def to_json(self, path=None) -> str:
        text = json.dumps(self.as_dict(), indent=2, default=str)
        if path is not None:
            with atomic_write(path, "w", encoding="utf-8") as fh:
                fh.write(text)
        return text

    def write_html(self, path, static: bool = False) -> Path:
        """The monitoring page, built from the report's components (one self-contained
        file; ``static=True`` draws the charts as images)."""
        from ..reporting import charts
        from ..reporting.page import Page, details_table, paragraph

        colour = {KEEP: "good", REFIT: "warning", RESEGMENT: "warning"}
        s = self.summary
        page = Page("segmenter monitoring", static=static)
        page.add(
            "<h1>Monitoring</h1>",
            paragraph(
                f"Recommendation: {self.recommendation}",
                colour[self.recommendation] + " verdict",
            ),
            *(
                [paragraph(r) for r in self.reasons]
                or [paragraph("No threshold was crossed.")]
            ),
            Page.figures(
                {
                    "series now": s["n_present"],
                    "at fit": s["n_fit"],
                    "new": s["n_new"],
                    "vanished": s["n_vanished"],
                    "fitted": self.model.get("fitted_at", ""),
                }
            ),
            paragraph(
                f"Model {self.model.get('file', '')}, segmenter {__version__}.", "note"
            ),
            "<section id='membership'><h2>Segment membership</h2>",
        )
        if self.membership.empty:
            page.add(paragraph(s.get("membership_note", ""), "note"))
        else:
            page.add(
                page.chart(
                    charts.drift_chart(self.membership, self.thresholds),
                    "membership drift",
                ),
                details_table(self.membership, "membership", "Membership by segment"),
            )
        page.add("</section><section id='accuracy'><h2>Accuracy</h2>")
        if self.accuracy.empty:
            page.add(paragraph(s.get("accuracy_note", ""), "note"))
        else:
            page.add(
                page.chart(
                    charts.accuracy_chart(self.accuracy, self.thresholds),
                    "accuracy drift",
                ),
                details_table(self.accuracy, "accuracy", "Accuracy by segment"),
            )
        page.add("</section><section id='series'><h2>Series that moved</h2>")
        moved = self.series[
            self.series["changed"].eq(True)
            | (self.series["status"] != "kept")
            | self.series["far"].eq(True)
        ]
        page.add(
            details_table(moved, "moved", "Series that moved, are new or vanished")
            if len(moved)
            else paragraph("None: every series is in its fit-time segment.", "note")
        )
        thr = pd.DataFrame(
            [(k, v) for k, v in asdict(self.thresholds).items()],
            columns=["threshold", "value"],
        )
        page.add(
            "</section><section id='thresholds'><h2>Thresholds</h2>",
            details_table(thr, "thresholds", "Thresholds"),
            "</section>",
        )
        return page.write(path)


def _ids_of(frame: pd.DataFrame, id_cols: list) -> list:
    if len(id_cols) == 1:
        return frame[id_cols[0]].tolist()
    return list(map(tuple, frame[id_cols].to_numpy()))


def monitor(
    model,
    new_data,
    thresholds: Thresholds | None = None,
    trusted=None,
    forecasts=None,
    **columns,
) -> MonitorResult:
    """Compare ``new_data`` with what ``model`` saw at fit (see the module docstring).

    Parameters
    ----------
    model : str, Path, SegmentedForecaster, Segmenter or ServedModel
        A saved model file or a fitted model.
    new_data : DataFrame, Panel or str
        The series now: their recent history, and the actuals of the periods the model
        forecast when they have arrived.  Read with the model's columns (override with
        ``columns``).
    thresholds : Thresholds, optional
    forecasts : DataFrame or str, optional
        Forecasts served since the fit (the rows of ``predict``, e.g. the Parquet
        folder ``segmenter score`` wrote), scored against the actuals of their
        periods; default: the forecasts made at fit (``forecasts_``).
    """
    from ..forecasting.forecaster import SegmentedForecaster
    from ..segmenter import Segmenter
    from .model import ServedModel

    thr = thresholds if thresholds is not None else Thresholds()
    if isinstance(model, str | Path):
        model = ServedModel(model, trusted=trusted)
    if isinstance(model, ServedModel):
        info = model.info()
        with model.instance() as obj:
            return _monitor(obj, info, new_data, thr, columns, forecasts)
    if not isinstance(model, SegmentedForecaster | Segmenter):
        raise DataValidationError(
            [
                Problem(
                    "not_a_model",
                    "model",
                    f"monitor takes a fitted SegmentedForecaster or Segmenter or a "
                    f"model file, not {type(model).__name__}",
                )
            ]
        )
    info = {
        "kind": type(model).__name__,
        "fitted_at": getattr(model, "fitted_at_", None),
    }
    return _monitor(model, info, new_data, thr, columns, forecasts)


def _monitor(obj, info, new_data, thr: Thresholds, columns, forecasts) -> MonitorResult:
    from ..data.reading import read_panel
    from ..segmenter import Segmenter

    fc = None if isinstance(obj, Segmenter) else obj
    seg = obj if isinstance(obj, Segmenter) else obj.segmenter_
    if isinstance(new_data, str | Path):
        from ..data.reading import read_table

        ids = (seg.data_args_ if fc is None else fc.data_args_)["id_col"]
        new_data = read_table(
            new_data, text_cols=[ids] if isinstance(ids, str) else ids
        )
    if fc is None:
        panel = read_panel(new_data, **{**seg.data_args_, **columns})
    else:
        panel = read_panel(
            new_data,
            **{
                **fc.data_args_,
                "value_cols": fc.future_cols_ or None,
                "static_cols": fc.static_cols_ or None,
                **columns,
            },
        )
    id_cols = list(panel.id_cols)
    now_ids = panel.id_labels()
    seg_panel = (
        panel
        if seg is None or fc is None
        else read_panel(new_data, **{**seg.data_args_, **columns})
    )
    series, membership, summary = _membership(seg, fc, seg_panel, now_ids, thr)
    accuracy, acc_note = (
        _accuracy(fc, panel, id_cols, thr, _read_forecasts(forecasts, fc, id_cols))
        if fc is not None
        else (_empty_accuracy(), "a Segmenter makes no forecasts")
    )
    summary["accuracy_note"] = acc_note
    reasons, rec = [], KEEP
    n = max(summary["n_present"], 1)
    if summary.get("changed_share", 0) > thr.max_changed_share:
        reasons.append(
            f"{summary['n_changed']} of {summary['n_compared']} series "
            f"({summary['changed_share']:.0%}) are nearest to another segment than at "
            f"fit (threshold {thr.max_changed_share:.0%})"
        )
    if summary.get("far_share", 0) > thr.max_far_share:
        reasons.append(
            f"{summary['n_far']} of {summary['n_compared']} series "
            f"({summary['far_share']:.0%}) are farther from their segment's centre "
            f"than {thr.far_factor:g}x its fit-time {thr.distance_quantile:.0%} "
            f"quantile distance (threshold {thr.max_far_share:.0%})"
        )
    if summary["n_new"] / n > thr.max_new_share:
        reasons.append(
            f"{summary['n_new']} of {summary['n_present']} series "
            f"({summary['n_new'] / n:.0%}) were not seen at fit (threshold "
            f"{thr.max_new_share:.0%})"
        )
    if reasons:
        rec = RESEGMENT
        changed = [i for i in series.loc[series["changed"] == True, "id"]]  # noqa: E712
        if changed:
            from ..errors import format_examples

            reasons.append(f"series that changed segment: {format_examples(changed)}")
    flagged = accuracy[accuracy["flagged"]] if len(accuracy) else accuracy
    if len(flagged):
        for _, r in flagged.iterrows():
            reasons.append(
                f"segment {r['segment']} ({r['champion']}): error {r['error']:.3f} on "
                f"the arrived actuals of {int(r['n_scored'])} series, "
                f"{r['error_ratio']:.2f}x its backtest error {r['fit_error']:.3f} "
                f"(threshold {thr.max_error_ratio}x) and {r['naive_ratio']:.2f}x the "
                f"seasonal naive's {r['naive_error']:.3f} (threshold "
                f"{thr.max_naive_ratio}x)"
            )
        if rec == KEEP:
            rec = REFIT
    return MonitorResult(rec, reasons, summary, membership, series, accuracy, thr, info)


def _membership(seg, fc, panel, now_ids, thr: Thresholds):
    """Per-series and per-segment membership drift."""
    fit_ids = (
        fc._id_labels
        if fc is not None
        else _ids_of(seg.mapping_.to_frame(), panel.id_cols)
    )
    fit_set, now_set = set(fit_ids), set(now_ids)
    new = [i for i in now_ids if i not in fit_set]
    vanished = [i for i in fit_ids if i not in now_set]
    summary = {
        "n_fit": len(fit_ids),
        "n_present": len(now_ids),
        "n_new": len(new),
        "n_vanished": len(vanished),
        "new_ids": new,
        "vanished_ids": vanished,
    }
    if seg is None:
        summary["membership_note"] = (
            "the model was fitted from given segments, with no segmenter: membership "
            "by shape cannot be checked"
        )
        series = pd.DataFrame(
            {
                "id": list(now_ids) + vanished,
                "status": ["new" if i in new else "kept" for i in now_ids]
                + ["vanished"] * len(vanished),
                "fit_segment": None,
                "segment": None,
                "changed": None,
                "distance": np.nan,
                "fit_distance_q": np.nan,
                "far": None,
            }
        )
        return series, pd.DataFrame(), summary
    fit = seg.mapping_.to_frame()
    fit_seg = dict(zip(_ids_of(fit, panel.id_cols), fit["segment"]))
    qs = fit.groupby("segment")["distance"].quantile(thr.distance_quantile)
    now = seg.predict(_fit_windows(seg, panel)).to_frame()
    now_seg = now["segment"].to_numpy()
    dist = now["distance"].to_numpy(dtype=float)
    before = np.array([fit_seg.get(i) for i in now_ids], dtype=object)
    known = np.array([i in fit_seg for i in now_ids])
    changed = np.where(known, before != now_seg, None)
    fit_q = np.array([qs.get(s, np.nan) for s in now_seg], dtype=float)
    with np.errstate(invalid="ignore"):
        far = np.where(
            np.isfinite(dist) & np.isfinite(fit_q), dist > thr.far_factor * fit_q, False
        )
    series = pd.DataFrame(
        {
            "id": now_ids,
            "status": np.where(known, "kept", "new"),
            "fit_segment": before,
            "segment": now_seg,
            "changed": changed,
            "distance": dist,
            "fit_distance_q": fit_q,
            "far": far,
        }
    )
    if vanished:
        gone = pd.DataFrame(
            {
                "id": vanished,
                "status": "vanished",
                "fit_segment": [fit_seg.get(i) for i in vanished],
            }
        )
        series = pd.concat([series, gone], ignore_index=True)
    rows = []
    kept = series[series["status"] == "kept"]
    for g in sorted(fit["segment"].unique(), key=str):
        mine = kept[kept["fit_segment"] == g]
        now_in = series[(series["segment"] == g) & (series["status"] != "vanished")]
        rows.append(
            {
                "segment": g,
                "segment_name": seg.mapping_.names.get(g, f"segment {g}"),
                "n_fit": int((fit["segment"] == g).sum()),
                "n_present": len(mine),
                "changed": int(mine["changed"].astype(bool).sum()),
                "changed_share": float(mine["changed"].astype(bool).mean())
                if len(mine)
                else np.nan,
                "n_now": len(now_in),
                "far": int(now_in["far"].astype(bool).sum()),
                "far_share": float(now_in["far"].astype(bool).mean())
                if len(now_in)
                else np.nan,
                "fit_distance_q": float(qs.get(g, np.nan)),
            }
        )
    membership = pd.DataFrame(rows)
    compared = int(known.sum())
    summary.update(
        n_compared=compared,
        n_changed=int(np.sum(changed[known].astype(bool))) if compared else 0,
        n_far=int(np.sum(far)),
    )
    summary["changed_share"] = summary["n_changed"] / compared if compared else 0.0
    summary["far_share"] = summary["n_far"] / max(len(now_ids), 1)
    return series, membership, summary


def _fit_windows(seg, panel):
    """Each series' most recent window as long as it was at fit (new series: the
    median fit length), so that features and distances that grow with length compare
    like with like."""
    frame = panel.to_frame(include_gaps=True)
    lengths = getattr(seg, "fit_lengths_", None)
    if lengths is None or not len(lengths):
        return frame
    ids = panel.id_labels()
    size = np.repeat(panel.lengths, 1)
    want = np.array(
        [lengths.get(i, int(np.median(lengths))) for i in ids], dtype=np.int64
    )
    # rows of series i run over its grid steps in time order: keep the last want[i]
    step = np.arange(len(frame)) - np.repeat(np.cumsum(size) - size, size)
    keep = step >= np.repeat(size - np.minimum(want, size), size)
    return frame[keep].reset_index(drop=True)


def _empty_accuracy() -> pd.DataFrame:
    return pd.DataFrame(
        columns=[
            "segment",
            "segment_name",
            "champion",
            "n_scored",
            "error",
            "naive_error",
            "fit_error",
            "error_ratio",
            "naive_ratio",
            "flagged",
        ]
    )


def _read_forecasts(forecasts, fc, id_cols):
    """The forecasts to score: given (a frame or a file), or those made at fit."""
    if forecasts is None:
        return fc.forecasts_
    if isinstance(forecasts, str | Path):
        from ..data.reading import read_table

        forecasts = read_table(forecasts, text_cols=id_cols)
    time_col = fc.data_args_["time_col"]
    need = id_cols + [time_col, "forecast", "segment", "champion"]
    missing = [c for c in need if c not in forecasts.columns]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "forecast_columns",
                    "forecasts",
                    f"forecasts= lacks columns {missing}: pass the rows predict or "
                    "segmenter score wrote",
                )
            ]
        )
    out = forecasts[need].copy()
    if pd.api.types.is_datetime64_any_dtype(fc.forecasts_[time_col]):
        out[time_col] = pd.to_datetime(out[time_col])
    return out.sort_values(id_cols + [time_col], kind="stable").reset_index(drop=True)


def _accuracy(fc, panel, id_cols: list, thr: Thresholds, forecasts):
    """Per forecast segment: error on the actuals that arrived for ``forecasts_``."""
    from ..forecasting.backtest import errors_of
    from ..forecasting.base import seasonal_naive
    from ..selection.metrics import mase_scale
    from .model import _backtest_errors

    time_col = panel.time_col
    target = fc.data_args_["target_col"]
    frame = panel.to_frame(include_gaps=True)[id_cols + [time_col, target]]
    frame["_key"] = _ids_of(frame, id_cols)
    fcs = forecasts[id_cols + [time_col, "forecast", "segment", "champion"]].copy()
    fcs["_key"] = _ids_of(fcs, id_cols)
    fcs["_step"] = fcs.groupby("_key", sort=False).cumcount()
    origin = fcs.groupby("_key", sort=False)[time_col].min().rename("_origin")
    both = fcs.merge(frame.drop(columns=id_cols), on=["_key", time_col], how="inner")
    both = both[both[target].notna()]
    if both.empty:
        return _empty_accuracy(), (
            "no actuals have arrived yet for the periods the model forecast at fit "
            f"(its forecasts start at {origin.min()})"
        )
    m = int(np.atleast_1d(fc.season_length_)[0])
    h = fc.horizon
    hist = frame.merge(origin, left_on="_key", right_index=True, how="inner")
    hist = hist[hist[time_col] < hist["_origin"]]
    hist_of = {k: g[target].to_numpy(dtype=float) for k, g in hist.groupby("_key")}
    rows = []
    for key, g in both.groupby("_key", sort=False):
        y = hist_of.get(key)
        if y is None or not np.isfinite(y).any():
            continue  # no history before the origin: cannot scale or run the naive
        served = np.full(h, np.nan)
        actual = np.full(h, np.nan)
        served[g["_step"].to_numpy()] = g["forecast"].to_numpy(dtype=float)
        actual[g["_step"].to_numpy()] = g[target].to_numpy(dtype=float)
        scale = np.array([[mase_scale(y[np.isfinite(y)], m)[0]]])
        naive = seasonal_naive(y, h, m)
        err = errors_of(served[None, None], actual[None, None], scale)[fc.metric][0, 0]
        nerr = errors_of(naive[None, None], actual[None, None], scale)[fc.metric][0, 0]
        rows.append((g["segment"].iloc[0], g["champion"].iloc[0], err, nerr))
    if not rows:
        return _empty_accuracy(), (
            "actuals arrived, but no series has history before its forecast origin "
            "in the new data: send the recent history with the actuals"
        )
    per = pd.DataFrame(rows, columns=["segment", "champion", "error", "naive_error"])
    fit_err = _backtest_errors(fc)
    out = []
    for g, d in per.groupby("segment", sort=True):
        ok = d[np.isfinite(d["error"]) & np.isfinite(d["naive_error"])]
        e, ne = float(ok["error"].mean()), float(ok["naive_error"].mean())
        fe = fit_err.get(str(g))
        fe = float(fe) if fe is not None else np.nan
        ratio = e / fe if fe and np.isfinite(fe) and fe > 0 else np.nan
        nratio = e / ne if ne > 0 else np.nan
        judged = len(ok) >= thr.min_series
        flagged = judged and (
            (np.isfinite(ratio) and ratio > thr.max_error_ratio)
            or (np.isfinite(nratio) and nratio > thr.max_naive_ratio)
        )
        out.append(
            {
                "segment": g,
                "segment_name": fc.segment_names_.get(g, f"segment {g}"),
                "champion": d["champion"].iloc[0],
                "n_scored": len(ok),
                "error": e,
                "naive_error": ne,
                "fit_error": fe,
                "error_ratio": ratio,
                "naive_ratio": nratio,
                "flagged": bool(flagged),
            }
        )
    return pd.DataFrame(out), f"scored with {fc.metric} on the arrived actuals"
