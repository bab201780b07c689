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

from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import InvalidParameterError, validate_parameter_constraints

from .errors import DataValidationError, NotFittedError, Problem

__all__ = ["get_tag", "get_tags", "check_fitted", "params_key", "SegmenterEstimator"]


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
        raise NotFittedError(f"this {type(obj).__name__} is not fitted yet; call fit "
                             f"{'before ' + what if what else 'first'}")


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
    return repr(sorted((k, stable(v)) for k, v in est.get_params(deep=False).items()
                       if k not in ("engine", "progress", "n_jobs")))


class SegmenterEstimator(BaseEstimator):
    """scikit-learn's estimator contract for the library's public estimators.

    ``__init__`` only stores parameters; ``get_params``, ``set_params``, ``clone`` and
    the ``repr`` come from scikit-learn.  Subclasses declare ``_parameter_constraints``
    (scikit-learn's vocabulary: types, ``Interval``, ``StrOptions``...) and call
    :meth:`_check_params` at the start of ``fit``: every violated constraint is reported
    at once as a :class:`~segmenter.DataValidationError` that names the parameter and
    its value.  Parameters listed in ``_shared_params`` (a live Dask client) are passed
    to a clone as they are instead of deep-copied.
    """

    _parameter_constraints: dict = {}
    _shared_params: tuple = ("engine",)

    def _check_params(self, extra: list[Problem] | None = None) -> None:
        problems = list(extra or [])
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():
            try:
                validate_parameter_constraints({name: constraints}, {name: params[name]},
                                               caller_name=type(self).__name__)
            except InvalidParameterError as exc:
                why = str(exc).split(" must be ", 1)[-1].split(". Got ")[0]
                problems.append(Problem(f"bad_{name}", name,
                                        f"{name}={params[name]!r} must be {why}"))
        if problems:
            raise DataValidationError(problems)

    def __sklearn_clone__(self):
        params = {k: (v if k in self._shared_params else copy.deepcopy(v))
                  for k, v in self.get_params(deep=False).items()}
        return type(self)(**params)
