"""What every segmenter estimator and recipe shares: capability tags, the fitted check,
and scikit-learn's estimator contract with parameter constraints declared once.

Tags (sktime's ``_tags``, tslearn's ``allow_variable_length``): a class declares what
it can do in a ``_tags`` dict, subclasses override single entries, and code asks
:func:`get_tag` instead of testing types or strings.  The tags in use:

==============================  ===============================================================
``input``                       ``"series"`` (a list of arrays, any lengths) or ``"matrix"``
                                (one row of features per series)
``geometry``                    where a blueprint's distances live: ``"dtw"`` (shape),
                                ``"euclidean"`` (scaled features) or ``"statistic"`` (one
                                velocity statistic)
``capability:unequal_length``   series of different lengths accepted
``capability:multivariate``     several value columns per series accepted
``requires:distance_matrix``    fits from the full distance matrix of its series (the
                                search passes a cached one)
``picks_k``                     chooses the number of clusters itself
==============================  ===============================================================

An object may also compute tags: a ``get_tags()`` method returning a dict wins over
the class's ``_tags`` (blueprints derive theirs from their clusterer class).
"""

from __future__ import annotations

import copy
import functools
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import make_constraint

from .errors import DataValidationError, NotFittedError, Problem

__all__ = [
    "get_tag",
    "get_tags",
    "check_fitted",
    "params_key",
    "SegmenterEstimator",
    "fit_context",
    "Check",
    "check_levels",
    "level_label",
]


def get_tags(obj) -> dict:
    """All tags of ``obj`` (an instance or a class): ``get_tags()`` if it has one, else
    the ``_tags`` of its classes merged from the most basic to the most derived."""
    if not isinstance(obj, type) and hasattr(obj, "get_tags"):
        return dict(obj.get_tags())
    cls = obj if isinstance(obj, type) else type(obj)
    out: dict = {}
    for klass in reversed(cls.__mro__):
        out.update(klass.__dict__.get("_tags", {}))
    return out


def get_tag(obj, name: str, default=None):
    """The tag ``name`` of ``obj`` (see the module docstring), ``default`` when absent.

    >>> from segmenter.clustering.clusterers import DTWKMedoids, FeatureClusterer
    >>> get_tag(DTWKMedoids, "requires:distance_matrix"), get_tag(FeatureClusterer, "input")
    (True, 'matrix')
    """
    return get_tags(obj).get(name, default)


def check_fitted(obj, attribute: str, what: str = "") -> None:
    """Raise :class:`~segmenter.NotFittedError` (also scikit-learn's) naming ``obj`` when
    it lacks the fitted ``attribute``."""
    if not hasattr(obj, attribute):
        raise NotFittedError(
            f"this {type(obj).__name__} is not fitted yet; call fit "
            f"{'before ' + what if what else 'first'}"
        )


def params_key(est) -> str:
    """The parameters that shape a fit's results (not where it runs or shows progress),
    as stable text: recipes by their spec, not by object identity."""

    def stable(v):
        if hasattr(v, "spec"):
            return v.spec
        if isinstance(v, (list, tuple)):
            return [stable(x) for x in v]
        if hasattr(v, "get_params"):
            return f"{type(v).__name__}({params_key(v)})"
        return repr(v)

    return repr(
        sorted(
            (k, stable(v))
            for k, v in est.get_params(deep=False).items()
            if k not in ("engine", "progress", "n_jobs")
        )
    )


class Check:
    """A parameter constraint scikit-learn's vocabulary cannot say: ``fn(name, value)``
    returns the problems of ``value`` (empty when it is valid).  Used in
    ``_parameter_constraints`` like any other constraint."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, name, value) -> list[Problem]:
        return list(self.fn(name, value))


def _is_number(v) -> bool:
    return isinstance(v, Real) and not isinstance(v, (bool, np.bool_))


def level_label(lv) -> int | float:
    """A level as the user wrote it, whole numbers as ints (80.0 -> 80; 80.5 stays)."""
    return int(lv) if float(lv).is_integer() else float(lv)


def level_problems(name: str, value) -> list[Problem]:
    """The problems of interval levels ``value`` (:func:`check_levels`)."""
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(
        value, (list, tuple, np.ndarray)
    ):
        return [
            Problem(
                f"bad_{name}",
                None,
                f"{name}={value!r} must be a list of interval "
                "levels in percent, e.g. [80, 95]",
            )
        ]
    bad = [v for v in value if not _is_number(v) or not 0 < float(v) < 100]
    if bad:
        return [
            Problem(
                f"bad_{name}",
                None,
                f"{name}: {bad!r} are not levels; each level "
                "is a number strictly between 0 and 100 (percent), e.g. [80, 95]",
            )
        ]
    labels = [level_label(v) for v in value]
    dup = sorted({v for v in labels if labels.count(v) > 1})
    if dup:
        return [
            Problem(
                f"bad_{name}",
                None,
                f"{name}: {dup!r} are listed twice; give each level once",
            )
        ]
    return []


def check_levels(value, name: str = "level") -> tuple:
    """Interval levels as a tuple (whole numbers as ints, so columns read ``lo-80``), or
    a :class:`~segmenter.DataValidationError`: each level a number (not a boolean) in
    (0, 100), each once.

    >>> check_levels([80, 95.0, 97.5])
    (80, 95, 97.5)
    """
    problems = level_problems(name, value)
    if problems:
        raise DataValidationError(problems)
    return tuple(level_label(v) for v in (value or ()))


def fit_context(fit):
    """Decorate an estimator's public ``fit`` so that its parameters are checked
    before it runs (scikit-learn's ``_fit_context``): every violated
    ``_parameter_constraints`` entry, and what :meth:`SegmenterEstimator._param_problems`
    adds, raised at once as one :class:`~segmenter.DataValidationError`."""

    @functools.wraps(fit)
    def checked_fit(self, *args, **kwargs):
        self._check_params(self._param_problems())
        return fit(self, *args, **kwargs)

    return checked_fit


def _violation(name: str, value, constraints: list) -> str | None:
    """What ``value`` of parameter ``name`` must be when it meets none of
    ``constraints`` (scikit-learn's constraint objects, read directly), else None."""
    shown = [make_constraint(c) for c in constraints]
    if any(c.is_satisfied_by(value) for c in shown):
        return None
    options = [str(c) for c in shown if not getattr(c, "hidden", False)]
    must = (
        options[0]
        if len(options) == 1
        else f"{', '.join(options[:-1])} or {options[-1]}"
    )
    return f"{name}={value!r} must be {must}"


class SegmenterEstimator(BaseEstimator):
    """scikit-learn's estimator contract for the library's public estimators.

    ``__init__`` only stores parameters; ``get_params``, ``set_params``, ``clone`` and
    the ``repr`` come from scikit-learn.  Subclasses declare ``_parameter_constraints``
    (scikit-learn's vocabulary: types, ``Interval``, ``StrOptions``...) and decorate
    their public ``fit`` with :func:`fit_context`, which checks them before the fit
    runs: every violated constraint is reported at once as a
    :class:`~segmenter.DataValidationError` that names the parameter and its value.
    Checks across parameters go in :meth:`_param_problems`.  Parameters listed in
    ``_shared_params`` (a live Dask client) are passed to a clone as they are instead
    of deep-copied.
    """

    _parameter_constraints: dict = {}
    _shared_params: tuple = ("engine",)

    def _param_problems(self) -> list[Problem]:
        """Problems that involve several parameters (none by default)."""
        return []

    def _check_params(self, extra: list[Problem] | None = None) -> None:
        problems = list(extra or [])
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():
            value = params[name]
            if constraints == "no_validation":
                continue
            checks = [c for c in constraints if isinstance(c, Check)]
            if checks:
                for check in checks:
                    problems.extend(check(name, value))
                continue
            if isinstance(value, (bool, np.bool_)) and "boolean" not in constraints:
                # a bool is an int to Python (and to scikit-learn's Interval): not here
                problems.append(
                    Problem(
                        f"bad_{name}",
                        None,
                        f"{name}={value!r} is a boolean; pass a number",
                    )
                )
                continue
            why = _violation(name, value, constraints)
            if why is not None:
                problems.append(Problem(f"bad_{name}", None, why))
        if problems:
            raise DataValidationError(problems)

    def __sklearn_clone__(self):
        params = {
            k: (v if k in self._shared_params else copy.deepcopy(v))
            for k, v in self.get_params(deep=False).items()
        }
        return type(self)(**params)
