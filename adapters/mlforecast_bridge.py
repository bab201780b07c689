"""LightGBM as one global model per segment, through Nixtla's mlforecast (a *pooled*
forecasting blueprint).

mlforecast is made for the job: it builds lag, rolling and expanding features of the
transformed target for many series at once, trains one regressor on all of them, and
forecasts recursively (one model, its predictions fed back as lags) or directly (one
model per horizon step), with target transforms undone afterwards.  What goes in:

* the target: ``log`` then first differences when every value of the group is
  positive (the usual choice for demand and sales), else first differences scaled per
  series (``transform="auto"``); ``"log-diff"``, ``"diff"`` or ``"scale"`` force one;
* lags 1..m (at most 24), the seasonal lags m and 2m and any longer season of the data
  that fits in the histories; the rolling mean over a season and the expanding mean of
  the transformed target;
* the calendar of the frequency (season position, day of week, month...; holidays when
  asked) as features known in advance;
* future-known covariates (``future_cols``), and static covariates plus the components
  of a composite series id as categorical features.

Rows are series positions on the panel's grid (``unique_id`` = the series' key, ``ds``
= grid position, ``freq=1``), so gaps and calendars are the panel's.  LightGBM runs
deterministically (``random_state``, one thread: the runner parallelises across tasks).
Because the model is fitted once per segment it also forecasts series it never saw, from
their own history (mlforecast's ``new_df``).
"""

from __future__ import annotations

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions

from segmenter._moved import renamed
from segmenter.forecasting.base import (
    Forecast,
    ForecastBlueprint,
    SeriesGroup,
    seasonal_naive,
)

__all__ = ["LightGBMCandidate"]


class LightGBMCandidate(ForecastBlueprint):
    """LightGBM through mlforecast, pooled over a group (see the module docstring).

    Parameters
    ----------
    strategy : {"recursive", "direct"}, default "recursive"
        Direct trains one model per horizon step (``horizon`` times the cost).
    n_estimators : int, default 100
    learning_rate : float, default 0.1
    num_leaves : int, default 31
    transform : {"auto", "log-diff", "diff", "scale"}, default "auto"
    max_rows_per_series : int or None, default None
        Train on at most this many recent rows of each series.
    random_state : int or None, default 0
        None: LightGBM's own seeding (not reproducible run to run).
    """

    name = "lgbm"
    steps = (
        "LightGBM (mlforecast) pooled over the segment: {transform} target, lags, "
        "rolling and expanding means, calendar and covariates; {strategy} forecasts"
    )
    _tags = {
        "kind": "pooled",
        "intervals": "conformal",
        "uses:future": True,
        "uses:static": True,
    }
    _parameter_constraints = {
        "strategy": [StrOptions({"recursive", "direct"})],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "num_leaves": [Interval(Integral, 2, None, closed="left")],
        "transform": [StrOptions({"auto", "log-diff", "diff", "scale"})],
        "max_rows_per_series": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        strategy: str = "recursive",
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        transform: str = "auto",
        max_rows_per_series: int | None = None,
        random_state: int = 0,
    ):
        self.strategy = strategy
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.transform = transform
        self.max_rows_per_series = max_rows_per_series
        self.random_state = random_state

    # ------------------------------------------------------------------ features
    def lags(self, m: int, seasons=(), typical_length: int | None = None) -> list[int]:
        """The target lags used for season ``m`` (and longer ``seasons`` that fit)."""
        lags = set(range(1, min(max(m, 4), 24) + 1))
        cap = typical_length // 2 if typical_length else None
        for lag in [m, 2 * m, *seasons]:
            if lag > 1 and (cap is None or lag <= cap):
                lags.add(int(lag))
        return sorted(lags)

    def min_history(self, m: int, horizon: int) -> int:
        return min(max(m, 4), 24) + 3

    def _frame(self, group: SeriesGroup, keys) -> tuple[pd.DataFrame, list, list]:
        """The long training frame: unique_id, ds (grid position), y, calendar, future
        and static columns; and the names of the dynamic and static feature columns."""
        lengths = np.array([len(v) for v in group.values], dtype=np.int64)
        ends = group.ends if group.ends is not None else np.cumsum(lengths)
        uid = np.repeat(np.asarray(keys), lengths)
        pos = (
            np.concatenate([np.arange(e - n, e) for e, n in zip(ends, lengths)])
            if len(lengths)
            else np.zeros(0, dtype=np.int64)
        )
        df = pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pos,
                "y": np.concatenate(group.values) if len(lengths) else [],
            }
        )
        dynamic = self._dynamic(df, group, pos, group.future, lengths, history=True)
        static = self._statics(df, group, lengths)
        return df, dynamic, static

    @staticmethod
    def _dynamic(df, group, pos, future, lengths, history: bool) -> list:
        names = []
        if group.calendar is not None:
            cal = group.calendar.features(pos)
            for j, name in enumerate(group.calendar.names):
                df[f"cal_{name}"] = cal[:, j]
                names.append(f"cal_{name}")
        for name, vals in (future or {}).items():
            if history:
                df[f"x_{name}"] = np.concatenate(
                    [
                        np.asarray(v, dtype=float)[-n:] if n else np.zeros(0)
                        for v, n in zip(vals, lengths)
                    ]
                )
            else:
                df[f"x_{name}"] = np.asarray(vals, dtype=float).reshape(-1)
            names.append(f"x_{name}")
        return names

    @staticmethod
    def _statics(df, group, lengths) -> list:
        if group.statics is None or not group.statics.shape[1]:
            return []
        names = []
        for c in group.statics.columns:
            col = group.statics[c]
            name = f"s_{c}"
            if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(
                col
            ):
                df[name] = np.repeat(col.to_numpy(dtype=float), lengths)
            else:
                df[name] = pd.Categorical(
                    np.repeat(col.astype(str).to_numpy(), lengths)
                )
            names.append(name)
        return names

    def _transforms(self, group: SeriesGroup):
        from mlforecast.target_transforms import (
            Differences,
            GlobalSklearnTransformer,
            LocalStandardScaler,
        )
        from sklearn.preprocessing import FunctionTransformer

        how = self.transform
        if how == "auto":
            how = (
                "log-diff"
                if all(len(v) == 0 or (v > 0).all() for v in group.values)
                else "diff"
            )
        if how == "log-diff":
            return how, [
                GlobalSklearnTransformer(FunctionTransformer(np.log, np.exp)),
                Differences([1]),
            ]
        if how == "diff":
            return how, [Differences([1]), LocalStandardScaler()]
        return how, [LocalStandardScaler()]

    # ------------------------------------------------------------------ fit / predict
    def fit(self, group: SeriesGroup):
        """Prepare the training frame (the model trains at the first ``predict``, when
        the horizon is known; the trained model is kept in the state)."""
        import lightgbm  # noqa: F401 - fail here, clearly, if the library is missing

        m = group.season_length
        need = self.min_history(m, 1)
        usable = [i for i, v in enumerate(group.values) if len(v) >= need]
        if not usable:  # predict falls back, series by series
            return {"models": None, "need": need}
        sub = group.subset(usable)
        keys = sub.keys if sub.keys is not None else np.arange(len(sub))
        typical = int(np.median([len(v) for v in sub.values]))
        how, transforms = self._transforms(sub)
        df, dynamic, static = self._frame(sub, keys)
        if self.max_rows_per_series:
            df = df.groupby("unique_id", sort=False).tail(int(self.max_rows_per_series))
        return {
            "df": df,
            "dynamic": dynamic,
            "static": static,
            "how": how,
            "transforms": transforms,
            "lags": self.lags(m, sub.seasons[1:], typical),
            "keys": np.asarray(keys),
            "models": {},
        }

    def _train(self, state, horizon: int, m: int):
        key = horizon if self.strategy == "direct" else 0
        if key in state["models"]:
            return state["models"][key]
        import lightgbm as lgb
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import ExpandingMean, RollingMean

        reg = lgb.LGBMRegressor(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.random_state,
            n_jobs=1,
            max_bin=63,
            deterministic=True,
            force_col_wise=True,
            verbose=-1,
        )
        window = max(2, min(m, 24))
        mf = MLForecast(
            models={"lgbm": reg},
            freq=1,
            lags=state["lags"],
            lag_transforms={1: [RollingMean(window_size=window), ExpandingMean()]},
            target_transforms=state["transforms"],
        )
        with warnings.catch_warnings():  # mlforecast's notes on dropped warm-up rows
            warnings.simplefilter("ignore", UserWarning)
            mf.fit(
                state["df"],
                static_features=state["static"],
                validate_data=False,
                max_horizon=horizon if key else None,
            )
        state["models"][key] = mf
        return mf

    def predict(self, state, group: SeriesGroup, horizon: int, levels=None) -> Forecast:
        m = group.season_length
        need = self.min_history(m, 1)
        if state.get("models") is None:  # nothing to train on: every series falls back
            out = np.array(
                [seasonal_naive(y, horizon, m) for y in group.values]
            ).reshape(len(group), horizon)
            return Forecast(
                out,
                [
                    (
                        i,
                        f"no series of the group had the {need} values "
                        "LightGBM needs to train",
                    )
                    for i, y in enumerate(group.values)
                    if len(y)
                ],
                None,
            )
        # mlforecast's predict(new_df=...) refits the target transforms and the
        # series store in place: forecast with a copy, so a fitted model is never
        # changed by a forecast and concurrent forecasts never share state
        mf = copy.deepcopy(self._train(state, horizon, m))
        n = len(group)
        out = np.empty((n, horizon))
        fallbacks = []
        usable = []
        for i, y in enumerate(group.values):
            if len(y) >= need:
                usable.append(i)
            else:
                out[i] = seasonal_naive(y, horizon, m)
                if len(y):
                    fallbacks.append(
                        (i, f"{len(y)} values, fewer than the {need} lgbm needs")
                    )
        if usable:
            sub = group.subset(usable)
            keys = np.arange(len(sub))  # new_df: keys of its own
            df, _, _ = self._frame(sub, keys)
            lengths = np.array([len(v) for v in sub.values])
            ends = sub.ends if sub.ends is not None else np.cumsum(lengths)
            fut_pos = (np.asarray(ends)[:, None] + np.arange(horizon)[None, :]).reshape(
                -1
            )
            X = pd.DataFrame({"unique_id": np.repeat(keys, horizon), "ds": fut_pos})
            self._dynamic(X, sub, fut_pos, sub.future_h, lengths, history=False)
            if X.shape[1] == 2:
                X = None
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                pred = mf.predict(horizon, new_df=df, X_df=X)
            pred = pred.sort_values(["unique_id", "ds"], kind="stable")
            vals = pred["lgbm"].to_numpy(dtype=float).reshape(len(usable), horizon)
            bad = ~np.isfinite(vals).all(axis=1)
            for j, i in enumerate(usable):
                if bad[j]:
                    out[i] = seasonal_naive(group.values[i], horizon, m)
                    fallbacks.append((i, "LightGBM gave a non-finite forecast"))
                else:
                    out[i] = vals[j]
        return Forecast(out, fallbacks, None)


# the old class name shadowed LightGBM's own; it goes in segmenter 0.4
__getattr__ = renamed(__name__, {"LightGBM": "LightGBMCandidate"})
