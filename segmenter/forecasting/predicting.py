"""What a fitted :class:`~segmenter.SegmentedForecaster` answers: ``predict`` (series
seen in fit or new ones, with intervals and future covariates), ``forecast_with`` (the
forecasts another candidate segmentation or champion would give) and
``set_champion`` (a segment's champion replaced).  :class:`PredictingMixin` holds
them; the forecaster's module holds the fit.
"""

from __future__ import annotations

from numbers import Integral
from typing import Self

import numpy as np
import pandas as pd

from ..base import check_fitted, check_levels
from ..data.panel import Panel
from ..data.reading import read_panel
from ..errors import DataValidationError, Problem
from .base import SeriesGroup
from .catalogue import make_forecaster
from .champions import SegmentModel, forecast_segment
from .covariates import future_values
from .ensemble import ensemble_results, forecast_members, produce_ensemble
from .evaluation import groups
from .fit_job import SERIES_PER_TASK, forecast_frame, future_blind, with_levels
from .inputs import for_segmenter, segments_from
from .segmentations import restricted_to


class PredictingMixin:
    """The forecaster's methods after fit (see the module docstring); they read the
    fitted attributes ``fit`` sets."""

    def forecast_with(
        self, candidate: str, champion: str | None = None, level=None
    ) -> pd.DataFrame:
        """The forecasts another row of ``selection_`` leads to (e.g. ``"global"``,
        ``"per-series"``, a random partition or a clustering row), chosen and fitted
        exactly as the chosen one; with ``champion`` (a candidate spec), that candidate
        in every segment instead.  Needs the fit data in memory (not after
        :func:`segmenter.load`).  Same columns as :meth:`predict`."""
        check_fitted(self, "forecasts_", "forecast_with")
        if getattr(self, "_fit_data", None) is None:
            raise DataValidationError(
                [
                    Problem(
                        "no_data",
                        "candidate",
                        "forecast_with needs the backtests of the fit, which "
                        "are not saved with the model; fit again",
                    )
                ]
            )
        if candidate not in self._segmentations:
            raise DataValidationError(
                [
                    Problem(
                        "unknown_candidate",
                        "candidate",
                        f"{candidate!r} is not a row of selection_; "
                        f"use one of {list(self._segmentations)}",
                    )
                ]
            )
        panel, data, backtests = self._fit_data
        seg = self._segmentations[candidate]
        sample = getattr(self, "_sample", None)
        if sample is not None and (
            seg.kind == "per-series" or len(seg.labels) != panel.n_series
        ):
            raise DataValidationError(
                [
                    Problem(
                        "sampled_candidate",
                        "candidate",
                        f"{candidate!r} was scored on the selection sample only "
                        f"(forecast_sample={self.forecast_sample}) and does not "
                        "label every series; fit with forecast_sample=None to "
                        "forecast with it",
                    )
                ]
            )
        job = self._fit_job(self._engine(), panel, data)
        levels = check_levels(level or self.levels)
        combos = [b for b in self._bps.values() if b.kind == "combination"]
        if seg.kind == "ensemble":
            if champion is not None:
                raise DataValidationError(
                    [
                        Problem(
                            "ensemble",
                            "champion",
                            f"{candidate} is an ensemble of segmentations; "
                            "champion= applies to single segmentations",
                        )
                    ]
                )
            segs = list(self._segmentations.values())
            runs = [
                self._member_backtests(job, s)
                if s.name in seg.meta["members"]
                else None
                for s in segs
            ]
            _, _, _, final = produce_ensemble(
                job,
                backtests,
                segs,
                [self._evals[s.name] for s in segs],
                runs,
                segs.index(seg),
                combos,
                levels,
                sample,
            )
            frame = forecast_frame(
                panel,
                final,
                levels,
                {g: candidate for g in final},
                self.horizon,
            )
            return with_levels(self._named_as(candidate, frame), check_levels(level))
        pooled_backtests = self._member_backtests(job, seg)
        if champion is not None:
            bp = make_forecaster(champion)
            self._bps.setdefault(bp.spec, bp)
            champion = bp.spec
        _, champs, models, final = job.production(
            backtests,
            seg.labels,
            pooled_backtests,
            combos,
            levels,
            champion,
            candidate,
            sample,
        )
        frame = forecast_frame(
            panel,
            final,
            levels,
            champs,
            self.horizon,
            future_blind(models, self._bps, self.future_cols_),
        )
        return with_levels(self._named_as(candidate, frame), check_levels(level))

    def _named_as(self, candidate: str, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with ``segment_name``: the chosen segments' names for the chosen
        candidate, ``"all series"`` / ``"segment <k>"`` for another one."""
        if candidate == self.segmentation_:
            return self._named(frame)
        segs = frame["segment"].unique()
        names = (
            {segs[0]: "all series"}
            if len(segs) == 1
            else {g: f"segment {g}" for g in segs}
        )
        return self._named(frame, names)

    def _member_backtests(self, job, seg):
        """The pooled backtests of segmentation ``seg`` (kept from the fit, or run now)."""
        if seg.kind == "ensemble":
            return None
        pooled_backtests = self._runs.get(seg.name)
        if pooled_backtests is None:
            sample = getattr(self, "_sample", None)
            if sample is not None:  # backtests run on the sampled series only
                job, seg = job.view(sample), restricted_to([seg], sample)[0]
            pooled_backtests = job.pooled_backtests(
                [b for b in self._bps.values() if b.kind == "pooled"], [seg]
            )[0]
            self._runs[seg.name] = pooled_backtests
        return pooled_backtests

    # ------------------------------------------------------------------ serving
    def set_champion(self, segment, spec, data=None, **columns) -> Self:
        """Override a segment's champion (any candidate spec); its forecasts are refitted
        on ``data`` (the fit data, needed when the forecaster was loaded from a file)."""
        check_fitted(self, "forecasts_", "set_champion")
        if getattr(self, "_members", None):
            raise DataValidationError(
                [
                    Problem(
                        "ensemble",
                        "segment",
                        f"the chosen strategy is {self.segmentation_}, an "
                        "ensemble of segmentations: its forecasts are the mean of its members', "
                        "and no single segment champion can be set; fit with ensembles=() to "
                        "choose among single segmentations",
                    )
                ]
            )
        if segment not in self._models:
            raise DataValidationError(
                [
                    Problem(
                        "unknown_segment",
                        "segment",
                        f"segment {segment!r} is not one of {list(self._models)}",
                    )
                ]
            )
        if data is None and getattr(self, "_fit_data", None) is None:
            raise DataValidationError(
                [
                    Problem(
                        "no_data",
                        "data",
                        "set_champion needs the fit data again (data=...) to "
                        "refit the segment's forecasts",
                    )
                ]
            )
        bp = make_forecaster(spec)
        self._bps.setdefault(bp.spec, bp)
        panel = (
            self._fit_data[0]
            if data is None
            else (
                data
                if isinstance(data, Panel)
                else read_panel(data, **{**self.data_args_, **columns})
            )
        )
        old = self._models[segment]
        model = SegmentModel(
            segment,
            bp.spec,
            [bp.spec],
            {},
            old.quantiles,
            old.residuals,
            pooled=old.pooled,
            native_intervals=getattr(old, "native_intervals", True),
        )
        idx = self._final[segment][0]
        fdata = SeriesGroup.from_panel(panel, self._data_spec)
        out = forecast_segment(
            model,
            fdata.subset(idx),
            self._data_spec,
            idx,
            self.horizon,
            self._bps,
            check_levels(self.levels, "levels"),
            None,
            True,
        )
        model.states = out.pop("states")
        self._models[segment] = model
        self.champions_[segment] = bp.spec
        self._final[segment] = (idx, out)
        self.forecasts_ = self._named(
            forecast_frame(
                panel,
                self._final,
                check_levels(self.levels, "levels"),
                self.champions_,
                self.horizon,
                future_blind(self._models, self._bps, self.future_cols_),
            )
        )
        return self

    # ------------------------------------------------------------------ segment names
    def predict(
        self,
        data=None,
        future=None,
        level=None,
        refit: bool = False,
        horizon: int | None = None,
        **columns,
    ) -> pd.DataFrame:
        """Forecasts: id column(s), time, ``forecast``, ``segment``, ``champion``,
        ``fallback``; every series × horizon step exactly once.

        Parameters
        ----------
        data : DataFrame or Panel, optional
            New history (the same series with more periods, or series never seen, which
            are assigned to a segment by the segmenter given to ``fit``).  Each series is
            forecast from its own history by its segment's champion; pooled champions
            reuse the model fitted on the segment (``refit=True`` refits them on
            ``data``).  Histories may end at different times: each series' horizon
            starts after its own last step.  Without ``data``: the fitted series.
        future : DataFrame, optional
            The future-known covariates (``future_cols``) for every series × horizon
            step; required when the model was fitted with them.
        level : list of int, optional
            Adds ``lo-<level>``/``hi-<level>`` columns and ``interval``
            ("conformal": from the segment's backtest residuals; "native": the
            model's own, with ``intervals="native"``).
        horizon : int, optional
            Return only the first ``horizon`` steps (1 to the fitted ``horizon``, the
            default).  ``future`` is then needed for those steps only: a forecast at
            step j reads the covariates of steps up to j, never later ones.
        """
        check_fitted(self, "forecasts_", "predict")
        levels = check_levels(level)
        h = self._check_horizon(horizon)
        if h < self.horizon:
            out = self.predict(
                data, self._pad_future(future, h), level, refit, None, **columns
            )
            step = out.groupby(self._id_columns(), sort=False).cumcount()
            out = out[step.to_numpy() < h].reset_index(drop=True)
            return out
        if self.future_cols_ and future is None:
            future_values(
                None, None, [], "", [], self.future_cols_
            )  # the typed refusal
        if (
            data is None
            and future is None
            and set(levels) <= set(check_levels(self.levels))
        ):
            out = self.forecasts_.copy()
            return with_levels(out, levels)
        if data is None:
            if getattr(self, "_fit_data", None) is None:
                raise DataValidationError(
                    [
                        Problem(
                            "no_data",
                            "data",
                            "this forecaster was loaded from a file and keeps no "
                            "training data: pass data= (the history to forecast from)",
                        )
                    ]
                )
            panel = self._fit_data[0]
        else:
            panel = (
                data
                if isinstance(data, Panel)
                else read_panel(
                    data,
                    **{
                        **self.data_args_,
                        "value_cols": self.future_cols_ or None,
                        "static_cols": self.static_cols_ or None,
                        **columns,
                    },
                )
            )
        panel.check_horizon(self.horizon)
        ids = panel.id_labels()
        segs = self._segments_of(panel, ids)
        times = [
            panel.time_labels(panel.end_positions()[i] + np.arange(self.horizon))
            for i in range(panel.n_series)
        ]
        fut = None
        if self.future_cols_:
            arr = future_values(
                future,
                panel.ids,
                panel.id_cols,
                panel.time_col,
                times,
                self.future_cols_,
            )
            fut = {c: arr[:, :, j] for j, c in enumerate(self.future_cols_)}
        fdata = SeriesGroup.from_panel(panel, self._data_spec)
        engine = self._engine()
        if not engine.distributed and panel.n_series <= SERIES_PER_TASK:
            from ..engine.base import LocalEngine

            engine = LocalEngine(1)  # a small request: no worker processes to start

        def forecast(models, parts, lv):
            return self._forecast_parts(engine, models, parts, fdata, fut, lv, refit)

        if getattr(self, "_members", None):
            mean, fallback = forecast_members(
                self._members,
                {"positions": self._fit_positions(ids), "ids": ids},
                panel.n_series,
                self.horizon,
                lambda mem, g, idx: forecast(mem.models, [(g, idx)], ())[g][1],
                lambda mem, pos: self._assign_member(mem, panel, pos),
                self.ensemble_method,
            )
            results = ensemble_results(
                self._models,
                segs,
                mean,
                fallback,
                lambda idx: fdata.subset(idx).values,
                self.season_length_,
                levels,
            )
        else:
            parts = list(groups(segs).items())
            for g, idx in parts:
                if g not in self._models:
                    raise DataValidationError(
                        [
                            Problem(
                                "unknown_segment",
                                "segment",
                                f"series were assigned to segment "
                                f"{g!r}, which had no series in fit",
                                ids=[ids[i] for i in idx],
                            )
                        ]
                    )
            results = forecast(self._models, parts, levels)
        return with_levels(
            self._named(
                forecast_frame(panel, results, levels, self.champions_, self.horizon)
            ),
            levels,
        )

    def _forecast_parts(self, engine, models, parts, fdata, fut, levels, refit):
        """Each segment's series of ``parts`` [(segment, positions)] forecast by its
        model, in tasks of at most :data:`~.fit_job.SERIES_PER_TASK` series on the
        engine (a segment whose pooled models are refitted is one task):
        {segment: (positions, output)}."""
        jobs, labels, where = [], [], []
        for g, idx in parts:
            whole = refit and any(
                self._bps[s_].kind == "pooled" for s_ in models[g].members
            )
            step = len(idx) if whole else SERIES_PER_TASK
            for lo in range(0, len(idx), max(step, 1)):
                c = np.asarray(idx[lo : lo + step])
                jobs.append(
                    (
                        models[g],
                        fdata.subset(c),
                        self._data_spec,
                        c,
                        self.horizon,
                        self._bps,
                        levels,
                        {k: v[c] for k, v in fut.items()} if fut else None,
                        refit,
                    )
                )
                labels.append(f"predict segment {g!r}, series {c[0]}-{c[-1]}")
                where.append((g, c))
        outs = engine.map(
            forecast_segment, jobs, labels, desc="predict", progress=self.progress
        )
        pieces: dict = {}
        for (g, c), out in zip(where, outs):
            out.pop("states")
            pieces.setdefault(g, []).append((c, out))
        return {g: _joined(got) for g, got in pieces.items()}

    def _check_horizon(self, horizon) -> int:
        if horizon is None:
            return self.horizon
        if (
            isinstance(horizon, bool)
            or not isinstance(horizon, Integral)
            or not 1 <= horizon <= self.horizon
        ):
            raise DataValidationError(
                [
                    Problem(
                        "horizon",
                        "horizon",
                        f"horizon={horizon!r}: this model forecasts 1 to "
                        f"{self.horizon} steps; ask for at most {self.horizon} (refit "
                        "with a larger horizon for more)",
                    )
                ]
            )
        return int(horizon)

    def _id_columns(self) -> list:
        ids = self.data_args_["id_col"]
        return [ids] if isinstance(ids, str) else list(ids)

    def _pad_future(self, future, h: int):
        """``future`` for ``h`` steps, each series' last given row repeated to the
        fitted horizon: forecasts at steps <= h never read the rows added."""
        if not isinstance(future, pd.DataFrame) or not self.future_cols_:
            return future
        ids, time = self._id_columns(), self.data_args_["time_col"]
        if not set(ids + [time]) <= set(future.columns):
            return future  # the full check names what is missing
        fut = future.sort_values(ids + [time], kind="stable")
        last = fut.groupby(ids, sort=False).tail(1)
        times = pd.Index(fut[time])
        if pd.api.types.is_datetime64_any_dtype(times):
            freq = self.data_args_.get("freq") or pd.infer_freq(
                fut.groupby(ids, sort=False)[time].head(3)
            )
            offset = pd.tseries.frequencies.to_offset(freq) if freq else None
        else:
            offset = self.data_args_.get("freq") or 1
        if offset is None:
            return future
        extra = []
        for k in range(1, self.horizon - h + 1):
            more = last.copy()
            more[time] = last[time] + k * offset
            extra.append(more)
        return pd.concat([fut, *extra], ignore_index=True)

    def _fit_positions(self, ids) -> list:
        """Each series' position in the fit, None for series not seen there."""
        known = {i: p for p, i in enumerate(self._id_labels)}
        return [known.get(i) for i in ids]

    def _assign_member(self, member, panel, pos) -> np.ndarray:
        """The segments an ensemble member gives the series at ``pos`` not seen in fit."""
        if member.kind == "global":
            return np.zeros(len(pos), dtype=np.int64)
        if member.assigner is None or self.segmenter_ is None:
            raise DataValidationError(
                [
                    Problem(
                        "unknown_series",
                        ",".join(panel.id_cols),
                        f"{len(pos)} series are not in "
                        f"the segments of ensemble member {member.name} and it cannot assign new "
                        "series",
                        ids=[panel.id_labels()[i] for i in pos],
                    )
                ]
            )
        return segments_from(self.segmenter_, member.assigner, panel, np.asarray(pos))

    def _segments_of(self, panel, ids) -> np.ndarray:
        known = dict(zip(self._id_labels, self._labels))
        segs = np.array([known.get(i, None) for i in ids], dtype=object)
        unknown = [i for i, s in enumerate(segs) if s is None]
        if unknown and getattr(self, "_assigner", None) is not None:
            fdata = SeriesGroup.from_panel(panel, self._data_spec).subset(unknown)
            segs[unknown] = self._assigner.assign(fdata)
        elif unknown:
            if self.segmenter_ is None:
                raise DataValidationError(
                    [
                        Problem(
                            "unknown_series",
                            ",".join(panel.id_cols),
                            f"{len(unknown)} series are "
                            "not in the mapping and no segmenter was given to fit to assign them",
                            ids=[ids[i] for i in unknown],
                        )
                    ]
                )
            got = self.segmenter_.predict(
                for_segmenter(self.segmenter_, panel, unknown)
            )
            segs[unknown] = got.to_frame()["segment"].to_numpy()
        return segs

    # ------------------------------------------------------------------ persistence


def _joined(pieces: list) -> tuple:
    """Chunks of one segment's forecasts [(positions, output)] as one (positions,
    output)."""
    if len(pieces) == 1:
        return pieces[0]
    outs = [o for _, o in pieces]
    return np.concatenate([c for c, _ in pieces]), {
        "forecast": np.concatenate([o["forecast"] for o in outs]),
        "fallback": np.concatenate([o["fallback"] for o in outs]),
        "lo": {lv: np.concatenate([o["lo"][lv] for o in outs]) for lv in outs[0]["lo"]},
        "hi": {lv: np.concatenate([o["hi"][lv] for o in outs]) for lv in outs[0]["hi"]},
        "method": np.concatenate([o["method"] for o in outs]),
    }
