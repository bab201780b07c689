"""Where tasks run: the engine seam.

The core describes its heavy work as independent *tasks*: featurizing and assigning a
chunk of series, fitting and scoring one leaderboard candidate, running one segment's
forecasting leaderboard.  An engine runs them:

* :class:`LocalEngine` (``engine="local"``, the default): in this process, or across
  joblib processes when ``n_jobs`` asks for it.  Needs no cluster.
* :class:`~segmenter.engine.dask_engine.DaskEngine` (``engine=client``, a
  ``dask.distributed.Client``, or a scheduler address string): on a Dask cluster, with
  retries, so a worker that dies mid-run does not fail the job.  Needs the ``dask``
  extra (``pip install 'segmenter-ts[dask]'``); this module never imports dask.

Every task runs inside :func:`run_task`, which adds a note naming the task (the chunk of
series or the segment) to any exception and re-raises it, so the caller gets the
original error (type, message, remote traceback) and where it came from.

Tasks are pure functions of their arguments: the same inputs give the same results on
any engine, which is what makes a retried task, or a Dask run, equal to a local one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

__all__ = [
    "Engine",
    "LocalEngine",
    "Ref",
    "run_task",
    "is_distributed",
    "saveable_engine",
]

log = logging.getLogger(__name__)


def run_task(fn: Callable, label: str, *args):
    """Call ``fn(*args)``; an exception gets the note ``"segmenter task: <label>"``."""
    try:
        return fn(*args)
    except Exception as exc:
        exc.add_note(f"segmenter task: {label}")
        raise


class Ref:
    """A task's result held by the engine (the local engine holds the value itself)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Engine:
    """Runs tasks.  Subclasses implement :meth:`submit`, :meth:`result` and :meth:`map`.

    ``submit(fn, *args, label=...)`` returns a reference to the (future) result; the
    arguments may hold references returned by earlier submits (alone, or in a list or
    tuple), which the task receives as values.  ``result(ref)`` waits for the value.
    ``map(fn, jobs, labels)`` runs ``fn(*job)`` for each job and returns the results in
    job order, with a progress bar and an optional checkpoint; subclasses run the jobs
    in ``_map``.
    """

    name = "engine"
    distributed = False

    def submit(self, fn: Callable, *args, label: str):
        raise NotImplementedError

    def result(self, ref):
        raise NotImplementedError

    def map(
        self,
        fn: Callable,
        jobs: Sequence[tuple],
        labels: Sequence[str],
        desc: str = "tasks",
        progress: bool | None = None,
        checkpoint=None,
    ) -> list:
        """``fn(*job)`` for each job, results in job order, with a progress bar.  With a
        :class:`~segmenter.engine.checkpoint.Checkpoint`, jobs whose result is in its
        folder are loaded, not run, and every new result is written as it completes."""
        from .progress import progress_bar

        out: list = [None] * len(jobs)
        todo = []
        for j, label in enumerate(labels):
            found, value = (
                checkpoint.get(label) if checkpoint is not None else (False, None)
            )
            if found:
                out[j] = value
            else:
                todo.append(j)
        with progress_bar(len(jobs), desc, progress) as bar:
            bar.update(len(jobs) - len(todo))

            def done(k: int, result) -> None:
                j = todo[k]
                out[j] = result
                if checkpoint is not None:
                    checkpoint.put(labels[j], result)
                bar.update(1)

            if todo:
                self._map(fn, [jobs[j] for j in todo], [labels[j] for j in todo], done)
        return out

    def _map(self, fn: Callable, jobs: list, labels: list, done: Callable) -> None:
        """Run the jobs; call ``done(k, result)`` as job k completes (any order)."""
        raise NotImplementedError

    def from_delayed(self, objs: Sequence) -> list:
        """References to the values of dask ``Delayed`` objects (e.g. the partitions of
        a dask DataFrame), computed by the engine."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


def _unwrap(a):
    if isinstance(a, Ref):
        return a.value
    if isinstance(a, (list, tuple)) and any(isinstance(x, Ref) for x in a):
        return type(a)(_unwrap(x) for x in a)
    return a


class LocalEngine(Engine):
    """Tasks in this process; :meth:`map` across ``n_jobs`` joblib processes (1: in this
    process; -1: all cores)."""

    name = "local"

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = n_jobs

    def submit(self, fn, *args, label: str) -> Ref:
        return Ref(run_task(fn, label, *(_unwrap(a) for a in args)))

    def result(self, ref):
        return ref.value if isinstance(ref, Ref) else ref

    def _map(self, fn, jobs, labels, done) -> None:
        jobs = [tuple(_unwrap(a) for a in job) for job in jobs]
        if self.n_jobs == 1 or len(jobs) <= 1:
            for k, (job, label) in enumerate(zip(jobs, labels)):
                done(k, run_task(fn, label, *job))
            return
        from joblib import Parallel, delayed

        gen = Parallel(n_jobs=self.n_jobs, return_as="generator_unordered")(
            delayed(_indexed)(k, fn, label, job)
            for k, (job, label) in enumerate(zip(jobs, labels))
        )
        for k, res in gen:
            done(k, res)

    def from_delayed(self, objs) -> list:
        return [Ref(o.compute(scheduler="sync")) for o in objs]

    def __repr__(self) -> str:
        return f"LocalEngine(n_jobs={self.n_jobs})"


def _indexed(j, fn, label, job):
    return j, run_task(fn, label, *job)


def is_distributed(engine) -> bool:
    """True for a Dask client, a scheduler address or a distributed :class:`Engine`,
    without importing dask."""
    if isinstance(engine, Engine):
        return engine.distributed
    if isinstance(engine, str):
        return engine != "local" and ":" in engine
    return type(engine).__module__.split(".")[0] == "distributed"


def saveable_engine(engine):
    """What a saved model keeps of its ``engine=`` parameter: a string as is, anything
    else (a live client) as ``"local"``; pass ``engine=`` again after loading."""
    return engine if engine is None or isinstance(engine, str) else "local"
