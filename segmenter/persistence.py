"""Saving and loading fitted models, and atomic file writes.

A model file is ``MAGIC`` + one line of JSON (the header: file format, the segmenter
version that wrote it, the class, the versions of Python, numpy, pandas and
scikit-learn) + a pickle of the object.  :func:`load` reads the header first and
refuses, with :class:`~segmenter.IncompatibleVersionError`, a file that is not a model,
was written by another file format or another segmenter minor version, or cannot be
unpickled here; it never surfaces a bare pickle traceback.  Loading builds only
trusted types (:mod:`segmenter._safe_pickle` states the threat model); a file that
names anything else is refused with :class:`~segmenter.UntrustedModelError`.

Every output of the library is written with :func:`atomic_write`: to a temporary file
in the target folder, flushed and fsynced, then renamed over the target, so a crash
mid-write leaves the previous file (or none), never a truncated one.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ._version import __version__
from .errors import (DataValidationError, IncompatibleVersionError, Problem,
                     UntrustedModelError)

__all__ = ["save", "load", "atomic_write", "FORMAT_VERSION"]

MAGIC = b"SEGMENTER-MODEL\n"
#: Version of the file layout; bumped when the header or payload changes incompatibly.
FORMAT_VERSION = 1


@contextmanager
def atomic_write(path: "str | os.PathLike", mode: str = "wb", **open_kw):
    """Open a temporary file next to ``path``; on success rename it over ``path``.

    On any exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path).resolve()           # a symlink: write its target
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)         # as a plain open() would, not mkstemp's 0600
    try:
        with os.fdopen(fd, mode, **open_kw) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)            # the rename itself survives a power cut
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:                       # e.g. platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _minor(version: str) -> tuple:
    return tuple(version.split(".")[:2])


def _header(obj) -> dict:
    import numpy
    import pandas
    import sklearn
    return {"format": FORMAT_VERSION, "segmenter": __version__,
            "class": f"{type(obj).__module__}.{type(obj).__qualname__}",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(), "numpy": numpy.__version__,
            "pandas": pandas.__version__, "scikit-learn": sklearn.__version__}


def save(obj, path: "str | os.PathLike") -> Path:
    """Write ``obj`` (a fitted Segmenter, SegmentedForecaster, ...) to ``path`` atomically."""
    path = Path(path)
    header = json.dumps(_header(obj)).encode()
    with atomic_write(path) as fh:
        fh.write(MAGIC)
        fh.write(header + b"\n")
        pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def read_header(path: "str | os.PathLike") -> dict:
    """The JSON header of a model file (raises IncompatibleVersionError if not one)."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError([Problem("no_file", None, f"{str(path)!r} does not exist")])
    with open(path, "rb") as fh:
        magic = fh.read(len(MAGIC))
        line = fh.readline()
    if magic != MAGIC:
        raise IncompatibleVersionError(
            f"{str(path)!r} is not a segmenter model file (it does not start with the "
            "segmenter header); save models with Segmenter.save(path)")
    try:
        return json.loads(line)
    except ValueError:
        raise IncompatibleVersionError(f"{str(path)!r} has a damaged segmenter header; "
                                       "save the model again") from None


def load(path: "str | os.PathLike", expected: type | None = None, trusted=None):
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
    from ._safe_pickle import Policy, Refused, safe_loads, untrusted_names
    path = Path(path)
    head = read_header(path)
    written = head.get("segmenter", "?")
    if head.get("format") != FORMAT_VERSION or _minor(str(written)) != _minor(__version__):
        raise IncompatibleVersionError(
            f"{str(path)!r} was written by segmenter {written} (file format "
            f"{head.get('format')}); this is segmenter {__version__} (file format "
            f"{FORMAT_VERSION}). Refit the model with this version, or load it with "
            f"`pip install segmenter-ts=={written}`.")
    with open(path, "rb") as fh:
        fh.read(len(MAGIC))
        fh.readline()
        payload = fh.read()
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
                "TYPE...)", bad)
    try:
        obj = pickle.loads(payload) if trusted is True else safe_loads(payload, trusted)
    except Refused as exc:
        raise UntrustedModelError(
            f"{str(path)!r} asks to call {exc}, which is not trusted; loading it could run "
            "code. If you made this file and trust it, pass trusted=True", [str(exc)]) from None
    except Exception as exc:
        raise _cannot_rebuild(path, head, written, exc) from None
    if expected is not None and not isinstance(obj, expected):
        raise IncompatibleVersionError(
            f"{str(path)!r} holds a {head.get('class')}, not a {expected.__name__}")
    return obj


def _cannot_rebuild(path, head, written, exc) -> IncompatibleVersionError:
    return IncompatibleVersionError(
        f"cannot rebuild the model in {str(path)!r} ({type(exc).__name__}: {exc}); it "
        f"was written with segmenter {written}, numpy {head.get('numpy')}, "
        f"scikit-learn {head.get('scikit-learn')}, pandas {head.get('pandas')}. "
        "The file may be truncated or the installed libraries too different: refit "
        "the model or install the versions listed.")
