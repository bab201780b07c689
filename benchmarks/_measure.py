"""Measuring helpers shared by the benchmark scripts."""

from segmenter.engine.resources import peak_mb  # noqa: F401 - re-exported for the scripts


def to_panel(X):
    """A (n_series, length) array as a Panel with integer times 0..length-1."""
    import numpy as np
    import pandas as pd

    import segmenter as sg

    n, L = X.shape
    return sg.read_panel(
        pd.DataFrame(
            {
                "unique_id": np.repeat(np.arange(n), L),
                "ds": np.tile(np.arange(L), n),
                "y": X.ravel(),
            }
        )
    )


def znorm(X):
    """Each row z-normalised (population std)."""
    return (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
