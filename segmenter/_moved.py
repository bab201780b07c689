"""Module paths of segmenter 0.2 that moved in the 0.3 layout, kept as aliases.

``import segmenter.blueprints`` (and ``from segmenter.blueprints import ...``) still
work: they give the module at its new home (the same module object, so patching one
patches the other), with a ``DeprecationWarning`` naming the new path.  The aliases go
in 0.4.  This table is the only place that knows the old layout.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

#: old module path -> new module path
MOVED = {
    "segmenter.panel": "segmenter.data.panel",
    "segmenter.chunks": "segmenter.data.chunks",
    "segmenter.dtw": "segmenter.distances.dtw",
    "segmenter.blueprints": "segmenter.clustering.blueprints",
    "segmenter.clusterers": "segmenter.clustering.clusterers",
    "segmenter.constraints": "segmenter.clustering.constraints",
    "segmenter.mapping": "segmenter.clustering.mapping",
    "segmenter.segmentation": "segmenter.segmenter",
    "segmenter.clustering.segmenter": "segmenter.segmenter",
    "segmenter.leaderboard": "segmenter.selection.leaderboard",
    "segmenter.runner": "segmenter.forecasting.forecaster",
    "segmenter.forecasting.runner": "segmenter.forecasting.forecaster",
    "segmenter.forecasting.pipeline": "segmenter.forecasting.fit_job",
    "segmenter.insights": "segmenter.reporting.insights",
    "segmenter.plots": "segmenter.reporting.plots",
    "segmenter.report": "segmenter.reporting.report",
    "segmenter.adapters.engine": "segmenter.engine.base",
    "segmenter.adapters.dask_engine": "segmenter.engine.dask_engine",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths of :data:`MOVED` and loads them as their new module."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        new = MOVED[spec.name]
        warnings.warn(
            f"{spec.name} moved to {new}; the old path works until segmenter 0.4",
            DeprecationWarning,
            stacklevel=3,
        )
        module = importlib.import_module(new)
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._real_spec  # the import machinery set the alias's spec


def renamed(module: str, names: dict[str, str]):
    """A module ``__getattr__`` that serves the old ``names`` (old -> new) of ``module``
    with a ``DeprecationWarning`` naming the new one; the aliases go in 0.4.

    Use as ``__getattr__ = renamed(__name__, {"CHUNK_SERIES": "SERIES_PER_PARTITION"})``
    at the end of the module."""

    def __getattr__(name: str):
        if name in names:
            new = names[name]
            warnings.warn(
                f"{module}.{name} is now {module}.{new}; the old name works until "
                "segmenter 0.4",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(sys.modules[module], new)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def relocated(module: str, places: dict[str, str]):
    """A module ``__getattr__`` that serves names which moved to another module
    (``places``: name -> its module now) with a ``DeprecationWarning``; the aliases go
    in 0.4.  The new module is imported by name when the old name is used, so the
    old module need not import it (the new one usually imports the old)."""

    def __getattr__(name: str):
        if name in places:
            warnings.warn(
                f"{module}.{name} is in {places[name]}; the old place works until "
                "segmenter 0.4",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(importlib.import_module(places[name]), name)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property serving the old attribute name ``old`` of ``new`` with a
    ``DeprecationWarning``; it goes in 0.4."""

    def get(self):
        value = getattr(self, new)  # AttributeError (not fitted) before any warning
        warnings.warn(
            f"{type(self).__name__}.{old} is now {new}; the old name works until "
            "segmenter 0.4",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return property(get, doc=f"Deprecated alias of ``{new}``.")


def install() -> None:
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
