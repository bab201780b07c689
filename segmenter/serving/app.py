"""The forecasting service: FastAPI on uvicorn (``segmenter serve MODEL``).

Endpoints
---------
``POST /forecast``
    New history as JSON (``{"data": [records], "future": [records], "level": [80, 95],
    "horizon": 6}``) or as a multipart upload (a ``data`` file, CSV or Parquet, an
    optional ``future`` file, ``level`` and ``horizon`` form fields).  Returns the rows
    of ``SegmentedForecaster.predict``: id, time, ``forecast``, ``segment``,
    ``champion``, ``fallback``, interval columns; as JSON (``{"forecasts": [...]}``),
    or CSV or Parquet when the ``Accept`` header asks for ``text/csv`` or
    ``application/vnd.apache.parquet``.
``POST /assign``
    The same inputs; each series' segment, distance and flags (``Segmenter.predict``).
``GET /health``, ``GET /model``
    Liveness, and what the model is (versions, fit time, data fingerprint, segments,
    champions, candidates, backtest errors).

Bad input gets HTTP 422 with the problem records of
:class:`~segmenter.DataValidationError` (``kind``, ``column``, ``message``, ``ids``,
``rows``); a request larger than ``max_request_bytes`` gets 413.  The model is loaded
once, before the server binds its port (a bad file fails the command, not the first
request); requests run in worker threads, each on a private instance
(:class:`.model.ServedModel`).  FastAPI was chosen for its request validation and
OpenAPI page (``/docs``) on Starlette, uvicorn as the reference ASGI server; MLflow's
own scoring server runs on the same pair.
"""

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import (
    ConstraintViolationError,
    DataValidationError,
    InputTypeError,
    Problem,
    missing_dependency,
)
from .model import ServedModel, _plain

__all__ = ["create_app", "serve", "MAX_REQUEST_BYTES"]

#: Default largest request body (64 MiB); larger files go to ``segmenter score``.
MAX_REQUEST_BYTES = 64 * 2**20

_PARQUET = "application/vnd.apache.parquet"
_ENV = "SEGMENTER_SERVE_CONFIG"


def _fastapi():
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise missing_dependency(
            exc.name or "fastapi", "serve", "the forecasting service"
        ) from None
    import fastapi

    return fastapi


class _TooLarge(Exception):
    def __init__(self, size: int | None, limit: int):
        self.size, self.limit = size, limit


def create_app(
    model, trusted=None, copies: int | None = None, max_request_bytes=MAX_REQUEST_BYTES
):
    """The ASGI application serving ``model`` (a :class:`.model.ServedModel` or the
    path of a model file).

    ``copies``: private model instances, and so requests computed at once (default:
    the CPUs, at most 4).  Run it with any ASGI server, e.g.
    ``uvicorn.run(create_app("model.segmenter"))``.
    """
    fastapi = _fastapi()
    from anyio import CapacityLimiter, to_thread
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response

    if copies is None:
        copies = max(1, min(4, os.cpu_count() or 1))
    served = (
        model
        if isinstance(model, ServedModel)
        else ServedModel(model, trusted=trusted, copies=copies)
    )
    limiter = CapacityLimiter(served.copies)
    app = fastapi.FastAPI(
        title="segmenter",
        summary="Segmented forecasts and segment assignments of one saved model",
        version=served.info()["segmenter_version"],
    )
    app.state.model = served

    @app.exception_handler(_TooLarge)
    async def _too_large(request, exc: _TooLarge):
        size = f"{exc.size} bytes" if exc.size is not None else "more"
        return _problems(
            413,
            [
                Problem(
                    "request_too_large",
                    None,
                    f"the request body ({size}) is over the limit of {exc.limit} "
                    "bytes: send fewer series per request, or score the file with "
                    "`segmenter score MODEL data.parquet -o out/`",
                )
            ],
            JSONResponse,
        )

    @app.exception_handler(DataValidationError)
    @app.exception_handler(ConstraintViolationError)
    async def _invalid(request, exc):
        return _problems(422, exc.problems, JSONResponse)

    @app.exception_handler(InputTypeError)
    async def _wrong_type(request, exc):
        return _problems(422, [Problem("wrong_type", None, str(exc))], JSONResponse)

    @app.get("/health")
    async def health() -> dict:
        """Liveness: the model is loaded and the service answers."""
        info = served.info()
        return {
            "status": "ok",
            "kind": info["kind"],
            "model_sha256": info["model_sha256"],
        }

    @app.get("/model")
    async def model_info() -> dict:
        """What the model is: versions, fit time, data fingerprint, segments,
        champions, candidates and backtest errors."""
        return served.info()

    @app.post("/forecast", openapi_extra=_REQUEST_DOC)
    async def forecast(request: Request):
        """Forecasts of the series sent, as ``SegmentedForecaster.predict``."""
        req = await _read_request(request, max_request_bytes, served)
        _check_future_ids(req, served)
        out = await to_thread.run_sync(
            lambda: served.forecast(
                req["data"], req["future"], req["level"], req["horizon"], req["refit"]
            ),
            limiter=limiter,
        )
        return _respond(request, out, "forecasts", Response, JSONResponse)

    @app.post("/assign", openapi_extra=_REQUEST_DOC)
    async def assign(request: Request):
        """Each series' segment, distance to the segment's centre and flags."""
        req = await _read_request(request, max_request_bytes, served)
        out = await to_thread.run_sync(
            lambda: served.assign(req["data"]), limiter=limiter
        )
        return _respond(request, out, "assignments", Response, JSONResponse)

    return app


_REQUEST_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "history rows: id, time, target columns",
                        },
                        "future": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "future covariate rows (forecast only)",
                        },
                        "level": {"type": "array", "items": {"type": "integer"}},
                        "horizon": {"type": "integer", "minimum": 1},
                        "refit": {"type": "boolean"},
                    },
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {
                        "data": {"type": "string", "format": "binary"},
                        "future": {"type": "string", "format": "binary"},
                        "level": {"type": "string", "description": "e.g. 80,95"},
                        "horizon": {"type": "integer"},
                    },
                }
            },
        },
    }
}


def _problems(status: int, problems, JSONResponse):
    body = {
        "detail": "\n".join(str(p) for p in problems),
        "problems": [
            {
                "kind": p.kind,
                "column": p.column,
                "message": p.message,
                "ids": _plain(list(p.ids)),
                "rows": _plain(list(p.rows)),
            }
            for p in problems
        ],
    }
    return JSONResponse(body, status_code=status)


def _bad(kind: str, column: str | None, message: str) -> DataValidationError:
    return DataValidationError([Problem(kind, column, message)])


async def _read_body(request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(int(declared), limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(None, limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    request._body = body  # starlette's form parser reads the cached body
    return body


async def _read_request(request, limit: int, served: ServedModel) -> dict:
    """The request's history, future covariates and options."""
    body = await _read_body(request, limit)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    ids = served.info()["columns"].get("id_col")
    ids = [ids] if isinstance(ids, str) else list(ids or [])
    if ctype == "multipart/form-data":
        form = await request.form()
        if "data" not in form or isinstance(form["data"], str):
            raise _bad(
                "no_data",
                "data",
                "the upload has no `data` file: send the history as a CSV or Parquet "
                "file in a form field named data",
            )
        data = _read_upload(await form["data"].read(), form["data"].filename, ids)
        future = form.get("future")
        future = (
            _read_upload(await future.read(), future.filename, ids)
            if future is not None and not isinstance(future, str)
            else None
        )
        level = form.getlist("level")
        level = [
            v for part in level for v in str(part).replace(" ", "").split(",") if v
        ]
        opts = {
            "level": [_int(v, "level") for v in level] or None,
            "horizon": _int(form["horizon"], "horizon")
            if form.get("horizon")
            else None,
            "refit": str(form.get("refit", "false")).lower() in ("1", "true", "yes"),
        }
        return {"data": data, "future": future, **opts}
    if ctype not in ("application/json", ""):
        raise _bad(
            "content_type",
            None,
            f"content type {ctype!r} is not read: send JSON (application/json) or a "
            "multipart/form-data upload with a CSV or Parquet `data` file",
        )
    try:
        payload = json.loads(body or b"null")
    except ValueError as exc:
        raise _bad("bad_json", None, f"the body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise _bad(
            "bad_json",
            None,
            'the body must be a JSON object such as {"data": [{"unique_id": ..., '
            '"ds": ..., "y": ...}, ...]}',
        )
    unknown = sorted(set(payload) - {"data", "future", "level", "horizon", "refit"})
    if unknown:
        raise _bad(
            "unknown_fields",
            None,
            f"unknown fields {unknown}: the body takes data, future, level, horizon "
            "and refit",
        )
    return {
        "data": _records(payload.get("data"), "data", ids, required=True),
        "future": _records(payload.get("future"), "future", ids),
        "level": _levels(payload.get("level")),
        "horizon": _opt_int(payload.get("horizon"), "horizon"),
        "refit": _bool(payload.get("refit", False), "refit"),
    }


def _records(value, field: str, ids, required: bool = False):
    if value is None:
        if required:
            raise _bad(
                "no_data",
                field,
                f"`{field}` is missing: send the history as a list of rows, e.g. "
                '[{"unique_id": "a", "ds": "2024-01-01", "y": 3.0}, ...]',
            )
        return None
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise _bad("bad_records", field, f"`{field}` must be a list of row objects")
    frame = pd.DataFrame.from_records(value)
    for c in ids:  # ids are labels: 7 and "7" must not be two types in one column
        if c in frame and frame[c].map(type).nunique() > 1:
            frame[c] = frame[c].astype(str)
    return frame


def _levels(value):
    if value is None:
        return None
    value = [value] if not isinstance(value, list) else value
    return [_int(v, "level") for v in value]


def _int(value, field: str) -> int:
    try:
        out = int(str(value))
    except ValueError:
        raise _bad(
            "bad_option", field, f"`{field}` must be an integer, got {value!r}"
        ) from None
    return out


def _opt_int(value, field: str):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad("bad_option", field, f"`{field}` must be an integer, got {value!r}")
    return _int(value, field)


def _bool(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise _bad("bad_option", field, f"`{field}` must be true or false")
    return value


def _read_upload(raw: bytes, filename: str | None, ids) -> pd.DataFrame:
    """An uploaded CSV or Parquet file, read by the library's one table reader."""
    from ..data.reading import read_table

    name = (filename or "").lower()
    is_parquet = raw[:4] == b"PAR1" or name.endswith((".parquet", ".pq"))
    suffix = (
        ".parquet" if is_parquet else (".csv.gz" if name.endswith(".gz") else ".csv")
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(raw)
        try:
            return read_table(path, text_cols=ids)
        except DataValidationError as exc:  # name the upload, not our temporary file
            raise DataValidationError(
                [
                    Problem(
                        p.kind,
                        p.column,
                        p.message.replace(str(path), filename or "the upload"),
                        p.ids,
                        p.rows,
                    )
                    for p in exc.problems
                ]
            ) from None


def _check_future_ids(req: dict, served: ServedModel) -> None:
    """Future rows for a series with no history: refused, naming the series."""
    future, data = req["future"], req["data"]
    cols = served.info()["columns"]
    ids = cols.get("id_col")
    ids = [ids] if isinstance(ids, str) else list(ids or [])
    if future is None or not set(ids) <= set(future) or not set(ids) <= set(data):
        return
    have = set(map(tuple, data[ids].drop_duplicates().astype(str).to_numpy()))
    want = future[ids].drop_duplicates().astype(str)
    missing = [
        r[0] if len(r) == 1 else tuple(r)
        for r in map(tuple, want.to_numpy())
        if r not in have
    ]
    if missing:
        raise DataValidationError(
            [
                Problem(
                    "unknown_series",
                    ",".join(ids),
                    "these series have future rows but no history in `data`: a "
                    "series is forecast from its own history, so send its past rows "
                    "too",
                    ids=missing,
                )
            ]
        )


def _respond(request, frame: pd.DataFrame, key: str, Response, JSONResponse):
    accept = request.headers.get("accept", "")
    if "text/csv" in accept:
        return Response(frame.to_csv(index=False), media_type="text/csv")
    if _PARQUET in accept:
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        return Response(buf.getvalue(), media_type=_PARQUET)
    return JSONResponse({key: frame_records(frame), "rows": len(frame)})


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts: floats exact (``repr`` round-trips), times in ISO
    8601, missing values null."""
    cols = {}
    for c in frame.columns:
        s = frame[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            v = np.array(
                [None if pd.isna(t) else t.isoformat() for t in s], dtype=object
            )
        elif pd.api.types.is_float_dtype(s):
            a = s.to_numpy(dtype=float)
            v = np.where(np.isfinite(a), a, None).astype(object)
            v = [None if x is None else float(x) for x in v]
        else:
            v = [_plain(x) for x in s.tolist()]
            v = [None if (isinstance(x, float) and x != x) else x for x in v]
        cols[c] = v
    names = list(cols)
    return [dict(zip(names, row)) for row in zip(*(cols[c] for c in names))]


# ---------------------------------------------------------------------- the server
def app_from_env():
    """The app of a uvicorn worker process (``--workers`` > 1): its configuration is
    in the environment the ``serve`` command set."""
    cfg = json.loads(os.environ[_ENV])
    return create_app(
        cfg["model"],
        trusted=cfg["trusted"],
        copies=cfg["copies"],
        max_request_bytes=cfg["max_request_bytes"],
    )


def serve(
    model,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    trusted=None,
    copies: int | None = None,
    max_request_bytes: int = MAX_REQUEST_BYTES,
    log_level: str = "info",
) -> None:
    """Serve a model file over HTTP with uvicorn until interrupted.

    The file is loaded (and refused, with the library's typed errors) before the port
    is bound.  ``workers`` > 1 starts that many processes, each loading the file once.
    """
    _fastapi()
    import uvicorn

    app = create_app(
        model, trusted=trusted, copies=copies, max_request_bytes=max_request_bytes
    )
    if workers <= 1:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    os.environ[_ENV] = json.dumps(
        {
            "model": str(Path(model).resolve()),
            "trusted": trusted if trusted is True else list(trusted or []),
            "copies": copies,
            "max_request_bytes": max_request_bytes,
        }
    )
    uvicorn.run(
        "segmenter.serving.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
    )
