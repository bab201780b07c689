"""Short specs shared by clustering and forecasting blueprints: ``name`` or ``name(k=v, ...)``."""

from __future__ import annotations

import ast
import re

from .errors import DataValidationError, Problem

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(spec: str, known, what: str, param: str, example: str) -> tuple[str, dict]:
    """``(name, kwargs)`` of a spec whose name is in ``known``; literal values only.

    >>> parse_spec("ets(damped=False)", ["ets"], "forecaster", "candidates", "ets()")
    ('ets', {'damped': False})
    """
    m = _SPEC.match(str(spec))
    if not m or m.group(1) not in known:
        raise DataValidationError([Problem(
            f"unknown_{what}", param,
            f"{spec!r} is not a {what} spec; use one of {sorted(known)}, optionally with "
            f"parameters, e.g. {example!r}")])
    kw = {}
    if m.group(2):
        try:
            call = ast.parse(f"f({m.group(2)})", mode="eval").body
            if call.args:
                raise ValueError("positional arguments")
            kw = {a.arg: ast.literal_eval(a.value) for a in call.keywords}
        except (SyntaxError, ValueError) as exc:
            raise DataValidationError([Problem(
                f"bad_{what}_spec", param, f"cannot read the parameters of {spec!r} ({exc}); "
                f"write them as name=value, e.g. {example!r}")]) from None
    return m.group(1), kw


def format_spec(name: str, params: dict) -> str:
    """Inverse of :func:`parse_spec`: ``name`` or ``name(a=1, b='x')`` (sorted keys)."""
    if not params:
        return name
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())) + ")"
