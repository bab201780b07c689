"""Short specs shared by clustering and forecasting blueprints: ``name`` or ``name(k=v, ...)``."""

from __future__ import annotations

import ast
import re

from .errors import DataValidationError, Problem

_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(
    spec: str, known, what: str, param: str, example: str
) -> tuple[str, dict]:
    """``(name, kwargs)`` of a spec whose name is in ``known``; literal values only.

    >>> parse_spec("ets(damped=False)", ["ets"], "forecaster", "candidates", "ets()")
    ('ets', {'damped': False})
    """
    m = _SPEC.match(str(spec))
    if not m or m.group(1) not in known:
        raise DataValidationError(
            [
                Problem(
                    f"unknown_{what}",
                    param,
                    f"{spec!r} is not a {what} spec; use one of {sorted(known)}, optionally with "
                    f"parameters, e.g. {example!r}",
                )
            ]
        )
    kw = {}
    if m.group(2):
        try:
            call = ast.parse(f"f({m.group(2)})", mode="eval").body
            if call.args:
                raise ValueError("positional arguments")
            kw = {a.arg: ast.literal_eval(a.value) for a in call.keywords}
        except (SyntaxError, ValueError) as exc:
            raise DataValidationError(
                [
                    Problem(
                        f"bad_{what}_spec",
                        param,
                        f"cannot read the parameters of {spec!r} ({exc}); "
                        f"write them as name=value, e.g. {example!r}",
                    )
                ]
            ) from None
    return m.group(1), kw


def format_spec(name: str, params: dict) -> str:
    """Inverse of :func:`parse_spec`: ``name`` or ``name(a=1, b='x')`` (sorted keys)."""
    if not params:
        return name
    return f"{name}(" + ", ".join(f"{k}={v!r}" for k, v in sorted(params.items())) + ")"


def resolve_specs(
    value, modes: dict, make, kind: type, what: str, param: str, example: str
) -> tuple[list, set]:
    """The objects a parameter such as ``blueprints=`` or ``candidates=`` names.

    ``value`` is a mode (a key of ``modes``, whose value lists specs), one spec or
    object, or a list of them; ``make`` builds each.  Returns the objects and the specs
    the user named explicitly (empty for a mode).  An empty list or a spec listed twice
    is a typed error naming ``param``.

    >>> resolve_specs("b", {"all": ["a", "b"]}, str.upper, str, "thing", "things", "a")
    (['B'], {'B'})
    """
    named: set = set()
    if isinstance(value, str) and value in modes:
        objs = [make(s) for s in modes[value]]
    elif isinstance(value, (str, kind)):
        objs = [make(value)]
        named = {_spec_of(objs[0])}
    else:
        objs = [make(s) for s in value]
        named = {_spec_of(o) for o in objs}
    if not objs:
        raise DataValidationError(
            [
                Problem(
                    f"no_{param}",
                    param,
                    f"{param} is empty; use "
                    f"one of {sorted(modes)} or {what} specs such as "
                    f"{example!r}",
                )
            ]
        )
    specs = [_spec_of(o) for o in objs]
    dup = sorted({s for s in specs if specs.count(s) > 1})
    if dup:
        raise DataValidationError(
            [Problem(f"duplicate_{what}", param, f"{param} {dup} are listed twice")]
        )
    return objs, named


def _spec_of(obj) -> str:
    return getattr(obj, "spec", obj)
