"""Saving and loading fitted models, and atomic file writes.

A model file is ``MAGIC`` + one line of JSON (the header: file format, the segmenter
version that wrote it, the class, the versions of Python, numpy, pandas and
scikit-learn, and the SHA-256 and length of the payload) + the payload, a pickle of the
object.  :func:`load` reads the header first and refuses, with
:class:`~segmenter.IncompatibleVersionError`, a file that is not a model, was written by
another file format or another segmenter minor version, or cannot be unpickled here;
a payload whose checksum does not match the header (a flipped bit, a truncated copy)
is refused with :class:`~segmenter.CorruptModelError` before anything is unpickled.  It
never surfaces a bare pickle traceback.  (The checksum guards against damage, not
against an attacker, who could rewrite it: that is the trusted-types rule's job.)  Loading builds only
trusted types (:mod:`segmenter._safe_pickle` states the threat model); a file that
names anything else is refused with :class:`~segmenter.UntrustedModelError`.

Every output of the library is written with :func:`atomic_write`: to a temporary file
in the target folder, flushed and fsynced, then renamed over the target, so a crash
mid-write leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ._version import __version__
from .errors import (
    CorruptModelError,
    DataValidationError,
    IncompatibleVersionError,
    Problem,
    UntrustedModelError,
)

__all__ = ["save", "load", "atomic_write", "FORMAT_VERSION"]

MAGIC = b"SEGMENTER-MODEL\n"
#: Version of the file layout; bumped when the header or payload changes incompatibly
#: (2: the header carries the payload's SHA-256 and length; 3: forecasting candidates
#: hold their parameters as attributes and the forecaster its ``_data_spec``, so a
#: format-2 file cannot be served by this code).
FORMAT_VERSION = 3


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", **open_kw):
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path).resolve()  # a symlink: write its target
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would, not mkstemp's 0600
    try:
        with os.fdopen(fd, mode, **open_kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)  # the rename itself survives a power cut
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _minor(version: str) -> tuple:
    return tuple(version.split(".")[:2])


def _header(obj, payload: bytes = b"") -> dict:
    import numpy
    import pandas
    import sklearn

    return {
        "format": FORMAT_VERSION,
        "segmenter": __version__,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "bytes": len(payload),
        "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "pandas": pandas.__version__,
        "scikit-learn": sklearn.__version__,
    }


def save(obj, path: str | os.PathLike) -> Path:
    """Write ``obj`` (a fitted Segmenter, SegmentedForecaster, ...) to ``path`` atomically."""
    path = Path(path)
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    header = json.dumps(_header(obj, payload)).encode()
    with atomic_write(path) as fh:
        fh.write(MAGIC)
        fh.write(header + b"\n")
        fh.write(payload)
    return path


def read_header(path: str | os.PathLike) -> dict:
    """The JSON header of a model file (raises IncompatibleVersionError if not one)."""
    path = Path(path)
    raw = _read_bytes(path, len(MAGIC) + 64 * 1024)
    return _parse_header(path, raw)[0]


def _read_bytes(path: Path, limit: int = -1) -> bytes:
    if path.is_dir():
        raise DataValidationError(
            [
                Problem(
                    "not_a_file", None, f"{str(path)!r} is a folder, not a model file"
                )
            ]
        )
    if not path.is_file():
        raise DataValidationError(
            [Problem("no_file", None, f"{str(path)!r} does not exist")]
        )
    try:
        with open(path, "rb") as fh:
            return fh.read(limit)
    except OSError as exc:
        raise DataValidationError(
            [
                Problem(
                    "unreadable_file",
                    None,
                    f"cannot read {str(path)!r}: {exc.strerror or exc}",
                )
            ]
        ) from None


def _parse_header(path: Path, raw: bytes) -> tuple[dict, bytes]:
    """The header of the model file bytes ``raw`` and its payload."""
    magic = raw[: len(MAGIC)]
    end = raw.find(b"\n", len(MAGIC))
    line = raw[len(MAGIC) :] if end < 0 else raw[len(MAGIC) : end]
    if magic != MAGIC:
        raise IncompatibleVersionError(
            f"{str(path)!r} is not a segmenter model file (it does not start with the "
            "segmenter header); save models with Segmenter.save(path)"
        )
    try:
        head = json.loads(line)
    except ValueError:
        head = None
    if not isinstance(head, dict):
        raise IncompatibleVersionError(
            f"{str(path)!r} has a damaged segmenter header; save the model again"
        ) from None
    return head, raw[end + 1 :] if end >= 0 else b""


def load(path: str | os.PathLike, expected: type | None = None, trusted=None):
    """Read a model written by :func:`save` (``segmenter.load``).

    Loading builds only trusted types (:mod:`segmenter._safe_pickle`: segmenter's own
    classes, numpy, pandas, scikit-learn, LightGBM, mlforecast, statsforecast...); a
    file that names anything else is refused before anything is built, with the list
    of what it names.

    Parameters
    ----------
    trusted : list or True, optional
        More types to trust, as objects or ``"module.Qualname"`` strings (e.g. your own
        clusterer behind ``Blueprint.from_estimator``), or True to trust the file
        entirely (plain pickle: only for files you made yourself).

    Raises
    ------
    UntrustedModelError
        The file names types or functions that are not trusted (listed).
    IncompatibleVersionError
        Not a model file, another file format, another segmenter minor version, a
        truncated file, or an object that cannot be rebuilt with the installed
        libraries.  The message names both versions and what to do.
    """
    path = Path(path)
    return loads(_read_bytes(path), path, expected, trusted)


def loads(
    raw: bytes,
    path: str | os.PathLike = "<bytes>",
    expected: type | None = None,
    trusted=None,
):
    """:func:`load` from the bytes of a model file (``path`` only names it in errors)."""
    from ._safe_pickle import Policy, Refused, safe_loads, untrusted_names

    path = Path(path)
    head, payload = _parse_header(path, raw)
    written = head.get("segmenter", "?")
    if head.get("format") != FORMAT_VERSION or _minor(str(written)) != _minor(
        __version__
    ):
        raise IncompatibleVersionError(
            f"{str(path)!r} was written by segmenter {written} (file format "
            f"{head.get('format')}); this is segmenter {__version__} (file format "
            f"{FORMAT_VERSION}). Refit the model with this version, or load it with "
            f"`pip install segmenter-ts=={written}`."
        )
    digest = hashlib.sha256(payload).hexdigest()
    if head.get("bytes") != len(payload) or head.get("sha256") != digest:
        raise CorruptModelError(
            f"{str(path)!r} is damaged: its payload ({len(payload)} bytes, SHA-256 "
            f"{digest[:12]}...) does not match its header ({head.get('bytes')} bytes, "
            f"SHA-256 {str(head.get('sha256'))[:12]}...); it was truncated or changed "
            "after it was saved. Copy it again or save the model again"
        )
    if trusted is not True:
        try:
            bad = untrusted_names(payload, Policy(trusted or ()))
        except pickle.UnpicklingError as exc:
            raise _cannot_rebuild(path, head, written, exc) from None
        if bad:
            raise UntrustedModelError(
                f"{str(path)!r} would build types or call functions that are not trusted: "
                f"{bad}; loading it could run their code. If you made this file and trust "
                f"it, pass trusted={bad!r} (or trusted=True; on the command line --trust "
                "TYPE...)",
                bad,
            )
    try:
        obj = pickle.loads(payload) if trusted is True else safe_loads(payload, trusted)
    except Refused as exc:
        raise UntrustedModelError(
            f"{str(path)!r} asks to call {exc}, which is not trusted; loading it could run "
            "code. If you made this file and trust it, pass trusted=True",
            [str(exc)],
        ) from None
    except Exception as exc:
        raise _cannot_rebuild(path, head, written, exc) from None
    if expected is not None and not isinstance(obj, expected):
        raise IncompatibleVersionError(
            f"{str(path)!r} holds a {head.get('class')}, not a {expected.__name__}"
        )
    return obj


def _cannot_rebuild(path, head, written, exc) -> IncompatibleVersionError:
    return IncompatibleVersionError(
        f"cannot rebuild the model in {str(path)!r} ({type(exc).__name__}: {exc}); it "
        f"was written with segmenter {written}, numpy {head.get('numpy')}, "
        f"scikit-learn {head.get('scikit-learn')}, pandas {head.get('pandas')}. "
        "The file may be truncated or the installed libraries too different: refit "
        "the model or install the versions listed."
    )
