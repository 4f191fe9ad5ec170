"""Ctrl-C during a search: noted, and acted on where nothing can be lost."""
import signal
import threading


class InterruptGuard:
    """Ctrl-C during a search sets a flag that the loop reads at safe points.

    So an interrupt never lands between a trial finishing and its journal line
    being written. Where trials run in the kernel's own thread (sequential
    backend), Ctrl-C raises at once so a long trial stops; a second Ctrl-C
    always raises at once.
    """

    def __init__(self, raise_at_once=False):
        self.requested = False
        self.raise_at_once = raise_at_once
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.raise_at_once or self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
