"""Forecasting: candidates, backtests, the choice of segmentation and the combined model.

* :mod:`.base` -- the forecasting blueprint protocol (:class:`ForecastBlueprint`,
  :class:`LocalForecaster`, :class:`SeriesGroup`, :class:`Forecast`);
* :mod:`.catalogue` -- the candidates by spec (:data:`FORECASTERS`, :func:`make_forecaster`);
* :mod:`.plan` -- the backtest windows and what each is for;
* :mod:`.backtest` -- running candidates on windows, the errors;
* :mod:`.segmentations`, :mod:`.evaluation` -- the segmentations compared and how a
  segmentation is scored by the forecasts it leads to;
* :mod:`.champions` -- a segment's champion, fitted and served;
* :mod:`.comparison` -- the verdict against the baselines, with bootstrap intervals;
* :mod:`.covariates` -- calendar, holidays, static and future covariates;
* :mod:`.inputs` -- what a fit reads: the table, the segments given, seasons, candidates;
* :mod:`.fit_job` -- one fit's work on the engine (backtests, pooled runs, champions);
* :mod:`.forecaster` -- :class:`SegmentedForecaster`, whose fit drives them;
* :mod:`.predicting` -- what it answers after fit (``predict``, ``forecast_with``,
  ``set_champion``).
"""

from ..data.series import clean_history
from ..selection.folds import backtest_cutoffs
from ..selection.metrics import mase, rmse, smape
from .base import (
    Forecast,
    ForecastBlueprint,
    LocalForecaster,
    Naive,
    SeasonalNaive,
    SeriesGroup,
)
from .catalogue import (
    DEFAULT_FORECASTERS,
    FORECASTERS,
    INTERMITTENT,
    QUICK_FORECASTERS,
    Combination,
    make_forecaster,
)
from .forecaster import SegmentedForecaster

__all__ = [
    "SegmentedForecaster",
    "ForecastBlueprint",
    "LocalForecaster",
    "SeasonalNaive",
    "Naive",
    "SeriesGroup",
    "Forecast",
    "Combination",
    "FORECASTERS",
    "DEFAULT_FORECASTERS",
    "QUICK_FORECASTERS",
    "INTERMITTENT",
    "make_forecaster",
    "mase",
    "smape",
    "rmse",
    "backtest_cutoffs",
    "clean_history",
]
