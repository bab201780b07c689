"""A saved model loaded once for serving: forecasts, assignments and what it is.

:class:`ServedModel` reads a model file once (with the safe-loading rules of
:func:`segmenter.load`), keeps its bytes, and builds ``copies`` private instances from
them.  Each call checks one instance out of a pool and returns it after, so two
concurrent requests never touch the same object; none of them is written to by a
forecast (``SegmentedForecaster.predict`` leaves a model unchanged, which the tests
check byte for byte).  The service (:mod:`.app`), batch scoring (:mod:`.scoring`), the
monitor (:mod:`.monitoring`) and the MLflow flavor (:mod:`segmenter.mlflow`) all go
through it.
"""

from __future__ import annotations

import queue
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..errors import DataValidationError, Problem
from ..forecasting.forecaster import SegmentedForecaster
from ..persistence import _parse_header, _read_bytes, loads
from ..segmenter import Segmenter

__all__ = ["ServedModel"]


class ServedModel:
    """A fitted ``SegmentedForecaster`` or ``Segmenter`` file, ready to answer.

    Parameters
    ----------
    path : str or Path
        A model file written by ``save``.
    trusted : list or True, optional
        More types to trust when loading (as :func:`segmenter.load`).
    copies : int, default 1
        Private instances built from the file: at most this many calls run at once;
        the others wait for a free instance.
    """

    def __init__(self, path, trusted=None, copies: int = 1):
        if copies < 1:
            raise ValueError(f"copies={copies}: at least one instance is needed")
        self.path = Path(path)
        raw = _read_bytes(self.path)
        self.header = _parse_header(self.path, raw)[0]
        first = loads(raw, self.path, None, trusted)
        if not isinstance(first, SegmentedForecaster | Segmenter):
            raise DataValidationError(
                [
                    Problem(
                        "not_a_model",
                        None,
                        f"{str(self.path)!r} holds a {type(first).__name__}; serve a "
                        "saved SegmentedForecaster or Segmenter",
                    )
                ]
            )
        self.kind = (
            "forecaster" if isinstance(first, SegmentedForecaster) else "segmenter"
        )
        self._pool: queue.LifoQueue = queue.LifoQueue()
        self._pool.put(first)
        for _ in range(copies - 1):
            self._pool.put(loads(raw, self.path, None, trusted))
        self.copies = copies
        self._info = self._describe(first)

    @contextmanager
    def instance(self):
        """A private instance for the duration of a call."""
        obj = self._pool.get()
        try:
            yield obj
        finally:
            self._pool.put(obj)

    # ------------------------------------------------------------------ answers
    @property
    def horizon(self) -> int | None:
        return self._info.get("horizon")

    def forecast(
        self, data, future=None, level=None, horizon=None, refit: bool = False
    ) -> pd.DataFrame:
        """``SegmentedForecaster.predict(data, future=..., level=..., horizon=...)``."""
        if self.kind != "forecaster":
            raise DataValidationError(
                [
                    Problem(
                        "no_forecaster",
                        None,
                        f"{self.path.name} is a Segmenter: it assigns series to segments "
                        "(POST /assign) but does not forecast; serve a saved "
                        "SegmentedForecaster for forecasts",
                    )
                ]
            )
        _check_history(data, self._info["columns"])
        with self.instance() as fc:
            return fc.predict(
                data, future=future, level=level, refit=refit, horizon=horizon
            )

    def assign(self, data) -> pd.DataFrame:
        """Each series' nearest segment, its distance and flags (``Segmenter.predict``)."""
        _check_history(data, self._info["columns"])
        with self.instance() as obj:
            seg = obj if self.kind == "segmenter" else obj.segmenter_
            if seg is None:
                raise DataValidationError(
                    [
                        Problem(
                            "no_segmenter",
                            None,
                            f"{self.path.name} was fitted from a given mapping or "
                            "segment column, with no segmenter: it cannot assign "
                            "series by shape; fit it with segmenter=Segmenter(...)",
                        )
                    ]
                )
            return seg.predict(data).to_frame()

    def info(self) -> dict:
        """What the model is: versions, fit time, data fingerprint, segments,
        champions, candidates, metric (JSON-ready)."""
        return dict(self._info)

    def _describe(self, obj) -> dict:
        out = {
            "kind": self.kind,
            "file": self.path.name,
            "segmenter_version": __version__,
            "written_by": self.header.get("segmenter"),
            "saved_at": self.header.get("created"),
            "model_sha256": self.header.get("sha256"),
        }
        if self.kind == "forecaster":
            fc = obj
            sizes = fc.forecasts_.groupby("segment", sort=True).size() // fc.horizon
            out.update(
                fitted_at=getattr(fc, "fitted_at_", None),
                data_fingerprint=getattr(fc, "data_fingerprint_", None),
                horizon=int(fc.horizon),
                levels=[int(v) for v in fc.levels],
                metric=fc.metric,
                season_length=_plain(fc.season_length_),
                candidates=list(fc.candidates_),
                segments={str(g): int(n) for g, n in sizes.items()},
                champions={str(g): str(c) for g, c in fc.champions_.items()},
                segmentation=_segmentation_of(fc),
                backtest_error=_backtest_errors(fc),
                improvement=_plain(getattr(fc, "improvement_", None)),
                comparison=getattr(fc, "comparison_text_", None),
                future_cols=list(fc.future_cols_ or []),
                columns=fc.data_args_,
            )
        else:
            meta = obj.mapping_.metadata
            out.update(
                fitted_at=meta.get("created"),
                data_fingerprint=meta.get("data_fingerprint"),
                segments={
                    str(g): int(n) for g, n in obj.mapping_.sizes().sort_index().items()
                },
                segmentation=meta.get("steps"),
                columns=obj.data_args_,
            )
        out["columns"] = _plain(out["columns"])
        return out


def _segmentation_of(fc) -> str | None:
    sel = getattr(fc, "selection_", None)
    if sel is None or "chosen" not in sel:
        return None
    chosen = sel[sel["chosen"].astype(bool)]
    return None if chosen.empty else str(chosen["candidate"].iloc[0])


def _backtest_errors(fc) -> dict:
    """Each segment's champion's backtest error at fit (the leaderboard's metric)."""
    lb = getattr(fc, "leaderboard_", None)
    if lb is None or fc.metric not in lb:
        return {}
    out = {}
    for g, champ in fc.champions_.items():
        row = lb[(lb["segment"] == g) & (lb["blueprint"] == champ)]
        if len(row):
            out[str(g)] = _plain(row[fc.metric].iloc[0])
    return out


def _check_history(data, columns: dict) -> None:
    """A request's history must hold rows (an empty one names what to send)."""
    if isinstance(data, pd.DataFrame) and data.empty:
        ids = columns.get("id_col")
        raise DataValidationError(
            [
                Problem(
                    "no_history",
                    "data",
                    "no history was sent: every series to forecast or assign needs its "
                    f"rows (columns {ids!r}, {columns.get('time_col')!r}, "
                    f"{columns.get('target_col')!r})",
                )
            ]
        )


def _plain(v):
    """numpy scalars, tuples and dicts as JSON-ready Python values."""
    import numpy as np

    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v
