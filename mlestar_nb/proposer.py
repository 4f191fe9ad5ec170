"""Points from a strategy, computed ahead in a thread when asking is slow (a surrogate fit)."""
import collections
import threading
import time


class Proposer:
    """Hands out points from a strategy, computing them ahead when asking is slow."""

    def __init__(self, strategy, running_points, background):
        self._strategy = strategy
        self._running_points = running_points
        self._background = background
        self._ready = collections.deque()
        self._cond = threading.Condition()
        self._error = None
        self._exhausted = False
        self._closed = False
        self.ahead = 1
        self.asks = 0
        self.ask_seconds = 0.0
        self.wait_seconds = 0.0
        self._thread = None
        if background:
            self._thread = threading.Thread(target=self._fill, name="mlestar-proposer", daemon=True)
            self._thread.start()

    def _ask(self, pending):
        clock = time.perf_counter()
        point = self._strategy.ask(pending)
        self.ask_seconds += time.perf_counter() - clock
        self.asks += 1
        return point

    def _fill(self):
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.ahead:
                    self._cond.wait()
                if self._closed:
                    return
                pending = self._running_points() + list(self._ready)
            try:
                point = self._ask(pending)
            except Exception as err:  # handed to the loop's thread, which raises it
                with self._cond:
                    self._error = err
                    self._cond.notify_all()
                return
            with self._cond:
                if point is None:
                    self._exhausted = True
                else:
                    self._ready.append(point)
                self._cond.notify_all()
                if point is None:
                    return

    def take(self, check=lambda: None):
        """The next point, or None when the strategy has no more; `check` runs while waiting."""
        if not self._background:
            return self._ask(self._running_points())
        clock = time.perf_counter()
        with self._cond:
            while not self._ready and not self._exhausted and self._error is None:
                check()
                self._cond.wait(0.1)
            self.wait_seconds += time.perf_counter() - clock
            if self._ready:
                point = self._ready.popleft()
                self._cond.notify_all()
                return point
            if self._error is not None:
                raise self._error
            return None

    def set_ahead(self, ahead):
        with self._cond:
            self.ahead = ahead
            self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
