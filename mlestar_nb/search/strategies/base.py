"""The optimizer interface: ask for a point, tell its loss.

Strategies minimize a loss; the engine flips the sign when the user maximizes.
`ask` receives the points still running so that a model-based strategy can avoid
proposing them again (constant liar). `tell` may be called from another thread
than `ask`: implementations guard their own state. Points given with
`enqueue` (the user's known good settings, a warm start) come out of `ask`
first, before the strategy proposes anything (skopt's x0, Optuna's
enqueue_trial).
"""
import abc
import collections
import threading


class Strategy(abc.ABC):
    """Ask/tell optimizer over a parsed space (``{name: skopt Dimension}``)."""

    name = "base"

    def __init__(self, dims, seed=None):
        self.dims = dims
        self.names = list(dims)
        self.seed = seed
        self._lock = threading.Lock()
        self._observed = []  # (point dict, loss)
        self._queued = collections.deque()

    def enqueue(self, points):
        """Evaluate these points (checked, plain dicts) before any proposal."""
        with self._lock:
            self._queued.extend(dict(p) for p in points)

    def ask(self, pending=()):
        """Return the next point as a dict of plain Python values, or None when exhausted."""
        with self._lock:
            if self._queued:
                return self._queued.popleft()
        return self._propose(pending)

    @abc.abstractmethod
    def _propose(self, pending):
        """The strategy's own next point (see `ask`)."""

    def tell(self, point, loss):
        """`loss` is a number, or with several objectives an `objectives.Losses` vector, kept as it is."""
        with self._lock:
            self._observed.append((dict(point), loss if isinstance(loss, tuple) else float(loss)))

    def observations(self):
        with self._lock:
            return list(self._observed)

    @property
    def exhausted(self):
        """True when `ask` has nothing left to give (a finished grid)."""
        return False

    @property
    def is_costly(self):
        """True when `ask` is slow enough to be worth computing ahead of need."""
        return False
