"""A strategy seen through a translation of its points.

A conditional space (search/conditional.py) and a progressive budget
(search/fidelity.py) each put a layer between the engine and the strategy
that searches: `inward` turns the engine's point into the inner strategy's,
`outward` turns the inner strategy's back. Everything the proposer reads or
sets (cost, effort, economy, upkeep, the fallback) is the inner strategy's,
so that wrapping never changes how points are computed ahead.

`StructuredStrategy` is the conditional space's layer; the budget's is
`search.fidelity.RungStrategy`.
"""
import threading

from .base import Strategy


class StrategyWrapper(Strategy):
    def __init__(self, inner):
        self._inner = inner
        self.seed = inner.seed
        self.dims = inner.dims
        self.names = list(inner.dims)
        self._lock = threading.Lock()
        self._observed = []          # (point as the engine sees it, loss)
        self._fallback = None

    @property
    def inner(self):
        return self._inner

    # -- the translation ---------------------------------------------------------------------------------
    def inward(self, point):
        return point

    def outward(self, point):
        return point

    def wrap(self, strategy):
        """The same translation around another strategy (the inner one's fallback)."""
        raise NotImplementedError

    # -- the interface -----------------------------------------------------------------------------------
    def enqueue(self, points):
        self.inner.enqueue([self.inward(p) for p in points])

    def ask(self, pending=()):
        point = self.inner.ask([self.inward(p) for p in pending])
        return None if point is None else self.outward(point)

    def ask_many(self, n, pending=(), upkeep=True):
        points = self.inner.ask_many(n, [self.inward(p) for p in pending], upkeep=upkeep)
        return [self.outward(p) for p in points]

    def _propose(self, pending):   # ask and ask_many go to the inner strategy
        raise NotImplementedError

    def tell(self, point, loss):
        self.inner.tell(self.inward(point), loss)
        with self._lock:
            self._observed.append((dict(point), float(loss)))

    # -- what the proposer reads and sets: the inner strategy's -------------------------------------------
    name = property(lambda self: self.inner.name)
    cost = property(lambda self: self.inner.cost)
    max_effort = property(lambda self: self.inner.max_effort)
    has_upkeep = property(lambda self: self.inner.has_upkeep)
    upkeep_due = property(lambda self: self.inner.upkeep_due)
    awaits_first_model = property(lambda self: self.inner.awaits_first_model)
    exhausted = property(lambda self: self.inner.exhausted)
    is_costly = property(lambda self: self.inner.is_costly)
    n_observed = property(lambda self: self.inner.n_observed)

    effort = property(lambda self: self.inner.effort, lambda self, value: setattr(self.inner, "effort", value))
    economy = property(lambda self: self.inner.economy, lambda self, value: setattr(self.inner, "economy", value))

    @property
    def fallback(self):
        inner = self.inner.fallback
        if inner is None:
            return None
        if self._fallback is None or self._fallback.inner is not inner:
            self._fallback = self.wrap(inner)
        return self._fallback

    @fallback.setter
    def fallback(self, value):
        self.inner.fallback = value

    def upkeep(self):
        return self.inner.upkeep()

    def __getattr__(self, name):    # anything else (a surrogate's name, its kernel) is the inner strategy's
        if name.startswith("__") or name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)


class StructuredStrategy(StrategyWrapper):
    """A strategy over a structured space: the inner one searches the flat layout (`Structure`)."""

    def __init__(self, inner, structure):
        super().__init__(inner)
        self.structure = structure
        self.dims = structure.dims
        self.names = list(structure.dims)
        encoding = getattr(inner, "encoding", None)
        if encoding is not None:          # the Gaussian process scores its candidates as they will be told
            encoding.canonical = structure.canonical(encoding)
            encoding.all_real = False

    def wrap(self, strategy):
        return StructuredStrategy(strategy, self.structure)

    def inward(self, point):
        return self.structure.flat_point(point)

    def outward(self, point):
        return self.structure.params(point)
