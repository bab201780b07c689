"""Running peer libraries that cannot share our environment.

aeon 1.6 pins numba < 0.64 (we need 0.68), so aeon, dtaidistance and pycatch22 live in
their own venv, ``benchmarks/.venv-aeon`` (gitignored, created with pip on first use),
and run in a subprocess on arrays we hand over as ``.npy`` files.  Scripts print one JSON line last.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
AEON_VENV = HERE / ".venv-aeon"


#: What the peer venv holds: (import name, pip name).
PEER_PACKAGES = [
    ("aeon", "aeon"),
    ("dtaidistance", "dtaidistance"),
    ("pycatch22", "pycatch22"),
]


_CHECKED: list = []


def aeon_python() -> Path:
    """The peer venv's interpreter, created (or completed) with :data:`PEER_PACKAGES`."""
    py = AEON_VENV / "bin" / "python"
    if _CHECKED:
        return py
    if not py.exists():
        print("creating", AEON_VENV, "...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(AEON_VENV)], check=True)
    missing = [
        pip
        for mod, pip in PEER_PACKAGES
        if subprocess.run(
            [str(py), "-c", f"import {mod}"], capture_output=True
        ).returncode
        != 0
    ]
    if missing:
        print("pip install", *missing, "into", AEON_VENV, "...", file=sys.stderr)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *missing], check=True)
    _CHECKED.append(True)
    return py


def run_peer(code: str, arrays: dict[str, np.ndarray], *args) -> object | None:
    """Run ``code`` in the peer venv with ``sys.argv[1]`` = a folder holding
    ``<name>.npy`` for each array and the remaining argv = ``args``; returns the JSON of
    its last output line, or None (with its stderr printed) when it fails."""
    py = aeon_python()
    with tempfile.TemporaryDirectory() as tmp:
        for name, a in arrays.items():
            np.save(Path(tmp) / f"{name}.npy", a)
        res = subprocess.run(
            [str(py), "-c", code, tmp, *map(str, args)], capture_output=True, text=True
        )
    if res.returncode != 0:
        print("peer run failed:", res.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])
