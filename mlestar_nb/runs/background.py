"""Background runs: a search, an ablation or a refinement on its own thread while the notebook stays free.

`tune(..., background=True)` (and `ablate`, `refine`; the magics' --background)
returns a `RunHandle` as soon as the run has started (options checked, workers
up), so a mistake is still a one-line error in the cell that made it. The run's
thread executes in a copy of that cell's context: with ipykernel 7 everything
it displays (the live panel) goes to that cell, never into the cell that runs
later. The kernel's main thread stays free, so it also handles the panel's
buttons; Jupyter's Interrupt only reaches the main thread (the run's workers
ignore it), and `%mlestar_stop` or the handle stop the run.

One background run at a time: a second would compete with the first for every
core, so it is refused with a message saying how to go on.
"""
import contextvars
import functools
import html
import itertools
import threading
import time
import warnings

from ..errors import ConfigError
from ..kernel import in_notebook_kernel
from .control import RunControl, activate, active

_runs = []                     # every background run of this kernel, oldest first
_numbers = itertools.count(1)

STATUS = {"completed": "done", "stopped": "stopped", "interrupted": "interrupted", "error": "error"}


class RunHandle:
    """A run going on beside the notebook: watch it, steer it, and take its result when it ends."""

    def __init__(self, kind, name, control, model):
        self.kind = kind
        self.name = name
        self.started_at = time.time()
        self._control = control
        self._model = model
        self._snapshot = None
        self._started = threading.Event()
        self._done = threading.Event()
        self._result = None
        self._error = None
        self._thread = None

    # -- what the run reports ---------------------------------------------------------------------
    def observe(self, event, snapshot):
        """The run's listener: keeps the last snapshot; the first one means the run has started."""
        self._snapshot = snapshot
        self._started.set()

    def _finish(self, result=None, error=None):
        self._result, self._error = result, error
        self._done.set()
        self._started.set()

    # -- asked by the user ------------------------------------------------------------------------------
    @property
    def status(self):
        """running | paused | stopping | done | stopped | interrupted | error."""
        if self._done.is_set():
            if self._error is not None:
                return "error"
            return STATUS.get(self._result.status, self._result.status)
        if self._thread is not None and not self._thread.is_alive():
            return "error"
        return self._control.describe("running")

    @property
    def progress(self):
        """The run's progress in one line, as its live view states it."""
        return "starting" if self._snapshot is None else self._model.line(self._snapshot)

    @property
    def fraction(self):
        if self._snapshot is None:
            return 0.0
        done, total = self._model.progress(self._snapshot)
        return done / total if total else 0.0

    def stop(self, grace=None):
        """Start no new trial; the running ones finish (after `grace` seconds they are cancelled)."""
        self._control.stop(grace)
        return self

    def cancel(self):
        """Stop the running trials now (their workers are stopped); every finished one is kept."""
        self._control.cancel()
        return self

    def pause(self):
        """Start no new trial until resume(); the running ones finish."""
        self._control.pause()
        return self

    def resume(self):
        self._control.resume()
        return self

    def extend(self, n):
        """Add n trials to a search's budget."""
        self._control.extend(n)
        return self

    def wait(self, timeout=None):
        """Wait for the run to end; True when it has."""
        return self._done.wait(timeout)

    def result(self, timeout=None):
        """The run's result once it ends (waiting at most `timeout` seconds); raises the run's error."""
        if not self._done.wait(timeout):
            if self._thread is not None and not self._thread.is_alive():
                raise ConfigError(f"run '{self.name}' ended without a result (its thread was lost); the finished "
                                  "trials are in its journal: run it again with --resume")
            raise TimeoutError(f"run '{self.name}' is still {self.status} ({self.progress}); wait longer, or stop "
                               f"it first: run.stop(), then run.result()")
        if self._error is not None:
            raise self._error
        return self._result

    @property
    def alive(self):
        return not self._done.is_set() and self._thread is not None and self._thread.is_alive()

    def summary(self):
        return f"{self.name} ({self.kind}): {self.status}, {self.progress}"

    def __repr__(self):
        hint = "run.result() waits for the result" if self.alive else "run.result() returns the result"
        return f"RunHandle {self.summary()}; {hint}"

    def _repr_pretty_(self, p, cycle):
        p.text(repr(self))

    def _repr_html_(self):
        return (f"<div class='mlestar-run'><b>background run {html.escape(self.name)}</b> ({self.kind}): "
                f"<b>{html.escape(self.status)}</b>, {html.escape(self.progress)}</div>")


def start(kind, name, call, model, extendable=False):
    """Start ``call(listener)`` on its own thread; return its handle once the run has started (or raise why not).

    `model` (a live view's model) states the run's progress for the handle.
    """
    busy = [run for run in _runs if run.alive]
    if busy:
        run = busy[0]
        raise ConfigError(f"background run '{run.name}' is still {run.status} ({run.progress}); one background run "
                          f"at a time, so that two do not share the cores: stop it (%mlestar_stop {run.name}), "
                          "wait for it (run.wait()), or run this one in the foreground")
    control = RunControl()
    control.extendable = extendable
    handle = RunHandle(kind, name or f"{kind}-{next(_numbers)}", control, model)

    def body():
        activate(control)
        try:
            result = call(handle.observe)
        except BaseException as err:  # handed to whoever asks for the result
            handle._finish(error=err)
        else:
            handle._finish(result=result)

    context = contextvars.copy_context()   # the starting cell's: its output goes there
    handle._thread = threading.Thread(target=context.run, args=(body,), name=f"mlestar-{handle.name}", daemon=True)
    handle._thread.start()
    handle._started.wait()
    if handle._error is not None and handle._snapshot is None:
        raise handle._error   # failed before it started (bad options, a journal in use): say so here
    _runs.append(handle)
    return handle


def may_run_in_background(kind, model, extendable=False):
    """Give a public entry point a ``background=False`` argument: True runs it on its own thread (`start`)."""
    def decorate(run):
        @functools.wraps(run)
        def entry(*args, background=False, **kwargs):
            if not background:
                busy = [r for r in _runs if r.alive]
                if busy and active() is None:   # a run of the user's, not one inside a background refinement
                    warnings.warn(f"background run '{busy[0].name}' is still {busy[0].status}: this run shares the "
                                  "cores with it, so both go slower", UserWarning, stacklevel=2)
                return run(*args, **kwargs)
            listeners = list(kwargs.pop("listeners", ()))
            if kwargs.get("progress", True) in (True, "auto") and not in_notebook_kernel():
                kwargs["progress"] = False   # a text line redrawn from another thread would break the prompt
            return start(kind, kwargs.get("name"), lambda observe: run(*args, listeners=[*listeners, observe],
                                                                         **kwargs), model(), extendable)
        return entry
    return decorate


def runs():
    """The background runs of this kernel, oldest first."""
    return list(_runs)


def find(name=None):
    """The runs named `name` (all of them when None), or a ConfigError listing the names there are."""
    if name is None:
        return runs()
    found = [run for run in _runs if run.name == name]
    if not found:
        names = ", ".join(run.name for run in _runs) or "none yet"
        raise ConfigError(f"no background run named '{name}' (runs: {names}); %mlestar_runs lists them")
    return found
