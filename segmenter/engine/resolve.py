"""From an ``engine=`` parameter to the :class:`~segmenter.engine.base.Engine` that runs
the tasks: the local engine, or the Dask backend (imported only when asked for)."""

from __future__ import annotations

from ..errors import DataValidationError, Problem
from .base import Engine, LocalEngine, is_distributed

__all__ = ["resolve_engine"]


def resolve_engine(engine="local", n_jobs: int = 1) -> Engine:
    """The :class:`Engine` for an ``engine=`` parameter.

    ``"local"`` (or None): :class:`LocalEngine` with ``n_jobs``; a
    ``dask.distributed.Client``: a Dask engine on it; a string other than ``"local"``: a
    Dask scheduler address (``"tcp://host:8786"``) to connect to; an :class:`Engine`:
    itself.
    """
    if engine is None or (isinstance(engine, str) and engine == "local"):
        return LocalEngine(n_jobs)
    if isinstance(engine, Engine):
        return engine
    if is_distributed(engine):  # a client, or an address such as "tcp://host:8786"
        from .dask_engine import DaskEngine

        return DaskEngine(engine)
    raise DataValidationError(
        [
            Problem(
                "bad_engine",
                "engine",
                f"engine={engine!r} ({type(engine).__name__}) is not an "
                "engine; use 'local', a dask.distributed.Client, or a Dask scheduler address such "
                "as 'tcp://127.0.0.1:8786'",
            )
        ]
    )
