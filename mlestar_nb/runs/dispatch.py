"""One run's tasks on one executor: the session, the worker-loss policy, interrupts and events.

The search engine, the ablation study and refinement's paired scoring all hand
their tasks to a `Dispatcher`; each keeps only what is its own (proposals and
stop rules; units and statistics). The dispatcher

- owns the executor session: start the workers, share the payload once, have
  every worker load it, and on the way out shut down (killing what still runs
  after an error or interrupt) and release the shared data, whatever happened;
- applies one worker-loss policy: a loss the pool shared (loky fails every
  running task when one worker dies) reruns each affected task alone, to find
  the culprit; a task's own loss (Dask) is retried once; a task whose worker
  died while it ran alone, or twice, comes back as lost for good. Tasks of a
  pool the caller restarted on purpose (`restart`) rerun without blame;
- holds the interrupt guard and the run's control (stop, pause, cancel from a
  handle or the panel's buttons), checked at the start of every `wait`, so Ctrl-C
  or Cancel stops a run only between two records.
"""
import collections
import threading
import time
from dataclasses import dataclass

from ..executors import WorkerLost
from . import control as run_control
from .interrupts import InterruptGuard


@dataclass
class Done:
    """A finished task: its key, the worker's outcome, or `lost` when its worker died for good."""

    key: object
    outcome: dict = None
    lost: WorkerLost = None


@dataclass
class _Task:
    key: object
    fn: object
    args: tuple
    generation: int
    submitted: float        # time.perf_counter() at submission
    submitted_epoch: float  # time.time() at submission


class Dispatcher:
    """Use as a context manager around one run's loop; `submit` tasks, `wait` for `Done` ones."""

    def __init__(self, executor, payload):
        self.executor = executor
        self.payload = payload
        self.handle = None
        self.startup_s = 0.0
        self.guard = InterruptGuard(raise_at_once=executor.runs_in_kernel)
        self.control = run_control.active() or run_control.RunControl()
        self._running = {}                   # future -> _Task
        self._lock = threading.Lock()        # _running is read from the proposer's thread
        self._retry = collections.deque()    # (_Task, run alone?)
        self._attempts = collections.Counter()
        self._ran_alone = {}
        self._generation = 0
        self._restarted = set()              # pool generations the caller killed on purpose

    # -- the session ---------------------------------------------------------
    def __enter__(self):
        clock = time.perf_counter()
        self.guard.__enter__()
        try:
            self.executor.start()
            self.handle = self.executor.share(self.payload)
            self.executor.preload(self.handle)
        except BaseException:
            self._close(kill=True)
            raise
        self.startup_s = time.perf_counter() - clock
        return self

    def __exit__(self, exc_type, exc, tb):
        self._close(kill=exc_type is not None)
        return False

    def _close(self, kill):
        try:
            self.executor.shutdown(kill=kill)
        finally:
            try:
                if self.handle is not None:
                    self.executor.unshare(self.handle)
                    self.handle = None
            finally:
                self.guard.__exit__(None, None, None)

    @property
    def n_workers(self):
        return self.executor.n_workers

    # -- tasks ---------------------------------------------------------------
    def submit(self, key, fn, *args, alone=False):
        """Run ``fn(handle, *args)`` on a worker; `key` names the task in what `wait` returns."""
        self._attempts[key] += 1
        self._ran_alone[key] = alone
        future = self.executor.submit(fn, self.handle, *args)
        with self._lock:
            self._running[future] = _Task(key, fn, args, self._generation, time.perf_counter(), time.time())

    def has_room(self, limit):
        """New work may go out: no rerun of a lost task is waiting and fewer than `limit` tasks run."""
        return not self._retry and len(self._running) < limit

    @property
    def active(self):
        """Tasks running or waiting to run again."""
        return bool(self._running or self._retry)

    @property
    def unfinished(self):
        return len(self._running) + len(self._retry)

    def running(self):
        """``[(key, submitted perf_counter, submitted epoch)]`` of the running tasks; safe from any thread."""
        with self._lock:
            return [(t.key, t.submitted, t.submitted_epoch) for t in self._running.values()]

    def running_keys(self):
        with self._lock:
            return [t.key for t in self._running.values()]

    def check(self):
        """Raise KeyboardInterrupt if Ctrl-C was pressed, Cancelled if the run was cancelled (a safe point:
        nothing is half-recorded)."""
        self.guard.check()
        self.control.check()

    def wait(self, timeout):
        """Resubmit lost tasks the policy allows, then the tasks that finish within `timeout` seconds."""
        self.check()
        self._resubmit()
        if not self._running:
            return []
        finished = []
        for future in self.executor.wait(list(self._running), timeout=timeout):
            with self._lock:
                task = self._running.pop(future)
            try:
                finished.append(Done(task.key, self.executor.outcome(future)))
            except WorkerLost as err:
                done = self._lost(task, err)
                if done is not None:
                    finished.append(done)
        return finished

    def restart(self, keys):
        """Restart the workers to stop these tasks (stuck where they cannot be interrupted); return them.

        The other tasks of that pool are rerun without blame.
        """
        with self._lock:
            stopped = [(f, t) for f, t in self._running.items()
                       if t.key in keys and t.generation == self._generation]
            for future, _ in stopped:
                self._running.pop(future)
        if stopped:
            self._restarted.add(self._generation)
            self._generation += 1
            self.executor.recover()
        return [task.key for _, task in stopped]

    # -- the worker-loss policy ---------------------------------------------
    def _lost(self, task, err):
        if task.generation in self._restarted:   # the caller restarted that pool for another task: no blame
            self._attempts[task.key] -= 1
            self._retry.append((task, False))
            return None
        if task.generation == self._generation:  # the first loss seen from this pool: replace it once
            self._generation += 1
            self.executor.recover()
        for_good = self._ran_alone.get(task.key, False) if err.shared else self._attempts[task.key] >= 2
        if not for_good:
            self._retry.append((task, err.shared))
            return None
        return Done(task.key, lost=err)

    def _resubmit(self):
        """Rerun lost tasks: one that must run alone waits until nothing else runs, and holds back the rest."""
        while self._retry:
            task, alone = self._retry[0]
            if (alone and self._running) or len(self._running) >= self.executor.n_workers:
                return
            self._retry.popleft()
            self.submit(task.key, task.fn, *task.args, alone=alone)
            if alone:
                return


class Events:
    """Hands each event and a fresh snapshot to every listener; counts the time spent drawing.

    A listener that raises an ordinary exception is dropped with a warning (a broken view must
    not cost the run); KeyboardInterrupt goes through.
    """

    def __init__(self, listeners, snapshot):
        self.listeners = list(listeners)
        self._snapshot = snapshot
        self.seconds = 0.0

    def publish(self, event, **extra):
        if not self.listeners:
            return
        clock = time.perf_counter()
        snap = self._snapshot()
        snap["event"] = event
        snap.update(extra)
        for listener in list(self.listeners):
            try:
                listener(event, snap)
            except Exception as err:
                import warnings

                self.listeners.remove(listener)
                warnings.warn(f"mlestar_nb: a view failed and was switched off "
                              f"({type(err).__name__}: {err}); the run goes on", RuntimeWarning, stacklevel=2)
        self.seconds += time.perf_counter() - clock
