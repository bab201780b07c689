"""The Dask engine: run segmenter's tasks on a ``dask.distributed`` cluster.

Use it through the ``engine=`` parameter of :class:`~segmenter.Segmenter` and
:class:`~segmenter.SegmentedForecaster` (a ``Client`` you made, or a scheduler address);
this module is the only place that imports dask (extra ``dask``:
``pip install 'segmenter-ts[dask]'``).

Threads.  Each task runs numba kernels and BLAS on one thread: the cluster's
parallelism comes from running many tasks, so give it one worker thread per core
(``LocalCluster(n_workers=cores, threads_per_worker=1)``).

Fault tolerance.  Every task is a pure function of its inputs; a task whose worker
dies is rerun elsewhere by the scheduler, and one that raised is retried ``retries``
times (default 1).  Data enter the cluster as the arguments of tasks (never with
``Client.scatter``), and everything else is computed from them, so when a worker dies
the scheduler recomputes what it held and reruns its tasks elsewhere; the results are
the same as if it had not died.  After its retries the original exception of a task
that raised reaches the caller, with a note naming
the chunk of series or the segment it came from.
"""

from __future__ import annotations

import logging
import re
import uuid
import warnings
import weakref

from ..errors import missing_dependency
from .base import Engine, run_task

try:
    import distributed
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise missing_dependency("distributed", "dask", "engine=<dask client>") from exc

__all__ = ["DaskEngine"]

log = logging.getLogger(__name__)


def _key(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.=-]+", "-", label).strip("-")[:60] or "task"
    return f"segmenter-{slug}-{uuid.uuid4().hex[:12]}"


def _one_thread(fn, label, *args):
    """:func:`run_task` with numba and BLAS on one thread: the cluster's parallelism is
    its tasks (one per worker thread).  Nested threads oversubscribe the cores, and
    numba's spinning threads then made the DTW k-means fits about 10x slower on a
    2-core LocalCluster."""
    import numba
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(1)  # this thread only
    with threadpool_limits(limits=1):
        return run_task(fn, label, *args)


class DaskEngine(Engine):
    """Tasks on a Dask cluster.

    Parameters
    ----------
    client : dask.distributed.Client or str
        A client, or a scheduler address (``"tcp://host:8786"``) to connect to.
    retries : int, default 1
        Times a task that raised is rerun (for transient errors such as a flaky file
        system; the tasks are deterministic, so more would only repeat an error).  A
        task whose worker dies is rerun elsewhere regardless, up to the scheduler's
        ``allowed-failures`` (default 3).
    """

    name = "dask"
    distributed = True

    def __init__(self, client, retries: int = 1):
        self.owns_client = isinstance(client, str)
        if self.owns_client:
            client = distributed.Client(client)
            weakref.finalize(self, client.close)
        self.client = client
        self.retries = retries

    def close(self) -> None:
        """Close the client this engine opened from an address (a client you passed in
        is yours to close)."""
        if self.owns_client:
            self.client.close()

    def describe(self) -> str:
        try:
            n = len(self.client.scheduler_info(n_workers=-1)["workers"])
        except Exception:  # noqa: BLE001 - a description only
            n = "?"
        return f"dask ({self.client.scheduler.address}, {n} workers)"

    def submit(self, fn, *args, label: str):
        with warnings.catch_warnings():
            # data enter the cluster as task arguments on purpose (see the module doc)
            warnings.filterwarnings("ignore", message=".*[Ll]arge.*")
            return self.client.submit(
                _one_thread,
                fn,
                label,
                *args,
                key=_key(label),
                retries=self.retries,
                pure=False,
            )

    def result(self, ref):
        return ref.result()

    def _map(self, fn, jobs, labels, done) -> None:
        futs = [self.submit(fn, *job, label=label) for job, label in zip(jobs, labels)]
        index = {f.key: k for k, f in enumerate(futs)}
        try:
            for f in distributed.as_completed(futs):
                done(index[f.key], f.result())  # raises the task's own error
        except BaseException:
            self.client.cancel(futs)
            raise

    def from_delayed(self, objs) -> list:
        # futures computed from the collection's graph: a lost one is recomputed
        return self.client.compute(list(objs), retries=self.retries)

    def __repr__(self) -> str:
        return f"DaskEngine({self.client!r}, retries={self.retries})"
