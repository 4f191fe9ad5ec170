"""Where trials run. Each backend implements `base.Executor`."""
import os

from ..errors import ConfigError
from .base import Executor, WorkerLost
from .local import LokyExecutor, SequentialExecutor, ThreadExecutor

BACKENDS = ("loky", "threads", "sequential")


def available_cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def make_executor(backend, n_workers, **options):
    if backend == "loky":
        return LokyExecutor(n_workers)
    if backend == "threads":
        return ThreadExecutor(n_workers)
    if backend == "sequential":
        return SequentialExecutor()
    raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")


__all__ = ["Executor", "WorkerLost", "make_executor", "available_cores", "BACKENDS"]
