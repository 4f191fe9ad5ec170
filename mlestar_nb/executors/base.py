"""The executor interface: share data once, submit trials, wait for any to finish.

Futures are `concurrent.futures.Future` objects (or behave like them), so the
engine's loop is the same on every backend.
"""
import abc
import concurrent.futures


class WorkerLost(RuntimeError):
    """The process running a trial died (killed, crashed, out of memory).

    `shared` is True when the executor cannot tell which task killed the worker
    (a loky pool fails every running task when one worker dies): the engine then
    reruns each affected trial alone to find the culprit. When False, the loss
    is this task's own and the trial is retried once.
    """

    def __init__(self, message, shared=False):
        super().__init__(message)
        self.shared = shared


class Executor(abc.ABC):
    name = "base"
    runs_in_kernel = False   # trials run in the kernel's main thread (Ctrl-C must stop them directly)
    can_restart = False      # recover() can stop a stuck trial by restarting its worker
    pickles = False          # shared data and tasks are pickled to reach the workers (other processes)

    def __init__(self, n_workers):
        self.n_workers = int(n_workers)

    def connect(self):
        """Reach remote workers the user named, before the journal is touched (a no-op here)."""

    def start(self):
        """Make the workers ready, so start-up is not counted as idle trial time."""

    @abc.abstractmethod
    def share(self, value):
        """Send `value` to the workers once; return a handle that tasks carry instead."""

    def preload(self, handle):
        """Have each worker load the shared data now, before the clock of the first trial starts."""

    def unshare(self, handle):
        """Release what `share` made."""

    @abc.abstractmethod
    def submit(self, fn, *args):
        """Run ``fn(*args)`` on a worker; return a future."""

    def wait(self, futures, timeout):
        """Return the futures among `futures` that are done, waiting at most `timeout` seconds."""
        done, _ = concurrent.futures.wait(list(futures), timeout=timeout,
                                          return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def outcome(self, future):
        """The task's return value; raises WorkerLost when its worker died."""
        return future.result()

    def recover(self):
        """Replace workers after a loss; the engine calls it once per WorkerLost batch."""

    def shutdown(self, kill=False):
        """Stop using the workers; with `kill`, stop running tasks now."""
