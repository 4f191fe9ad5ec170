"""Executors on this machine: loky processes, threads, or the kernel itself."""
import concurrent.futures
import os
import shutil
import signal
import threading

from joblib.externals.loky import ProcessPoolExecutor
from joblib.externals.loky.process_executor import BrokenProcessPool

from .base import Executor, WorkerLost
from .shipping import InProcess, dump_shared, resolve


def _noop(_=None):
    return os.getpid()


def _ignore_interrupts():
    """In each worker: Jupyter's Interrupt signals the kernel's whole process group, and the kernel alone decides
    what an interrupt stops (a foreground run kills its workers; a background run is not the interrupt's target)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _preload(handle):
    resolve(handle)
    return os.getpid()


class _WarmPool:
    """The one idle pool kept between runs, so the next run starts at once; shut down after IDLE_S unused.

    One pool, not one per size: a run of another size replaces it (runs with 1, 2, 3 and 64 jobs
    must not leave 70 idle processes behind).
    """

    IDLE_S = 120.0

    def __init__(self):
        self._lock = threading.Lock()
        self._pool = None
        self._size = None
        self._timer = None

    def take(self, size):
        """The idle pool if it has `size` workers (else it is shut down); None when there is none to take."""
        with self._lock:
            pool, kept, self._pool, self._size = self._pool, self._size, None, None
            self._cancel_timer()
        if pool is not None and kept != size:
            pool.shutdown(wait=False, kill_workers=True)
            pool = None
        return pool

    def keep(self, pool, size):
        with self._lock:
            old, self._pool, self._size = self._pool, pool, size
            self._cancel_timer()
            self._timer = threading.Timer(self.IDLE_S, self.close)
            self._timer.daemon = True
            self._timer.start()
        if old is not None:
            old.shutdown(wait=False, kill_workers=True)

    def _cancel_timer(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def pids(self):
        with self._lock:
            return sorted(getattr(self._pool, "_processes", None) or {}) if self._pool is not None else []

    def close(self):
        with self._lock:
            pool, self._pool, self._size = self._pool, None, None
            self._cancel_timer()
        if pool is not None:
            pool.shutdown(wait=True, kill_workers=True)


class LokyExecutor(Executor):
    """Worker processes from loky; the pool is kept warm for the next run (see `_WarmPool`).

    A private `ProcessPoolExecutor` rather than loky's shared reusable one, which
    clashes with `joblib.Parallel` in the same process (joblib 1.6). A pool whose
    workers memory-mapped shared arrays is not kept: its workers would pin those
    arrays (deleted files still held in memory) for as long as they live.
    """

    name = "loky"
    can_restart = True
    pickles = True
    _warm = _WarmPool()

    def __init__(self, n_workers):
        super().__init__(n_workers)
        self._pool = None
        self._folders = {}
        self._mapped = False

    def _worker_env(self):
        threads = str(max(1, (os.cpu_count() or 1) // self.n_workers))
        return {var: threads for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                         "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")}

    def _new_pool(self):
        return ProcessPoolExecutor(max_workers=self.n_workers, env=self._worker_env(),
                                   initializer=_ignore_interrupts)

    def start(self):
        pool = self._warm.take(self.n_workers) or self._new_pool()
        self._pool = pool
        try:
            list(pool.map(_noop, range(self.n_workers)))
        except BrokenProcessPool:
            self._pool = self._new_pool()
            list(self._pool.map(_noop, range(self.n_workers)))

    def share(self, value):
        handle, folder = dump_shared(value)
        self._folders[id(handle)] = folder
        self._mapped = self._mapped or handle.arrays > 0
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
        self._pool = self._new_pool()

    @classmethod
    def warm_worker_pids(cls):
        """Process ids of the idle pool kept for the next run."""
        return cls._warm.pids()

    def shutdown(self, kill=False):
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if kill or self._mapped:
            pool.shutdown(wait=True, kill_workers=True)
            return
        self._warm.keep(pool, self.n_workers)

    @classmethod
    def close_warm_pools(cls):
        cls._warm.close()


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
