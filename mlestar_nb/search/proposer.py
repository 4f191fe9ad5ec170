"""Points from a strategy, computed ahead in a thread when asking is slow (a surrogate fit).

The proposer owns its look-ahead policy: it keeps ready as many points as cover
one proposal's time at the rate workers consume them (workers / trial time),
and no more, since a point computed long before it runs ignores the results
that arrived meanwhile.
"""
import collections
import math
import threading
import time

CLOSE_WAIT_S = 0.5     # how long close() waits for a proposal in progress; the thread is a daemon


class StrategyFailed(RuntimeError):
    """The strategy raised while proposing: the search stops with status 'error' and keeps its trials."""


class Proposer:
    """Hands out points from a strategy, computing them ahead when asking is slow."""

    def __init__(self, strategy, running_points, background, n_workers=1):
        self._strategy = strategy
        self._running_points = running_points
        self._background = background
        self._n_workers = max(1, n_workers)
        self._ready = collections.deque()
        self._cond = threading.Condition()
        self._error = None
        self._exhausted = False
        self._closed = False
        self._trial_seconds = collections.deque(maxlen=10)
        self.ahead = 1
        self.asks = 0
        self.ask_seconds = 0.0
        self.wait_seconds = 0.0
        self._thread = None
        if background:
            self._thread = threading.Thread(target=self._fill, name="mlestar-proposer", daemon=True)
            self._thread.start()

    @property
    def ask_ms_mean(self):
        return 1000 * self.ask_seconds / max(1, self.asks)

    def _ask(self, pending):
        clock = time.perf_counter()
        try:
            point = self._strategy.ask(pending)
        except Exception as err:
            raise StrategyFailed(f"the {self._strategy.name} strategy failed to propose a point: "
                                 f"{type(err).__name__}: {err}") from err
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
            except StrategyFailed as err:  # handed to the loop's thread, which raises it
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

    def trial_finished(self, duration):
        """Learn how fast workers consume points, and keep enough ready to cover one proposal's time."""
        if duration is None or not self._background:
            return
        self._trial_seconds.append(duration)
        if not self.asks:
            return
        trial_s = max(1e-3, sum(self._trial_seconds) / len(self._trial_seconds))
        ask_s = self.ask_seconds / self.asks
        ahead = math.ceil(self._n_workers * ask_s / trial_s) + 1
        with self._cond:
            self.ahead = max(1, min(self._n_workers, ahead))
            self._cond.notify_all()

    def close(self):
        """Stop proposing. A proposal in progress is not waited for beyond CLOSE_WAIT_S: its point is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=CLOSE_WAIT_S)
