"""One self-contained HTML report of a fitted Segmenter (and, optionally, its forecasts).

:func:`write_report` (``Segmenter.report(path)``, CLI ``segmenter segment ... --report``)
writes a single HTML file that opens offline and can be mailed (see
:mod:`segmenter.reporting.page`).  The first screen gives the answer: the verdict in
one sentence (did segmenting help, by how much, how sure), the key figures (series,
segments, horizon, metric, hold-out windows) and three charts: the chosen strategy
against one global model, random partitions, per-series choice and the ensembles
(each with its interval); the segment sizes; and what sets the segments apart.  Below
come pictures of the segments (centres over their members' bands, typical and
atypical members), of the forecasts (fan charts, per-series error against one global
model), of the selection (error against k with the baselines), of the clustering
leaderboard, feature impact and associations, and a map of the series.  Every table
sits in a collapsible section with a CSV download.  A segment picker filters every
chart that shows segments.

Section ids: ``summary``, ``segments``, ``forecasting`` (with a forecaster),
``leaderboard``, ``impact``, ``associations``, ``geometry`` and ``tables``.  Charts
draw seeded samples of large panels, and the page says how many; tables and key
figures use every series.  ``static=True`` draws every chart as a PNG and writes no
script (for PDF export).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .._version import __version__
from . import charts
from .page import Page, details_table, html_page, paragraph, table

__all__ = ["write_report", "verdict", "html_page", "table", "paragraph"]

#: Members drawn per segment in the segment-centre bands.
SHAPE_SAMPLE = 200
#: Series drawn in the map, and whose silhouettes are drawn.
MAP_SAMPLE = 400
SILHOUETTE_SAMPLE = 1000
#: Rows of a per-series table offered for download (the full tables are written by
#: ``Insights.to_csv`` and the forecaster's attributes).
PER_SERIES_DOWNLOAD = 5000


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def verdict(forecaster) -> tuple[str, str]:
    """``(sentence, css class)``: did segmenting help, by how much and how sure, in
    one sentence, from the forecaster's comparison on the most recent window."""
    chosen = getattr(forecaster, "segmentation_", "?")
    imp = (getattr(forecaster, "improvement_", None) or {}).get("global")
    sel = getattr(forecaster, "selection_", None)
    if chosen == "global":
        return (
            "One global model was kept: no candidate segmentation beat it on every "
            "selection window with an interval clear of zero.",
            "note verdict",
        )
    if imp is None or not np.isfinite(imp[1]):
        text = getattr(forecaster, "comparison_text_", "") or "No comparison was made."
        return text.split(". ")[0].rstrip(".") + ".", "warning verdict"
    gain, lo, hi = imp
    consistent = False
    if sel is not None and "consistent" in sel.columns:
        row = sel[sel["candidate"] == chosen]
        consistent = bool(len(row)) and row["consistent"].iloc[0] is True
    figures = (
        f"{chosen} forecast {_pct(gain)} against one global model on the most recent "
        f"window (90% interval {_pct(lo)} to {_pct(hi)}, series and windows resampled)"
    )
    if lo > 0 and consistent:
        return f"Segmenting helped: {figures}, consistent across windows.", (
            "good verdict"
        )
    if lo > 0:
        return (
            f"Segmenting probably helped: {figures}, but not on every window.",
            "good verdict",
        )
    if hi < 0:
        return f"Segmenting did not help: {figures}.", "warning verdict"
    return f"No clear gain from segmenting: {figures}.", "warning verdict"


def _forecaster_names(seg, forecaster, names):
    fc_names = dict(forecaster.segment_names_)
    if names and forecaster._segmenter_follows(
        seg, getattr(forecaster, "_labels", None)
    ):
        fc_names.update({int(k): str(v) for k, v in names.items()})
    return fc_names


def write_report(
    seg,
    path,
    data=None,
    forecaster=None,
    actuals=None,
    names=None,
    insights=None,
    static: bool = False,
) -> Path:
    """Write the HTML report of ``seg`` to ``path`` (see the module docstring).

    Parameters
    ----------
    seg : Segmenter
        Fitted; after :func:`segmenter.load` pass ``data`` (the fit's frame).
    data : DataFrame or path, optional
        The data to report on (default: the fit data); ignored when ``insights`` are
        given, which carry their own.
    forecaster : SegmentedForecaster, optional
        Fitted; adds the verdict, the forecasts and the selection.
    actuals : DataFrame, optional
        Accepted for compatibility; the fan charts show the history before the
        forecasts (the backtests score against actuals).
    names : dict, optional
        Segment names for this page only, e.g. ``{0: "steady"}``; to rename them
        everywhere use ``rename_segments``.
    insights : Insights, optional
        Reuse already computed insights.
    static : bool, default False
        Draw the charts as PNG images and write no script (for PDF export).
    """
    ins = insights if insights is not None else seg.insights(data=data)
    if names:
        ins.rename(names)
    panel = ins.panel
    meta = seg.mapping_.metadata
    page = Page("segmenter report", static=static)
    page.add("<h1>Segmentation report</h1>")
    figures = {
        "series": f"{panel.n_series:,}",
        "segments": len(ins.order),
        "segmented by": f"{meta.get('blueprint')}",
    }
    if forecaster is not None:
        text, cls = verdict(forecaster)
        page.add(f'<p class="{cls}" id="verdict">{html.escape(text)}</p>')
        plan = getattr(forecaster, "plan_", None)
        figures.update(
            {
                "forecasts use": forecaster.segmentation_,
                "horizon": forecaster.horizon,
                "metric": charts._metric_label(forecaster),
                "hold-out": "the most recent window"
                + (
                    f"; chosen on {len(plan.selection_windows)} earlier"
                    if plan is not None and hasattr(plan, "selection_windows")
                    else ""
                ),
            }
        )
    else:
        score = meta.get("score")
        page.add(
            paragraph(
                f"{panel.n_series} series segmented into {len(ins.order)} segments by "
                f"{meta.get('blueprint')} ({meta.get('steps')})"
                + (f"; {seg.metric} {score:.3f}." if isinstance(score, float) else "."),
                "verdict",
            )
        )
    page.add(Page.figures(figures), Page.picker(ins.names))
    # -- the first screen -------------------------------------------------------
    first = []
    if forecaster is not None and hasattr(forecaster, "comparison_"):
        first.append(page.chart(charts.verdict_chart(forecaster), "verdict chart"))
    first.append(page.chart(charts.sizes_chart(ins), "segment sizes"))
    first.append(page.chart(charts.profile_chart(ins), "segment profiles"))
    leaderboard_first = len(first) < 3
    if leaderboard_first:
        first.append(page.chart(charts.leaderboard_chart(seg), "leaderboard chart"))
    page.add('<section id="summary"><div class="grid">', *first, "</div>")
    drawn = (
        f"Charts draw seeded samples of large panels: at most {SHAPE_SAMPLE} members "
        f"per segment in the bands, {MAP_SAMPLE} series in the map and "
        f"{SILHOUETTE_SAMPLE} in the silhouettes; sizes, profiles and tables use every "
        "series."
    )
    notes = [drawn]
    if getattr(seg, "assignment_", {}).get("n_assigned"):
        a = seg.assignment_
        notes.append(
            f"The segmenter was fitted on {a['n_fit']} series (fit_sample); "
            f"{a['n_assigned']} more were assigned by its predict."
        )
    notes.append(
        f"segmenter {__version__}; data fingerprint "
        f"{meta.get('data_fingerprint', '')[:16]}…; report written "
        f"{datetime.now(UTC).isoformat(timespec='seconds')}."
    )
    page.add(*[paragraph(n, "note") for n in notes], "</section>")
    sections = ["segments"] + (["forecasting"] if forecaster is not None else [])
    sections += ["leaderboard", "impact", "associations", "geometry", "tables"]
    page.add("<nav>" + "".join(f'<a href="#{s}">{s}</a>' for s in sections) + "</nav>")
    # -- segments -----------------------------------------------------------------
    page.add(
        '<section id="segments"><h2>Segments</h2>',
        paragraph(
            "Names are built from each segment's most distinctive summary features; "
            "rename them with rename_segments({segment: name}).",
            "note",
        ),
        page.chart(charts.shape_chart(ins, sample=SHAPE_SAMPLE), "segment centres"),
        page.chart(charts.members_chart(ins), "typical and atypical members"),
        details_table(ins.sizes, "sizes", "Segment sizes and representatives"),
        "</section>",
    )
    if forecaster is not None:
        _forecasting(page, seg, forecaster, panel, names)
    # -- clustering ---------------------------------------------------------------
    lb = seg.leaderboard_
    page.add(
        '<section id="leaderboard"><h2>Clustering leaderboard</h2>',
        paragraph(
            "Silhouettes of different families are measured in different geometries "
            "(DTW, scaled features, a single statistic) and are not directly "
            "comparable; compare the best row of each family.",
            "note",
        ),
        ""
        if leaderboard_first
        else page.chart(charts.leaderboard_chart(seg), "leaderboard chart"),
        details_table(lb, "leaderboard", "Leaderboard"),
        "</section>",
    )
    how = (
        "Permutation impact on the model's distances to the segment centers."
        if ins.impact_method == "permutation"
        else "Shape blueprint, explained through a surrogate random forest on the "
        f"insight features (out-of-bag accuracy {ins.surrogate_accuracy:.2f})."
    )
    page.add(
        '<section id="impact"><h2>Feature impact</h2>',
        paragraph(how, "note"),
        page.chart(charts.impact_chart(ins), "feature impact"),
        details_table(
            ins.impact.rename_axis("feature").to_frame(), "impact", "Impact", index=True
        ),
        "</section>",
        '<section id="associations"><h2>Feature associations</h2>',
        page.chart(charts.associations_chart(ins), "feature associations"),
        details_table(
            ins.top_pairs(50), "associated_pairs", "Most associated pairs (redundant)"
        ),
        "</section>",
        '<section id="geometry"><h2>Silhouette and map</h2><div class="grid">',
        page.chart(
            charts.silhouette_chart(seg, ins, sample=SILHOUETTE_SAMPLE), "silhouettes"
        ),
        page.chart(charts.map_chart(seg, ins, sample=MAP_SAMPLE), "map of series"),
        "</div></section>",
        '<section id="tables"><h2>Tables</h2>',
        details_table(ins.features, "insights", "Per feature and segment"),
        details_table(
            ins.associations, "associations", "Feature associations", index=True
        ),
        "</section>",
    )
    return page.write(path)


def _forecasting(page, seg, forecaster, panel, names) -> None:
    fc_names = _forecaster_names(seg, forecaster, names)
    page.add('<section id="forecasting"><h2>Segmented forecasting</h2>')
    text = getattr(forecaster, "comparison_text_", "")
    page.add(
        '<details id="comparison-text"><summary>How the segmentation was chosen and '
        "compared (the full comparison)</summary>",
        paragraph(text, "warning" if text.startswith("Could not compare") else ""),
        "</details>",
    )
    if hasattr(forecaster, "plan_"):
        page.add(paragraph(f"Backtests: {forecaster.plan_.describe()}.", "note"))
    saved = getattr(forecaster, "_segment_names", None)
    forecaster._segment_names = fc_names  # the page's names, restored below
    try:
        page.add(page.chart(charts.fan_chart(forecaster, panel), "forecasts"))
        if charts._per_series_errors(forecaster) is not None:
            page.add(page.chart(charts.error_chart(forecaster), "per-series error"))
    finally:
        forecaster._segment_names = saved
    sel = getattr(forecaster, "selection_", None)
    if sel is not None and len(sel) > 1:
        page.add(
            page.chart(charts.selection_chart(forecaster), "candidate segmentations"),
            details_table(sel, "selection", "Candidate segmentations and baselines"),
        )
    if hasattr(forecaster, "comparison_"):
        page.add(
            details_table(
                forecaster.comparison_, "comparison", "Comparison on the final window"
            )
        )
        per = forecaster.comparison_per_series_
        page.add(
            details_table(
                per,
                "comparison_per_series",
                "Per-series errors",
                max_download_rows=PER_SERIES_DOWNLOAD,
            )
        )
    used = getattr(forecaster, "mapping_", None)
    if used is not None and used.metadata.get("kind") == "forecast-driven":
        from .insights import Insights

        fd = Insights.from_mapping(forecaster._fit_data[0], used)
        page.add(
            paragraph(
                f"The forecasts use {used.metadata['candidate']}: segments found by "
                "moving each series to the segment whose pooled model forecasts it "
                "best, not the clustering above. The features that tell them apart "
                f"(surrogate random forest, out-of-bag accuracy "
                f"{fd.surrogate_accuracy:.2f}) are in the table below.",
                "note",
            ),
            details_table(
                fd.sizes, "forecast_driven_sizes", "Forecast-driven segments"
            ),
            details_table(
                fd.features, "forecast_driven_features", "Their features by segment"
            ),
        )
    champ = pd.DataFrame(
        [
            (g, fc_names.get(g, f"segment {g}"), c)
            for g, c in sorted(forecaster.champions_.items(), key=lambda kv: str(kv[0]))
        ],
        columns=["segment", "segment_name", "champion"],
    )
    page.add(details_table(champ, "champions", "Champions per segment"), "</section>")
