"""Stop, pause, resume and extend a run from outside its loop: a run handle, the panel's buttons, %mlestar_stop.

A `RunControl` is a few thread-safe flags that a run's loop reads at its safe
points (the dispatcher's `check`/`wait`, where the search and the ablation
study decide whether to start more work). A background run sets one as the
*active* control of its thread (a context variable), so every run inside it
(the searches and ablations of a refinement) obeys the same buttons.
"""
import contextvars
import threading
import time

from ..errors import ConfigError

_active = contextvars.ContextVar("mlestar_run_control", default=None)


class Cancelled(KeyboardInterrupt):
    """Raised at a safe point when the user cancels a run (or a stop's grace ran out): running tasks stop now.

    A KeyboardInterrupt, so every run already knows how to stop on it: kill what runs, keep what finished.
    """


class RunControl:
    """What the user asked of a run; read by the run, written by handles and buttons from any thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running = threading.Event()    # set while not paused
        self._running.set()
        self._stop_at = None                 # time.monotonic() of stop()
        self._grace = None
        self._cancelled = False
        self._extra = 0
        self.extendable = True

    # -- asked by the user ---------------------------------------------------------------
    def stop(self, grace=None):
        """Start no new task; running ones finish (or are cancelled after `grace` seconds)."""
        if grace is not None and not grace >= 0:
            raise ConfigError(f"grace must be a number of seconds, 0 or more, got {grace!r}")
        with self._lock:
            if self._stop_at is None:
                self._stop_at, self._grace = time.monotonic(), grace
        self._running.set()

    def cancel(self):
        """Stop running tasks now (their workers are stopped); finished ones are kept."""
        with self._lock:
            self._cancelled = True
            if self._stop_at is None:
                self._stop_at = time.monotonic()
        self._running.set()

    def pause(self):
        """Start no new task until `resume()`; running ones finish."""
        self._running.clear()

    def resume(self):
        self._running.set()

    def extend(self, n):
        """Add `n` trials to the budget."""
        if not self.extendable:
            raise ConfigError("extend() adds trials to a search; an ablation's fits and a refinement's rounds are "
                              "fixed when it starts")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"extend(n) takes a positive number of trials, got {n!r}")
        with self._lock:
            self._extra += n

    # -- read by the run --------------------------------------------------------------------
    @property
    def paused(self):
        return not self._running.is_set()

    @property
    def stopping(self):
        return self._stop_at is not None

    @property
    def cancelled(self):
        return self._cancelled

    def may_start(self):
        """Whether the run may start another task now."""
        return self._running.is_set() and self._stop_at is None

    def take_extension(self):
        """Trials added since the last call (the run adds them to its budget)."""
        with self._lock:
            extra, self._extra = self._extra, 0
        return extra

    def check(self):
        """Raise Cancelled when the user cancelled, or a stop's grace has run out."""
        if self._cancelled:
            raise Cancelled
        stop_at, grace = self._stop_at, self._grace
        if stop_at is not None and grace is not None and time.monotonic() - stop_at >= grace:
            raise Cancelled

    def wait_while_paused(self, timeout):
        self._running.wait(timeout)

    def describe(self, status):
        """The status a view shows for a run that is still `running`."""
        if status != "running":
            return status
        if self._stop_at is not None:
            return "stopping"
        return "paused" if self.paused else status


def active():
    """The control of the run this code belongs to (a background run's), or None in the foreground."""
    return _active.get()


def activate(control):
    """Make `control` the active one in this context (a background run's thread)."""
    return _active.set(control)
