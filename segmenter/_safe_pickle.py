"""An allowlisting unpickler: loading a model file builds only trusted types.

Threat model.  A pickle is a small program: it names globals (classes, functions) and
calls them.  A crafted file that names ``os.system`` (or any function with a side
effect) runs code on the machine that loads it.  This unpickler refuses, *before
anything is built*, a file that names a global outside the allowlist, and lists every
such name in the error:

* classes of segmenter itself (not its engine, persistence or command-line modules), of
  numpy, pandas (``pandas.core`` and ``pandas._libs``, not ``pandas.io``),
  scikit-learn (not ``sklearn.datasets``), scipy.sparse, LightGBM, mlforecast,
  statsforecast, coreforecast, utilsforecast and tslearn; ``datetime``, ``zoneinfo``,
  ``collections``, ``decimal``, ``functools.partial`` and the plain builtin types;
* numpy ufuncs (pure arithmetic, e.g. the ``log``/``exp`` of a target transform);
* an explicit list of the reconstructor functions numpy and pandas pickle with, and
  the blueprint factories of segmenter (:data:`segmenter.clustering.blueprints.TRUSTED_FACTORIES`);
* ``getattr`` only as ``getattr(zoneinfo.ZoneInfo, "_unpickle")`` (checked when called).

What loading can still do: run the constructors and ``__setstate__`` of those trusted
types with the file's values (e.g. parse a LightGBM model string), and use memory and
time in proportion to the file.  It cannot call a function outside the list, import a
module outside the trusted packages, or touch the file system or the network through
the file's content.  Anything else (a user's own clusterer or forecaster) loads only
with explicit consent: ``segmenter.load(path, trusted=["mypkg.MyClusterer"])`` or
``trusted=True`` (plain pickle: only for files you made yourself).

scikit-learn's answer to the same problem is ``skops.io``; it cannot represent pandas
frames (their block manager has no default ``__reduce__``) nor ``__slots__`` classes,
which every fitted segmenter and forecaster holds, hence this unpickler.
"""

from __future__ import annotations

import importlib
import io
import pickle
import pickletools

__all__ = ["Policy", "untrusted_names", "safe_loads", "Refused"]


class Refused(pickle.UnpicklingError):
    """The stream asked for something the policy does not trust."""


_TRUSTED_PACKAGES = (
    "segmenter",
    "numpy",
    "pandas",
    "sklearn",
    "scipy",
    "lightgbm",
    "mlforecast",
    "statsforecast",
    "coreforecast",
    "utilsforecast",
    "datetime",
    "zoneinfo",
    "collections",
    "decimal",
    "functools",
    "pytz",
    "copyreg",
    "builtins",
    "tslearn",
)

_DENIED_PREFIXES = (
    "segmenter.engine",
    "segmenter.persistence",
    "segmenter.cli",
    "segmenter._moved",
    "segmenter._safe_pickle",
    "segmenter.datasets",
    "pandas.io",
    "pandas.plotting",
    "pandas.util",
    "pandas.tests",
    "pandas.core.config_init",
    "sklearn.datasets",
    "sklearn.utils._testing",
    "numpy.lib.npyio",
    "numpy.lib._npyio_impl",
    "numpy.ctypeslib",
    "numpy.f2py",
    "numpy.distutils",
    "numpy.testing",
    "numpy.lib.format",
    "scipy.io",
    "scipy.datasets",
    "mlforecast.distributed",
    "statsforecast.distributed",
    "lightgbm.dask",
    "tslearn.datasets",
)

_SAFE_BUILTINS = {
    "dict",
    "list",
    "tuple",
    "set",
    "frozenset",
    "bytearray",
    "bytes",
    "str",
    "int",
    "float",
    "complex",
    "bool",
    "slice",
    "range",
    "object",
}

_FUNCTIONS = {
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy.random._pickle", "__bit_generator_ctor"),
    ("numpy.random._pickle", "__generator_ctor"),
    ("numpy.random._pickle", "__randomstate_ctor"),
    ("numpy.random.bit_generator", "__pyx_unpickle_SeedSequence"),
    ("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas._libs.tslibs.nattype", "__nat_unpickle"),
    ("pandas._libs.tslibs.timedeltas", "_timedelta_unpickle"),
    ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.datetimes", "_new_DatetimeIndex"),
    ("pandas.core.indexes.period", "_new_PeriodIndex"),
    ("pandas.core.internals.blocks", "new_block"),
    ("pytz", "_p"),
    ("copyreg", "_reconstructor"),
    ("builtins", "getattr"),
}

_DENIED_TYPES = {
    ("numpy", "memmap"),
    ("numpy._core.memmap", "memmap"),
    ("numpy.core.memmap", "memmap"),
    ("builtins", "type"),
}


def _name(obj) -> str:
    if isinstance(obj, str):
        return obj
    return f"{obj.__module__}.{getattr(obj, '__qualname__', obj.__name__)}"


class Policy:
    """Which globals a file may name: the allowlist above, plus ``trusted`` (names
    ``"module.Qualname"`` or the objects themselves)."""

    def __init__(self, trusted=()):
        self.extra = {_name(t) for t in (trusted or ())}

    @staticmethod
    def _resolve(module: str, name: str):
        obj = importlib.import_module(module)
        for part in name.split("."):
            obj = getattr(obj, part)
        return obj

    def check(self, module: str, name: str):
        """The global ``module.name`` when it is allowed, else None (a name outside the
        trusted packages is refused before its module is imported)."""
        full = f"{module}.{name}"
        if full in self.extra:
            return self._resolve(module, name)
        top = module.split(".")[0]
        if (
            top not in _TRUSTED_PACKAGES
            or module.startswith(_DENIED_PREFIXES)
            or (module, name) in _DENIED_TYPES
        ):
            return None
        if top == "functools" and name != "partial":
            return None
        if (
            top == "builtins"
            and name not in _SAFE_BUILTINS
            and (module, name) not in _FUNCTIONS
        ):
            return None
        try:
            obj = self._resolve(module, name)
        except (ImportError, AttributeError):
            return None
        if (module, name) in _FUNCTIONS or _is_factory(module, name):
            return obj
        import numpy

        if isinstance(obj, numpy.ufunc):
            return obj
        return obj if isinstance(obj, type) else None


#: (module, name) of the functions a pickle may call to rebuild an object (the
#: blueprint factories); registered by the module that defines them, which the
#: package imports before any model file can be loaded.
_FACTORIES: set[tuple[str, str]] = set()


def trust_factory(fn):
    """Register ``fn`` as a function a model file may call (returns ``fn``)."""
    _FACTORIES.add((fn.__module__, fn.__qualname__))
    return fn


def _is_factory(module: str, name: str) -> bool:
    return (module, name) in _FACTORIES


def untrusted_names(payload: bytes, policy: Policy) -> list[str]:
    """Every global the pickle ``payload`` names that ``policy`` refuses (read from its
    opcodes; nothing is built)."""
    found, recent, memo = [], [], {}
    try:
        for op, arg, _ in pickletools.genops(payload):
            if op.name in (
                "SHORT_BINUNICODE",
                "BINUNICODE",
                "BINUNICODE8",
                "UNICODE",
                "SHORT_BINSTRING",
                "BINSTRING",
                "STRING",
            ):
                recent.append(arg)
            elif op.name == "MEMOIZE":
                memo[len(memo)] = recent[-1] if recent else None
            elif op.name in ("PUT", "BINPUT", "LONG_BINPUT"):
                memo[arg] = recent[-1] if recent else None
            elif op.name in ("GET", "BINGET", "LONG_BINGET"):
                recent.append(memo.get(arg))
            elif op.name == "GLOBAL":
                module, name = arg.split(" ", 1)
                found.append((module, name))
            elif op.name == "STACK_GLOBAL":
                found.append(
                    (recent[-2], recent[-1]) if len(recent) >= 2 else ("?", "?")
                )
            elif op.name in ("INST", "OBJ", "EXT1", "EXT2", "EXT4"):
                found.append(("?", op.name))
    except Exception as exc:  # a damaged stream: the unpickler will say more
        raise pickle.UnpicklingError(f"cannot read the pickle stream: {exc}") from None
    bad = []
    for module, name in dict.fromkeys(found):
        if (
            not isinstance(module, str)
            or not isinstance(name, str)
            or policy.check(module, name) is None
        ):
            bad.append(f"{module}.{name}")
    return bad


_GETATTR_OK = {("zoneinfo.ZoneInfo", "_unpickle")}


class _Unpickler(pickle._Unpickler):
    """The pure-Python unpickler with an allowlist on globals and on ``getattr``."""

    def __init__(self, file, policy: Policy):
        super().__init__(file)
        self.policy = policy

    def find_class(self, module, name):
        obj = self.policy.check(module, name)
        if obj is None:
            raise Refused(f"{module}.{name}")
        return obj

    def load_reduce(self):
        args = self.stack[-1]
        func = self.stack[-2]
        if func is getattr:
            target = (
                _name(args[0]) if isinstance(args[0], type) else type(args[0]).__name__,
                args[1] if len(args) > 1 else None,
            )
            if target not in _GETATTR_OK:
                raise Refused(f"getattr({target[0]}, {target[1]!r})")
        super().load_reduce()

    dispatch = dict(pickle._Unpickler.dispatch)
    dispatch[pickle.REDUCE[0]] = load_reduce


def safe_loads(payload: bytes, trusted=()):
    """Unpickle ``payload`` building only allowed types (see the module docstring)."""
    return _Unpickler(io.BytesIO(payload), Policy(trusted)).load()
