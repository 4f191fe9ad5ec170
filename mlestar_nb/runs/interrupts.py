"""Ctrl-C during a run: noted, and acted on where nothing can be lost.

One handler serves nested runs: a refinement holds a guard while each of its
searches and ablation studies holds its own, and they share one flag, so an
interrupt that one inner run has already acted on is still seen by the outer
run at its next safe point. Whatever handler was there before the outermost
guard is put back when it exits (Python's default one when the previous
handler was not installed from Python, as `signal.signal` cannot restore those).
"""
import functools
import signal
import threading


class _Shared:
    requested = False
    guards = []          # guards entered in the main thread, outermost first
    previous = None


class InterruptGuard:
    """Ctrl-C sets a flag that the run reads at safe points (`check`).

    So an interrupt never lands between a task finishing and its record being
    written. Where work runs in the kernel's own thread (sequential backend),
    Ctrl-C raises at once so a long trial stops; a second Ctrl-C always
    raises at once. Outside the main thread (a background run) the guard does
    nothing: Ctrl-C is the kernel's, and the run is stopped through its handle.
    """

    def __init__(self, raise_at_once=False):
        self.raise_at_once = raise_at_once
        self._active = False

    @property
    def requested(self):
        return self._active and _Shared.requested

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        if not _Shared.guards:
            _Shared.previous = signal.getsignal(signal.SIGINT)
            _Shared.requested = False
            signal.signal(signal.SIGINT, _handle)
        _Shared.guards.append(self)
        self._active = True
        return self

    def check(self):
        """Raise KeyboardInterrupt if Ctrl-C was pressed; call it only where stopping loses nothing."""
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if not self._active:
            return False
        self._active = False
        _Shared.guards.remove(self)
        if not _Shared.guards:
            previous = _Shared.previous
            signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
            _Shared.previous = None
            _Shared.requested = False
        return False


def _handle(signum, frame):
    innermost = _Shared.guards[-1] if _Shared.guards else None
    if innermost is None or innermost.raise_at_once or _Shared.requested:
        raise KeyboardInterrupt
    _Shared.requested = True


def returns_on_interrupt(run):
    """Hold one guard for the whole call of a public entry point (tune, ablate, refine).

    Ctrl-C anywhere in the call, set-up included, then stops the run at its next
    safe point and the call returns its partial result; one that comes after the
    last safe point still marks the result interrupted, so what the user sees
    never depends on where the signal landed.
    """
    @functools.wraps(run)
    def guarded(*args, **kwargs):
        with InterruptGuard() as guard:
            result = run(*args, **kwargs)
            if guard.requested and result.status in ("completed", "stopped"):
                result.interrupted_late()
        return result
    return guarded
