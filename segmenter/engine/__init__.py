"""Where tasks run: the engine seam (:mod:`.base`: local, joblib processes) and the Dask
backend (:mod:`.dask_engine`, imported only when a Dask client or address is given)."""

from .base import Engine, LocalEngine, run_task, saveable_engine
from .progress import progress_bar
from .resolve import resolve_engine

__all__ = [
    "Engine",
    "LocalEngine",
    "resolve_engine",
    "run_task",
    "saveable_engine",
    "progress_bar",
]
