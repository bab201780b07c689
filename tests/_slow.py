"""Slow estimators for the kill-and-resume tests (imported by a child process too)."""

import time

import numpy as np
from sklearn.cluster import KMeans

from segmenter.forecasting import LocalForecaster

DELAY = 0.25


class SlowKMeans(KMeans):
    """k-means that takes a while per fit, so a run can be killed between rows."""

    def __init__(self, n_clusters=3, n_init=2, random_state=None):
        super().__init__(
            n_clusters=n_clusters, n_init=n_init, random_state=random_state
        )

    def fit(self, X, y=None, sample_weight=None):
        time.sleep(DELAY)
        return super().fit(X, y, sample_weight)


class SlowNaive(LocalForecaster):
    """The naive forecast, slowly (per series)."""

    name = "slow_naive"
    min_length = 1

    def _forecast(self, y, horizon, m):
        time.sleep(DELAY / 10)
        return np.full(horizon, y[-1])
