"""Resumable long runs: every finished task written to a folder, atomically.

``Segmenter.fit(..., checkpoint="dir/")`` and ``SegmentedForecaster.fit(...,
checkpoint="dir/")`` write each finished leaderboard row (clustering) or task
(forecasting: a chunk of series' backtests, a segment's pooled backtests, a segment's
champion) as it completes, one model file each (:func:`segmenter.persistence.save`:
written to a temporary file and renamed, so a killed run leaves whole files or none).
Run the same fit again on the same data and arguments and it loads what is there and
computes only the rest; the result equals an uninterrupted run because every task is a
pure function of its inputs.

The folder records a fingerprint of the data, the arguments and the segmenter
version; a folder made by another run is refused with a clear error, never silently
reused.  Loading a task file goes through the same allowlisting loader as any model
file, trusting besides the run's own classes (the user's blueprints and candidates,
which the run was given).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from ..errors import DataValidationError, Problem

__all__ = ["Checkpoint", "CheckpointedEngine", "fingerprint_of"]

_META = "checkpoint.json"


def fingerprint_of(*parts) -> str:
    """A SHA-256 of the parts' ``repr`` (data fingerprints, parameters, version)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


class Checkpoint:
    """A folder of finished task results for one run (see the module docstring).

    ``stats`` counts the results ``loaded`` from the folder and ``computed`` (then
    written) in this process.
    """

    def __init__(self, folder, fingerprint: str, what: str, trusted=()):
        from .._version import __version__

        self.folder = Path(folder)
        self.trusted = list(trusted)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fingerprint = fingerprint
        self.stats: Counter = Counter()
        meta = self.folder / _META
        want = {"fingerprint": fingerprint, "what": what, "segmenter": __version__}
        if meta.exists():
            try:
                have = json.loads(meta.read_text())
            except ValueError:
                have = {}
            if have != want:
                raise DataValidationError(
                    [
                        Problem(
                            "checkpoint_mismatch",
                            "checkpoint",
                            f"{str(self.folder)!r} holds the checkpoint of another run ({have.get('what')}, "
                            f"segmenter {have.get('segmenter')}, fingerprint "
                            f"{str(have.get('fingerprint'))[:12]}...): this {what} has other data or "
                            "arguments (fingerprint "
                            f"{fingerprint[:12]}...). Use another folder, or delete this one to start "
                            "afresh",
                        )
                    ]
                )
        else:
            from ..persistence import atomic_write

            with atomic_write(meta, "w", encoding="utf-8") as fh:
                json.dump(want, fh)

    def _path(self, label: str) -> Path:
        return self.folder / (hashlib.sha1(label.encode()).hexdigest()[:20] + ".task")

    def get(self, label: str):
        """(True, result) when ``label``'s result is in the folder, else (False, None)."""
        path = self._path(label)
        if not path.exists():
            return False, None
        from ..persistence import load

        value = load(path, trusted=self.trusted)
        self.stats["loaded"] += 1
        return True, value["result"]

    def put(self, label: str, result) -> None:
        """Write ``label``'s result (atomically)."""
        from ..persistence import save

        save({"label": label, "result": result}, self._path(label))
        self.stats["computed"] += 1

    def __len__(self) -> int:
        return len(list(self.folder.glob("*.task")))


class CheckpointedEngine:
    """An engine whose ``map`` reads and writes ``checkpoint`` (everything else is the
    wrapped engine's)."""

    def __init__(self, engine, checkpoint: Checkpoint):
        self.engine = engine
        self.checkpoint = checkpoint

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def map(self, fn, jobs, labels, desc="tasks", progress=None, checkpoint=None):
        return self.engine.map(
            fn,
            jobs,
            labels,
            desc=desc,
            progress=progress,
            checkpoint=checkpoint or self.checkpoint,
        )
