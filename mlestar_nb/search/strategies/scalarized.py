"""Several objectives through a single-objective strategy: ParEGO's random scalarization (Knowles, 2006).

Each proposal picks one weight vector at random from a fixed, evenly spread set (as ParEGO does: 5 for two
objectives, a simplex lattice of step 1/2 for more), turns every observed loss vector into one number with it,
and asks a single-objective strategy (the Bayesian one, through its public ask/tell) for one point, the running
points pending. Successive proposals aim at different parts of the front, and nothing waits for a batch.

Each weight vector keeps its own single-objective strategy, told only the trials it has not seen yet, so that its
surrogate refits from its last fit instead of from scratch (measured: the same hypervolume as a fresh strategy
per proposal in about 40 % of the time; docs/multiobjective.md). The scaling of the losses (by the feasible
trials' best and worst values) is renewed, and those strategies started again, each time the number of trials
doubles.

Scalarizations of the scaled losses f for weights w:
- "chebyshev" (the default): max_i w_i f_i + 0.05 * sum_i w_i f_i, ParEGO's augmented Chebyshev function; its
  minima cover concave parts of a front too;
- "linear": sum_i w_i f_i, which only reaches the convex hull of a front (kept for the comparison in
  benchmarks/multiobjective.py).
A trial that breaks a constraint gets a value above every feasible one, growing with how far it breaks it.
"""
import itertools
import math

import numpy as np

from ..objectives import as_losses
from .base import Strategy

SCALARIZATIONS = ("chebyshev", "linear")
RHO = 0.05
INFEASIBLE = 3.0     # above any feasible value: scaled losses lie in [0, 1] until the scaling is renewed


def weight_vectors(n_objectives):
    """An evenly spread set of weights on the simplex: 5 for two objectives, steps of 1/2 for more."""
    steps = 4 if n_objectives == 2 else 2
    return [np.array(c, dtype=float) / steps for c in itertools.product(range(steps + 1), repeat=n_objectives)
            if sum(c) == steps]


class ScalarizedSearch(Strategy):
    name = "bayes"

    def __init__(self, dims, make_inner, seed=None, surrogate=None, scalarization="chebyshev", reuse=True):
        """`make_inner(seed)` returns a fresh single-objective strategy over `dims`; ``reuse=False`` makes one
        for every proposal, with the scaling renewed each time (the slower alternative the benchmark measures)."""
        super().__init__(dims, seed)
        if scalarization not in SCALARIZATIONS:
            raise ValueError(f"scalarization must be one of {SCALARIZATIONS}, got {scalarization!r}")
        self.surrogate = surrogate
        self.scalarization = scalarization
        self.reuse = reuse
        self._make_inner = make_inner
        self._rng = np.random.default_rng(seed)
        self._scaling = None        # (low, span) of the losses, renewed as the trials double
        self._scaled_at = 0
        self._inner = {}            # weight index -> (strategy, observations told)

    @property
    def is_costly(self):
        return True

    def _propose(self, pending):
        observed = self.observations()
        if len(observed) < 2:   # nothing to weigh yet: the inner strategy's own first points
            return self._fresh().ask(pending)
        losses = [as_losses(loss) for _, loss in observed]
        if self._scaling is None or len(observed) >= 2 * self._scaled_at or not self.reuse:
            self._scaling, self._scaled_at, self._inner = scaling(losses), len(observed), {}
        weights = weight_vectors(len(losses[0]))
        index = int(self._rng.integers(len(weights)))
        inner, told = self._inner.get(index) or (self._fresh(), 0)
        for (point, _), loss in zip(observed[told:], losses[told:]):
            inner.tell(point, scalarize(loss, weights[index], self._scaling, self.scalarization))
        self._inner[index] = (inner, len(observed))
        return inner.ask(pending)

    def _fresh(self):
        return self._make_inner(int(self._rng.integers(2 ** 31 - 1)))


def scaling(losses):
    """(low, span) per objective from the feasible losses (all of them when none is feasible)."""
    feasible = [tuple(l) for l in losses if l.violation == 0] or [tuple(l) for l in losses]
    array = np.asarray(feasible, dtype=float)
    low, high = array.min(axis=0), array.max(axis=0)
    return low, np.where(high > low, high - low, 1.0)


def scalarize(loss, weights, scale, how="chebyshev"):
    """One number for one loss vector (lower is better)."""
    if loss.violation > 0:
        return INFEASIBLE + math.log1p(loss.violation)
    low, span = scale
    weighted = (np.asarray(tuple(loss), dtype=float) - low) / span * weights
    if how == "linear":
        return float(weighted.sum())
    return float(weighted.max() + RHO * weighted.sum())
