"""The partitions a leaderboard fits and scores on.

* Clustering: :func:`make_folds` splits the *series* (not the time axis) into training
  and validation series, or into cross-validation folds of series when the validation
  part would be small (:class:`SeriesFold`).
* Forecasting: :func:`backtest_cutoffs` places rolling-origin backtest windows relative
  to each series' own end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeriesFold", "make_folds", "sample_positions", "backtest_cutoffs"]


@dataclass
class SeriesFold:
    """A split of the series: positions into the panel (sorted)."""

    name: str
    kind: str  # "holdout" | "cv"
    train: np.ndarray
    valid: np.ndarray
    fit: np.ndarray  # the training series the candidates are fitted on
    train_sample: np.ndarray  # positions (into the panel, within ``fit``) for
    valid_sample: np.ndarray  # training / validation silhouettes


def sample_positions(idx: np.ndarray, size: int, rng) -> np.ndarray:
    """A seeded sorted sample of at most ``size`` of the positions ``idx`` (all of them
    when there are no more)."""
    if len(idx) <= size:
        return idx
    return np.sort(rng.choice(idx, size=size, replace=False))


def make_folds(
    n: int,
    validation_size: float,
    min_validation: int,
    cv_folds: int,
    sample: int,
    random_state,
    fit_sample: int | None = None,
) -> list[SeriesFold]:
    """The series partition(s) of the clustering leaderboard.

    A seeded permutation puts ``validation_size`` of the ``n`` series in validation;
    when that is fewer than ``min_validation`` series, ``cv_folds`` folds of series are
    used instead.  ``fit_sample`` caps the training series each candidate is fitted on
    (seeded sample; None: all); ``sample`` caps the series of each silhouette.

    >>> f = make_folds(100, 0.2, 20, 5, 2000, 0)[0]
    >>> f.kind, len(f.train), len(f.valid)
    ('holdout', 80, 20)
    >>> [f.kind for f in make_folds(50, 0.2, 20, 5, 2000, 0)]
    ['cv', 'cv', 'cv', 'cv', 'cv']
    """
    rng = np.random.default_rng(random_state)
    perm = rng.permutation(n)
    n_valid = int(round(validation_size * n))
    cap = n if fit_sample is None else fit_sample
    if n_valid >= min_validation and n - n_valid >= 2:
        valid, train = np.sort(perm[:n_valid]), np.sort(perm[n_valid:])
        fit = sample_positions(train, cap, rng)
        return [
            SeriesFold(
                "holdout",
                "holdout",
                train,
                valid,
                fit,
                sample_positions(fit, sample, rng),
                sample_positions(valid, sample, rng),
            )
        ]
    n_folds = max(2, min(cv_folds, n))
    folds = []
    for f, part in enumerate(np.array_split(perm, n_folds)):
        valid = np.sort(part)
        train = np.sort(np.setdiff1d(perm, part))
        fit = sample_positions(train, cap, rng)
        folds.append(
            SeriesFold(
                f"cv{f}",
                "cv",
                train,
                valid,
                fit,
                sample_positions(fit, sample, rng),
                valid,
            )
        )
    return folds


def backtest_cutoffs(
    lengths: np.ndarray, horizon: int, n_windows: int, step: int, min_train: int
) -> np.ndarray:
    """Cutoff of every series in every backtest window, shape (n_windows, n_series).

    Window w (0 = the most recent) holds out steps ``cutoff .. cutoff + horizon - 1``
    with ``cutoff = length - horizon - w * step``; -1 marks a series too short for the
    window (fewer than ``min_train`` steps before the cutoff).  Windows are relative to
    each series' own end, so series that end at different times are all backtested.

    >>> backtest_cutoffs(np.array([20, 9]), horizon=4, n_windows=2, step=4, min_train=4).tolist()
    [[16, 5], [12, -1]]
    """
    w = np.arange(n_windows)[:, None]
    cut = np.asarray(lengths)[None, :] - horizon - w * step
    return np.where(cut >= min_train, cut, -1)
