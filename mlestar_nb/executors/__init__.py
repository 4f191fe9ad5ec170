"""Where trials run. Each backend implements `base.Executor`."""
import os

from ..errors import ConfigError
from .base import Executor, WorkerLost
from .local import LokyExecutor, SequentialExecutor, ThreadExecutor

BACKENDS = ("loky", "threads", "sequential", "dask")
DASK_MISSING = '--backend dask needs dask: pip install "mlestar-nb[dask]"'


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_executor(backend, n_workers, **options):
    """An executor for `backend`; `options` (client, scheduler, connect_timeout) are the dask backend's.

    For dask, `n_workers` is a cap (None: every worker thread of the cluster).
    """
    if backend == "dask":
        return _dask_executor(n_workers, **options)
    stray = [name for name, value in options.items() if value is not None]
    if stray:
        option = "--scheduler" if "scheduler" in stray else f"{stray[0]}="
        raise ConfigError(f"{option} is for the dask backend only, not {backend}; add --backend dask "
                          f"(backend='dask'), or drop {option}")
    if backend == "loky":
        return LokyExecutor(n_workers)
    if backend == "threads":
        return ThreadExecutor(n_workers)
    if backend == "sequential":
        return SequentialExecutor()
    raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")


def _dask_executor(n_workers, **options):
    """Import dask only now, so that the other backends never need it."""
    try:
        from .dask import DaskExecutor
    except ImportError as err:
        if (err.name or "").split(".")[0] not in ("dask", "distributed"):
            raise
        raise ConfigError(DASK_MISSING) from None
    return DaskExecutor(n_workers, **options)


__all__ = ["Executor", "WorkerLost", "make_executor", "available_cores", "BACKENDS"]
