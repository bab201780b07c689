"""Cluster insights, feature impact and feature associations of a fitted Segmenter.

What DataRobot calls Cluster Insights, Feature Impact and Feature
Associations, computed from a fitted :class:`~segmenter.Segmenter` (and its data):

* **Insight features** describe every series whatever the blueprint: the summary
  features (:data:`segmenter.features.SUMMARY_FEATURES`), the velocity statistics
  (prefixed ``velocity_``) and the panel's static columns (numeric or categorical).
* **Cluster insights** (:attr:`Insights.sizes`, :attr:`Insights.features`,
  :attr:`Insights.centers`): per segment its number of series and rows, its share of
  the rows, its barycenter or medoid (shape blueprints) and its representative series
  (the member closest to the center); per segment and feature
  the mean, quartiles and missing share (numeric) or the top values with an
  ``all other`` bucket and the missing share (categorical).  Segments are ordered by
  size, features by impact and then alphabetically.  :meth:`Insights.rename` names the
  segments; :meth:`Insights.to_csv` exports.
* **Feature impact** (:attr:`Insights.impact`), by permutation: one feature is shuffled
  across series (seeded, ``n_repeats`` times) and the model's *membership scores* are
  recomputed; the impact is the RMSE of their change, normalised so the largest is 1.
  Membership scores are the distances to every segment's center in the model's own
  space (feature blueprints: scaled features; velocity blueprints: the statistic).
  Shape blueprints take time points, not features, so they are explained through a
  **surrogate**: a random forest (scikit-learn, seeded) trained on the insight
  features to predict the segments; its class probabilities are the membership
  scores, and its out-of-bag accuracy (``surrogate_accuracy``) says how far to trust
  the explanation.  The surrogate reads the numeric insight features only; categorical
  static columns get no impact there.  Features a model does not read get impact 0.
* **Feature associations** (:attr:`Insights.associations`): a symmetric matrix in
  [0, 1] over the first ``max_features`` (default 50, DataRobot's default)
  insight features in alphabetical order: absolute Spearman correlation between
  numeric features, Cramér's V between categorical ones and the correlation ratio
  between a numeric and a categorical one; NaN for a categorical that is nearly an
  identifier (more distinct values than half its rows).  :meth:`Insights.top_pairs`
  lists the most associated (likely redundant) pairs.

Impact and the surrogate use a seeded sample of at most ``sample`` series (default
2000); sizes and summaries use every series.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .. import features
from ..base import check_fitted, get_tag
from ..clustering.mapping import check_segment_names
from ..data.reading import read_panel
from ..data.series import series_centers
from ..errors import DataValidationError, Problem

__all__ = ["Insights", "insight_features", "feature_associations"]


def insight_features(panel, blueprint=None) -> pd.DataFrame:
    """Summary features, ``velocity_*`` statistics and static columns, one row per series.

    With a ``blueprint`` whose featurizer takes parameters (a summary ``season_length``,
    a velocity ``window``), those statistics are computed as the blueprint computes
    them, so the table describes what the model was fitted on.
    """
    fp = blueprint.featurizer_params() if blueprint is not None else {}
    rep = getattr(blueprint, "representation", None)
    summ = features.summary_features(panel, **(fp if rep == "summary" else {}))
    vel = features.velocity_features(
        panel, **(fp if rep == "velocity" else {})
    ).add_prefix("velocity_")
    out = pd.concat([summ, vel], axis=1)
    if len(panel.static_cols):
        st = panel.statics[list(panel.static_cols)].reset_index(drop=True)
        clash = [c for c in st.columns if c in out.columns]
        out = pd.concat(
            [out, st.rename(columns={c: f"static_{c}" for c in clash})], axis=1
        )
    return out


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


# ============================================================================ associations
def _cramers_v(a: pd.Series, b: pd.Series) -> float:
    ok = a.notna() & b.notna()
    tab = pd.crosstab(a[ok], b[ok]).to_numpy(dtype=float)
    if tab.size == 0 or min(tab.shape) < 2:
        return math.nan
    n = tab.sum()
    expected = tab.sum(1, keepdims=True) * tab.sum(0, keepdims=True) / n
    chi2 = ((tab - expected) ** 2 / expected).sum()
    return float(math.sqrt(chi2 / (n * (min(tab.shape) - 1))))


def _correlation_ratio(cat: pd.Series, num: pd.Series) -> float:
    ok = cat.notna() & num.notna()
    y = num[ok].astype(float)
    if len(y) < 2 or y.var() == 0:
        return math.nan
    means = y.groupby(cat[ok]).transform("mean")
    return float(
        math.sqrt(((means - y.mean()) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    )


#: A categorical feature with more distinct values than this share of its non-missing
#: rows is treated as an identifier: its associations are NaN.
MAX_LEVELS_SHARE = 0.5


def feature_associations(frame: pd.DataFrame, max_features: int = 50) -> pd.DataFrame:
    """Association matrix in [0, 1] of the first ``max_features`` columns (alphabetical).

    Numeric pairs: absolute Spearman correlation; categorical pairs: Cramér's V; mixed:
    the correlation ratio.  NaN where undefined (a constant column, no overlap) and for
    a categorical with more distinct values than half its rows (an identifier, which
    would otherwise associate perfectly with everything).

    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 4, 6, 8], "c": list("xyxy")})
    >>> feature_associations(df).round(2).loc["a", "b"]
    np.float64(1.0)
    """
    cols = sorted(frame.columns, key=str)[:max_features]
    num = [c for c in cols if _is_numeric(frame[c])]
    out = pd.DataFrame(np.nan, index=cols, columns=cols)
    # a categorical with about one value per series (a name, a code) would associate
    # perfectly with everything; it gets NaN instead
    too_many = {
        c
        for c in cols
        if c not in num
        and frame[c].nunique() > max(MAX_LEVELS_SHARE * frame[c].notna().sum(), 2)
    }
    if num:
        corr = frame[num].astype(float).corr(method="spearman").abs()
        out.loc[num, num] = corr.to_numpy()
    for i, a in enumerate(cols):
        for b in cols[i:]:
            if a in num and b in num:
                continue
            if a == b:
                v = 1.0
            elif a in too_many or b in too_many:
                v = math.nan
            elif a in num or b in num:
                c, x = (b, a) if a in num else (a, b)
                v = _correlation_ratio(frame[c], frame[x])
            else:
                v = _cramers_v(frame[a], frame[b])
            out.loc[a, b] = out.loc[b, a] = v
    return out


# ============================================================================ impact
def _permutation_impact(
    score, X: np.ndarray, names: list, n_repeats: int, rng
) -> pd.Series:
    base = score(X)
    raw = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        err = []
        for _ in range(n_repeats):
            Xp = X.copy()
            Xp[:, j] = X[rng.permutation(len(X)), j]
            err.append(np.sqrt(np.nanmean((score(Xp) - base) ** 2)))
        raw[j] = float(np.mean(err))
    top = raw.max()
    return pd.Series(raw / top if top > 0 else raw, index=names, name="impact")


# ============================================================================ Insights
def _surrogate_impact(table, segments, idx, n_repeats, rng, random_state):
    """Impact of the insight features on a random forest that predicts the segment of
    the series ``idx``, and its out-of-bag accuracy."""
    from sklearn.ensemble import RandomForestClassifier

    num = [c for c in table.columns if _is_numeric(table[c])]
    Xs = table[num].to_numpy(dtype=float)[idx]
    Xs = np.where(np.isfinite(Xs), Xs, np.nan)
    fill = pd.DataFrame(Xs).median().fillna(0.0).to_numpy()  # all-NaN column: 0
    Xs = np.where(np.isnan(Xs), fill, Xs)
    y = np.asarray(segments)[idx]
    forest = RandomForestClassifier(
        n_estimators=200,
        oob_score=len(np.unique(y)) > 1,
        random_state=random_state,
        n_jobs=1,
    )
    forest.fit(Xs, y)
    acc = float(getattr(forest, "oob_score_", math.nan))
    return _permutation_impact(forest.predict_proba, Xs, num, n_repeats, rng), acc


class Insights:
    """Cluster insights, feature impact and associations (see the module docstring).

    Build with :meth:`segmenter.Segmenter.insights` (or :meth:`from_segmenter`).

    Attributes
    ----------
    sizes : DataFrame
        ``segment``, ``name``, ``n_series``, ``n_rows``, ``share_rows``, and the
        ``representative`` series (the member closest to the segment's center in the
        model's geometry: its medoid-like exemplar) with that ``representative_distance``;
        largest first.
    centers : dict
        Segment -> its barycenter or medoid as an array (shape blueprints; empty for
        feature blueprints, whose centers live in feature space: see ``representative``).
    features : DataFrame
        One row per feature and segment: ``feature``, ``kind``, ``impact``, ``segment``,
        ``name``, ``mean``, ``q25``, ``median``, ``q75``, ``missing_share``,
        ``top_values``; features by impact then name, segments by size.
    impact : Series
        Feature impact in [0, 1], highest first (0 for features the model ignores).
    impact_method : str
        ``"permutation"`` or ``"surrogate random forest"``.
    surrogate_accuracy : float
        Out-of-bag accuracy of the surrogate (NaN when none was needed).
    associations : DataFrame
        See :func:`feature_associations`.
    table : DataFrame
        The insight features of every series (panel order).
    segments : ndarray
        The segment of every series of ``panel``.
    panel : Panel
        The data the insights describe (the fit data, or ``data``).
    """

    def __init__(
        self,
        table,
        segments,
        panel,
        impact,
        impact_method,
        surrogate_accuracy,
        associations,
        names=None,
        distances=None,
        centers=None,
    ):
        self.table = table
        self.distances = (
            np.full(len(segments), np.nan)
            if distances is None
            else np.asarray(distances, dtype=float)
        )
        self.centers = centers or {}
        self.segments = np.asarray(segments)
        self.panel = panel
        self.n_rows = np.asarray(panel.lengths)
        self.impact = impact.sort_values(ascending=False, kind="mergesort")
        self.impact_method = impact_method
        self.surrogate_accuracy = surrogate_accuracy
        self.associations = associations
        self.names = {int(s): f"segment {s}" for s in np.unique(self.segments)}
        if names:  # names of segments absent from these data are dropped
            self.rename({k: v for k, v in names.items() if int(k) in self.names})

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_segmenter(
        cls,
        seg,
        data=None,
        sample: int = 2000,
        n_repeats: int = 5,
        max_features: int = 50,
        random_state=0,
    ) -> Insights:
        """Insights of ``seg``'s chosen model on its fit data (or on ``data``, read with
        the fit's column names, when the segmenter was loaded from a file)."""
        check_fitted(seg, "model_", "insights")
        ws = seg._fit_workspace
        if data is None and ws is None:
            raise DataValidationError(
                [
                    Problem(
                        "no_data",
                        "data",
                        "this Segmenter holds no training data (it was loaded "
                        "from a file, or fitted on a distributed engine, where the data stay on the "
                        "workers); pass data=... (a frame of the series to describe)",
                    )
                ]
            )
        model = seg.model_
        bp = model.blueprint
        reads_matrix = get_tag(model.estimator, "input") == "matrix"
        if data is None:
            panel = ws.panel
            frame = seg.mapping_.to_frame()
            segments, dist = frame["segment"].to_numpy(), frame["distance"].to_numpy()
            X = ws.features(bp)[0] if reads_matrix else None
        else:
            panel = read_panel(data, **seg.data_args_)
            X = model.featurize(panel)
            segments = model.predict_features(X)
            dist = model.center_distances(X, segments)
        table = insight_features(panel, bp)
        rng = np.random.default_rng(random_state)
        idx = np.arange(panel.n_series)
        if len(idx) > sample:
            idx = np.sort(rng.choice(idx, size=sample, replace=False))
        acc = math.nan
        names = bp.feature_names()
        if reads_matrix and names is not None and set(names) <= set(table.columns):
            # the model reads insight features: permute them through the model itself
            imp = _permutation_impact(
                lambda Z: np.asarray(model.estimator.transform(Z), dtype=float),
                np.asarray(X, dtype=float)[idx],
                names,
                n_repeats,
                rng,
            )
            method = "permutation"
        else:
            imp, acc = _surrogate_impact(
                table, segments, idx, n_repeats, rng, random_state
            )
            method = "surrogate random forest"
        imp = imp.reindex(sorted(table.columns, key=str)).fillna(0.0)
        assoc = feature_associations(table, max_features=max_features)
        centers = series_centers(model.estimator)
        centers = (
            {int(c): centers[c] for c in range(len(centers))}
            if centers is not None
            else {}
        )
        return cls(
            table,
            segments,
            panel,
            imp,
            method,
            acc,
            assoc,
            names=seg.mapping_.names,
            distances=dist,
            centers=centers,
        )

    @classmethod
    def from_mapping(
        cls,
        data,
        mapping,
        sample: int = 2000,
        n_repeats: int = 5,
        max_features: int = 50,
        random_state=0,
        **columns,
    ) -> Insights:
        """Insights of any segment mapping (e.g. ``SegmentedForecaster.mapping_``, whose
        forecast-driven segments no clustering model describes) on ``data`` (a Panel,
        or a frame read with ``columns``): the insight features of each segment, and
        their impact through a surrogate random forest that predicts the segment."""
        from ..data.panel import Panel
        from ..data.reading import read_panel

        panel = data if isinstance(data, Panel) else read_panel(data, **columns)
        frame = mapping.to_frame().set_index(mapping.id_cols)
        ids = panel.ids.set_index(panel.id_cols).index
        missing = ids.difference(frame.index)
        if len(missing):
            raise DataValidationError(
                [
                    Problem(
                        "unknown_series",
                        ",".join(panel.id_cols),
                        f"{len(missing)} series of the data are not in the mapping",
                        ids=list(missing),
                    )
                ]
            )
        segments = frame.loc[ids, mapping.segment_col].to_numpy()
        table = insight_features(panel)
        rng = np.random.default_rng(random_state)
        idx = np.arange(panel.n_series)
        if len(idx) > sample:
            idx = np.sort(rng.choice(idx, size=sample, replace=False))
        imp, acc = _surrogate_impact(table, segments, idx, n_repeats, rng, random_state)
        imp = imp.reindex(sorted(table.columns, key=str)).fillna(0.0)
        return cls(
            table,
            segments,
            panel,
            imp,
            "surrogate random forest",
            acc,
            feature_associations(table, max_features=max_features),
            names=mapping.names,
        )

    # ------------------------------------------------------------------ views
    def rename(self, names: dict) -> Insights:
        """Name segments, e.g. ``{0: "steady sellers"}`` (unknown segments, empty or
        repeated names are an error)."""
        self.names = check_segment_names(self.names, names)
        return self

    @property
    def order(self) -> list[int]:
        """Segments, largest first (ties by segment id)."""
        s, c = np.unique(self.segments, return_counts=True)
        return [int(x) for x in s[np.lexsort((s, -c))]]

    @property
    def sizes(self) -> pd.DataFrame:
        rows = []
        total = self.n_rows.sum()
        for s in self.order:
            m = self.segments == s
            members = np.flatnonzero(m)
            d = self.distances[members]
            rep = members[int(np.nanargmin(d))] if np.isfinite(d).any() else members[0]
            rows.append(
                {
                    "segment": s,
                    "name": self.names[s],
                    "n_series": int(m.sum()),
                    "n_rows": int(self.n_rows[m].sum()),
                    "share_rows": float(self.n_rows[m].sum() / total) if total else 0.0,
                    "representative": self.panel.id_labels([rep])[0],
                    "representative_distance": float(self.distances[rep]),
                }
            )
        return pd.DataFrame(rows)

    def feature_order(self) -> list:
        """Features by impact (highest first), then alphabetically."""
        imp = self.impact.reindex(self.table.columns).fillna(0.0)
        return sorted(self.table.columns, key=lambda c: (-imp[c], str(c)))

    @property
    def features(self) -> pd.DataFrame:
        rows = []
        for f in self.feature_order():
            col = self.table[f]
            numeric = _is_numeric(col)
            for s in self.order:
                v = col[self.segments == s]
                row = {
                    "feature": f,
                    "kind": "numeric" if numeric else "categorical",
                    "impact": float(self.impact.get(f, 0.0)),
                    "segment": s,
                    "name": self.names[s],
                    "missing_share": float(v.isna().mean()),
                }
                if numeric:
                    x = v.dropna().astype(float)
                    q = (
                        x.quantile([0.25, 0.5, 0.75])
                        if len(x)
                        else pd.Series([np.nan] * 3)
                    )
                    row.update(
                        mean=float(x.mean()) if len(x) else np.nan,
                        q25=float(q.iloc[0]),
                        median=float(q.iloc[1]),
                        q75=float(q.iloc[2]),
                        top_values="",
                    )
                else:
                    row.update(
                        mean=np.nan,
                        q25=np.nan,
                        median=np.nan,
                        q75=np.nan,
                        top_values=_top_values(v),
                    )
                rows.append(row)
        return pd.DataFrame(rows)

    def top_pairs(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` most associated feature pairs (``a`` < ``b``), strongest first."""
        a = self.associations
        rows = [
            (a.index[i], a.columns[j], a.iat[i, j])
            for i in range(len(a))
            for j in range(i + 1, len(a))
            if np.isfinite(a.iat[i, j])
        ]
        df = pd.DataFrame(rows, columns=["a", "b", "association"])
        return (
            df.sort_values("association", ascending=False, kind="mergesort")
            .head(n)
            .reset_index(drop=True)
        )

    def to_csv(self, folder) -> list[Path]:
        """Write ``sizes.csv``, ``insights.csv``, ``impact.csv`` and ``associations.csv``."""
        from ..persistence import atomic_write

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for name, frame, index in (
            ("sizes", self.sizes, False),
            ("insights", self.features, False),
            ("impact", self.impact.rename_axis("feature").to_frame(), True),
            ("associations", self.associations, True),
        ):
            path = folder / f"{name}.csv"
            with atomic_write(path, "w", encoding="utf-8", newline="") as fh:
                frame.to_csv(fh, index=index)
            out.append(path)
        return out

    def __repr__(self) -> str:
        return (
            f"Insights({len(self.order)} segments, {self.table.shape[1]} features, "
            f"impact by {self.impact_method})"
        )


def _top_values(v: pd.Series, top: int = 3) -> str:
    x = v.dropna()
    if not len(x):
        return ""
    share = x.astype(str).value_counts(normalize=True)
    parts = [f"{k}: {p:.0%}" for k, p in share.head(top).items()]
    rest = share.iloc[top:].sum()
    if rest > 0:
        parts.append(f"all other: {rest:.0%}")
    return ", ".join(parts)
