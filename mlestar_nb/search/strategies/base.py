"""The optimizer interface: ask for points, tell their loss.

Strategies minimize a loss; the engine flips the sign when the user maximizes.
`ask` receives the points still running so that a model-based strategy can
steer away from them; `ask_many` returns several points at once, which a
model-based strategy computes from one fit of its model. `tell` may be called
from another thread than `ask`: implementations guard their own state. Points
given with `enqueue` (the user's known good settings, a warm start) come out of
`ask` first, before the strategy proposes anything (skopt's x0, Optuna's
enqueue_trial). `upkeep` is work a strategy can do off the critical path (refit
a model's hyperparameters); whoever calls it may do so from another thread.
"""
import abc
import collections
import threading


class Strategy(abc.ABC):
    """Ask/tell optimizer over a parsed space (``{name: skopt Dimension}``)."""

    name = "base"
    cost = None          # (seconds per model fit, seconds per point) once measured, for strategies that fit
    effort = 0           # how much work a proposal may take: 0 the most; `max_effort` the least
    max_effort = 0
    economy = False      # True when CPU is scarce: spend less of it on upkeep
    has_upkeep = False   # True when `upkeep` does work worth a thread of its own
    fallback = None      # a cheap strategy that may stand in when this one cannot keep up (set for `auto`)

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

    def ask_many(self, n, pending=(), upkeep=True):
        """Up to n points (fewer when exhausted), each steered away from `pending` and from the others.

        `upkeep=False`: the caller runs `upkeep` itself (on another thread), so the
        proposal must not wait for it."""
        points = []
        for _ in range(n):
            point = self.ask(list(pending) + points)
            if point is None:
                break
            points.append(point)
        return points

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
    def n_observed(self):
        return len(self._observed)

    @property
    def upkeep_due(self):
        """True when `upkeep` has work to do."""
        return False

    @property
    def awaits_first_model(self):
        """True from the end of the initial design until the first model is fitted: points asked meanwhile are
        more of the design. The proposer may wait for the model instead, when that is cheap beside a trial."""
        return False

    def upkeep(self):
        """Work off the critical path of a proposal; returns True when it did some."""
        return False

    @property
    def exhausted(self):
        """True when `ask` has nothing left to give (a finished grid)."""
        return False

    @property
    def is_costly(self):
        """True when `ask` is slow enough to be worth computing ahead of need."""
        return False
