"""statsmodels forecasters as local forecasting blueprints (one model per series).

Each ``_forecast(y, horizon, m)`` fits on one clean history and returns ``horizon``
values; failures fall back to the seasonal naive forecast (see
:class:`segmenter.forecasting.LocalForecaster`).
"""

from __future__ import annotations

import numpy as np

from segmenter.forecasting.base import LocalForecaster

__all__ = ["ETS", "Theta", "Arima"]


class ETS(LocalForecaster):
    """statsmodels ``ETSModel`` with additive errors.

    Parameters
    ----------
    trend : {"add", None}, default "add"
    damped : bool, default True
    seasonal : {"auto", "add", "mul", None}, default "auto"
        "auto": additive when the season is > 1 and the history covers two seasons.
    """

    name = "ets"
    defaults = {"trend": "add", "damped": True, "seasonal": "auto"}
    steps = "statsmodels ETS per series (trend {trend}, damped {damped}, seasonal {seasonal})"
    min_length = 4

    def _forecast(self, y, horizon, m):
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel
        p = {**self.defaults, **self.params}
        seasonal = p["seasonal"]
        if seasonal == "auto":
            seasonal = "add" if m > 1 and len(y) >= 2 * m + 2 else None
        elif seasonal is not None and not (m > 1 and len(y) >= 2 * m):
            seasonal = None
        if seasonal == "mul" and (y <= 0).any():
            seasonal = "add"
        trend = p["trend"]
        model = ETSModel(y, error="add", trend=trend, damped_trend=bool(p["damped"]) and trend is not None,
                         seasonal=seasonal, seasonal_periods=m if seasonal else None)
        return model.fit(disp=False).forecast(horizon)


class Theta(LocalForecaster):
    """statsmodels ``ThetaModel`` (Assimakopoulos & Nikolopoulos), deseasonalised
    multiplicatively when the history covers two seasons and is positive."""

    name = "theta"
    steps = "statsmodels Theta per series"
    min_length = 4

    def _forecast(self, y, horizon, m):
        from statsmodels.tsa.forecasting.theta import ThetaModel
        deseason = m > 1 and len(y) >= 2 * m
        method = "multiplicative" if (y > 0).all() else "additive"
        model = ThetaModel(y, period=m if deseason else 1, deseasonalize=deseason,
                           method=method)
        return np.asarray(model.fit().forecast(horizon))


class Arima(LocalForecaster):
    """statsmodels ``ARIMA(p,d,q)``, with a seasonal ``(P,D,Q,m)`` part when the history
    covers three seasons.

    Parameters
    ----------
    order : tuple, default (1, 1, 1)
    seasonal_order : tuple, default (0, 1, 1)
    """

    name = "arima"
    defaults = {"order": (1, 1, 1), "seasonal_order": (0, 1, 1)}
    steps = "statsmodels ARIMA{order} x seasonal {seasonal_order} per series"
    min_length = 6

    def _forecast(self, y, horizon, m):
        from statsmodels.tsa.arima.model import ARIMA
        p = {**self.defaults, **self.params}
        seasonal = (*p["seasonal_order"], m) if m > 1 and len(y) >= 3 * m else (0, 0, 0, 0)
        model = ARIMA(y, order=tuple(p["order"]), seasonal_order=seasonal)
        return np.asarray(model.fit().forecast(horizon))
