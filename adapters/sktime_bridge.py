"""sktime on both sides of the forecaster.

* :class:`SktimeForecaster` wraps any sktime forecaster as a *local* forecasting
  blueprint for :class:`segmenter.SegmentedForecaster` (one clone fitted per series).
* :class:`SegmentedSktimeForecaster` is a sktime forecaster itself: given a panel in
  sktime's ``pd-multiindex`` format (instance, time) it segments the series with a
  :class:`segmenter.Segmenter` (when there are enough of them for the clustering
  constraints; otherwise all series form one segment) and forecasts them with a
  :class:`segmenter.SegmentedForecaster`.  It passes sktime's ``check_estimator``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sktime.forecasting.base import BaseForecaster

from segmenter.forecasting.base import LocalForecaster

__all__ = ["SktimeForecaster", "SegmentedSktimeForecaster"]


class SktimeForecaster(LocalForecaster):
    """Any sktime forecaster as a local forecasting blueprint.

    Parameters
    ----------
    forecaster : sktime forecaster
        Cloned and fitted per series on a ``pd.Series`` with an integer index; forecast
        at ``fh = 1..horizon``.
    name : str, optional
        Name on the leaderboard (default ``sktime_<ClassName>``).

    Examples
    --------
    >>> from sktime.forecasting.naive import NaiveForecaster
    >>> from segmenter.adapters.sktime_bridge import SktimeForecaster
    >>> SktimeForecaster(NaiveForecaster(strategy="drift")).spec
    'sktime_NaiveForecaster'
    """

    min_length = 3

    def __init__(self, forecaster, name: str | None = None):
        self.forecaster = forecaster
        self.name = name or f"sktime_{type(forecaster).__name__}"

    @property
    def params(self) -> dict:
        """None in the spec: it is the name (the wrapped forecaster is in
        :meth:`describe`)."""
        return {}

    def describe(self) -> str:
        return f"sktime {self.forecaster!r} per series"

    def _forecast(self, y, horizon, m):
        f = self.forecaster.clone()
        f.fit(pd.Series(y, index=pd.RangeIndex(len(y))))
        return np.asarray(f.predict(fh=np.arange(1, horizon + 1))).reshape(-1)


class SegmentedSktimeForecaster(BaseForecaster):
    """Segment a sktime panel, then forecast each segment with its champion.

    Parameters
    ----------
    n_clusters : int, list or None
        Passed to :class:`segmenter.Segmenter` (None: chosen from the data).
    blueprints : str or list, default "quick"
        Clustering blueprints of the Segmenter.
    candidates : str or list, default "quick"
        Forecasting candidates of the :class:`segmenter.SegmentedForecaster`.
    n_origins : int, default 2
    season_length : int or None
    random_state : int, default 0

    Examples
    --------
    >>> from sktime.utils._testing.hierarchical import _make_hierarchical
    >>> from segmenter.adapters.sktime_bridge import SegmentedSktimeForecaster
    >>> y = _make_hierarchical(hierarchy_levels=(3,), min_timepoints=24, max_timepoints=24)
    >>> f = SegmentedSktimeForecaster(candidates=["seasonal_naive", "theta"])
    >>> f.fit(y, fh=[1, 2, 3]).predict().shape
    (9, 1)

    Attributes
    ----------
    segmenter_ : Segmenter or None
        None when the panel had too few series to cluster (then one segment).
    forecaster_ : SegmentedForecaster
    """

    _tags = {
        "authors": ["segmenter developers"],
        "y_inner_mtype": ["pd.DataFrame", "pd-multiindex"],
        "X_inner_mtype": ["pd.DataFrame", "pd-multiindex"],
        "capability:random_state": True,
        "requires-fh-in-fit": True,
        "capability:exogenous": False,
        "capability:multivariate": False,
        "capability:missing_values": False,
        "capability:insample": False,
        "capability:pred_int": False,
        "capability:pred_int:insample": False,
        "fit_is_empty": False,
    }

    def __init__(
        self,
        n_clusters=None,
        blueprints="quick",
        candidates="quick",
        n_origins=2,
        season_length=None,
        random_state=0,
    ):
        self.n_clusters = n_clusters
        self.blueprints = blueprints
        self.candidates = candidates
        self.n_origins = n_origins
        self.season_length = season_length
        self.random_state = random_state
        super().__init__()

    # -------------------------------------------------------------------------
    def _long(self, y: pd.DataFrame) -> tuple[pd.DataFrame, str, str, str]:
        if not isinstance(y.index, pd.MultiIndex):  # one series
            y = y.copy()
            y.index = pd.MultiIndex.from_arrays(
                [np.zeros(len(y), dtype=np.int64), y.index],
                names=["instance", y.index.name],
            )
        inst, tname = y.index.names[0] or "instance", y.index.names[-1] or "time"
        col = y.columns[0]
        df = y.copy()
        df.index = df.index.set_names([inst, tname])
        df = df.reset_index()
        time = df[tname]
        if isinstance(
            time.dtype, pd.PeriodDtype
        ) or pd.api.types.is_datetime64_any_dtype(time):
            pass
        elif not pd.api.types.is_integer_dtype(time):
            df[tname] = pd.Series(time).astype("int64")
        return df, inst, tname, col

    def _fit(self, y, X=None, fh=None):
        from segmenter.clustering.constraints import ClusteringConstraints
        from segmenter.clustering.mapping import SegmentMapping
        from segmenter.data.reading import read_panel
        from segmenter.errors import SegmenterError
        from segmenter.forecasting.forecaster import SegmentedForecaster
        from segmenter.segmenter import Segmenter

        df, inst, tname, col = self._long(y)
        panel = read_panel(df, id_col=inst, time_col=tname, target_col=col)
        self._inst, self._tname, self._col = inst, tname, col
        self.segmenter_ = None
        mapping = None
        report = ClusteringConstraints().check(panel, self.n_clusters)
        if report.ok:
            try:
                self.segmenter_ = Segmenter(
                    n_clusters=self.n_clusters,
                    blueprints=self.blueprints,
                    progress=False,
                    random_state=self.random_state,
                ).fit(panel)
                mapping = self.segmenter_.mapping_
            except SegmenterError:
                self.segmenter_ = None
        if mapping is None:
            frame = panel.ids.copy()
            frame["segment"] = 0
            mapping = SegmentMapping(frame, panel.id_cols)
        ends = panel.end_positions()
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64).reshape(-1)
        self._lag = int(ends.max()) - ends  # steps each series is behind
        horizon = int(steps.max() + self._lag.max())
        self.forecaster_ = SegmentedForecaster(
            horizon=horizon,
            n_origins=self.n_origins,
            candidates=self.candidates,
            season_length=self.season_length,
            compare=False,
            n_jobs=1,
            progress=False,
        )
        self.forecaster_.fit(panel, mapping=mapping)
        self._panel_ids = panel.id_labels()
        return self

    def _predict(self, fh, X=None):
        steps = np.asarray(fh.to_relative(self.cutoff), dtype=np.int64).reshape(-1)
        fc = self.forecaster_.forecasts_
        h = self.forecaster_.horizon
        values = fc["forecast"].to_numpy().reshape(len(self._panel_ids), h)
        abs_idx = fh.to_absolute_index(self.cutoff)
        rows = []
        for i, sid in enumerate(self._panel_ids):
            for k, t in zip(steps, abs_idx):
                rows.append((sid, t, values[i, k - 1 + self._lag[i]]))
        out = pd.DataFrame({self._col: [r[2] for r in rows]})
        times = abs_idx[np.tile(np.arange(len(abs_idx)), len(self._panel_ids))]
        if isinstance(self._y.index, pd.MultiIndex):
            out.index = pd.MultiIndex.from_arrays(
                [[r[0] for r in rows], times], names=self._y.index.names
            )
        else:
            out.index = times
        out.columns = self._y.columns
        return out

    @classmethod
    def get_test_params(cls, parameter_set="default"):
        return [
            {"candidates": ["seasonal_naive"], "n_origins": 1},
            {
                "candidates": ["seasonal_naive", "theta"],
                "n_origins": 1,
                "season_length": 1,
            },
        ]
