"""An MLflow flavor for the combined model (the ``mlflow`` extra).

Built on MLflow's own flavor mechanism, as mlforecast's ``mlforecast.flavor`` is: the
model directory holds the segmenter model file (loaded back with the safe-loading
rules of :func:`segmenter.load`), an ``MLmodel`` with a ``segmenter`` flavor and a
``python_function`` flavor whose loader is this module, and the environment files.

Example (``fc`` a fitted SegmentedForecaster, ``history`` its new history)::

    import mlflow
    import segmenter.mlflow

    with mlflow.start_run():
        info = segmenter.mlflow.log_model(fc, name="forecaster")
    model = mlflow.pyfunc.load_model(info.model_uri)
    model.predict(history, params={"horizon": 6, "level": [80, 95]})

The pyfunc ``predict`` takes the new history as a long frame (the columns the model
was fitted with) and returns the rows of ``SegmentedForecaster.predict``.  Options go
in ``params`` (declared in the model signature, so ``mlflow models serve`` passes them
through): ``horizon`` (1 to the fitted horizon), ``level`` (a list of interval
levels) and ``refit``.  Future covariates (a model fitted with ``future_cols``) go in
the same frame, as rows whose ``_future`` column is true; the other rows, ``_future``
false, are the history.  As in mlforecast's flavor, a one-row frame whose ``data``
cell holds a DataFrame (and optionally ``future``, ``horizon``, ``level``) is also
accepted in process.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd

from ._version import __version__
from .errors import DataValidationError, Problem, missing_dependency

__all__ = ["save_model", "log_model", "load_model", "FLAVOR_NAME"]

FLAVOR_NAME = "segmenter"
_MODEL_FILE = "model.segmenter"
FUTURE_FLAG = "_future"


def _mlflow():
    try:
        import mlflow  # noqa: F401
    except ImportError:
        raise missing_dependency(
            "mlflow", "mlflow", "logging a model to MLflow"
        ) from None
    import mlflow

    return mlflow


def _signature(horizon: int):
    from mlflow.models import ModelSignature
    from mlflow.types import ParamSchema, ParamSpec

    return ModelSignature(
        inputs=None,
        outputs=None,
        params=ParamSchema(
            [
                ParamSpec("horizon", "long", int(horizon)),
                ParamSpec("level", "long", [], shape=(-1,)),
                ParamSpec("refit", "boolean", False),
            ]
        ),
    )


def save_model(
    model,
    path,
    mlflow_model=None,
    trusted=None,
    pip_requirements=None,
    extra_pip_requirements=None,
    conda_env=None,
    code_paths=None,
    signature=None,
    input_example=None,
    metadata=None,
    **kwargs,
):
    """Write ``model`` (a fitted SegmentedForecaster, or the path of its saved file)
    as an MLflow model directory at ``path``.

    ``trusted``: more types the model file needs to load (as :func:`segmenter.load`),
    recorded in the flavor; nothing else is trusted on load.
    """
    _mlflow()
    from mlflow import pyfunc
    from mlflow.models import Model
    from mlflow.models.model import MLMODEL_FILE_NAME
    from mlflow.utils.environment import (
        _CONDA_ENV_FILE_NAME,
        _CONSTRAINTS_FILE_NAME,
        _PYTHON_ENV_FILE_NAME,
        _REQUIREMENTS_FILE_NAME,
        _process_conda_env,
        _process_pip_requirements,
        _PythonEnv,
        _validate_env_arguments,
    )
    from mlflow.utils.file_utils import write_to
    from mlflow.utils.model_utils import (
        _validate_and_copy_code_paths,
        _validate_and_prepare_target_save_path,
    )

    from .forecasting.forecaster import SegmentedForecaster
    from .serving.model import ServedModel

    _validate_env_arguments(conda_env, pip_requirements, extra_pip_requirements)
    path = os.path.abspath(path)
    _validate_and_prepare_target_save_path(path)
    code_dir = _validate_and_copy_code_paths(code_paths, path)
    target = Path(path) / _MODEL_FILE
    if isinstance(model, SegmentedForecaster):
        model.save(target)
    elif isinstance(model, str | os.PathLike):
        shutil.copyfile(model, target)
    else:
        raise DataValidationError(
            [
                Problem(
                    "not_a_model",
                    "model",
                    "log a fitted SegmentedForecaster or the path of its saved file, "
                    f"not {type(model).__name__}",
                )
            ]
        )
    trusted_names = [
        t if isinstance(t, str) else f"{t.__module__}.{t.__qualname__}"
        for t in (trusted or [])
    ]
    served = ServedModel(target, trusted=trusted_names)  # refuses a bad file now
    if served.kind != "forecaster":
        raise DataValidationError(
            [
                Problem(
                    "not_a_model",
                    "model",
                    "the MLflow flavor serves a SegmentedForecaster",
                )
            ]
        )
    if mlflow_model is None:
        mlflow_model = Model()
    mlflow_model.signature = signature or _signature(served.horizon)
    if input_example is not None:
        from mlflow.models.utils import _save_example

        _save_example(mlflow_model, input_example, path)
    if metadata is not None:
        mlflow_model.metadata = metadata
    pyfunc.add_to_model(
        mlflow_model,
        loader_module="segmenter.mlflow",
        data=_MODEL_FILE,
        conda_env=_CONDA_ENV_FILE_NAME,
        python_env=_PYTHON_ENV_FILE_NAME,
        code=code_dir,
    )
    mlflow_model.add_flavor(
        FLAVOR_NAME,
        model_file=_MODEL_FILE,
        segmenter_version=__version__,
        trusted=trusted_names,
        horizon=served.horizon,
        code=code_dir,
    )
    mlflow_model.save(os.path.join(path, MLMODEL_FILE_NAME))
    if conda_env is None:
        default = [f"segmenter-ts=={__version__}"] if pip_requirements is None else None
        conda_env, pip_requirements, constraints = _process_pip_requirements(
            default, pip_requirements, extra_pip_requirements
        )
    else:
        conda_env, pip_requirements, constraints = _process_conda_env(conda_env)
    import yaml

    with open(os.path.join(path, _CONDA_ENV_FILE_NAME), "w") as fh:
        yaml.safe_dump(conda_env, stream=fh, default_flow_style=False)
    if constraints:
        write_to(os.path.join(path, _CONSTRAINTS_FILE_NAME), "\n".join(constraints))
    write_to(os.path.join(path, _REQUIREMENTS_FILE_NAME), "\n".join(pip_requirements))
    _PythonEnv.current().to_yaml(os.path.join(path, _PYTHON_ENV_FILE_NAME))


def log_model(model, name: str = "model", trusted=None, **kwargs):
    """Log ``model`` to the active MLflow run (``mlflow.start_run()``); returns
    MLflow's ``ModelInfo`` (``info.model_uri`` loads it back)."""
    _mlflow()
    import sys

    from mlflow.models import Model

    return Model.log(
        artifact_path=None,
        name=name,
        flavor=sys.modules[__name__],
        model=model,
        trusted=trusted,
        **kwargs,
    )


def load_model(model_uri, dst_path=None):
    """The SegmentedForecaster logged at ``model_uri`` (safe loading)."""
    _mlflow()
    from mlflow.tracking.artifact_utils import _download_artifact_from_uri
    from mlflow.utils.model_utils import _get_flavor_configuration

    from .persistence import load

    local = _download_artifact_from_uri(artifact_uri=model_uri, output_path=dst_path)
    conf = _get_flavor_configuration(model_path=local, flavor_name=FLAVOR_NAME)
    return load(Path(local) / conf["model_file"], trusted=conf.get("trusted") or None)


def _load_pyfunc(path):
    """Called by ``mlflow.pyfunc.load_model`` with the model file's path."""
    from mlflow.utils.model_utils import _get_flavor_configuration

    from .serving.model import ServedModel

    p = Path(path)
    root = p.parent if p.is_file() else p
    try:
        conf = _get_flavor_configuration(model_path=str(root), flavor_name=FLAVOR_NAME)
    except Exception:  # noqa: BLE001 - an MLmodel without our section: defaults
        conf = {}
    file = p if p.is_file() else root / conf.get("model_file", _MODEL_FILE)
    return _PyfuncModel(ServedModel(file, trusted=conf.get("trusted") or None))


class _PyfuncModel:
    """The pyfunc face of a served model."""

    def __init__(self, served):
        self.served = served

    def predict(self, model_input, params=None) -> pd.DataFrame:
        params = dict(params or {})
        frame = model_input
        if not isinstance(frame, pd.DataFrame):
            frame = pd.DataFrame(frame)
        data, future = frame, None
        if (
            "data" in frame.columns
            and len(frame) == 1
            and isinstance(frame["data"].iloc[0], pd.DataFrame)
        ):  # mlforecast's one-row configuration frame
            row = frame.iloc[0].to_dict()
            data = row["data"]
            future = row.get("future")
            for k in ("horizon", "level", "refit"):
                if k in row and row[k] is not None:
                    params.setdefault(k, row[k])
        elif FUTURE_FLAG in frame.columns:
            flag = frame[FUTURE_FLAG].astype(bool).to_numpy()
            data = frame.loc[~flag].drop(columns=FUTURE_FLAG).reset_index(drop=True)
            future = frame.loc[flag].drop(columns=FUTURE_FLAG).reset_index(drop=True)
            target = self.served.info()["columns"].get("target_col")
            if target in future.columns:
                future = future.drop(columns=target)
        level = params.get("level")
        level = list(level) if level is not None and len(level) else None
        horizon = params.get("horizon")
        return self.served.forecast(
            data,
            future,
            level,
            int(horizon) if horizon is not None else None,
            bool(params.get("refit", False)),
        )
