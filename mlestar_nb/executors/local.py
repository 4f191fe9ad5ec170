"""Executors on this machine: loky processes, threads, or the kernel itself."""
import concurrent.futures
import os
import shutil
import threading

from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool

from .base import Executor, WorkerLost
from .shipping import InProcess, dump_shared, resolve


def _noop(_=None):
    return os.getpid()


def _preload(handle):
    resolve(handle)
    return os.getpid()


class LokyExecutor(Executor):
    """Worker processes from loky, kept warm between searches of the same size.

    A private `ProcessPoolExecutor` rather than loky's shared reusable one, which
    clashes with `joblib.Parallel` in the same process (joblib 1.6).
    """

    name = "loky"
    can_restart = True
    pickles = True
    _warm = {}
    _warm_lock = threading.Lock()

    def __init__(self, n_workers):
        super().__init__(n_workers)
        self._pool = None
        self._folders = {}

    def _worker_env(self):
        threads = str(max(1, (os.cpu_count() or 1) // self.n_workers))
        return {var: threads for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                         "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}

    def start(self):
        with self._warm_lock:
            pool = self._warm.pop(self.n_workers, None)
        if pool is None:
            pool = ProcessPoolExecutor(max_workers=self.n_workers, env=self._worker_env())
        self._pool = pool
        try:
            list(pool.map(_noop, range(self.n_workers)))
        except BrokenProcessPool:
            self._pool = ProcessPoolExecutor(max_workers=self.n_workers, env=self._worker_env())
            list(self._pool.map(_noop, range(self.n_workers)))

    def share(self, value):
        handle, folder = dump_shared(value)
        self._folders[id(handle)] = folder
        return handle

    def preload(self, handle):
        list(self._pool.map(_preload, [handle] * self.n_workers))

    def unshare(self, handle):
        folder = self._folders.pop(id(handle), None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)

    def submit(self, fn, *args):
        try:
            return self._pool.submit(fn, *args)
        except BrokenProcessPool as err:
            # a worker died and the loop has not heard yet: hand back a failed future, handled like the others
            future = concurrent.futures.Future()
            future.set_exception(err)
            return future

    def outcome(self, future):
        try:
            return future.result()
        except BrokenProcessPool as err:
            raise WorkerLost(str(err).splitlines()[0] if str(err) else "worker process died", shared=True) from None

    def recover(self):
        old, self._pool = self._pool, None
        if old is not None:
            old.shutdown(wait=False, kill_workers=True)
        self._pool = ProcessPoolExecutor(max_workers=self.n_workers, env=self._worker_env())

    @classmethod
    def warm_worker_pids(cls):
        """Process ids of the idle pools kept for the next search."""
        with cls._warm_lock:
            pools = list(cls._warm.values())
        return sorted(pid for pool in pools for pid in (getattr(pool, "_processes", None) or {}))

    def shutdown(self, kill=False):
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill:
            pool.shutdown(wait=True, kill_workers=True)
            return
        with self._warm_lock:
            if self.n_workers not in self._warm:
                self._warm[self.n_workers] = pool
                return
        pool.shutdown(wait=True)

    @classmethod
    def close_warm_pools(cls):
        with cls._warm_lock:
            pools, cls._warm = list(cls._warm.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, kill_workers=True)


class ThreadExecutor(Executor):
    """Threads in the kernel: no copying and no start-up, but the GIL limits pure-Python work.

    Running threads cannot be stopped: on interrupt they finish in the background.
    """

    name = "threads"

    def __init__(self, n_workers):
        super().__init__(n_workers)
        self._pool = None

    def start(self):
        self._pool = concurrent.futures.ThreadPoolExecutor(self.n_workers, thread_name_prefix="mlestar")

    def share(self, value):
        return InProcess(value)

    def submit(self, fn, *args):
        return self._pool.submit(fn, *args)

    def shutdown(self, kill=False):
        if self._pool is not None:
            self._pool.shutdown(wait=not kill, cancel_futures=True)
            self._pool = None


class SequentialExecutor(Executor):
    """Runs each trial in the kernel when it is submitted: reproducible and easy to debug."""

    name = "sequential"
    runs_in_kernel = True

    def __init__(self, n_workers=1):
        super().__init__(1)

    def share(self, value):
        return InProcess(value)

    def submit(self, fn, *args):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args))
        except Exception as err:  # the trial runner catches trial errors; this is a bug path
            future.set_exception(err)
        return future


__all__ = ["LokyExecutor", "ThreadExecutor", "SequentialExecutor", "WorkerLost"]
