"""Interactive charts of the report (Vega-Lite through Altair, rendered offline).

Every function returns an :class:`altair.Chart` (or a layered / faceted chart) with a
title and titled axes; the report embeds their Vega-Lite specs and one copy of the
Vega runtime (from ``vl-convert-python``), so the page needs no network.  Hovering a
mark shows its series id and values.  Charts about segments carry a ``segment_name``
field and the ``pick`` parameter: the page's segment picker sets it, and the chart
then shows that segment only (``"(all)"`` shows every segment).

What each chart draws, and how much of a large panel:

* :func:`verdict_chart` -- each strategy's mean error on the most recent backtest
  window (no choice saw it), with a 90% bootstrap interval over series, and one
  global model's error as a rule.
* :func:`sizes_chart`, :func:`profile_chart` -- segment sizes, and a heatmap of the
  segments' defining features (ordered by impact): the colour is the percentile of the
  segment's median among all series, the label the median itself.
* :func:`shape_chart` -- each segment's centre (the pointwise median of its members,
  on the original scale) over the 5-95% and 25-75% bands of its members.  Series are
  drawn against time when they share one time grid, else resampled to 50 points of
  their own length.  At most ``sample`` members per segment (seeded).
* :func:`members_chart` -- a few typical and a few atypical members per segment, by
  their distance to the segment centre.
* :func:`fan_chart` -- forecasts with 80% and 95% bands over a capped window of
  history, for each segment's typical series and worst-forecast series (by the final
  backtest window's error).
* :func:`error_chart` -- the per-series error of the chosen forecasts by segment
  (binned), with one global model's mean error on the same series as a rule.
* :func:`selection_chart` -- every candidate segmentation's validation error against
  its number of segments, by blueprint, with one global model and per-series choice
  as rules, the random partitions as a band, and the choice marked.
* :func:`drift_chart`, :func:`accuracy_chart` -- the monitoring page's: per segment the
  share of series that changed segment or sit far from it, and the error ratio of the
  served forecasts, against their thresholds.
* :func:`leaderboard_chart`, :func:`impact_chart`, :func:`associations_chart`,
  :func:`map_chart`, :func:`silhouette_chart` -- the clustering leaderboard, feature
  impact, feature associations, a 2-D map and the silhouettes of a seeded sample.

Needs altair and vl-convert-python (``pip install 'segmenter-ts[plot]'``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import missing_dependency
from ..features.naming import percentile_of
from .plots import _resample, map_coordinates, silhouette_values

__all__ = [
    "verdict_chart",
    "sizes_chart",
    "profile_chart",
    "shape_chart",
    "members_chart",
    "fan_chart",
    "error_chart",
    "selection_chart",
    "leaderboard_chart",
    "impact_chart",
    "associations_chart",
    "map_chart",
    "silhouette_chart",
    "drift_chart",
    "accuracy_chart",
    "PICK",
    "ALL",
]

#: Name of the page-level parameter the segment picker sets.
PICK = "pick"
#: The picker's value that shows every segment.
ALL = "(all)"
_WIDTH = 300
_SMALL = 190


def _alt():
    try:
        import altair as alt
    except ImportError as exc:
        raise missing_dependency(
            "altair", "plot", "segmenter.reporting.charts"
        ) from exc
    return alt


def _metric_label(forecaster) -> str:
    m = forecaster.metric
    return "sMAPE" if m == "smape" else m.upper()


def _pickable(chart):
    """``chart`` filtered by the page's segment picker (``segment_name``)."""
    alt = _alt()
    pick = alt.param(name=PICK, value=ALL)
    return chart.add_params(pick).transform_filter(
        f"{PICK} == '{ALL}' || datum.segment_name == {PICK}"
    )


def _ranked(df: pd.DataFrame, order: list, col: str = "segment_name"):
    """Add ``rank`` (the position of ``df[col]`` in ``order``) and return the sort that
    follows it.  A sort by field, unlike a sort by a list, leaves out of the axis the
    segments the picker filtered away."""
    alt = _alt()
    df["rank"] = df[col].map({v: i for i, v in enumerate(order)})
    return alt.EncodingSortField(field="rank", op="min")


def _facet(layer, df, order: list, columns: int = 4, title="", independent=True):
    """``layer`` (drawing ``df``) as small multiples, one per segment name in
    ``order``."""
    alt = _alt()
    out = layer.facet(
        facet=alt.Facet("segment_name:N", title=None, sort=_ranked(df, order)),
        columns=columns,
    )
    if independent:
        out = out.resolve_scale(y="independent")
    return out.properties(title=title)


# ---------------------------------------------------------------------- the answer
def verdict_chart(forecaster, n_boot: int = 500, random_state=0):
    """Each strategy's mean error on the most recent window with a 90% interval."""
    alt = _alt()
    metric = forecaster.metric
    label = _metric_label(forecaster)
    per = forecaster.comparison_per_series_
    comp = forecaster.comparison_
    rng = np.random.default_rng(random_state)
    rows = []
    for _, r in comp.iterrows():
        s = r["strategy"]
        col = f"{s} {metric}"
        lo = hi = np.nan
        if col in per.columns:
            v = per[col].to_numpy(float)
            v = v[np.isfinite(v)]
            if len(v) > 1:
                means = rng.choice(v, size=(n_boot, len(v))).mean(axis=1)
                lo, hi = np.quantile(means, [0.05, 0.95])
        name = f"chosen: {forecaster.segmentation_}" if s == "segmented" else str(s)
        rows.append(
            {
                "strategy": name,
                "error": float(r[metric]),
                "lo": float(lo),
                "hi": float(hi),
                "chosen": bool(r.get("chosen", False)),
                "models": str(r.get("models", "")),
            }
        )
    sel = getattr(forecaster, "selection_", None)
    if sel is not None:
        for _, r in sel[sel["kind"] == "ensemble"].iterrows():
            if r["chosen"]:
                continue
            rows.append(
                {
                    "strategy": str(r["candidate"]),
                    "error": float(r["final_error"]),
                    "lo": np.nan,
                    "hi": np.nan,
                    "chosen": False,
                    "models": "ensemble of segmentations (no interval)",
                }
            )
    df = pd.DataFrame(rows)
    order = list(df.sort_values("error")["strategy"])
    base = alt.Chart(df).encode(
        y=alt.Y("strategy:N", sort=order, title="strategy"),
    )
    x_title = f"mean {label}, most recent window (lower is better)"
    x = alt.X("error:Q", title=x_title, scale=alt.Scale(zero=False))
    bars = base.mark_rule(strokeWidth=2, color="#888").encode(
        x=alt.X("lo:Q", title=x_title, scale=alt.Scale(zero=False)), x2="hi:Q"
    )
    pts = base.mark_point(filled=True, size=90).encode(
        x=x,
        color=alt.Color(
            "chosen:N",
            scale=alt.Scale(domain=[True, False], range=["#cc3311", "#4477aa"]),
            legend=None,
        ),
        tooltip=[
            "strategy",
            alt.Tooltip("error:Q", format=".4f"),
            alt.Tooltip("lo:Q", format=".4f", title="90% low"),
            alt.Tooltip("hi:Q", format=".4f", title="90% high"),
            "models",
        ],
    )
    glob = df[df["strategy"] == "global"]
    layers = [bars, pts]
    if len(glob):
        layers.append(
            alt.Chart(glob)
            .mark_rule(strokeDash=[4, 3], color="#333")
            .encode(x=alt.X("error:Q", title=x_title))
        )
    return alt.layer(*layers).properties(
        width=210,
        height=max(120, 24 * len(df)),
        title=alt.TitleParams(
            "Did segmenting help?",
            subtitle=[
                "red: the choice; dashed: one global model;",
                "bars: 90% interval over series",
            ],
        ),
    )


# ---------------------------------------------------------------------- segments
def sizes_chart(insights):
    """Series per segment (largest first), with their share of the rows."""
    alt = _alt()
    df = insights.sizes.rename(columns={"name": "segment_name"})
    by_size = _ranked(df, list(df["segment_name"]))
    return _pickable(
        alt.Chart(df)
        .mark_bar(color="#4477aa")
        .encode(
            x=alt.X("n_series:Q", title="series"),
            y=alt.Y("segment_name:N", sort=by_size, title="segment"),
            tooltip=[
                "segment_name",
                "segment",
                "n_series",
                alt.Tooltip("share_rows:Q", format=".1%", title="share of rows"),
                alt.Tooltip("representative:N", title="representative series"),
            ],
        )
    ).properties(width=120, height=max(120, 22 * len(df)), title="Segment sizes")


def profile_chart(insights, top: int = 6):
    """Heatmap of segments × their ``top`` most impactful numeric features."""
    alt = _alt()
    table = insights.table
    feats = [
        f
        for f in insights.feature_order()
        if pd.api.types.is_numeric_dtype(table[f])
        and table[f].notna().any()
        and np.nanmax(table[f].to_numpy(float)) > np.nanmin(table[f].to_numpy(float))
    ][:top]
    sizes = insights.sizes.set_index("segment")
    rows = []
    for f in feats:
        col = table[f].to_numpy(float)
        for s in insights.order:
            v = col[insights.segments == s]
            v = v[np.isfinite(v)]
            med = float(np.median(v)) if len(v) else np.nan
            rows.append(
                {
                    "feature": str(f),
                    "segment_name": insights.names[s],
                    "segment": s,
                    "label": f"{insights.names[s]} ({int(sizes.loc[s, 'n_series'])})",
                    "percentile": percentile_of(col, med),
                    "median": med,
                    "text": "" if not np.isfinite(med) else f"{med:.3g}",
                    "impact": float(insights.impact.get(f, 0.0)),
                }
            )
    df = pd.DataFrame(rows)
    by_size = _ranked(df, [insights.names[s] for s in insights.order])
    base = alt.Chart(df).encode(
        x=alt.X("feature:N", sort=[str(f) for f in feats], title="feature (by impact)"),
        y=alt.Y("label:N", sort=by_size, title="segment (series)"),
    )
    heat = base.mark_rect().encode(
        color=alt.Color(
            "percentile:Q",
            scale=alt.Scale(scheme="blueorange", domain=[0, 1]),
            legend=alt.Legend(
                title="percentile among all series", format=".0%", orient="bottom"
            ),
        ),
        tooltip=[
            "segment_name",
            "feature",
            alt.Tooltip("median:Q", format=".4g", title="segment median"),
            alt.Tooltip("percentile:Q", format=".0%"),
            alt.Tooltip("impact:Q", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=9).encode(text="text:N")
    return _pickable(alt.layer(heat, text)).properties(
        width=max(_SMALL, 38 * len(feats)),
        height=max(120, 24 * len(insights.order)),
        title=alt.TitleParams(
            "What sets the segments apart",
            subtitle=[
                "colour: the segment median's percentile",
                "among all series; label: the median",
            ],
        ),
    )


def _common_grid(panel, idx) -> bool:
    """Whether the series at ``idx`` share one time grid (same start, same length)."""
    ends = panel.end_positions()[idx]
    lengths = np.asarray(panel.lengths)[idx]
    return bool(len(idx)) and np.ptp(ends) == 0 and np.ptp(lengths) == 0


def _sample_members(insights, sample: int, rng) -> dict:
    out = {}
    for s in insights.order:
        members = np.flatnonzero(insights.segments == s)
        if len(members) > sample:
            members = np.sort(rng.choice(members, size=sample, replace=False))
        out[s] = members
    return out


def shape_chart(insights, sample: int = 200, points: int = 50, random_state=0):
    """Each segment's centre over the bands of its members, on the original scale."""
    alt = _alt()
    panel = insights.panel
    rng = np.random.default_rng(random_state)
    picked = _sample_members(insights, sample, rng)
    rows = []
    for s, members in picked.items():
        if _common_grid(panel, members):
            times = pd.Index(panel.times(int(members[0])))
            Y = np.vstack([panel.series(int(i)) for i in members])
            x = times
        else:
            Y = np.vstack([_resample(panel.series(int(i)), points) for i in members])
            x = np.linspace(0, 100, points)
        with np.errstate(all="ignore"):
            q = np.nanquantile(Y, [0.05, 0.25, 0.5, 0.75, 0.95], axis=0)
        for j in range(Y.shape[1]):
            rows.append(
                {
                    "segment_name": insights.names[s],
                    "x": x[j],
                    "q05": q[0, j],
                    "q25": q[1, j],
                    "centre": q[2, j],
                    "q75": q[3, j],
                    "q95": q[4, j],
                    "n": len(members),
                }
            )
    df = pd.DataFrame(rows)
    temporal = pd.api.types.is_datetime64_any_dtype(df["x"])
    xenc = (
        alt.X("x:T", title="time")
        if temporal
        else alt.X("x:Q", title="position in the series (% of its length)")
    )
    base = alt.Chart().encode(x=xenc)
    outer = base.mark_area(opacity=0.18, color="#4477aa").encode(
        y=alt.Y("q05:Q", title="value"), y2="q95:Q"
    )
    inner = base.mark_area(opacity=0.35, color="#4477aa").encode(
        y=alt.Y("q25:Q", title="value"), y2="q75:Q"
    )
    line = base.mark_line(color="#223355").encode(
        y=alt.Y("centre:Q", title="value"),
        tooltip=[
            "segment_name",
            alt.Tooltip("x:T" if temporal else "x:Q", title="time"),
            alt.Tooltip("centre:Q", format=".4g", title="centre (median)"),
            alt.Tooltip("q25:Q", format=".4g"),
            alt.Tooltip("q75:Q", format=".4g"),
            alt.Tooltip("n:Q", title="members drawn"),
        ],
    )
    layer = _pickable(alt.layer(outer, inner, line, data=df)).properties(
        width=_SMALL, height=120
    )
    return _facet(
        layer,
        df,
        [insights.names[s] for s in insights.order],
        title=alt.TitleParams(
            "Segment centres over their members",
            subtitle="line: pointwise median; bands: 25-75% and 5-95% of the members"
            + (f" (at most {sample} per segment, seeded)" if sample else ""),
        ),
    )


def _centre_distances(insights, members) -> np.ndarray:
    """Distance of each member to its segment's centre: the model's (insights), else
    the Euclidean distance of its z-normalised, resampled shape to their median."""
    d = insights.distances[members]
    if np.isfinite(d).all():
        return d
    Z = []
    for i in members:
        y = _resample(insights.panel.series(int(i)), 50)
        sd = np.nanstd(y)
        Z.append((y - np.nanmean(y)) / (sd if sd > 0 else 1.0))
    Z = np.vstack(Z)
    centre = np.nanmedian(Z, axis=0)
    return np.sqrt(np.nansum((Z - centre) ** 2, axis=1))


def members_chart(insights, n: int = 3, history: int = 80):
    """``n`` typical and ``n`` atypical members per segment (by distance to its
    centre), over their last ``history`` steps."""
    alt = _alt()
    panel = insights.panel
    ids = panel.id_labels()
    rows = []
    for s in insights.order:
        members = np.flatnonzero(insights.segments == s)
        d = _centre_distances(insights, members)
        order = members[np.argsort(d, kind="stable")]
        typical = list(order[:n])
        atypical = [i for i in order[::-1][:n] if i not in typical]
        for kind, picks in (("typical", typical), ("atypical", atypical)):
            for i in picks:
                t = panel.times(int(i))[-history:]
                y = panel.series(int(i))[-history:]
                label = " / ".join(map(str, np.atleast_1d(ids[i])))
                rows += [
                    {
                        "segment_name": insights.names[s],
                        "series": label,
                        "kind": kind,
                        "time": tt,
                        "value": float(v),
                    }
                    for tt, v in zip(t, y)
                ]
    df = pd.DataFrame(rows)
    temporal = pd.api.types.is_datetime64_any_dtype(df["time"])
    line = (
        alt.Chart()
        .mark_line(strokeWidth=1.2)
        .encode(
            x=alt.X("time:T" if temporal else "time:Q", title="time"),
            y=alt.Y("value:Q", title="value"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["typical", "atypical"], range=["#4477aa", "#ee7733"]
                ),
                legend=alt.Legend(title="member"),
            ),
            detail="series:N",
            tooltip=["series", "kind", "time", alt.Tooltip("value:Q", format=".4g")],
        )
    )
    layer = _pickable(alt.layer(line, data=df)).properties(width=_SMALL, height=120)
    return _facet(
        layer,
        df,
        [insights.names[s] for s in insights.order],
        title=alt.TitleParams(
            "Typical and atypical members",
            subtitle=f"the {n} closest to and farthest from each segment's centre",
        ),
    )


# ---------------------------------------------------------------------- forecasts
def _per_series_errors(forecaster) -> pd.DataFrame | None:
    per = getattr(forecaster, "comparison_per_series_", None)
    col = f"segmented {forecaster.metric}"
    if per is None or col not in per.columns:
        return None
    return per


def fan_chart(forecaster, panel, history: int | None = None, random_state=0):
    """Forecasts with 80% and 95% bands for each segment's typical and worst-forecast
    series, over the last ``history`` steps (default 3 horizons, 12 to 60)."""
    alt = _alt()
    fc = forecaster.forecasts_
    args = forecaster.data_args_
    id_cols = panel.id_cols
    tcol = args["time_col"]
    names = forecaster.segment_names_ if hasattr(forecaster, "segment_names_") else {}
    h = forecaster.horizon
    history = history or int(min(60, max(12, 3 * h)))
    per = _per_series_errors(forecaster)
    metric = forecaster.metric
    rng = np.random.default_rng(random_state)
    picks = []
    keys = fc[id_cols + ["segment"]].drop_duplicates()
    for g, part in keys.groupby("segment", sort=True):
        tuples = [tuple(r) for r in part[id_cols].itertuples(index=False)]
        if per is not None:
            err = per.set_index(id_cols)[f"segmented {metric}"]
            e = err.reindex(
                pd.MultiIndex.from_tuples(tuples)
                if len(id_cols) > 1
                else [t[0] for t in tuples]
            )
            e = e.to_numpy(float)
            ok = np.flatnonzero(np.isfinite(e))
            if len(ok):
                med = ok[np.argsort(np.abs(e[ok] - np.median(e[ok])))[0]]
                worst = ok[np.argmax(e[ok])]
                picks.append((g, tuples[med], "typical", e[med]))
                if worst != med:
                    picks.append((g, tuples[worst], "worst", e[worst]))
                continue
        for i in rng.choice(len(tuples), size=min(2, len(tuples)), replace=False):
            picks.append((g, tuples[i], "random", np.nan))
    pos = {
        tuple(r): i for i, r in enumerate(panel.ids[id_cols].itertuples(index=False))
    }
    fc_key = fc.set_index(id_cols)
    rows = []
    for g, key, why, err in picks:
        label = " / ".join(map(str, key))
        title = f"{names.get(g, f'segment {g}')} ({why}"
        title += (
            f", {_metric_label(forecaster)} {err:.2f})" if np.isfinite(err) else ")"
        )
        title += f"|{label}"  # the header draws one line per "|"-separated part
        common = {
            "panel": title,
            "series": label,
            "segment_name": names.get(g, f"segment {g}"),
        }
        i = pos.get(key)
        if i is not None:
            for t, y in zip(panel.times(i)[-history:], panel.series(i)[-history:]):
                rows.append({**common, "time": t, "actual": float(y)})
        f = fc_key.loc[[key] if len(id_cols) > 1 else [key[0]]]
        for _, r in f.iterrows():
            row = {**common, "time": r[tcol], "forecast": float(r["forecast"])}
            for lv in (80, 95):
                if f"lo-{lv}" in f.columns:
                    row[f"lo{lv}"] = float(r[f"lo-{lv}"])
                    row[f"hi{lv}"] = float(r[f"hi-{lv}"])
            rows.append(row)
    df = pd.DataFrame(rows)
    temporal = pd.api.types.is_datetime64_any_dtype(df["time"])
    x = alt.X("time:T" if temporal else "time:Q", title="time")
    base = alt.Chart().encode(x=x)
    layers = []
    for lv, op in ((95, 0.18), (80, 0.32)):
        if f"lo{lv}" in df.columns:
            layers.append(
                base.mark_area(opacity=op, color="#cc3311").encode(
                    y=alt.Y(f"lo{lv}:Q", title="value"), y2=f"hi{lv}:Q"
                )
            )
    tip = ["series", "time", alt.Tooltip("forecast:Q", format=".4g")] + [
        alt.Tooltip(f"{p}{lv}:Q", format=".4g")
        for lv in (80, 95)
        if f"lo{lv}" in df.columns
        for p in ("lo", "hi")
    ]
    layers.append(
        base.mark_line(color="#cc3311").encode(
            y=alt.Y("forecast:Q", title="value"), tooltip=tip
        )
    )
    layers.append(
        base.mark_line(color="#222", strokeWidth=1).encode(
            y=alt.Y("actual:Q", title="value"),
            tooltip=["series", "time", alt.Tooltip("actual:Q", format=".4g")],
        )
    )
    layer = _pickable(alt.layer(*layers, data=df)).properties(width=_SMALL, height=120)
    return (
        layer.facet(
            facet=alt.Facet(
                "panel:N",
                title=None,
                sort=_ranked(df, list(dict.fromkeys(df["panel"])), "panel"),
                header=alt.Header(labelExpr="split(datum.label, '|')", labelLimit=240),
            ),
            columns=4,
        )
        .resolve_scale(y="independent")
        .properties(
            title=alt.TitleParams(
                "Forecasts with 80% and 95% intervals",
                subtitle=f"per segment its typical and its worst-forecast series "
                f"(final backtest window); last {history} steps of history",
            )
        )
    )


def error_chart(forecaster, bins: int = 20):
    """Per-series error of the chosen forecasts by segment, with the global model's."""
    alt = _alt()
    per = _per_series_errors(forecaster)
    metric = forecaster.metric
    label = _metric_label(forecaster)
    names = forecaster.segment_names_
    col = f"segmented {metric}"
    v = per[col].to_numpy(float)
    finite = v[np.isfinite(v)]
    top = float(np.quantile(finite, 0.99)) if len(finite) else 1.0
    edges = np.linspace(0.0, top if top > 0 else 1.0, bins + 1)
    rows = []
    for g, part in per.groupby("segment", sort=True):
        name = names.get(g, f"segment {g}")
        e = np.clip(part[col].to_numpy(float), edges[0], edges[-1])
        e = e[np.isfinite(e)]
        counts, _ = np.histogram(e, edges)
        for a, b, c in zip(edges[:-1], edges[1:], counts):
            rows.append(
                {
                    "segment_name": name,
                    "lo": a,
                    "hi": b,
                    "series": int(c),
                    "kind": "bar",
                }
            )
        gcol = f"global {metric}"
        if gcol in part.columns:
            rows.append(
                {
                    "segment_name": name,
                    "global_error": float(np.nanmean(part[gcol])),
                    "segment_error": float(np.nanmean(part[col])),
                    "kind": "rule",
                }
            )
    df = pd.DataFrame(rows)
    x_title = f"{label} per series (final window)"
    bars = (
        alt.Chart()
        .transform_filter("datum.kind == 'bar'")
        .mark_bar(color="#4477aa")
        .encode(
            x=alt.X("lo:Q", bin="binned", title=x_title),
            x2="hi:Q",
            y=alt.Y("series:Q", title="series"),
            tooltip=[
                "segment_name",
                alt.Tooltip("lo:Q", format=".3f", title="from"),
                alt.Tooltip("hi:Q", format=".3f", title="to"),
                "series",
            ],
        )
    )
    rule = (
        alt.Chart()
        .transform_filter("datum.kind == 'rule'")
        .mark_rule(color="#cc3311", strokeDash=[4, 3], strokeWidth=2)
        .encode(
            x=alt.X("global_error:Q", title=x_title),
            tooltip=[
                "segment_name",
                alt.Tooltip("global_error:Q", format=".4f", title="global model, mean"),
                alt.Tooltip("segment_error:Q", format=".4f", title="chosen, mean"),
            ],
        )
    )
    layer = _pickable(alt.layer(bars, rule, data=df)).properties(
        width=_SMALL, height=110
    )
    return _facet(
        layer,
        df,
        list(dict.fromkeys(df["segment_name"])),
        title=alt.TitleParams(
            "Per-series error by segment",
            subtitle="dashed red: one global model's mean error on the segment's "
            "series; errors above the 99th percentile are drawn in the last bin",
        ),
    )


def selection_chart(forecaster):
    """Validation error of every candidate segmentation against k, with baselines."""
    alt = _alt()
    label = _metric_label(forecaster)
    sel = forecaster.selection_.copy()
    sel["blueprint"] = sel["candidate"].str.replace(r"\s*k=\d+$", "", regex=True)
    cands = sel[~sel["kind"].isin(["global", "per-series", "random"])].copy()
    y_title = f"mean {label}, validation windows (lower is better)"
    tip = [
        "candidate",
        "kind",
        "n_segments",
        alt.Tooltip("valid_error:Q", format=".4f", title="validation"),
        alt.Tooltip("final_error:Q", format=".4f", title="most recent window"),
        "chosen",
    ]
    ks = cands["n_segments"].astype(float)
    x = alt.X(
        "n_segments:Q",
        title="number of segments (k)",
        scale=alt.Scale(
            domain=[float(ks.min()) - 0.5, float(ks.max()) + 0.5]
            if len(ks)
            else alt.Undefined,
            zero=False,
        ),
    )
    lines = (
        alt.Chart(cands)
        .mark_line(point=True)
        .encode(
            x=x,
            y=alt.Y(
                "valid_error:Q",
                title=y_title,
                scale=alt.Scale(zero=False, padding=12),
            ),
            color=alt.Color("blueprint:N", legend=alt.Legend(title="candidate")),
            tooltip=tip,
        )
    )
    chosen = (
        alt.Chart(sel[sel["chosen"].astype(bool)])
        .mark_point(size=260, shape="circle", strokeWidth=2.5, color="#000")
        .encode(x=x, y=alt.Y("valid_error:Q", title=y_title), tooltip=tip)
    )
    layers = [lines, chosen]
    rand = sel[sel["kind"] == "random"]
    if len(rand):
        band = pd.DataFrame(
            {
                "lo": [rand["valid_error"].min()],
                "hi": [rand["valid_error"].max()],
                "what": ["random partitions (range)"],
            }
        )
        layers.insert(
            0,
            alt.Chart(band)
            .mark_rect(opacity=0.15, color="#888")
            .encode(
                y=alt.Y("lo:Q", title=y_title),
                y2="hi:Q",
                tooltip=[
                    "what",
                    alt.Tooltip("lo:Q", format=".4f"),
                    alt.Tooltip("hi:Q", format=".4f"),
                ],
            ),
        )
    base_rows = sel[sel["kind"].isin(["global", "per-series"])]
    if len(base_rows):
        layers.append(
            alt.Chart(base_rows)
            .mark_rule(strokeDash=[5, 3])
            .encode(
                y=alt.Y("valid_error:Q", title=y_title),
                color=alt.Color(
                    "candidate:N",
                    scale=alt.Scale(
                        domain=["global", "per-series"], range=["#cc3311", "#ee7733"]
                    ),
                    legend=alt.Legend(title="baseline"),
                ),
                tooltip=tip,
            )
        )
    return (
        alt.layer(*layers)
        .resolve_scale(color="independent")
        .properties(
            width=420,
            height=260,
            title=alt.TitleParams(
                "Candidate segmentations: validation error against k",
                subtitle="circled: the choice; dashed: one global model and per-series "
                "choice; grey band: random partitions",
            ),
        )
    )


# ---------------------------------------------------------------------- clustering
def leaderboard_chart(seg, width: int = 240):
    """The clustering leaderboard: validation score against k, by blueprint."""
    alt = _alt()
    lb = seg.leaderboard_
    metric = seg.metric
    ok = lb[lb["status"] == "ok"].copy()
    ok["k"] = ok["n_clusters"].fillna(ok.get("n_clusters_found"))
    ok["score"] = ok[metric].astype(float)
    return (
        alt.Chart(ok[["row", "rank", "blueprint", "k", "score"]])
        .mark_line(point=True)
        .encode(
            x=alt.X("k:Q", title="number of clusters (k)", scale=alt.Scale(zero=False)),
            y=alt.Y("score:Q", title=f"{metric} (validation)"),
            color=alt.Color("blueprint:N", legend=alt.Legend(title="blueprint")),
            tooltip=[
                "rank",
                "row",
                "blueprint",
                "k",
                alt.Tooltip("score:Q", format=".3f"),
            ],
        )
        .properties(
            width=_WIDTH,
            height=200,
            title=alt.TitleParams(
                f"Clustering leaderboard: {metric} by k",
                subtitle="each blueprint in its own geometry: compare within a family",
            ),
        )
    )


def impact_chart(insights, top: int = 15):
    """Feature impact bars (highest first)."""
    alt = _alt()
    imp = insights.impact[insights.impact > 0].head(top)
    if not len(imp):
        imp = insights.impact.head(top)
    df = pd.DataFrame(
        {"feature": [str(f) for f in imp.index], "impact": imp.to_numpy()}
    )
    return (
        alt.Chart(df)
        .mark_bar(color="#4477aa")
        .encode(
            x=alt.X(
                "impact:Q", title="normalised impact", scale=alt.Scale(domain=[0, 1])
            ),
            y=alt.Y("feature:N", sort=list(df["feature"]), title="feature"),
            tooltip=["feature", alt.Tooltip("impact:Q", format=".3f")],
        )
        .properties(
            width=_WIDTH,
            height=max(120, 18 * len(df)),
            title=f"Feature impact ({insights.impact_method})",
        )
    )


def associations_chart(insights, top: int = 20):
    """Heatmap of the ``top`` most associated features."""
    alt = _alt()
    a = insights.associations
    strength = a.where(~np.eye(len(a), dtype=bool)).max(axis=1).fillna(0)
    keep = sorted(
        strength.sort_values(ascending=False, kind="mergesort").index[:top], key=str
    )
    m = a.loc[keep, keep]
    df = (
        m.rename_axis(index="a", columns="b")
        .stack(future_stack=True)
        .reset_index(name="association")
    )
    df["a"] = df["a"].astype(str)
    df["b"] = df["b"].astype(str)
    order = [str(k) for k in keep]
    return (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("a:N", sort=order, title="feature"),
            y=alt.Y("b:N", sort=order, title="associated feature"),
            color=alt.Color(
                "association:Q",
                scale=alt.Scale(scheme="viridis", domain=[0, 1]),
                legend=alt.Legend(title="association"),
            ),
            tooltip=["a", "b", alt.Tooltip("association:Q", format=".2f")],
        )
        .properties(width=_WIDTH, height=_WIDTH, title="Feature associations")
    )


def map_chart(seg, insights, sample: int = 400, random_state=0):
    """A 2-D map of a seeded sample of series coloured by segment."""
    alt = _alt()
    panel = insights.panel
    idx, xy, lab, how = map_coordinates(
        seg, panel, sample, random_state, labels=insights.segments
    )
    ids = panel.id_labels(idx)
    df = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "segment_name": [insights.names[int(s)] for s in lab],
            "series": [" / ".join(map(str, np.atleast_1d(i))) for i in ids],
        }
    )
    return _pickable(
        alt.Chart(df)
        .mark_circle(size=35, opacity=0.8)
        .encode(
            x=alt.X("x:Q", title="map axis 1"),
            y=alt.Y("y:Q", title="map axis 2"),
            color=alt.Color("segment_name:N", legend=alt.Legend(title="segment")),
            tooltip=["series", "segment_name"],
        )
    ).properties(
        width=_WIDTH,
        height=_WIDTH,
        title=alt.TitleParams(f"Map of {len(idx)} series", subtitle=how),
    )


def silhouette_chart(seg, insights, sample: int = 1000, random_state=0):
    """Silhouette values of a seeded sample of series, by segment."""
    alt = _alt()
    panel = insights.panel
    idx, vals, lab = silhouette_values(
        seg, panel, sample, random_state, labels=insights.segments
    )
    if vals is None:
        vals = np.full(len(idx), np.nan)
    ids = panel.id_labels(idx)
    df = pd.DataFrame(
        {
            "silhouette": vals,
            "segment_name": [insights.names[int(s)] for s in lab],
            "series": [" / ".join(map(str, np.atleast_1d(i))) for i in ids],
        }
    )
    order = [insights.names[s] for s in insights.order]
    return _pickable(
        alt.Chart(df)
        .mark_tick(opacity=0.6)
        .encode(
            x=alt.X(
                "silhouette:Q", title="silhouette", scale=alt.Scale(domain=[-1, 1])
            ),
            y=alt.Y("segment_name:N", sort=_ranked(df, order), title="segment"),
            color=alt.Color("segment_name:N", legend=None),
            tooltip=[
                "series",
                "segment_name",
                alt.Tooltip("silhouette:Q", format=".3f"),
            ],
        )
    ).properties(
        width=_WIDTH,
        height=max(120, 22 * len(order)),
        title=alt.TitleParams(
            f"Silhouette of {len(idx)} series", subtitle=seg.model_.blueprint.geometry
        ),
    )


# ---------------------------------------------------------------------- monitoring
def _names_of(frame: pd.DataFrame) -> pd.Series:
    if "segment_name" in frame.columns:
        return frame["segment_name"].astype(str)
    return "segment " + frame["segment"].astype(str)


def drift_chart(membership: pd.DataFrame, thresholds):
    """Per fit-time segment the share of series that changed segment and the share
    far from their segment, with the two thresholds as rules."""
    alt = _alt()
    m = membership.assign(segment_name=_names_of(membership))
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "segment_name": m["segment_name"],
                    "measure": label,
                    "share": m[col].astype(float),
                    "threshold": float(getattr(thresholds, thr)),
                }
            )
            for col, label, thr in (
                ("changed_share", "changed segment", "max_changed_share"),
                ("far_share", "far from its segment", "max_far_share"),
            )
        ],
        ignore_index=True,
    )
    color = alt.Color(
        "measure:N",
        scale=alt.Scale(
            domain=["changed segment", "far from its segment"],
            range=["#4477aa", "#ee7733"],
        ),
        legend=alt.Legend(title="share of series", orient="bottom"),
    )
    bars = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("segment_name:N", title="segment at fit"),
            xOffset="measure:N",
            y=alt.Y("share:Q", title="share of the segment's series"),
            color=color,
            tooltip=[
                "segment_name",
                "measure",
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("threshold:Q", format=".0%"),
            ],
        )
    )
    rules = (
        alt.Chart(long.drop_duplicates("measure"))
        .mark_rule(strokeDash=[5, 3], strokeWidth=2)
        .encode(
            y=alt.Y("threshold:Q", title="share of the segment's series"), color=color
        )
    )
    return alt.layer(bars, rules).properties(
        width=max(_SMALL, 60 * len(m)),
        height=200,
        title=alt.TitleParams(
            "Membership drift by segment", subtitle="dashed: the thresholds"
        ),
    )


def accuracy_chart(accuracy: pd.DataFrame, thresholds):
    """Per segment the served forecasts' error against the fit's backtest error, with
    the threshold as a rule."""
    alt = _alt()
    a = accuracy.assign(segment_name=_names_of(accuracy))
    a["error_ratio"] = a["error_ratio"].astype(float)
    a["flagged"] = a["flagged"].astype(bool)
    bars = (
        alt.Chart(a)
        .mark_bar()
        .encode(
            x=alt.X("segment_name:N", title="segment"),
            y=alt.Y("error_ratio:Q", title="error now / error in the backtests"),
            color=alt.Color(
                "flagged:N",
                scale=alt.Scale(domain=[False, True], range=["#4477aa", "#cc3311"]),
                legend=alt.Legend(title="flagged", orient="bottom"),
            ),
            tooltip=[
                "segment_name",
                "champion",
                "n_scored",
                alt.Tooltip("error:Q", format=".4f"),
                alt.Tooltip("fit_error:Q", format=".4f"),
                alt.Tooltip("error_ratio:Q", format=".2f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"threshold": [float(thresholds.max_error_ratio)]}))
        .mark_rule(strokeDash=[5, 3], strokeWidth=2, color="#cc3311")
        .encode(y=alt.Y("threshold:Q", title="error now / error in the backtests"))
    )
    return alt.layer(bars, rule).properties(
        width=max(_SMALL, 50 * len(a)),
        height=200,
        title=alt.TitleParams(
            "Accuracy of the served forecasts",
            subtitle="dashed: the threshold (max_error_ratio)",
        ),
    )
