"""catch22 shape descriptors of every series, sktime's numba kernels run in batch."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .shape import shape_series

__all__ = ["catch22_features", "CATCH22_MIN_LENGTH", "CATCH22_BLOCK_VALUES"]

#: Shortest series catch22 is computed for (sktime's kernels divide by zero on 2 steps
#: and are meaningless on a handful); shorter series get NaN features.
CATCH22_MIN_LENGTH = 10

#: Values (series x steps) per call of the batched catch22 kernel.
CATCH22_BLOCK_VALUES = 2_000_000


def catch22_features(panel) -> pd.DataFrame:
    """The 22 catch22 features of each series' target, z-normalised (gaps interpolated,
    as :func:`shape_series`), one row per series.

    The values are those of sktime's numba catch22 kernels, run in one parallel numba
    loop per group of series of equal length (:mod:`segmenter.features._catch22_kernels`; about
    25x faster than sktime's ``Catch22`` transformer, which pays pandas overhead per
    series).  Column names are sktime's short names (``mode_5``, ``acf_timescale``,
    ``periodicity``...).  sktime's port is not the authors' reference: pycatch22 (the C
    code, catch22 v0.4) and aeon compute most features differently in detail, and aeon's
    maintainers list fixes sktime lacks (long-stretch counting, outlier timing; aeon PR
    #3618).  Good for clustering by shape; compare values only with sktime's.  A feature that is exactly zero stays zero (sktime's
    transformer reports it as NaN).  Constant series, series with no observed value and
    series of fewer than :data:`CATCH22_MIN_LENGTH` steps get NaN in every column; the
    feature clusterers impute NaN with the fitted series' median.
    """
    from sktime.transformations.catch22 import CATCH22_SHORT_FEATURE_NAMES

    from ._catch22_kernels import N_FEATURES, catch22_matrix

    X = shape_series(panel, normalize="z", columns=[0])
    lengths = X.lengths
    out = np.full((len(lengths), N_FEATURES), np.nan)
    for L in np.unique(lengths):
        if L < CATCH22_MIN_LENGTH:
            continue
        idx = np.flatnonzero(lengths == L)
        arr = np.stack([X[i][:, 0] for i in idx])
        usable = np.flatnonzero(np.isfinite(arr).all(axis=1) & (arr.std(axis=1) > 0))
        # blocks of rows bound the FFT work arrays (about 15x the block's values)
        step = max(1, CATCH22_BLOCK_VALUES // int(L))
        for lo in range(0, len(usable), step):
            rows = usable[lo : lo + step]
            out[idx[rows]] = catch22_matrix(arr[rows])
    out[~np.isfinite(out)] = np.nan
    return pd.DataFrame(out, columns=list(CATCH22_SHORT_FEATURE_NAMES))
