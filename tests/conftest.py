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


DRIFT_KINDS = ("season", "trend", "square")


def drift_panel(
    n_per=8, length=48, seed=0, switch=(), shift=0.0, shift_from=None, start="2015-01"
):
    """Monthly series of three dynamics (a 12-month season, a trend, a 24-month square
    wave) whose values at each step do not depend on ``length``: a longer panel
    continues a shorter one with fresh noise.  ``switch``: ids that follow the next
    kind's dynamics instead; ``shift``: a level shift of ``shift`` x the series'
    amplitude from step ``shift_from`` on."""
    rows = []
    times = pd.date_range(start, periods=length, freq="MS")
    for c, kind in enumerate(DRIFT_KINDS):
        for i in range(n_per):
            sid = f"{kind}{i}"
            rng = np.random.default_rng([seed, c, i])
            amp, phase = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
            slope, noise = rng.uniform(0.2, 0.5), rng.normal(0, 0.3, 240)
            use = DRIFT_KINDS[(c + 1) % 3] if sid in switch else kind
            t = np.arange(length)
            base = {
                "season": amp * np.sin(2 * np.pi * t / 12 + phase),
                "trend": slope * t,
                "square": amp * np.sign(np.sin(2 * np.pi * t / 24 + phase)),
            }[use]
            y = 50 + base + noise[:length]
            if shift and shift_from is not None:
                y[shift_from:] += shift * amp
            rows.append(pd.DataFrame({"unique_id": sid, "ds": times, "y": y}))
    return pd.concat(rows, ignore_index=True)
