"""One self-contained HTML report of a fitted Segmenter (and, optionally, its forecasts).

:func:`write_report` (``Segmenter.report(path)``, CLI ``segmenter segment ... --report``)
writes a single HTML file: every image is an embedded PNG (``data:`` URI) and there is
no script, font or style sheet from the network, so it opens offline and can be mailed.
Sections (element ids): ``summary``, ``leaderboard``, ``segments`` (sizes, members and
centers, per-feature insights), ``impact``, ``associations``, ``geometry`` (silhouette
plot and 2-D map), and ``forecasting`` when a fitted
:class:`~segmenter.SegmentedForecaster` is given.  A tiny inline script records how many
images the browser decoded in ``data-images-loaded`` on ``<body>`` (the report test
reads it from a headless browser).
"""

from __future__ import annotations

import base64
import html
import io
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..persistence import atomic_write
from . import plots

__all__ = ["write_report", "html_page", "table", "paragraph"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; }
table { border-collapse: collapse; font-size: .8em; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: .5em 0; }
nav a { margin-right: 1em; } .note { color: #555; font-size: .9em; }
.warning { color: #a00; font-weight: bold; }
.good { color: #070; font-weight: bold; } .verdict { font-size: 1.2em; }
.wide { overflow-x: auto; }
"""

_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, n = 0;
  for (var i = 0; i < imgs.length; i++) { if (imgs[i].complete && imgs[i].naturalWidth > 0) n++; }
  document.body.setAttribute("data-images-loaded", String(n));
  document.body.setAttribute("data-images-total", String(imgs.length));
});
"""


def _img(fig, alt: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table(df: pd.DataFrame, floatfmt="{:.3f}", index=False) -> str:
    return (
        '<div class="wide">'
        + df.to_html(
            index=index, border=0, na_rep="", float_format=lambda v: floatfmt.format(v)
        )
        + "</div>"
    )


def paragraph(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<p{c}>{html.escape(text)}</p>"


def html_page(path, title: str, parts: list, script: str = _SCRIPT) -> Path:
    """Write one self-contained HTML page (the report's style) atomically."""
    out = Path(path)
    page = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        *parts,
        f"<script>{script}</script></body></html>",
    ]
    with atomic_write(out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(page))
    return out


def write_report(
    seg, path, data=None, forecaster=None, actuals=None, names=None, insights=None
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
        Fitted; adds the ``forecasting`` section.
    actuals : DataFrame, optional
        Long frame of the actual values over the forecast horizon (plotted against the
        forecasts).
    names : dict, optional
        Segment names, e.g. ``{0: "steady"}``.
    insights : Insights, optional
        Reuse already computed insights.
    """
    ins = insights if insights is not None else seg.insights(data=data)
    if names:
        ins.rename(names)
    panel, labels = ins.panel, ins.segments  # the data the insights describe
    meta = seg.mapping_.metadata
    parts = ["<h1>Segmentation report</h1>"]
    parts.append(
        "<nav>"
        + "".join(
            f'<a href="#{s}">{s}</a>'
            for s in (
                "summary",
                "leaderboard",
                "segments",
                "impact",
                "associations",
                "geometry",
            )
            + (("forecasting",) if forecaster is not None else ())
        )
        + "</nav>"
    )
    # summary
    parts.append('<section id="summary"><h2>Summary</h2>')
    score = meta.get("score")
    parts.append(
        paragraph(
            f"{panel.n_series} series segmented into {meta.get('n_clusters')} segments by "
            f"{meta.get('blueprint')} ({meta.get('steps')}); {seg.metric} "
            f"{score:.3f}."
            if isinstance(score, float)
            else f"{panel.n_series} series segmented by {meta.get('blueprint')}."
        )
    )
    if getattr(seg, "assignment_", {}).get("n_assigned"):
        a = seg.assignment_
        parts.append(
            paragraph(
                f"The model was fitted on {a['n_fit']} series (fit_sample); "
                f"{a['n_assigned']} more were assigned by its predict.",
                "note",
            )
        )
    parts.append(
        paragraph(
            f"segmenter {__version__}; data fingerprint "
            f"{meta.get('data_fingerprint', '')[:16]}…; report written "
            f"{datetime.now(UTC).isoformat(timespec='seconds')}.",
            "note",
        )
    )
    parts.append(
        paragraph(
            "Silhouettes of different families are measured in different geometries "
            "(DTW, scaled features, a single statistic) and are not directly "
            "comparable; compare the best row of each family.",
            "note",
        )
    )
    parts.append("</section>")
    # leaderboard
    lb = seg.leaderboard_
    cols = [
        c
        for c in (
            "rank",
            "row",
            "blueprint",
            "n_clusters",
            "silhouette",
            "silhouette_train",
            "calinski_harabasz",
            "davies_bouldin",
            "n_clusters_found",
            "fit_seconds",
            "status",
            "demoted",
            "reason",
        )
        if c in lb.columns
    ]
    parts.append('<section id="leaderboard"><h2>Leaderboard</h2>')
    parts.append(_img(plots.plot_leaderboard(seg), "leaderboard chart"))
    parts.append(table(lb[cols].head(40)))
    parts.append("</section>")
    # segments
    parts.append('<section id="segments"><h2>Segments</h2>')
    parts.append(table(ins.sizes))
    parts.append(
        _img(
            plots.plot_clusters(seg, panel, names=ins.names, labels=labels),
            "segment members",
        )
    )
    top = ins.feature_order()[:12]
    feat = ins.features
    parts.append(
        paragraph(
            "Per feature and segment (features by impact, then name; the 12 "
            "most impactful shown, all in Insights.to_csv):",
            "note",
        )
    )
    parts.append(table(feat[feat["feature"].isin(top)]))
    parts.append("</section>")
    # impact
    parts.append('<section id="impact"><h2>Feature impact</h2>')
    how = (
        "Permutation impact on the model's distances to the segment centers."
        if ins.impact_method == "permutation"
        else f"Shape blueprint, explained through a surrogate random forest on the insight "
        f"features (out-of-bag accuracy {ins.surrogate_accuracy:.2f})."
    )
    parts.append(paragraph(how, "note"))
    parts.append(_img(plots.plot_impact(ins), "feature impact"))
    parts.append(
        table(ins.impact.head(20).rename_axis("feature").to_frame(), index=True)
    )
    parts.append("</section>")
    # associations
    parts.append('<section id="associations"><h2>Feature associations</h2>')
    parts.append(_img(plots.plot_associations(ins), "feature associations"))
    parts.append(
        paragraph("Most associated pairs (likely redundant features):", "note")
    )
    parts.append(table(ins.top_pairs(10)))
    parts.append("</section>")
    # geometry
    parts.append('<section id="geometry"><h2>Silhouette and map</h2>')
    parts.append(
        _img(plots.plot_silhouette(seg, panel, labels=labels), "silhouette plot")
    )
    parts.append(_img(plots.plot_map(seg, panel, labels=labels), "map of series"))
    parts.append("</section>")
    # forecasting
    if forecaster is not None:
        parts.append('<section id="forecasting"><h2>Segmented forecasting</h2>')
        text = getattr(forecaster, "comparison_text_", "")
        parts.append(
            paragraph(text, "warning" if text.startswith("Could not compare") else "")
        )
        if hasattr(forecaster, "plan_"):
            parts.append(
                paragraph(f"Backtests: {forecaster.plan_.describe()}.", "note")
            )
        if hasattr(forecaster, "selection_") and len(forecaster.selection_) > 1:
            parts.append(
                _img(plots.plot_selection(forecaster), "candidate segmentations")
            )
            parts.append(table(forecaster.selection_))
        if hasattr(forecaster, "comparison_"):
            parts.append(table(forecaster.comparison_))
        used = getattr(forecaster, "mapping_", None)
        if used is not None and used.metadata.get("kind") == "forecast-driven":
            from .insights import Insights

            fd = Insights.from_mapping(forecaster._fit_data[0], used)
            parts.append(
                paragraph(
                    f"The forecasts use {used.metadata['candidate']}: segments "
                    "found by moving each series to the segment whose pooled model "
                    "forecasts it best, not the clustering above. Their sizes and "
                    "the features that tell them apart (surrogate random forest, "
                    f"out-of-bag accuracy {fd.surrogate_accuracy:.2f}):",
                    "note",
                )
            )
            parts.append(table(fd.sizes))
            top = fd.feature_order()[:8]
            parts.append(table(fd.features[fd.features["feature"].isin(top)]))
        champ = pd.DataFrame(
            sorted(forecaster.champions_.items()), columns=["segment", "champion"]
        )
        parts.append(table(champ))
        parts.append(
            _img(plots.plot_forecasts(forecaster, panel, actuals=actuals), "forecasts")
        )
        parts.append("</section>")
    return html_page(path, "segmenter report", parts)
