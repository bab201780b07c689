"""Serving and watching a fitted model: the HTTP service, batch scoring, monitoring.

- :mod:`.model`: :class:`ServedModel`, a model file loaded once, answering forecasts,
  assignments and what it is, with a private instance per concurrent call;
- :mod:`.app`: the HTTP service (FastAPI on uvicorn, the ``serve`` extra):
  ``segmenter serve MODEL``;
- :mod:`.scoring`: :func:`score`, forecasts of a file too large for one request,
  streamed in chunks of whole series to Parquet: ``segmenter score MODEL data -o out/``;
- :mod:`.monitoring`: :func:`monitor`, membership and accuracy drift against what the
  model saw at fit, and a recommendation: ``segmenter monitor MODEL new.parquet``.

The MLflow flavor is :mod:`segmenter.mlflow`.
"""

from .model import ServedModel

__all__ = ["ServedModel", "create_app", "serve", "score", "monitor", "MonitorResult"]


def __getattr__(name):  # the service needs the optional FastAPI; load it on use
    if name in ("create_app", "serve"):
        from . import app

        return getattr(app, name)
    if name == "score":
        from .scoring import score

        return score
    if name in ("monitor", "MonitorResult", "Thresholds"):
        from . import monitoring

        return getattr(monitoring, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
