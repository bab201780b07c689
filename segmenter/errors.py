"""The exception hierarchy of segmenter.

Every error the library raises on purpose derives from :class:`SegmenterError`, so
``except segmenter.SegmenterError`` catches them all.  Each subclass also derives from
the built-in exception a Python user would expect (``ValueError``, ``ImportError``...),
so code written against the standard types keeps working.

Messages name the parameter or column, the offending ids or rows, how many there are,
and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "SegmenterError",
    "DataValidationError",
    "ConstraintViolationError",
    "NotFittedError",
    "InputTypeError",
    "MissingDependencyError",
    "IncompatibleVersionError",
    "UntrustedModelError",
    "ResourceLimitError",
    "CorruptModelError",
    "Problem",
    "format_examples",
]

_MAX_SHOWN = 10


def format_examples(values: Sequence[Any], limit: int = _MAX_SHOWN) -> str:
    """Render up to ``limit`` values for a message, with the count of the rest.

    >>> format_examples(["a", "b", "c"], limit=2)
    "['a', 'b'] and 1 more"
    """
    values = list(values)
    shown = ", ".join(repr(_plain(v)) for v in values[:limit])
    more = len(values) - limit
    return f"[{shown}]" + (f" and {more} more" if more > 0 else "")


def _plain(v: Any) -> Any:
    """Turn numpy scalars into Python ones so reprs read naturally."""
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        try:
            return v.item()
        except (ValueError, AttributeError):
            return v
    if isinstance(v, tuple):
        return tuple(_plain(x) for x in v)
    return v


class SegmenterError(Exception):
    """Root of every error raised by segmenter."""


@dataclass
class Problem:
    """One problem found while validating input.

    Attributes
    ----------
    kind : str
        A short stable code, e.g. ``"duplicate_rows"``; tests and callers can match on it.
    column : str or None
        The column concerned, when there is one.
    message : str
        What is wrong and what to do, in words.
    ids : list
        The series ids concerned (as given by the user), possibly empty.
    rows : list of int
        Positional row numbers (0-based) of the input concerned, possibly empty.
    """

    kind: str
    column: str | None
    message: str
    ids: list = field(default_factory=list)
    rows: list = field(default_factory=list)

    def __str__(self) -> str:
        parts = [self.message]
        if self.ids:
            parts.append(f"{len(self.ids)} series: {format_examples(self.ids)}")
        if self.rows:
            parts.append(f"{len(self.rows)} rows: {format_examples(self.rows)}")
        where = f"column {self.column!r}: " if self.column else ""
        return where + "; ".join(parts)


class _ProblemsError(SegmenterError):
    """An error that carries every problem found, not only the first."""

    what = "problems"

    def __init__(self, problems: Sequence[Problem], header: str | None = None):
        self.problems = list(problems)
        self.header = header
        n = len(self.problems)
        header = header or f"{n} {self.what} found"
        lines = [f"{header}:"] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    def __reduce__(self):
        # rebuilt from the problems (not the message), so the error survives the trip
        # back from a worker process intact, notes included
        return (type(self), (self.problems, self.header), self.__dict__)

    def kinds(self) -> list[str]:
        """The ``kind`` code of each problem, in order."""
        return [p.kind for p in self.problems]


class DataValidationError(_ProblemsError, ValueError):
    """The input table breaks the data contract (every problem is listed)."""

    what = "problem(s) in the input data"


class ConstraintViolationError(_ProblemsError, ValueError):
    """The data cannot be clustered under the active clustering constraints."""

    what = "clustering constraint(s) violated"


class InputTypeError(SegmenterError, TypeError):
    """An input of a type the function cannot take (sparse matrices, objects that are
    not numbers); raised where scikit-learn raises ``TypeError``."""


class NotFittedError(SegmenterError, _SklearnNotFittedError):
    """A method that needs a fitted estimator was called before ``fit``.

    Also scikit-learn's ``NotFittedError`` (so a ``ValueError`` and an
    ``AttributeError``): every estimator of the library raises this one class."""


class MissingDependencyError(SegmenterError, ImportError):
    """An optional library is needed but not installed; the message names the extra."""


class NoCandidateError(SegmenterError, RuntimeError):
    """No leaderboard candidate produced a usable score (see the leaderboard's reasons)."""


class UntrustedModelError(SegmenterError, ValueError):
    """A model file names types or functions that are not trusted; ``names`` lists them.
    Pass them to ``segmenter.load(path, trusted=[...])`` if you trust the file."""

    def __init__(self, message: str, names=()):
        super().__init__(message)
        self.names = list(names)

    def __reduce__(self):
        return (type(self), (str(self), self.names))


class ResourceLimitError(SegmenterError, MemoryError):
    """A run would need more memory than is available; the message names the knobs
    that shrink it (raised before the run starts)."""


class IncompatibleVersionError(SegmenterError, RuntimeError):
    """A saved file was written by an incompatible version of segmenter."""


class CorruptModelError(IncompatibleVersionError):
    """A model file whose payload does not match the checksum in its header (damaged or
    truncated); refused before anything in it is unpickled."""


def missing_dependency(module: str, extra: str, purpose: str) -> MissingDependencyError:
    """Build the error raised when an optional module is absent."""
    return MissingDependencyError(
        f"{purpose} needs the optional package {module!r}, which is not installed. "
        f"Install it with: pip install 'segmenter-ts[{extra}]'"
    )
