import numpy as np
import pandas as pd
import pytest


def make_long(n_series=12, length=40, seed=0, freq="MS", int_time=False, ids=None):
    """A small long frame of random walks (helper shared by tests)."""
    rng = np.random.default_rng(seed)
    ids = ids if ids is not None else [f"s{i:03d}" for i in range(n_series)]
    times = np.arange(1, length + 1) if int_time else pd.date_range("2020-01-01", periods=length, freq=freq)
    rows = []
    for sid in ids:
        y = np.cumsum(rng.normal(size=length)) + 10
        rows.append(pd.DataFrame({"unique_id": sid, "ds": times, "y": y}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture
def long_frame():
    return make_long()
