"""Figures of a fitted Segmenter (matplotlib, no display needed).

Every function returns a :class:`matplotlib.figure.Figure` (drawn with the Agg backend,
so it works on a server); save it with ``fig.savefig(path)``.  ``panel`` is the data the
segmenter was fitted on (its :class:`~segmenter.Panel`); the report passes it.

* :func:`plot_clusters` -- per segment (largest first) a sample of its members,
  z-normalised, drawn faintly, and its center bold: the model's barycenter or medoid
  for shape blueprints, the pointwise mean of the members (resampled to a common
  length) otherwise.
* :func:`plot_silhouette` -- silhouette values of a sample of series in the model's
  geometry, grouped by segment.
* :func:`plot_leaderboard` -- the leaderboard's top rows, coloured by family.
* :func:`plot_map` -- a 2-D map of a sample of series coloured by segment: PCA of the
  model's Euclidean embedding (feature blueprints), or classical (Torgerson) MDS of the
  DTW distances (shape blueprints).

Text is drawn with mathtext off, so a ``$`` in a name is just a dollar sign.  Needs
matplotlib (``pip install 'segmenter-ts[plot]'``).
* :func:`plot_impact`, :func:`plot_associations` -- feature impact bars and the
  association heatmap of an :class:`~segmenter.reporting.insights.Insights`.
* :func:`plot_forecasts` -- after forecasting: history, forecasts and, when given, the
  actual values over the horizon for a few series per segment.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import features
from ..data.series import series_centers
from ..errors import missing_dependency

__all__ = [
    "plot_clusters",
    "plot_silhouette",
    "plot_leaderboard",
    "plot_map",
    "plot_impact",
    "plot_associations",
    "plot_forecasts",
]


def _figure(w, h):
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state, no display
    except ImportError as exc:
        raise missing_dependency(
            "matplotlib", "plot", "segmenter.reporting.plots"
        ) from exc
    return Figure(figsize=(w, h), dpi=90, layout="constrained")


def _plain_text(fn):
    """Draw ``fn``'s figure with mathtext off: a ``$`` in a segment name, feature name or
    series id is text, not a formula delimiter."""

    @functools.wraps(fn)
    def wrapper(*args, **kw):
        try:
            import matplotlib
        except ImportError as exc:
            raise missing_dependency(
                "matplotlib", "plot", "segmenter.reporting.plots"
            ) from exc
        with matplotlib.rc_context({"text.parse_math": False}):
            return fn(*args, **kw)

    return wrapper


def _classical_mds(D: np.ndarray) -> np.ndarray:
    """Classical (Torgerson) MDS: 2-D coordinates whose distances best match ``D``."""
    n = len(D)
    J = np.eye(n) - 1.0 / n
    B = -0.5 * J @ (D**2) @ J
    vals, vecs = np.linalg.eigh(B)
    top = np.argsort(vals)[::-1][:2]
    return vecs[:, top] * np.sqrt(np.maximum(vals[top], 0.0))


def _colors(n):
    from matplotlib import colormaps

    cmap = colormaps["tab20" if n > 10 else "tab10"]
    return [cmap(i % cmap.N) for i in range(n)]


def _labels(seg, panel, labels=None) -> np.ndarray:
    """Segments of ``panel``'s series: given, or the fitted mapping's (same series)."""
    if labels is None:
        labels = seg.mapping_.to_frame()["segment"].to_numpy()
    labels = np.asarray(labels)
    if len(labels) != panel.n_series:
        raise ValueError(
            f"{len(labels)} labels for {panel.n_series} series: pass the "
            "segments of this panel's series (labels=seg.predict(data))"
        )
    return labels


def _order(labels) -> list[int]:
    s, c = np.unique(labels, return_counts=True)
    return [int(x) for x in s[np.lexsort((s, -c))]]


def _sample(idx, size, rng):
    return (
        idx if len(idx) <= size else np.sort(rng.choice(idx, size=size, replace=False))
    )


def _resample(y: np.ndarray, n: int = 100) -> np.ndarray:
    if len(y) == 1:
        return np.full(n, y[0])
    return np.interp(np.linspace(0, 1, n), np.linspace(0, 1, len(y)), y)


@_plain_text
def plot_clusters(
    seg,
    panel,
    max_members: int = 40,
    names: dict | None = None,
    random_state=0,
    labels=None,
):
    """Members (faint) and center (bold) of every segment, largest segment first.

    ``labels``: the segments of ``panel``'s series (default: the fitted mapping's, when
    ``panel`` is the fit data)."""
    labels = _labels(seg, panel, labels)
    order = _order(labels)
    names = names or {}
    rng = np.random.default_rng(random_state)
    ncol = min(4, len(order))
    nrow = int(np.ceil(len(order) / ncol))
    fig = _figure(3.2 * ncol, 2.4 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    colors = _colors(max(order) + 1)
    est = seg.model_.estimator
    centers = series_centers(est)
    shape_centers = centers is not None
    for ax, s in zip(axes, order):
        members = np.flatnonzero(labels == s)
        shown = _sample(members, max_members, rng)
        xs = features.shape_series(panel.subset(shown), normalize="z", columns=[0])
        for i in range(len(xs)):
            y = xs[i][:, 0]
            ax.plot(np.linspace(0, 1, len(y)), y, color=colors[s], alpha=0.15, lw=0.8)
        if shape_centers and s < len(centers):
            c = centers[s][:, 0]
            label = "barycenter" if hasattr(est, "dba_iter") else "center"
        else:
            c = np.mean([_resample(xs[i][:, 0]) for i in range(len(xs))], axis=0)
            label = "mean of members"
        ax.plot(np.linspace(0, 1, len(c)), c, color="black", lw=2.0, label=label)
        ax.set_title(
            f"{names.get(s, f'segment {s}')}: {len(members)} series", fontsize=9
        )
        ax.set_xticks([])
        ax.tick_params(labelsize=7)
    for ax in axes[len(order) :]:
        ax.axis("off")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.suptitle(
        "Segments: members (z-normalised, faint) and center (bold)", fontsize=10
    )
    return fig


def _geometry_sample(seg, panel, sample, rng, labels=None):
    labels = _labels(seg, panel, labels)
    idx = _sample(np.arange(panel.n_series), sample, rng)
    X = seg.model_.featurize(panel.subset(idx))
    return idx, X, labels[idx]


def silhouette_values(seg, panel, sample: int = 1000, random_state=0, labels=None):
    """``(idx, values, labels)``: silhouette values (model geometry) of a seeded sample
    of series, their panel positions and segments; ``values`` is None with fewer than
    two segments (the silhouette is undefined)."""
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(random_state)
    idx, X, lab = _geometry_sample(seg, panel, sample, rng, labels)
    if len(np.unique(lab)) < 2:
        return idx, None, lab
    vals = silhouette_samples(seg.model_.pairwise(X), lab, metric="precomputed")
    return idx, vals, lab


@_plain_text
def plot_silhouette(seg, panel, sample: int = 1000, random_state=0, labels=None):
    """Silhouette values of a seeded sample of series, by segment (model geometry)."""
    idx, vals, lab = silhouette_values(seg, panel, sample, random_state, labels)
    fig = _figure(6, 4)
    ax = fig.subplots()
    if vals is None:
        ax.text(0.5, 0.5, "one segment: silhouette undefined", ha="center")
        return fig
    colors = _colors(int(lab.max()) + 1)
    y = 0
    for s in _order(lab):
        v = np.sort(vals[lab == s])
        ax.fill_betweenx(np.arange(y, y + len(v)), 0, v, color=colors[s], alpha=0.8)
        ax.text(-0.02, y + len(v) / 2, str(s), ha="right", va="center", fontsize=7)
        y += len(v) + 5
    ax.axvline(
        vals.mean(), color="black", ls="--", lw=1, label=f"mean {vals.mean():.3f}"
    )
    ax.set_xlabel("silhouette")
    ax.set_yticks([])
    ax.legend(fontsize=8)
    ax.set_title(
        f"Silhouette of {len(idx)} series ({seg.model_.blueprint.geometry})",
        fontsize=10,
    )
    return fig


@_plain_text
def plot_leaderboard(seg, top: int = 25):
    """The leaderboard's best ``top`` ranked rows: score bars coloured by family."""
    lb = seg.leaderboard_
    metric = seg.metric
    ok = lb[lb["status"] == "ok"].head(top).iloc[::-1]
    fig = _figure(7, max(2.5, 0.25 * len(ok) + 1))
    ax = fig.subplots()
    family = [
        b.split("(")[0].split("_")[0] for b in ok["blueprint"]
    ]  # dtw, features, ...
    fams = sorted(set(family))
    colors = dict(zip(fams, _colors(len(fams))))
    labels = [
        f"{b}, k={k}" if pd.notna(k) else b
        for b, k in zip(ok["blueprint"], ok["n_clusters"])
    ]
    vals = ok[metric].astype(float).fillna(0.0)
    ax.barh(range(len(ok)), vals, color=[colors[f] for f in family])
    ax.set_yticks(range(len(ok)), labels, fontsize=7)
    ax.set_xlabel(metric)
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=c, label=f) for f, c in colors.items()], fontsize=7)
    ax.set_title(f"Leaderboard: top {len(ok)} rows by {metric}", fontsize=10)
    return fig


def map_coordinates(seg, panel, sample: int = 400, random_state=0, labels=None):
    """``(idx, xy, labels, how)``: 2-D coordinates of a seeded sample of series (their
    panel positions ``idx``) in the model's geometry, and how they were made."""
    rng = np.random.default_rng(random_state)
    idx, X, lab = _geometry_sample(seg, panel, sample, rng, labels)
    model = seg.model_
    if model.geometry == "dtw":
        return (
            idx,
            _classical_mds(model.pairwise(X)),
            lab,
            "classical MDS of DTW distances",
        )
    emb = np.asarray(model.embed(X), dtype=float)
    if emb.shape[1] == 1:
        xy = np.column_stack([emb[:, 0], rng.uniform(-1, 1, len(emb))])
        return idx, xy, lab, "the statistic (x) with random jitter (y)"
    from sklearn.decomposition import PCA

    xy = PCA(n_components=2, random_state=random_state).fit_transform(emb)
    return idx, xy, lab, "PCA of the scaled features"


@_plain_text
def plot_map(seg, panel, sample: int = 400, random_state=0, labels=None):
    """2-D map of a seeded sample of series coloured by segment."""
    idx, xy, lab, how = map_coordinates(seg, panel, sample, random_state, labels)
    fig = _figure(6, 4.5)
    ax = fig.subplots()
    colors = _colors(int(lab.max()) + 1)
    for s in _order(lab):
        m = lab == s
        ax.scatter(xy[m, 0], xy[m, 1], s=10, color=colors[s], label=str(s), alpha=0.8)
    ax.legend(title="segment", fontsize=7, title_fontsize=8, markerscale=1.5)
    ax.set_title(f"Map of {len(idx)} series: {how}", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


@_plain_text
def plot_impact(insights, top: int = 15):
    """Feature impact bars (highest at the top)."""
    imp = insights.impact.head(top).iloc[::-1]
    fig = _figure(6, max(2.5, 0.3 * len(imp) + 1))
    ax = fig.subplots()
    ax.barh(range(len(imp)), imp.to_numpy(), color="#4477aa")
    ax.set_yticks(range(len(imp)), imp.index, fontsize=8)
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("normalised impact")
    ax.set_title(f"Feature impact ({insights.impact_method})", fontsize=10)
    return fig


@_plain_text
def plot_associations(insights, top: int = 25):
    """Heatmap of feature associations (the ``top`` most associated features)."""
    a = insights.associations
    strength = a.where(~np.eye(len(a), dtype=bool)).max(axis=1).fillna(0)
    keep = list(strength.sort_values(ascending=False, kind="mergesort").index[:top])
    keep = sorted(keep, key=str)
    m = a.loc[keep, keep].to_numpy(dtype=float)
    fig = _figure(7, 6)
    ax = fig.subplots()
    im = ax.imshow(np.nan_to_num(m, nan=0.0), vmin=0, vmax=1, cmap="viridis")
    ax.set_xticks(range(len(keep)), keep, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)), keep, fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8, label="association")
    ax.set_title("Feature associations", fontsize=10)
    return fig


@_plain_text
def plot_forecasts(
    forecaster,
    panel,
    actuals: pd.DataFrame | None = None,
    per_segment: int = 2,
    history: int = 60,
    random_state=0,
):
    """History, forecast with its 80% and 95% intervals (shaded), and (when given)
    actuals for ``per_segment`` series per segment.

    ``actuals`` is a long frame with the forecaster's id and time columns and its target
    column over the forecast horizon.
    """
    fc = forecaster.forecasts_
    args = forecaster.data_args_
    ids = args["id_col"] if isinstance(args["id_col"], list) else [args["id_col"]]
    tcol, ycol = args["time_col"], args["target_col"]
    rng = np.random.default_rng(random_state)
    segs = sorted(fc["segment"].unique())
    picks = []
    for s in segs:
        keys = fc.loc[fc["segment"] == s, ids].drop_duplicates()
        take = rng.choice(len(keys), size=min(per_segment, len(keys)), replace=False)
        picks += [(s, tuple(keys.iloc[i])) for i in sorted(take)]
    ncol = min(per_segment, 4)
    nrow = int(np.ceil(len(picks) / ncol))
    fig = _figure(3.6 * ncol, 2.3 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    pos = {tuple(r): i for i, r in enumerate(panel.ids[ids].itertuples(index=False))}
    for ax, (s, key) in zip(axes, picks):
        i = pos.get(key)
        if i is not None:
            t = panel.times(i)
            y = panel.series(i)
            ax.plot(t[-history:], y[-history:], color="black", lw=1, label="history")
        m = np.logical_and.reduce([fc[c] == v for c, v in zip(ids, key)])
        f = fc[m]
        for lv, alpha in ((95, 0.15), (80, 0.3)):
            if f"lo-{lv}" in f.columns and f[f"lo-{lv}"].notna().any():
                ax.fill_between(
                    f[tcol],
                    f[f"lo-{lv}"],
                    f[f"hi-{lv}"],
                    color="#cc3311",
                    alpha=alpha,
                    lw=0,
                    label=f"{lv}% interval",
                )
        ax.plot(f[tcol], f["forecast"], color="#cc3311", lw=1.5, label="forecast")
        if actuals is not None:
            am = np.logical_and.reduce([actuals[c] == v for c, v in zip(ids, key)])
            a = actuals[am]
            ax.plot(a[tcol], a[ycol], color="#0077bb", lw=1.2, ls="--", label="actual")
        ax.set_title(f"segment {s}: {' / '.join(map(str, key))}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes[len(picks) :]:
        ax.axis("off")
    axes[0].legend(fontsize=7)
    fig.suptitle(
        "Forecasts" + (" against actuals" if actuals is not None else ""), fontsize=10
    )
    return fig


@_plain_text
def plot_selection(forecaster):
    """The backtest error of every candidate segmentation beside the baselines: the
    validation error (which chose) and the final window's (which no choice saw)."""
    sel = forecaster.selection_.copy()
    metric = forecaster.metric.upper() if forecaster.metric != "smape" else "sMAPE"
    fig = _figure(7, 0.32 * len(sel) + 1.4)
    ax = fig.subplots()
    y = np.arange(len(sel))[::-1]
    colors = {
        "clustering": "#0077bb",
        "user": "#009988",
        "global": "#cc3311",
        "random": "#bbbbbb",
        "per-series": "#ee7733",
    }
    c = [colors.get(k, "#555555") for k in sel["kind"]]
    ax.barh(
        y + 0.18,
        sel["valid_error"],
        height=0.36,
        color=c,
        alpha=0.55,
        label="validation window (chooses)",
    )
    ax.barh(
        y - 0.18,
        sel["final_error"],
        height=0.36,
        color=c,
        label="final window (scores)",
    )
    labels = [
        f"{'▶ ' if ch else ''}{name}"
        for name, ch in zip(sel["candidate"], sel["chosen"])
    ]
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=7)
    finite = np.concatenate(
        [sel["valid_error"].to_numpy(float), sel["final_error"].to_numpy(float)]
    )
    finite = finite[np.isfinite(finite)]
    if len(finite):
        span = finite.max() - finite.min()
        ax.set_xlim(
            max(0.0, finite.min() - span - 1e-9), finite.max() + 0.5 * span + 1e-9
        )
    ax.set_xlabel(f"mean {metric} of the backtest forecasts", fontsize=8)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Candidate segmentations and baselines (▶ chosen)", fontsize=10)
    return fig
