"""Forecasting: blueprints, metrics and backtests (:mod:`.base`) and the
:class:`SegmentedForecaster` (:mod:`.runner`)."""

from .base import *  # noqa: F401,F403
from .base import __all__ as _base_all
from .runner import SegmentedForecaster

__all__ = list(_base_all) + ["SegmentedForecaster"]
