import numpy as np
import pandas as pd
import pytest


def make_long(n_series=12, length=40, seed=0, freq="MS", int_time=False, ids=None):
    """A small long frame of random walks (helper shared by tests)."""
    rng = np.random.default_rng(seed)
    ids = ids if ids is not None else [f"s{i:03d}" for i in range(n_series)]
    times = (
        np.arange(1, length + 1)
        if int_time
        else pd.date_range("2020-01-01", periods=length, freq=freq)
    )
    rows = []
    for sid in ids:
        y = np.cumsum(rng.normal(size=length)) + 10
        rows.append(pd.DataFrame({"unique_id": sid, "ds": times, "y": y}))
    return pd.concat(rows, ignore_index=True)


def planted_frame(
    n_per=8, length=40, seed=0, shapes=("sine", "ramp", "step"), level=50.0
):
    """Long frame of planted shapes (random warping, noise, scale); returns (df, truth)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for c, shape in enumerate(shapes):
        for i in range(n_per):
            t = np.linspace(0, 1, length) ** rng.uniform(0.8, 1.25)
            base = {"sine": np.sin(4 * np.pi * t), "ramp": t, "step": (t > 0.5) * 1.0}[
                shape
            ]
            y = level + rng.uniform(1, 5) * (base + rng.normal(0, 0.05, length))
            rows.append(
                pd.DataFrame(
                    {"unique_id": f"{shape}{i}", "ds": np.arange(length), "y": y}
                )
            )
            truth.append(c)
    return pd.concat(rows, ignore_index=True), np.array(truth)


@pytest.fixture
def long_frame():
    return make_long()
